"""The time a search spends outside its trials, part by part (`driver_<phase>_seconds` in
MLflow, one console line at its end): the parts in order, the interpreter's start read
from /proc, the line that says them."""

from __future__ import annotations

import os


def _since_process_start() -> float:
    """Seconds since this process started (the interpreter's start-up and imports, when
    called as a search begins); 0 when the OS does not say."""
    try:  # Linux: the process's start in clock ticks after boot (/proc/self/stat's 22nd field)
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            return max(0.0, float(uptime.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):  # another OS: not measured
        return 0.0


#: the parts of a search outside its trials, in order: (phase, label); `trials` is Tune's fit
PHASES_BEFORE = (("imports", "imports"), ("setup", "set-up"), ("ray_start", "Ray start"))
PHASES_AFTER = (("results", "results"), ("finish", "finishing the front"), ("ray_shutdown", "Ray shutdown"), ("publish", "MLflow front"))


def _phases_line(phases: dict[str, float]) -> str:
    """One line of the time a search spent outside its trials, part by part."""

    def part(names):
        seen = [(label, phases[key]) for key, label in names if key in phases]
        return f"{sum(v for _, v in seen):.1f} s (" + ", ".join(f"{label} {v:.1f}" for label, v in seen) + ")"

    return f"time outside the trials: before {part(PHASES_BEFORE)}, after {part(PHASES_AFTER)}"
