"""Presenting a Pareto set: rows (for CSV/JSON), a terminal table, and a plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .events import TrialRecord
from .metrics import DESIGNS, FINAL_METRICS

#: Metrics shown for every Pareto member, in this order (objectives not listed are added):
#: the quality metrics of the members' task, then the costs.
CLASSIFICATION_COLUMNS = ("val_accuracy", "test_accuracy")
REGRESSION_COLUMNS = ("val_mse", "test_mse")
COST_COLUMNS = ("ebops", "luts", "dsps", "bram", "params", "latency_ns")
#: Metrics of the synthesis step, shown when some member has them.
HARDWARE_METRICS = ("bit_mismatches", "synth_luts", "synth_ffs", "synth_dsps", "synth_latency_cycles")


def table_metrics(objectives: Sequence[str], records: Sequence[TrialRecord] = ()) -> list[str]:
    regression = any(m in r.metrics for r in records for m in REGRESSION_COLUMNS) or any(m in REGRESSION_COLUMNS for m in objectives)
    base = (REGRESSION_COLUMNS if regression else CLASSIFICATION_COLUMNS) + COST_COLUMNS
    shown = list(base) + [m for m in objectives if m not in base]
    return shown + [m for m in HARDWARE_METRICS if m not in shown and any(m in r.metrics for r in records)]


def untrusted(record: TrialRecord) -> bool:
    """A trial whose firmware simulation differed from Keras (bit_mismatches > 0)."""
    return bool(record.metrics.get("bit_mismatches"))


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "nan"
    if value == 0:
        return "0"
    if isinstance(value, float) and 1e-3 <= abs(value) < 1:
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
        # a harvested checkpoint: the trial it came from and its epoch ("" for a trial's final model)
        row["harvested_from"] = record.harvested_from or ""
        row["harvest_epoch"] = int(record.metrics["harvest_epoch"]) if record.harvested_from and "harvest_epoch" in record.metrics else ""
        row.update({m: record.metrics.get(m) for m in table_metrics(objectives, front)})
        row["config"] = dict(record.config)
        rows.append(row)
    return rows


def front_table(front: Sequence[TrialRecord], objectives: Sequence[str], title: str = "Pareto set", ascii_only: bool = False):
    """A rich renderable: `title` as a line of its own, then a Table of the Pareto members'
    metrics, with units in the column headers.

    The title is not the Table's own: rich wraps a table title at the table's width, which
    cuts a long title mid-line; a line of its own wraps at the console's width.
    A member whose firmware simulation differed from Keras is marked "(untrusted)".
    `ascii_only` draws the borders in ASCII, for logs (Ray Jobs cut long lines of
    multi-byte box characters).
    """
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.ASCII if ascii_only else box.HEAVY_HEAD)
    table.add_column("trial")
    metrics = table_metrics(objectives, front)
    for m in metrics:
        table.add_column(column_header(m), justify="right")
    for record in front:
        label = f"{record.trial_id} (untrusted)" if untrusted(record) else record.trial_id
        table.add_row(label, *(format_value(record.metrics.get(m, math.nan)) for m in metrics))
    return Group(Text(title), table, Text(designs_legend(metrics)))


def column_header(metric: str) -> str:
    """A metric's column header: its name, its unit in brackets (but fractions and counts),
    and the design it describes (`Metric.design_label`)."""
    m = FINAL_METRICS[metric]
    header = metric if m.unit in ("fraction", "count") else f"{metric}\n[{m.unit}]"
    if m.design:
        header += f"\n{m.design_label}"
    return header.replace("_accuracy", "_acc")


def designs_legend(metrics: Sequence[str]) -> str:
    """What the designs of these columns are, one line each: their costs are not one circuit's."""
    designs = list(dict.fromkeys(FINAL_METRICS[m].design for m in metrics if FINAL_METRICS[m].design))
    return "\n".join(f"{DESIGNS[d][0]}: {DESIGNS[d][1]} ({', '.join(m for m in metrics if FINAL_METRICS[m].design == d)})" for d in designs)


