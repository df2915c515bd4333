"""`export MODEL.keras`: a trained model file, no search behind it (`model_file.load`: an
HGQ2 model as saved, a float one converted and traced on `--data`), exported by the
trial's own steps with the default hardware section unless the flags say otherwise."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from .checks import check_hls_options, check_request
from .firmware import check_synth_tool, write_firmware
from .requests import ExportOutcome, ExportRequest, FileExportRequest
from .settings import _check_against_model, _configured


def run_file_export(request: FileExportRequest, say=print) -> ExportOutcome:
    """Export a model file (`model_file.load`: an HGQ2 model as saved, a float one converted
    and traced on `request.data`) by the trial's own steps, at hls4ml's default strategy
    (latency) and reuse factor 1, and the default hardware section, unless `--part` and
    the hls4ml options (`request.hls`) say otherwise.
    Bit-exactness is checked on `request.data`'s samples, else on samples drawn over the
    input quantizer's range (`model_file.drawn_inputs`), and `say` tells which."""
    from ..space.schema import HardwareSpec

    check_request(ExportRequest("", request.to, request.out, part=request.part, api=request.api, hls=request.hls))
    file_config = check_hls_options(request)
    hardware = HardwareSpec(part=request.part) if request.part else HardwareSpec()
    hardware, params = _configured(request, hardware, {"strategy": "latency", "reuse_factor": 1}, file_config)
    check_synth_tool(request, hardware)
    from .. import model_file

    if request.data is None and model_file.is_float_model(model_file.model_config_text(request.model)):
        raise UsageError(f"{request.model}: a float Keras model; its HGQ2 conversion needs {request.opt('data')}{'' if request.api else ' '}FILE to trace its activation ranges")
    if request.data is not None and not Path(request.data).expanduser().is_file():
        raise UsageError(f"{request.opt('data').rstrip('=')} {request.data}: no such file")
    loaded = model_file.load(request.model)
    if not loaded.converted:
        _check_against_model(request, loaded.model, hardware)
    shape = model_file.input_shape(loaded.model)
    if request.data is not None:
        x = model_file.read_inputs(request.data, shape, flag=request.opt("data").rstrip("="))
        source = f"{len(x)} samples of {request.data}"
    else:
        x, source = model_file.drawn_inputs(loaded.model)
        say(f"no {request.opt('data').rstrip('=')} given: checking bit-exactness on {source}")
    for note in loaded.notes:
        say(f"{request.model}: {note}")
    if loaded.converted:
        from hgq.utils import trace_minmax

        trace_minmax(loaded.model, x, batch_size=4096)
        say(f"activation ranges traced on {source}")
        _check_against_model(request, loaded.model, hardware)

    from ..estimates import estimate

    metrics: dict[str, float] = dict(estimate(loaded.model, int(params["reuse_factor"]), str(params["strategy"]), hardware.clock_period_ns))
    out, checked = write_firmware(request, loaded.model, hardware, params, x, metrics, say)
    return ExportOutcome(out, metrics, checked, source if checked == len(x) else f"the first {checked} of {source}")
