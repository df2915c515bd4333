"""The parameters a search space can set: each one's rule (type, bounds, default) and its
dimension (a fixed value or a distribution), and how one trial's config is sampled from them.
Nothing here imports Optuna: sampling takes any object with Optuna's `suggest_*` methods.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .vocabulary import (
    BETA_SCHEDULES,
    PRUNING_IMPORTANCES,
    PRUNING_OBJECTIVES,
    PRUNING_SCHEDULES,
    PRUNING_STRUCTURES,
    STRATEGIES,
)


class SuggestsParams(Protocol):
    """The part of `optuna.Trial` that sampling needs."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...
    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...
    def suggest_categorical(self, name: str, choices: list) -> Any: ...


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class ParamRule:
    """What values a parameter takes: its type, a lower bound, or a fixed set."""

    kind: type  # float, int or str
    default: Any
    minimum: float | None = None  # inclusive
    positive: bool = False  # strictly > 0
    below: float | None = None  # exclusive upper bound
    maximum: float | None = None  # inclusive upper bound
    allowed: tuple[str, ...] | None = None
    doc: str = ""

    def check(self, value: Any) -> str | None:
        """Return what is wrong with `value`, or None."""
        if self.kind is str:
            if not isinstance(value, str) or (self.allowed and value not in self.allowed):
                return f"must be one of {', '.join(self.allowed or ())}; got {value!r}"
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number; got {value!r}"
        if self.kind is int and not float(value).is_integer():
            return f"must be an integer; got {value!r}"
        if not math.isfinite(value):
            return f"must be finite; got {value!r}"
        if self.positive and value <= 0:
            return f"must be > 0; got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum:g}; got {value!r}"
        if self.below is not None and value >= self.below:
            low = f"[{self.minimum:g}, " if self.minimum is not None else "(-inf, "
            return f"must be in {low}{self.below:g}); got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum:g}; got {value!r}"
        return None


