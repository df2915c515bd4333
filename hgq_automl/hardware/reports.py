"""Vivado / Vitis HLS reports -> the synth_* metrics.

hls4ml's `parse_vivado_report(project_dir)` (hls4ml/report/vivado_report.py) reads the
C-synthesis report `<prj>_prj/<solution>/syn/report/<top>_csynth.xml` and, after logic
synthesis, `vivado_synth.rpt`; `vendor_metrics` maps its dict to our metric names,
preferring the logic-synthesis figures when both are there.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any


def _number(text: Any) -> float:
    return float(str(text).strip().split()[0])


def vendor_metrics(report: dict[str, Any]) -> dict[str, float]:
    """synth_luts / synth_ffs / synth_dsps / synth_bram / synth_latency_cycles from hls4ml's report dict.

    - C synthesis (`CSynthesisReport`): LUT, FF, DSP, BRAM_18K, Worst-caseLatency (cycles);
    - Vivado logic synthesis (`VivadoSynthReport`, from vivado_synth.rpt): CLB/Slice LUTs,
      CLB/Slice Registers, DSPs, and Block RAM Tiles (36 kbit each: x2 for BRAM_18K);
      these replace the C-synthesis estimates.
    Raises ValueError if the report has no C-synthesis section.
    """
    csynth = report.get("CSynthesisReport") or {}
    if not csynth:
        raise ValueError("no C-synthesis report (<top>_csynth.xml) in the HLS project")
    metrics = {
        "synth_luts": _number(csynth["LUT"]),
        "synth_ffs": _number(csynth["FF"]),
        "synth_dsps": _number(csynth["DSP"]),
        "synth_bram": _number(csynth["BRAM_18K"]),
        "synth_latency_cycles": _number(csynth["WorstLatency"]),
    }
    vsynth = report.get("VivadoSynthReport") or {}
    for key, metric, scale in (("LUT", "synth_luts", 1), ("FF", "synth_ffs", 1), ("DSP48E", "synth_dsps", 1), ("BRAM_18K", "synth_bram", 2)):
        if key in vsynth:
            metrics[metric] = _number(vsynth[key]) * scale
    return metrics


def read_vendor_reports(project_dir: Path) -> dict[str, float]:
    """The synth_* metrics of an hls4ml project built by Vivado or Vitis HLS."""
    from hls4ml.report import parse_vivado_report

    with contextlib.redirect_stdout(io.StringIO()):  # it prints "... not found." for each absent report
        report = parse_vivado_report(str(project_dir)) or {}
    return vendor_metrics(report)
