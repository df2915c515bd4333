"""The metric vocabulary: one name per quantity, with its unit and preferred direction.

The same names appear in what a trial reports, in MLflow metrics, in the search-space
`objectives` and `constraints`, and in the printed Pareto table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UsageError


@dataclass(frozen=True)
class Metric:
    name: str
    mode: str  # "max" or "min": the better direction
    unit: str
    doc: str
    #: Synthesis steps (`hardware.synthesis`) that produce it; empty: every trial reports it.
    needs: tuple[str, ...] = ()
    #: Tasks (`task:`) whose trials report it; empty: every task.
    tasks: tuple[str, ...] = ()
    #: The design a cost metric describes, a key of `DESIGNS`; empty: not a design's cost
    #: (quality metrics, flops and params of the network, the synthesized firmware's own).
    design: str = ""

    @property
    def design_label(self) -> str:
        """The short label of its design (for column headers), or ""."""
        return DESIGNS[self.design][0] if self.design else ""


#: The designs the cost metrics describe, by `Metric.design`: (short label, what it is).
#: One trial's luts and dsps are not one circuit: da4ml's fully parallel design has no
#: DSPs, hls4ml's at a reuse factor > 1 is not fully parallel.
DESIGNS: dict[str, tuple[str, str]] = {
    "da4ml": ("da4ml DA", "da4ml's fully parallel distributed-arithmetic design"),
    "hls4ml": ("hls4ml RF", "hls4ml's design at the trial's strategy and reuse_factor"),
    "hgq": ("HGQ PF", "HGQ's count at the trial's parallelization_factor"),
}


#: Values of `hardware.synthesis` / `--synthesis`.
SYNTHESIS_STEPS = ("none", "csim", "rtl", "vivado", "vitis")
_SYNTH = ("rtl", "vivado", "vitis")
_VENDOR = ("vivado", "vitis")

_CLS = ("classification",)
_REG = ("regression",)

_ALL = [
    Metric("val_accuracy", "max", "fraction", "accuracy on the validation split, of the quantized model after trace_minmax", tasks=_CLS),
    Metric("test_accuracy", "max", "fraction", "accuracy on the held-out test split, of the quantized model after trace_minmax", tasks=_CLS),
    Metric(
        "val_auc", "max", "fraction",
        "ROC AUC on the validation split (binary: class 1's probability; more classes: one-vs-rest macro); NaN when the split lacks a class",
        tasks=_CLS,
    ),
    Metric("test_auc", "max", "fraction", "ROC AUC on the held-out test split, as val_auc", tasks=_CLS),
    Metric(
        "val_loss", "min", "loss",
        "the task's loss (cross-entropy on the logits, or the regression loss) on the validation split, of the quantized "
        "model after trace_minmax, without HGQ's beta x EBOPs term (the per-epoch val_loss curve includes it)",
    ),
    Metric("test_loss", "min", "loss", "the task's loss on the held-out test split, as val_loss"),
    Metric("val_mse", "min", "target units squared", "mean squared error over the validation split and every target", tasks=_REG),
    Metric("test_mse", "min", "target units squared", "mean squared error over the held-out test split and every target", tasks=_REG),
    Metric("val_mae", "min", "target units", "mean absolute error over the validation split and every target", tasks=_REG),
    Metric("test_mae", "min", "target units", "mean absolute error over the held-out test split and every target", tasks=_REG),
    Metric(
        "ebops", "min", "bit-operations",
        "HGQ effective bit-operations after trace_minmax; a conv layer counts parallelization_factor output pixels in parallel",
        design="hgq",
    ),
    Metric("flops", "min", "operations", "floating-point operations of one inference: 2 per multiply-accumulate"),
    Metric("params", "min", "count", "weights and biases of the network (quantizer variables excluded)"),
    Metric(
        "luts", "min", "LUTs",
        "da4ml estimate of the LUTs of the distributed-arithmetic implementation, fully parallel "
        "(every conv output pixel its own adder tree, whatever parallelization_factor)",
        design="da4ml",
    ),
    Metric("ffs", "min", "FFs", "da4ml estimate of the pipeline-register bits (flip-flops) of that implementation", design="da4ml"),
    Metric("dsps", "min", "DSP slices", "DSPs of hls4ml's strategy (latency/resource) at the trial's reuse_factor; 0 for distributed_arithmetic", design="hls4ml"),
    Metric(
        "bram", "min", "BRAM (36-bit-wide blocks)",
        "hls4ml's BRAM rule for the weights: resource strategy with reuse_factor > 1, ceil(weight bits x weights "
        "in BRAM words holding a non-zero / (reuse_factor x 36)) per layer; 0 for latency, reuse_factor 1 and distributed_arithmetic",
        design="hls4ml",
    ),
    Metric("latency_cycles", "min", "clock cycles", "pipeline stages of the da4ml design, cut at hardware.clock_period_ns delay units", design="da4ml"),
    Metric("latency_ns", "min", "ns", "latency_cycles x hardware.clock_period_ns (the da4ml design's)", design="da4ml"),
    Metric(
        "bit_mismatches", "min", "count",
        "held-out test outputs where the firmware's simulation (hls4ml C simulation, or iverilog RTL simulation) "
        "differs from Keras; non-zero = the trial's numbers are untrusted",
        ("csim", "rtl", "vivado", "vitis"),
    ),
    Metric("sparsity", "max", "fraction", "fraction of QDense/QConv2D weights exactly 0 after quantization (pruned or 0-bit)"),
    Metric("synth_luts", "min", "LUTs", "LUTs after synthesis (yosys synth_xilinx for rtl: LUT1-6 + SRL cells; Vivado/Vitis report)", _SYNTH),
    Metric("synth_ffs", "min", "FFs", "flip-flops after synthesis (yosys: FD* cells; Vivado/Vitis report)", _SYNTH),
    Metric("synth_dsps", "min", "DSP slices", "DSP slices after synthesis (yosys: DSP48E1/E2 cells; Vivado/Vitis report)", _SYNTH),
    Metric("synth_carry", "min", "carry cells", "CARRY4/CARRY8 cells after yosys synthesis", ("rtl",)),
    Metric("synth_bram", "min", "BRAM_18K", "18 kbit block RAMs in the Vivado/Vitis report", _VENDOR),
    Metric("synth_latency_cycles", "min", "clock cycles", "worst-case latency in the HLS C-synthesis report", _VENDOR),
    Metric("synth_seconds", "min", "s", "wall-clock time of the synthesis step (yosys, or the vendor build)", _SYNTH),
]

#: Final metrics of a trial, by name.
FINAL_METRICS: dict[str, Metric] = {m.name: m for m in _ALL}

#: Metrics reported after every epoch (training curves).
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "mse", "mae", "val_mse", "val_mae", "ebops", "beta")

#: Timings of one trial, in seconds (wall-clock). Inside the trial: `setup_seconds` (imports,
#: which take seconds in a fresh worker, clear the session, build and compile the model), `train_seconds` (fit + pruning, harvesting
#: excluded), `harvest_seconds` (per-epoch trace + evaluation, and measuring the kept
#: checkpoints), `estimate_seconds` (trace + accuracy + cost models of the final model),
#: `da4ml_seconds` (the part of estimate_seconds that is da4ml's trace of the whole design: luts, ffs, latency),
#: `synth_seconds` (the synthesis step, when there is one), `trial_seconds` (all of it);
#: `first_epoch_seconds` (part of train_seconds: the first epoch, which compiles the train and validation steps).
#: Seen from the driver: `wall_seconds` (Tune's trial start to its end, so including
#: scheduling, actor set-up, reporting and checkpointing) and `tracking_seconds` (time the
#: driver spent logging the trial to MLflow).
TIMING_METRICS = (
    "setup_seconds",
    "train_seconds",
    "first_epoch_seconds",
    "harvest_seconds",
    "estimate_seconds",
    "da4ml_seconds",
    "trial_seconds",
    "wall_seconds",
    "tracking_seconds",
)

#: A trial's final metrics may carry text notes under `note_<name>` (e.g. `note_da4ml_error`:
#: why da4ml could not trace the model; `note_uncovered_layers`: layers no cost rule
#: covers); the tracking adapter logs them as the run's tags `hgq_automl.<name>`.
NOTE_PREFIX = "note_"

#: A metric only the final report of a trial has, whatever its task: a trial (or a logged
#: run) without it did not finish training.
FINAL_KEY = "trial_seconds"

#: Epochs a trial trained: its `epochs`, or fewer when the search's time budget ended its
#: training early (`search.time_budget_s`: the trial is then measured and kept as it is).
PROGRESS_METRICS = ("epochs_trained",)

#: Intra-trial harvesting (`harvest:`): `harvest_points` is how many non-dominated earlier
#: checkpoints a trial kept (reported on its final result); a harvested point's own
#: metrics carry `harvest_epoch` (1-based) and the `beta` of that epoch.
HARVEST_METRICS = ("harvest_points", "harvest_epoch")

#: Reported by trials that prune (`pruning_schedule` not none), against the same model
#: before pruning: `<m>_unpruned` its value, `<m>_reduction` = 1 - pruned / unpruned
#: (a fraction; 0 when the unpruned value is 0). `pruning_sparsity_target` is the target
#: sparsity (of the pruning objective) of the kept step, `pruning_steps_run` the steps tried.
PRUNING_METRICS = (
    "val_accuracy_unpruned",
    "test_accuracy_unpruned",
    "ebops_unpruned",
    "luts_unpruned",
    "dsps_unpruned",
    "bram_unpruned",
    "ebops_reduction",
    "luts_reduction",
    "dsps_reduction",
    "bram_reduction",
    "pruning_sparsity_target",
    "pruning_steps_run",
)

#: Per-layer sparsity: `sparsity_<layer>` (e.g. sparsity_conv1), reported by every trial.
LAYER_SPARSITY_PREFIX = "sparsity_"


class _Vocabulary(frozenset):
    """A set of metric names that also holds every per-layer `sparsity_<layer>` name."""

    def __contains__(self, name: object) -> bool:
        return frozenset.__contains__(self, name) or (isinstance(name, str) and name.startswith(LAYER_SPARSITY_PREFIX))


#: Every metric a trial reports; what the tracking adapter logs.
LOGGED_METRICS = _Vocabulary(
    frozenset(FINAL_METRICS) | frozenset(EPOCH_METRICS) | frozenset(TIMING_METRICS) | frozenset(PRUNING_METRICS) | frozenset(HARVEST_METRICS) | frozenset(PROGRESS_METRICS) | {"epoch", "score"}
)


def produced_by(metric: str, synthesis: str, task: str = "classification") -> bool:
    """Whether a trial run with `synthesis` on `task` reports `metric`."""
    m = FINAL_METRICS[metric]
    return (not m.needs or synthesis in m.needs) and (not m.tasks or task in m.tasks)



def logged_values(raw: dict[str, Any], finite: bool = False) -> dict[str, float]:
    """The numeric values of `raw` whose names are in `LOGGED_METRICS` (not Ray's bookkeeping:
    pid, date, ...; not a note's text), as floats; with `finite`, NaN and infinities left out."""
    return {
        k: float(v) for k, v in raw.items()
        if k in LOGGED_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool) and (not finite or math.isfinite(v))
    }


def parse_objectives(items: Sequence[str], label: str = "--objectives") -> tuple[tuple[str, str], ...]:
    """`val_accuracy:max luts` -> ((val_accuracy, max), (luts, min)); a bare name takes its
    usual direction. `label` names the option in an error."""
    out = []
    for item in items:
        name, _, mode = item.partition(":")
        if name not in FINAL_METRICS:
            raise UsageError(f"{label}: unknown metric {name!r}; known metrics are {', '.join(FINAL_METRICS)}")
        mode = mode or FINAL_METRICS[name].mode
        if mode not in ("max", "min"):
            raise UsageError(f"{label}: {item!r}: the direction must be max or min")
        out.append((name, mode))
    return tuple(out)
