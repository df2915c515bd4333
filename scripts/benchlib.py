"""What the benchmark scripts share: the machine line, the per-trial time split, and
writing a script's section of docs/benchmarks.md. Imported by the scripts in this folder
(`python scripts/bench_*.py` puts it on sys.path)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

#: Where a trial's wall time goes (the Bridge's and run_trial's timings); scheduling is the rest.
PARTS = ("scheduling_seconds", "setup_seconds", "train_seconds", "harvest_seconds", "estimate_seconds", "tracking_seconds")


def machine() -> str:
    """Cores, CPU model and vector extensions (TensorFlow's speed here hangs on AVX-512), Python."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), platform.machine())
    flags = set(next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), []))
    vector = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    return f"{os.cpu_count()} cores, {model} ({vector}), Python {platform.python_version()}"


def split(timings: list[dict]) -> dict:
    """Shares of the trials' summed wall time (the driver's view, `wall_seconds`) per part of
    PARTS; scheduling is what the trials' own `trial_seconds` leave; orchestration (the
    framework's own cost) = scheduling + tracking, the estimates (the product's work) apart;
    da4ml's share (within the estimates) when the trials report it; and the mean trial wall time."""
    total = sum(t["wall_seconds"] for t in timings)
    parts = {k: sum(t.get(k, 0.0) for t in timings) for k in PARTS if k != "scheduling_seconds"}
    parts["scheduling_seconds"] = total - sum(t["trial_seconds"] for t in timings)
    out = {k: parts[k] / total for k in PARTS}
    out["orchestration"] = out["scheduling_seconds"] + out["tracking_seconds"]
    if all("da4ml_seconds" in t for t in timings):  # the part of the estimates that is da4ml's design trace
        out["da4ml_seconds"] = sum(t["da4ml_seconds"] for t in timings) / total
    out["trial_wall_mean_seconds"] = total / len(timings)
    return out


def write_section(path: Path, name: str, text: str) -> None:
    """Replace a script's section of the shared benchmarks page (between its markers)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    page = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if start in page and end in page:
        page = page[: page.index(start)] + block + page[page.index(end) + len(end) :]
    else:
        page = page.rstrip() + "\n\n" + block + "\n"
    path.write_text(page)
