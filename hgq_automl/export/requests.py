"""What an export is asked and what it gives: `ExportRequest` (a trial's run),
`FileExportRequest` (a model file), the hls4ml options both take (`HlsOptions`), and
`ExportOutcome` with `describe`, its lines for the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TARGETS = ("hls4ml", "verilog")


@dataclass(frozen=True)
class HlsOptions:
    """How the hls4ml project is configured, as an hls4ml user chooses it (None: the run's
    own, or for a model file the defaults: Vitis, io_parallel, 5 ns, latency, reuse factor 1)."""

    backend: str | None = None
    io_type: str | None = None
    clock_period: float | None = None  # ns; verilog too (the da4ml pipeline's cutoff)
    strategy: str | None = None
    reuse_factor: int | None = None
    hls_config: str | None = None  # a YAML/JSON file laid out as config_from_keras_model(granularity='name') gives it

    def hls_only(self) -> list[str]:
        """The options set that only an hls4ml project takes."""
        return [name for name in ("backend", "io_type", "strategy", "reuse_factor", "hls_config") if getattr(self, name) is not None]


@dataclass(frozen=True)
class ExportRequest:
    run_id: str
    to: str
    out: str
    part: str | None = None
    tracking_uri: str | None = None
    synth: bool = False  # verilog: yosys; hls4ml: the vendor build (tool on PATH)
    api: bool = False  # made by the Python API: messages name its arguments (to=, out=), not the flags
    hls: HlsOptions = HlsOptions()

    def opt(self, name: str) -> str:
        return f"{name.replace('-', '_')}=" if self.api else f"--{name}"


@dataclass(frozen=True)
class FileExportRequest:
    """`export MODEL.keras`: a trained model file, no search behind it."""

    model: str
    to: str
    out: str
    data: str | None = None  # input samples for the bit-exactness check (and the tracing of a float model)
    part: str | None = None
    synth: bool = False
    api: bool = False
    hls: HlsOptions = HlsOptions()

    def opt(self, name: str) -> str:
        return f"{name.replace('-', '_')}=" if self.api else f"--{name}"


@dataclass
class ExportOutcome:
    out: Path
    metrics: dict[str, float] = field(default_factory=dict)
    checked_samples: int = 0
    checked_on: str = ""  # what the samples were, when not the search's held-out test split

    @property
    def bit_exact(self) -> bool:
        return self.metrics.get("bit_mismatches", 0) == 0


def describe(outcome: ExportOutcome) -> list[str]:
    """Lines for the console: every metric with its unit, and the bit-exactness verdict."""
    from ..metrics import FINAL_METRICS
    from ..report import format_value

    lines = []
    for name, value in outcome.metrics.items():
        unit = FINAL_METRICS[name].unit if name in FINAL_METRICS else ""
        lines.append(f"  {name:<22} {format_value(value):>12} {unit}")
    n = int(outcome.metrics.get("bit_mismatches", 0))
    verdict = "bit-exact" if n == 0 else f"NOT bit-exact: {n} outputs differ"
    what = outcome.checked_on or f"{outcome.checked_samples} held-out test samples"
    lines.append(f"firmware vs Keras on {what}: {verdict}")
    return lines
