"""Writing the firmware, for both kinds of export: the trial's own synthesis steps
(`hardware.synthesis`), the hls4ml project or da4ml Verilog written into the claimed
output folder and simulated against Keras on the given samples; and, with --synth, the
check that the vendor tool is there before any work."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from .claim import claimed_out


def _hls(model, hardware, params, x, out, build, say) -> dict[str, float]:
    """The trial's hls4ml step; what hls4ml 1.3 refuses to convert as asked is one line."""
    from ..hardware.hls import NotConvertible
    from ..hardware.synthesis import hls_step

    try:
        return hls_step(model, hardware, params, x, out, build, say=say)
    except NotConvertible as exc:
        raise UsageError(str(exc)) from None


def _say_config(say, hardware, params, out) -> None:
    say(
        f"writing the hls4ml project ({hardware.hls_backend}, {hardware.io_type}, {params['strategy']}, reuse_factor {params['reuse_factor']}, "
        f"clock {hardware.clock_period_ns:g} ns, part {hardware.part}"
        + (", with the layer settings of the hls_config" if hardware.hls_config else "")
        + f") to {out}"
    )


def check_synth_tool(request, hardware) -> None:
    """With --synth, an hls4ml project's vendor tool (the backend's) must be on PATH."""
    if request.synth and request.to == "hls4ml":
        from ..hardware.hls import check_vendor_tool
        from ..hardware.rtl import ToolMissing

        try:
            check_vendor_tool(hardware.hls_backend.lower())
        except ToolMissing as exc:
            raise UsageError(f"{request.opt('synth')}: {exc}") from None


def write_firmware(request, model, hardware, params, x, metrics: dict[str, float], say) -> tuple[Path, int]:
    """The trial's own synthesis step, with the project written to `request.out` itself
    (claimed for the export): an hls4ml project checked by C simulation on `x`, or da4ml
    Verilog checked by RTL simulation on its first samples. Its figures are added to
    `metrics`; returns the folder and the number of samples checked."""
    from ..hardware.synthesis import rtl_step, simulated_samples

    with claimed_out(request) as out:
        if request.to == "hls4ml":
            _say_config(say, hardware, params, out)
            checked = len(x)
            metrics.update(_hls(model, hardware, params, x, out, hardware.hls_backend.lower() if request.synth else None, say))
        else:
            say(f"writing da4ml Verilog (top module `model`, part {hardware.part}, clock {hardware.clock_period_ns:g} ns) to {out}")
            checked = simulated_samples(hardware, len(x))
            metrics.update(rtl_step(model, hardware, x, out, synth=request.synth))
    return out, checked
