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

import numpy as np

TASKS = ("classification", "regression")
#: Losses a regression trains with (Keras' names); classification always uses cross-entropy.
REGRESSION_LOSSES = ("mse", "mae", "huber")
#: Keras' Huber default, also used for the reported `*_loss` of a huber regression.
HUBER_DELTA = 1.0


@dataclass(frozen=True)
class TaskSpec:
    kind: str = "classification"
    loss: str = "cross_entropy"  # regression: mse | mae | huber

    @property
    def regression(self) -> bool:
        return self.kind == "regression"

    def default_objectives(self) -> tuple[tuple[str, str], ...]:
        return (("val_mse", "min"), ("ebops", "min")) if self.regression else (("val_accuracy", "max"), ("ebops", "min"))

    def describe(self) -> dict[str, str]:
        return {"type": self.kind, "loss": self.loss} if self.regression else {"type": self.kind}

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
                "accuracy": float(np.mean(np.argmax(outputs, axis=1) == labels)) if len(labels) else 0.0,
                "loss": _cross_entropy(outputs, labels),
                "auc": _auc(outputs, labels),
            }
        return {f"{prefix}_{name}": value for name, value in out.items()}

    def harvest_quality(self) -> Callable[[np.ndarray, np.ndarray], float]:
        """The higher-is-better number harvesting keeps a checkpoint for: accuracy, or
        minus the mean squared error."""
        if self.regression:
            return lambda outputs, y: -float(np.mean((np.asarray(outputs, np.float64).reshape(len(y), -1) - np.asarray(y, np.float64).reshape(len(y), -1)) ** 2))
        return lambda outputs, y: float(np.mean(np.argmax(outputs, axis=1) == y))


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
