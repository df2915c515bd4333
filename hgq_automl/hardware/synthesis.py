"""The per-trial synthesis step (`hardware.synthesis`): none | csim | rtl | vivado | vitis.

- `csim`: hls4ml conversion (the trial's strategy and reuse_factor, `hardware.io_type` and
  `hardware.hls_config`), g++ C simulation of
  the held-out test set -> `bit_mismatches`;
- `rtl`: da4ml Verilog -> yosys -> synth_luts/ffs/dsps/carry/seconds, and iverilog RTL
  simulation of the first `sim_samples` test samples -> `bit_mismatches`;
- `vivado` / `vitis`: csim as above, then hls4ml's build with the vendor tool ->
  synth_luts/ffs/dsps/bram/latency_cycles/seconds.
The project (`hls4ml/` or `verilog/`) is left in the folder given, for artifacts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..space import HardwareSpec
from .rtl import ToolMissing, require_tool


def check_tools(hw: HardwareSpec) -> None:
    """Raise ToolMissing with one line if the step's external tool is not on PATH (before any trial runs)."""
    from .hls import check_vendor_tool

    if hw.synthesis == "csim":
        require_tool("g++", "synthesis csim (hls4ml compile)")
    elif hw.synthesis == "rtl":
        require_tool("yosys", "synthesis rtl")
        require_tool("iverilog", "synthesis rtl (RTL simulation)")
    else:
        check_vendor_tool(hw.synthesis)


def run_synthesis(model, hw: HardwareSpec, params: dict[str, Any], x_test: np.ndarray, folder: Path) -> dict[str, float]:
    """Run the step `hw.synthesis` on a traced model; its metrics (empty for `none`)."""
    return STEPS[hw.synthesis](model, hw, params, x_test, Path(folder))


def hls_step(
    model, hw: HardwareSpec, params: dict[str, Any], x_test: np.ndarray, folder: Path, build: str | None = None, say=None
) -> dict[str, float]:
    """hls4ml project of the model in `folder` (the params' strategy and reuse_factor, with
    `hw.io_type` and `hw.hls_config` merged over them), its C simulation on every sample of
    `x_test` -> bit_mismatches, then the vendor tool's build (`build`: vivado | vitis) when
    given. `say` (when given) is told each thing hls4ml changed from the config it got."""
    from .hls import changes, convert, csim_mismatches, vendor_build

    hls_model = convert(
        model, Path(folder), hw.hls_backend, hw.part, hw.clock_period_ns, str(params["strategy"]), int(params["reuse_factor"]),
        io_type=hw.io_type, hls_config=hw.hls_config,
    )
    for line in changes(hls_model):
        if say is not None:
            say(line)
    metrics: dict[str, float] = {"bit_mismatches": csim_mismatches(hls_model, model, x_test)}
    if build is not None:
        metrics.update(vendor_build(hls_model, build))
    return metrics


def rtl_step(model, hw: HardwareSpec, x_test: np.ndarray, folder: Path, simulate_samples: int | None = None, synth: bool = True) -> dict[str, float]:
    """da4ml Verilog of the model in `folder`, yosys synthesis (unless `synth` is false), and an
    iverilog check of bit-exactness on the first `simulate_samples` samples (default: `hw.sim_samples`)."""
    from ..estimates import da4ml_estimate
    from .rtl import simulate, write_verilog, yosys_synth

    comb = da4ml_estimate(model, hw.clock_period_ns).comb
    design = write_verilog(comb, Path(folder), hw.part, hw.clock_period_ns)
    metrics: dict[str, float] = dict(yosys_synth(design, hw.family)) if synth else {}
    x = x_test[: simulated_samples(hw, len(x_test), simulate_samples)]
    expected = np.asarray(model.predict(x, batch_size=1024, verbose=0))
    got = simulate(design, x).reshape(expected.shape)
    metrics["bit_mismatches"] = int(np.count_nonzero(got != expected))
    return metrics


def simulated_samples(hw: HardwareSpec, available: int, requested: int | None = None) -> int:
    """How many samples `rtl_step` simulates: `requested`, else `hw.sim_samples`, at most those available."""
    return min(available, hw.sim_samples if requested is None else requested)


#: Each synthesis step of the vocabulary (`metrics.SYNTHESIS_STEPS`) and what runs it on a
#: traced model: (model, hw, params, x_test, folder) -> metrics; `tests/test_registries.py`
#: ties the two.
STEPS = {
    "none": lambda model, hw, params, x_test, folder: {},
    "csim": lambda model, hw, params, x_test, folder: hls_step(model, hw, params, x_test, folder / "hls4ml"),
    "rtl": lambda model, hw, params, x_test, folder: rtl_step(model, hw, x_test, folder / "verilog"),
    "vivado": lambda model, hw, params, x_test, folder: hls_step(model, hw, params, x_test, folder / "hls4ml", "vivado"),
    "vitis": lambda model, hw, params, x_test, folder: hls_step(model, hw, params, x_test, folder / "hls4ml", "vitis"),
}

__all__ = ["STEPS", "ToolMissing", "check_tools", "hls_step", "rtl_step", "run_synthesis", "simulated_samples"]
