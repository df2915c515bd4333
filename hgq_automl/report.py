"""Presenting a Pareto set: rows (for CSV/JSON), a terminal table, and a plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .events import TrialRecord
from .metrics import FINAL_METRICS

#: Metrics shown for every Pareto member, in this order (objectives not listed are added).
TABLE_METRICS = ("val_accuracy", "test_accuracy", "ebops", "luts", "dsps", "params", "latency_ns")
#: Metrics of the synthesis step, shown when some member has them.
HARDWARE_METRICS = ("bit_mismatches", "synth_luts", "synth_ffs", "synth_dsps", "synth_latency_cycles")


def table_metrics(objectives: Sequence[str], records: Sequence[TrialRecord] = ()) -> list[str]:
    shown = list(TABLE_METRICS) + [m for m in objectives if m not in TABLE_METRICS]
    return shown + [m for m in HARDWARE_METRICS if m not in shown and any(m in r.metrics for r in records)]


def untrusted(record: TrialRecord) -> bool:
    """A trial whose firmware simulation differed from Keras (bit_mismatches > 0)."""
    return bool(record.metrics.get("bit_mismatches"))


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "nan"
    if isinstance(value, float) and (value == 0 or 1e-3 <= abs(value) < 1):
        return f"{value:.4f}"
    if isinstance(value, float) and abs(value) < 1e-3:
        return f"{value:.3g}"
    if isinstance(value, (int, float)) and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def config_summary(config: dict[str, Any]) -> str:
    """The sampled config on one line: name=value, floats to 3 significant digits."""
    parts = []
    for name, value in sorted(config.items()):
        parts.append(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(parts)


def front_rows(front: Sequence[TrialRecord], objectives: Sequence[str], run_ids: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One plain dict per Pareto member: ids, metrics, config (for JSON and CSV)."""
    rows = []
    for record in front:
        row: dict[str, Any] = {"trial_id": record.trial_id}
        if run_ids is not None:
            row["run_id"] = run_ids.get(record.trial_id)
        row.update({m: record.metrics.get(m) for m in table_metrics(objectives, front)})
        row["config"] = dict(record.config)
        rows.append(row)
    return rows


def front_table(front: Sequence[TrialRecord], objectives: Sequence[str], title: str = "Pareto set"):
    """A rich Table of the Pareto members' metrics, with units in the column headers.

    A member whose firmware simulation differed from Keras is marked "(untrusted)".
    """
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("trial")
    metrics = table_metrics(objectives, front)
    for m in metrics:
        unit = FINAL_METRICS[m].unit
        header = m if unit in ("fraction", "count") else f"{m}\n[{unit}]"
        header = header.replace("_accuracy", "_acc")
        table.add_column(header, justify="right")
    for record in front:
        label = f"{record.trial_id} (untrusted)" if untrusted(record) else record.trial_id
        table.add_row(label, *(format_value(record.metrics.get(m, math.nan)) for m in metrics))
    return table


def plot_front(records: Sequence[TrialRecord], front: Sequence[TrialRecord], objectives: Sequence[tuple[str, str]], path: Path) -> Path:
    """Scatter of every completed trial, the Pareto front highlighted and joined.

    The y axis is the first objective, the x axis the second (EBOPs if there is one
    objective); x is logarithmic when it spans more than a decade.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y_name = objectives[0][0]
    x_name = objectives[1][0] if len(objectives) > 1 else "ebops"
    done = [r for r in records if r.ok]

    def xy(rs):
        return [float(r.metrics.get(x_name, math.nan)) for r in rs], [float(r.metrics.get(y_name, math.nan)) for r in rs]

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    xs, ys = xy(done)
    ax.scatter(xs, ys, s=22, color="#9aa5b1", label=f"trials ({len(done)})", zorder=2)
    fx, fy = xy(sorted(front, key=lambda r: float(r.metrics.get(x_name, math.nan))))
    ax.step(fx, fy, where="post", color="#d1495b", lw=1.2, zorder=3)
    ax.scatter(fx, fy, s=46, color="#d1495b", edgecolor="black", lw=0.6, label=f"Pareto front ({len(front)})", zorder=4)
    for r, x, y in zip(sorted(front, key=lambda r: float(r.metrics.get(x_name, math.nan))), fx, fy):
        ax.annotate(r.trial_id, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    positive = [x for x in xs if x > 0 and math.isfinite(x)]
    if positive and max(positive) / min(positive) > 10:
        ax.set_xscale("log")
    ax.set_xlabel(f"{x_name} [{FINAL_METRICS[x_name].unit}]")
    ax.set_ylabel(f"{y_name} [{FINAL_METRICS[y_name].unit}]")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(f"{y_name} vs {x_name}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