#: Parameters every space may set, with their defaults.
COMMON_PARAMS: dict[str, ParamRule] = {
    "learning_rate": ParamRule(float, 3e-3, positive=True, doc="Adam learning rate"),
    "batch_size": ParamRule(int, 64, minimum=1, doc="training batch size"),
    "epochs": ParamRule(int, 20, minimum=1, doc="training epochs"),
    "beta": ParamRule(float, 1e-5, minimum=0, doc="HGQ resource penalty (per EBOP); the ramp's start"),
    "beta_final": ParamRule(float, 1e-4, minimum=0, doc="beta at the last epoch when beta_schedule is ramp"),
    "beta_schedule": ParamRule(str, "constant", allowed=BETA_SCHEDULES, doc="constant, or a log-linear ramp beta -> beta_final"),
    "reuse_factor": ParamRule(int, 1, minimum=1, doc="hls4ml reuse factor (multiplications sharing one multiplier)"),
    "strategy": ParamRule(str, "latency", allowed=STRATEGIES, doc="hls4ml strategy: the DSP estimate's and the csim/vivado/vitis conversion's"),
}
#: Pruning after training (hgq_automl.pruning); the others apply when pruning_schedule is not none.
PRUNING_PARAMS: dict[str, ParamRule] = {
    "pruning_schedule": ParamRule(str, "none", allowed=PRUNING_SCHEDULES, doc="none, or the sparsity schedule of the pruning steps"),
    "final_sparsity": ParamRule(float, 0.5, minimum=0, below=1, doc="fraction of the objective's resources to remove, in [0, 1)"),
    "pruning_steps": ParamRule(int, 4, minimum=1, doc="pruning steps the schedule takes to reach final_sparsity"),
    "pruning_structure": ParamRule(str, "unstructured", allowed=PRUNING_STRUCTURES, doc="weights, whole neurons/filters, or DSP patterns"),
    "pruning_objective": ParamRule(str, "params", allowed=PRUNING_OBJECTIVES, doc="the resource final_sparsity is a fraction of"),
    "pruning_importance": ParamRule(str, "magnitude", allowed=PRUNING_IMPORTANCES, doc="rank weights by |w| or by |w x dLoss/dw|"),
    "pruning_epochs": ParamRule(int, 2, minimum=1, doc="fine-tuning epochs after each pruning step"),
    "pruning_rtol": ParamRule(float, 0.98, positive=True, maximum=1, doc="keep pruning while val_accuracy >= rtol x the unpruned model's"),
}
#: Only for the cnn family.
CNN_PARAMS: dict[str, ParamRule] = {
    "parallelization_factor": ParamRule(int, 1, minimum=1, doc="output pixels a QConv2D computes in parallel"),
}
WIDTH_RULE = ParamRule(int, 8, minimum=1, doc="layer width")
BETA_SCALE_RULE = ParamRule(float, 1.0, minimum=0, doc="multiplier of beta for one layer")
#: parallelization_factor_<layer>: that conv layer's factor (overrides parallelization_factor); no default
LAYER_PF_RULE = ParamRule(int, None, minimum=1, doc="output pixels one conv layer computes in parallel")
#: parallelization_factor of a user's model: applied to its conv layers only when set
USER_PF_RULE = ParamRule(int, None, minimum=1, doc="output pixels every conv layer computes in parallel (when set)")
_WIDTH_NAME = re.compile(r"^(filters|units)_(\d+)$")
_BETA_SCALE_NAME = re.compile(r"^beta_scale_(\w+)$")
_LAYER_PF_NAME = re.compile(r"^parallelization_factor_(\w+)$")


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a distribution, or a fixed value (`kind == "fixed"`)."""

    name: str
    kind: str  # fixed | log_uniform | uniform | int | choice
    value: Any = None  # for fixed
    low: float | None = None
    high: float | None = None
    step: int = 1
    log: bool = False
    values: tuple = ()

    def suggest(self, trial: SuggestsParams) -> Any:
        if self.kind == "fixed":
            return self.value
        if self.kind == "log_uniform":
            return trial.suggest_float(self.name, self.low, self.high, log=True)
        if self.kind == "uniform":
            return trial.suggest_float(self.name, self.low, self.high)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=self.step, log=self.log)
        return trial.suggest_categorical(self.name, list(self.values))

    def describe(self) -> Any:
        """A plain-data form, as it would be written in YAML."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "choice":
            return {"type": "choice", "values": list(self.values)}
        out: dict[str, Any] = {"type": self.kind, "low": self.low, "high": self.high}
        if self.kind == "int" and self.step != 1:
            out["step"] = self.step
        if self.kind == "int" and self.log:
            out["log"] = True
        return out



def _user_rule(dim: Dimension) -> ParamRule:
    """The rule of a builder's own parameter, from its dimension: int ranges are integers,
    other ranges reals, choices of text one of those texts, other fixed values anything."""
    if dim.kind == "int":
        return ParamRule(int, None)
    if dim.kind in ("uniform", "log_uniform"):
        return ParamRule(float, None)
    values = dim.values if dim.kind == "choice" else (dim.value,)
    if all(isinstance(v, str) for v in values):
        return ParamRule(str, None, allowed=tuple(values) if dim.kind == "choice" else None)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return ParamRule(int if all(isinstance(v, int) for v in values) else float, None)
    return ParamRule(object, None)


class _PointTrial:
    """Answers `SearchSpace.suggest` with a start point's values (a range's low end, a
    choice's first value otherwise) and records which parameters were asked for."""

    def __init__(self, point: Mapping[str, Any]):
        self.point, self.asked = point, set()

    def _answer(self, name: str, default: Any) -> Any:
        self.asked.add(name)
        return self.point.get(name, default)

    def suggest_float(self, name, low, high, *, log=False):
        return self._answer(name, low)

    def suggest_int(self, name, low, high, *, step=1, log=False):
        return self._answer(name, low)

    def suggest_categorical(self, name, choices):
        return self._answer(name, choices[0])
