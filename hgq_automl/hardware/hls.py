"""hls4ml path: convert an HGQ2 model (io_parallel), C-simulate it, or build it with Vivado/Vitis HLS."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

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


def convert(model, folder: Path, backend: str, part: str, clock_period_ns: float, strategy: str, reuse_factor: int):
    """The hls4ml ModelGraph of `model`, written to `folder` (not compiled).

    HGQ2 layers carry their own fixed-point types, so hls4ml needs no precision config;
    the default precision only types what HGQ2 does not (none in these models).
    """
    import hls4ml

    return hls4ml.converters.convert_from_keras_model(
        model,
        output_dir=str(folder),
        backend=backend,
        io_type="io_parallel",
        part=part,
        clock_period=clock_period_ns,
        hls_config={"Model": {"Strategy": HLS_STRATEGY[strategy], "ReuseFactor": int(reuse_factor), "Precision": "fixed<16,6>"}},
    )


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
