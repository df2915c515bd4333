"""The hardware settings an export uses: the run's own (or, for a model file, the
defaults), the --hls-config file merged over them and the flags over both
(`_configured`); then what only the model can tell, io_stream's quantizers and the
config's layer names (`_check_against_model`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import UsageError
from .checks import _flag


def _configured(request, hardware, params: dict[str, Any], file_config: dict | None):
    """The hardware section and params the export uses: the run's (or the defaults), the
    --hls-config file merged over the section's `hls_config`, and the flags over both (a
    flag's strategy or reuse factor is the model-wide one; the file's per-layer entries
    still win for their layers). The file's model-wide Strategy/ReuseFactor, when no flag
    says otherwise, become the export's params (its estimates use them)."""
    from ..hardware.hls import HLS_STRATEGY, _merge

    hls = request.hls
    if hls.backend is not None:
        hardware = replace(hardware, backend=hls.backend, synthesis="csim" if hardware.synthesis in ("vivado", "vitis") else hardware.synthesis)
    if hls.io_type is not None:
        hardware = replace(hardware, io_type=hls.io_type)
    if hls.clock_period is not None:
        hardware = replace(hardware, clock_period_ns=float(hls.clock_period))
    config = _merge(dict(hardware.hls_config or {}), file_config or {})
    model = dict(config.get("Model") or {})
    params = dict(params)
    if hls.strategy is not None:
        params["strategy"] = hls.strategy
    elif "Strategy" in model:
        ours = {v.lower(): k for k, v in HLS_STRATEGY.items()}
        if str(model["Strategy"]).lower() not in ours:
            raise UsageError(f"{request.opt('hls-config').rstrip('=')} {hls.hls_config}: Model.Strategy must be one of {', '.join(HLS_STRATEGY.values())}; got {model['Strategy']!r}")
        params["strategy"] = ours[str(model["Strategy"]).lower()]
    if hls.reuse_factor is not None:
        params["reuse_factor"] = hls.reuse_factor
    elif "ReuseFactor" in model:
        params["reuse_factor"] = int(model["ReuseFactor"])
    model.pop("Strategy", None)
    model.pop("ReuseFactor", None)
    config = {**config, "Model": model} if model else {k: v for k, v in config.items() if k != "Model"}
    return replace(hardware, hls_config=config or None), params


def _check_against_model(request, model, hardware) -> None:
    """What needs the model: io_stream's homogeneous quantizers, the config's layer names."""
    from ..hardware.hls import NotConvertible, check_layer_names, stream_blocker

    if request.to != "hls4ml":
        return
    if hardware.io_type == "io_stream":
        reason = stream_blocker(model)
        if reason:
            what = _flag(request, "io-type", "io_stream") if request.hls.io_type else "the run's hardware.io_type io_stream"
            raise UsageError(f"{what}: {reason}")
    where = f"{request.opt('hls-config').rstrip('=')} {request.hls.hls_config}" if request.hls.hls_config else "the run's hardware.hls_config"
    try:
        check_layer_names(model, hardware.hls_config, where)
    except NotConvertible as exc:
        raise UsageError(str(exc)) from None
