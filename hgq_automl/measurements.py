"""A trained model's measurement: its quality on the validation and test splits (the
task's metrics, `accuracy`), its costs (EBOPs, the estimates, da4ml's), its sparsity; and
the rule that a NaN cost an objective or a constraint needs fails the trial. A trial
measures its final model, its unpruned model and its harvested checkpoints with these."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .data import Splits
from .errors import TrialFailed
from .metrics import NOTE_PREFIX
from .space import SearchSpace


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of the model's inference."""
    from .compiled import compile_calls
    from .task import top1_accuracy

    return top1_accuracy(compile_calls(model).infer(x), y)


def quality_metrics(model, data: Splits, task, calls=None) -> dict[str, float]:
    """The task's quality metrics (`TaskSpec.metrics`) of the model on the validation and
    test splits (`calls`: its `compiled.ModelCalls`, made here if not given)."""
    from .compiled import compile_calls

    calls = calls or compile_calls(model)
    return {**task.metrics(calls.infer(data.x_val), data.y_val, "val"), **task.metrics(calls.infer(data.x_test), data.y_test, "test")}


def measure(model, calls, space: SearchSpace, data: Splits, params: Mapping[str, Any], da4ml: bool = True, *, seconds=None) -> dict[str, Any]:
    """The model's metrics as it stands: its activation ranges traced on the whole training
    set (`calls`: its `compiled.ModelCalls`), then the task's quality metrics, EBOPs, the
    cost estimates and, with `da4ml`, da4ml's (their time in `seconds["da4ml_seconds"]`),
    the estimates' notes; a NaN cost an objective or a constraint needs fails the trial."""
    from .estimates import da4ml_metrics, estimate

    ebops = calls.trace(data.x_train)  # HGQ's trace_minmax, compiled
    notes: dict[str, str] = {}
    out = {
        **quality_metrics(model, data, space.task, calls),
        "ebops": float(ebops),
        **estimate(model, int(params["reuse_factor"]), str(params["strategy"]), space.hardware.clock_period_ns, da4ml=False, notes=notes),
    }
    if da4ml:
        start = time.perf_counter()
        out.update(da4ml_metrics(model, space.hardware.clock_period_ns, notes=notes))
        if seconds is not None:
            seconds["da4ml_seconds"] = time.perf_counter() - start
    _check_needed(space, out, notes)
    out.update({f"{NOTE_PREFIX}{name}": text for name, text in notes.items()})
    return out


#: The notes of `estimates` that say why a metric is NaN (the others, e.g. the reuse
#: factors used, are information).
NAN_REASONS = ("uncovered_layers", "da4ml_error")


def _check_needed(space: SearchSpace, metrics: Mapping[str, Any], notes: Mapping[str, str]) -> None:
    """A cost metric that came out NaN (a layer no rule covers, a model da4ml cannot trace)
    fails the trial only when an objective or a constraint needs it."""
    named = {m for m, _ in space.objectives} | {c.metric for c in space.constraints}
    for name in sorted(named):
        value = metrics.get(name)
        if isinstance(value, float) and math.isnan(value):
            why = "; ".join(f"{k}: {notes[k]}" for k in NAN_REASONS if k in notes) or "undefined for this trial"
            raise TrialFailed(f"{name} is NaN, and the space's objectives or constraints need it ({why})")


def sparsity_metrics(model) -> dict[str, float]:
    """The model's sparsity: the whole model's, and each layer's (`sparsity_<layer>`)."""
    from .metrics import LAYER_SPARSITY_PREFIX
    from .pruning import layer_sparsity, total_sparsity

    return {"sparsity": total_sparsity(model), **{f"{LAYER_SPARSITY_PREFIX}{name}": s for name, s in layer_sparsity(model).items()}}
