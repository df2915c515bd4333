"""What a model is trained for (`task:` in a space): its loss and the quality metrics of a trial.

- `classification` (the default): integer labels 0..K-1, K output logits, sparse
  cross-entropy on the logits; quality metrics accuracy, loss and AUC.
- `regression`: k continuous targets, k linear outputs, loss `mse`, `mae` or `huber`;
  quality metrics mse, mae and loss.

The metrics are computed here from a model's outputs with numpy (and scikit-learn's
AUC), the same numbers for a trial, a harvested checkpoint and `export`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .constraints import Constraint

TASKS = ("classification", "regression")
#: Losses a regression trains with (Keras' names); classification always uses cross-entropy.
REGRESSION_LOSSES = ("mse", "mae", "huber")
#: Keras' Huber default, also used for the reported `*_loss` of a huber regression.
HUBER_DELTA = 1.0
#: The default `task.chance_margin`: a point must close this fraction of the gap between a
#: constant prediction and a perfect one to be on the front (`TaskSpec.floor`).
CHANCE_MARGIN = 0.1


@dataclass(frozen=True)
class TaskSpec:
    kind: str = "classification"
    loss: str = "cross_entropy"  # regression: mse | mae | huber
    chance_margin: float = CHANCE_MARGIN  # 0: no floor

    @property
    def regression(self) -> bool:
        return self.kind == "regression"

    def default_objectives(self) -> tuple[tuple[str, str], ...]:
        return (("val_mse", "min"), ("ebops", "min")) if self.regression else (("val_accuracy", "max"), ("ebops", "min"))

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "loss": self.loss} if self.regression else {"type": self.kind}
        if self.chance_margin != CHANCE_MARGIN:
            out["chance_margin"] = self.chance_margin
        return out

    def floor(self, y_train: np.ndarray, y_val: np.ndarray) -> tuple[Constraint, str] | None:
        """The constraint that keeps collapsed models off the front, and a line saying it.

        A model that collapsed to a constant output (it happens at large beta: every weight
        at zero bits) can still be non-dominated, at the lowest EBOPs, yet nobody deploys
        it. Chance is what the best constant prediction scores on the validation split: the
        largest class's share of it (classification), or the mean squared error of the
        training targets' mean (regression). The floor asks for `chance_margin` of the way
        from there to perfect: `val_accuracy >= chance + m (1 - chance)`, or
        `val_mse <= (1 - m) chance_mse`. None when the margin is 0 or chance is perfect.
        The bound is rounded to 4 significant digits, so that it reads back equal from its text."""
        m = self.chance_margin
        if m <= 0 or not len(y_val):
            return None
        if self.regression:
            y_val = np.asarray(y_val, np.float64).reshape(len(y_val), -1)
            chance = float(np.mean((y_val - np.asarray(y_train, np.float64).reshape(len(y_train), -1).mean(axis=0)) ** 2))
            if chance <= 0:
                return None
            bound = float(f"{(1 - m) * chance:.4g}")
            return Constraint("val_mse", "<=", bound), (
                f"the front keeps points with val_mse <= {bound:g}: predicting the training mean scores {chance:.4g}, "
                f"and a point must close {m:g} of the gap to 0 (task.chance_margin; 0 turns this off)"
            )
        labels = np.asarray(y_val).astype(np.int64)
        chance = float(np.bincount(labels).max() / len(labels))
        if chance >= 1:
            return None
        bound = float(f"{chance + m * (1 - chance):.4g}")
        return Constraint("val_accuracy", ">=", bound), (
            f"the front keeps points with val_accuracy >= {bound:g}: chance (the largest class's share of the validation split) is {chance:.4g}, "
            f"and a point must close {m:g} of the gap to 1 (task.chance_margin; 0 turns this off)"
        )

    # ------------------------------------------------------------------ Keras side

    def keras_loss(self):
        import keras

        if not self.regression:
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return {"mse": keras.losses.MeanSquaredError, "mae": keras.losses.MeanAbsoluteError, "huber": keras.losses.Huber}[self.loss]()

    def keras_metrics(self) -> list[str]:
        """Per-epoch metrics Keras logs besides the loss (`EPOCH_METRICS` names them)."""
        return ["mse", "mae"] if self.regression else ["accuracy"]

    # ------------------------------------------------------------------ numbers

    def metrics(self, outputs: np.ndarray, y: np.ndarray, prefix: str) -> dict[str, float]:
        """The quality metrics of `outputs` (a model's raw outputs) against `y`, named
        `<prefix>_<metric>` (prefix `val` or `test`)."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.regression:
            err = outputs.reshape(len(outputs), -1) - np.asarray(y, dtype=np.float64).reshape(len(y), -1)
            out = {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err)))}
            out["loss"] = {"mse": out["mse"], "mae": out["mae"], "huber": _huber(err)}[self.loss]
        else:
            labels = np.asarray(y).astype(np.int64)
            out = {
                "accuracy": top1_accuracy(outputs, labels),
                "loss": _cross_entropy(outputs, labels),
                "auc": _auc(outputs, labels),
            }
        return {f"{prefix}_{name}": value for name, value in out.items()}

    def harvest_floor(self, constraints: tuple[Constraint, ...]) -> float | None:
        """The lowest harvest quality (`harvest_quality`) the constraints on its metric allow:
        the largest `val_accuracy >=` bound, or minus the smallest `val_mse <=` bound (the
        chance floor among them). A harvest keeps nothing below it: such a checkpoint would
        be logged, estimated and then kept off the front, and would take a slot of the
        harvest's cap from a point that counts. None when no constraint bounds it."""
        metric, op = ("val_mse", "<=") if self.regression else ("val_accuracy", ">=")
        bounds = [c.bound for c in constraints if c.metric == metric and c.op == op]
        if not bounds:
            return None
        return -min(bounds) if self.regression else max(bounds)

    def harvest_quality(self) -> Callable[[np.ndarray, np.ndarray], float]:
        """The higher-is-better number harvesting keeps a checkpoint for: accuracy, or
        minus the mean squared error."""
        if self.regression:
            return lambda outputs, y: -float(np.mean((np.asarray(outputs, np.float64).reshape(len(y), -1) - np.asarray(y, np.float64).reshape(len(y), -1)) ** 2))
        return top1_accuracy


def top1_accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """The share of samples whose largest output is their label (0 for no samples): the one
    accuracy of the tool (trials, harvesting, pruning, populations)."""
    labels = np.asarray(labels)
    return float(np.count_nonzero(np.argmax(outputs, axis=1) == labels)) / len(labels) if len(labels) else 0.0


def _huber(err: np.ndarray, delta: float = HUBER_DELTA) -> float:
    a = np.abs(err)
    return float(np.mean(np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean sparse cross-entropy of logits (the training loss without HGQ's beta x EBOPs term)."""
    if not len(labels):
        return float("nan")
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def _auc(logits: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC: binary on class 1's probability, else one-vs-rest macro over the classes;
    NaN when the split does not hold every class (AUC is undefined then)."""
    from sklearn.metrics import roc_auc_score

    n = logits.shape[1]
    if len(labels) == 0 or len(np.unique(labels)) < n or n < 2:
        return float("nan")
    p = _softmax(logits)
    try:
        if n == 2:
            return float(roc_auc_score(labels, p[:, 1]))
        return float(roc_auc_score(labels, p, multi_class="ovr", average="macro"))
    except ValueError:
        return float("nan")