def front_figure(records: Sequence[TrialRecord], front: Sequence[TrialRecord], objectives: Sequence[tuple[str, str]]):
    """The Pareto plot as a matplotlib Figure: every completed trial, the front highlighted and joined.

    The y axis is the first objective, the x axis the second (EBOPs if there is one
    objective); x is logarithmic when it spans more than a decade. The Figure is made
    without pyplot (no global state, no backend switch): a notebook shows it, `savefig` writes it.
    Not Optuna's `plot_pareto_front`: that one knows no harvested epochs (not Optuna trials),
    draws no log EBOPs axis, front line or trial labels, and needs a study (this is core, no Optuna).
    """
    from matplotlib.figure import Figure

    y_name = objectives[0][0]
    x_name = objectives[1][0] if len(objectives) > 1 else "ebops"
    done = [r for r in records if r.ok]

    def xy(rs):
        return [float(r.metrics.get(x_name, math.nan)) for r in rs], [float(r.metrics.get(y_name, math.nan)) for r in rs]

    fig = Figure(figsize=(7, 4.5), dpi=120)
    ax = fig.add_subplot()
    xs, ys = xy(done)
    trials = [r for r in done if not r.harvested_from]
    harvested = [r for r in done if r.harvested_from]
    ax.scatter(*xy(trials), s=22, color="#9aa5b1", label=f"trials ({len(trials)})", zorder=2)
    if harvested:
        ax.scatter(*xy(harvested), s=12, marker="D", color="#66a182", label=f"harvested epochs ({len(harvested)})", zorder=2)
    fx, fy = xy(sorted(front, key=lambda r: float(r.metrics.get(x_name, math.nan))))
    ax.step(fx, fy, where="post", color="#d1495b", lw=1.2, zorder=3)
    ax.scatter(fx, fy, s=46, color="#d1495b", edgecolor="black", lw=0.6, label=f"Pareto front ({len(front)})", zorder=4)
    for r, x, y in zip(sorted(front, key=lambda r: float(r.metrics.get(x_name, math.nan))), fx, fy):
        ax.annotate(r.trial_id, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    positive = [x for x in xs if x > 0 and math.isfinite(x)]
    if positive and max(positive) / min(positive) > 10:
        ax.set_xscale("log")
    ax.set_xlabel(f"{x_name} [{FINAL_METRICS[x_name].unit}]")
    y_min = objectives[0][1] == "min"
    ax.set_ylabel(f"{y_name} [{FINAL_METRICS[y_name].unit}]" + (", lower is better (axis inverted)" if y_min else ""))
    if y_min:  # better is up, whichever way the quality metric runs
        positive_y = [y for y in ys if y > 0 and math.isfinite(y)]
        if positive_y and max(positive_y) / min(positive_y) > 10:
            ax.set_yscale("log")
        ax.invert_yaxis()
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(f"{y_name} vs {x_name}")
    fig.tight_layout()
    return fig


def plot_front(records: Sequence[TrialRecord], front: Sequence[TrialRecord], objectives: Sequence[tuple[str, str]], path: Path) -> Path:
    """The Pareto plot (`front_figure`) written to `path` (PNG, or as its suffix says)."""
    path = Path(path)
    front_figure(records, front, objectives).savefig(path)
    return path


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """Pareto rows as CSV, the config flattened into one column per parameter."""
    import csv
    import io

    params = sorted({p for row in rows for p in row["config"]})
    fields = [k for k in (rows[0] if rows else {"trial_id": None}) if k != "config"] + params
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({**{k: v for k, v in row.items() if k != "config"}, **row["config"]})
    return out.getvalue()


def plot_front_html(records: Sequence[TrialRecord], front: Sequence[TrialRecord], objectives: Sequence[tuple[str, str]], path: Path) -> Path:
    """The Pareto plot as an interactive HTML page (plotly, embedded: it works offline).

    Hovering a point shows the trial, its metrics and its sampled config. Not Optuna's
    `plot_pareto_front` for the reasons `front_figure` gives.
    """
    import plotly.graph_objects as go

    y_name = objectives[0][0]
    x_name = objectives[1][0] if len(objectives) > 1 else "ebops"
    done = [r for r in records if r.ok]
    on_front = {r.trial_id for r in front}
    shown = table_metrics([m for m, _ in objectives], done)

    def trace(rs, name, color, size):
        rs = sorted(rs, key=lambda r: float(r.metrics.get(x_name, math.nan)))
        text = [
            f"trial {r.trial_id}<br>" + "<br>".join(f"{m}={format_value(r.metrics.get(m, math.nan))}" for m in shown)
            + "<br>" + config_summary(r.config).replace(" ", "<br>")
            for r in rs
        ]
        return go.Scatter(
            x=[r.metrics.get(x_name) for r in rs], y=[r.metrics.get(y_name) for r in rs], mode="lines+markers" if name == "Pareto front" else "markers",
            name=f"{name} ({len(rs)})", marker={"color": color, "size": size}, line={"shape": "hv"}, text=text, hoverinfo="text",
        )

    off_front = [r for r in done if r.trial_id not in on_front]
    traces = [trace([r for r in off_front if not r.harvested_from], "trials", "#9aa5b1", 8)]
    if any(r.harvested_from for r in off_front):
        traces.append(trace([r for r in off_front if r.harvested_from], "harvested epochs", "#66a182", 6))
    fig = go.Figure([*traces, trace(front, "Pareto front", "#d1495b", 12)])
    xs = [float(r.metrics.get(x_name, math.nan)) for r in done]
    positive = [x for x in xs if x > 0 and math.isfinite(x)]
    fig.update_layout(
        title=f"{y_name} vs {x_name}",
        xaxis={"title": f"{x_name} [{FINAL_METRICS[x_name].unit}]", "type": "log" if positive and max(positive) / min(positive) > 10 else "linear"},
        yaxis={
            "title": f"{y_name} [{FINAL_METRICS[y_name].unit}]" + (", lower is better" if objectives[0][1] == "min" else ""),
            "autorange": "reversed" if objectives[0][1] == "min" else True,
        },
        template="plotly_white",
    )
    path = Path(path)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def software_versions() -> dict[str, str]:
    """Versions of the libraries a result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("hgq_automl", "hgq2", "hls4ml", "da4ml", "keras", "jax", "jaxlib", "tensorflow-cpu", "tensorflow", "ray", "optuna", "mlflow"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out
