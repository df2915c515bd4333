"""hls4ml path: convert an HGQ2 model (io_parallel or io_stream, the tool's strategy and reuse
factor with a user's hls4ml config merged over them), C-simulate it, or build it with Vivado/Vitis HLS."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from ..errors import first_line
from .rtl import ToolMissing

#: Our `strategy` parameter -> hls4ml's `Strategy`.
HLS_STRATEGY = {"latency": "Latency", "resource": "Resource", "distributed_arithmetic": "distributed_arithmetic"}

#: synthesis step -> (hls4ml backend, the executable its `build()` calls; hls4ml 1.3's backends/*/..._backend.py).
VENDOR_TOOLS = {"vivado": ("Vivado", "vivado_hls"), "vitis": ("Vitis", "vitis-run")}


def check_vendor_tool(synthesis: str) -> None:
    """Raise ToolMissing (one line) if the vendor HLS tool of `synthesis` is not on PATH."""
    if synthesis in VENDOR_TOOLS:
        backend, tool = VENDOR_TOOLS[synthesis]
        if shutil.which(tool) is None:
            raise ToolMissing(f"synthesis {synthesis} needs {backend} HLS: `{tool}` is not on PATH (install it, or use synthesis rtl or csim)")


class NotConvertible(ValueError):
    """hls4ml 1.3 cannot convert this model as asked (one line naming the layer or key)."""


def merged_config(strategy: str, reuse_factor: int, user: dict | None = None) -> dict:
    """hls4ml's `hls_config`: the tool's (model-wide strategy and reuse factor) with `user`'s
    (laid out as `hls4ml.utils.config_from_keras_model(model, granularity='name')` gives it)
    merged over it, key by key."""
    config: dict = {"Model": {"Strategy": HLS_STRATEGY[strategy], "ReuseFactor": int(reuse_factor), "Precision": "fixed<16,6>"}}
    return _merge(config, user or {})


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def check_layer_names(model, user: dict | None, where: str) -> None:
    """Raise NotConvertible if `user`'s LayerName section names a layer hls4ml does not see in `model`."""
    names = list((user or {}).get("LayerName") or {})
    if not names:
        return
    import hls4ml

    known = set(hls4ml.utils.config_from_keras_model(model, granularity="name")["LayerName"])
    unknown = [name for name in names if name not in known]
    if unknown:
        raise NotConvertible(f"{where}: LayerName {unknown[0]!r} is not a layer of the model; its layers are {', '.join(sorted(known))}")


def stream_blocker(model) -> str | None:
    """Why hls4ml 1.3 cannot convert `model` with io_stream, or None.

    hls4ml streams an HGQ2 activation quantizer only when it is homogeneous (one bit width
    for the whole tensor, `heterogeneous_axis=()`): it fuses those into the layer's output
    type and refuses the heterogeneous ones (`Heterogenous quantization for activations is
    only supported with IOType=io_parallel`)."""
    from .._compat import flatten_layers

    for layer in flatten_layers(model, include_self=False):
        for attr, enabled, what in (("_iq", "_enable_iq", "input"), ("_oq", "_enable_oq", "output")):
            if not getattr(layer, enabled, False) or not hasattr(layer, attr):
                continue
            quantizers = getattr(layer, attr)
            for q in quantizers if isinstance(quantizers, (list, tuple)) else (quantizers,):
                kif = getattr(getattr(q, "quantizer", None), "kif", None)
                if kif is not None and any(np.unique(np.asarray(v)).size > 1 for v in kif):
                    return (
                        f"layer {layer.name}'s {what} quantizer is heterogeneous (a bit width per element); hls4ml 1.3 streams only "
                        "homogeneous activation quantizers (HGQ2 QuantizerConfigScope(place='datalane', heterogeneous_axis=())): use io_parallel"
                    )
    return None


def convert(
    model, folder: Path, backend: str, part: str, clock_period_ns: float, strategy: str, reuse_factor: int,
    io_type: str = "io_parallel", hls_config: dict | None = None,
):
    """The hls4ml ModelGraph of `model`, written to `folder` (not compiled).

    HGQ2 layers carry their own fixed-point types, so hls4ml needs no precision config;
    the default precision only types what HGQ2 does not (none in these models). `hls_config`
    (a user's, by layer name) is merged over the tool's. Raises NotConvertible (one line)
    for what hls4ml 1.3 cannot convert as asked.
    """
    import hls4ml

    if io_type == "io_stream":
        reason = stream_blocker(model)
        if reason:
            raise NotConvertible(f"io_stream: {reason}")
    check_layer_names(model, hls_config, "hls_config")
    try:
        return hls4ml.converters.convert_from_keras_model(
            model,
            output_dir=str(folder),
            backend=backend,
            io_type=io_type,
            part=part,
            clock_period=clock_period_ns,
            hls_config=merged_config(strategy, reuse_factor, hls_config),
        )
    except NotImplementedError as exc:
        raise NotConvertible(f"{io_type}: hls4ml 1.3 cannot convert this model: {first_line(exc)}") from None


def changes(hls_model) -> list[str]:
    """What hls4ml changed from the config it was given: per layer with weights, the reuse
    factor or strategy it uses when not the one asked for (e.g. a reuse factor it moved to
    the closest valid one)."""
    lines = []
    config = hls_model.config
    for layer in hls_model.get_layers():
        if "weight" not in layer.weights:
            continue
        asked_rf, used_rf = config.get_reuse_factor(layer), layer.get_attr("reuse_factor")
        if used_rf is not None and int(used_rf) != int(asked_rf):
            lines.append(f"hls4ml changed layer {layer.name}'s reuse_factor from {asked_rf} to {used_rf} (the closest one valid for its shape)")
        asked, used = str(config.get_strategy(layer)).lower(), str(layer.get_attr("strategy") or "").lower()
        if used and used != asked:
            lines.append(f"hls4ml changed layer {layer.name}'s strategy from {asked} to {used}")
    return lines


def csim_mismatches(hls_model, model, x: np.ndarray) -> int:
    """Compile the hls4ml project (g++) and count the outputs on `x` that differ from Keras."""
    hls_model.compile()
    expected = np.asarray(model.predict(x, batch_size=1024, verbose=0), dtype=np.float64)
    got = np.asarray(hls_model.predict(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float64).reshape(expected.shape)
    return int(np.count_nonzero(got != expected))


def vendor_build(hls_model, synthesis: str) -> dict[str, float]:
    """Run hls4ml's build (C synthesis; Vivado logic synthesis too when `vivado` is on PATH)
    and return the synth_* metrics parsed from its reports."""
    from .reports import read_vendor_reports

    check_vendor_tool(synthesis)
    start = time.perf_counter()
    hls_model.build(csim=False, synth=True, vsynth=shutil.which("vivado") is not None, log_to_stdout=False)
    metrics = read_vendor_reports(Path(hls_model.config.get_output_dir()))
    metrics["synth_seconds"] = time.perf_counter() - start
    return metrics
