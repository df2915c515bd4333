"""Labels made to fit the task: class indices 0..K-1 for classification (text, one-hot
rows and whole floats accepted; other labels remapped, noted), float targets N x k for
regression. The same mapping for every split of a dataset."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from .checks import _check_finite, _dtype_name


def _targets(ys: list[tuple[np.ndarray, str]], task: str, notes: list[str]) -> list[np.ndarray]:
    """Each (y, file) as the task needs it: class indices, or float targets N x k."""
    if task == "regression":
        out = []
        for y, where in ys:
            if y.dtype.kind not in "biuf":
                raise UsageError(f"{where}: regression targets must be numbers; got {_dtype_name(y)}")
            if y.ndim not in (1, 2):
                raise UsageError(f"{where}: regression targets must be N values or N x k; got shape {y.shape}")
            _check_finite(y, where, "targets")
            out.append((y[:, None] if y.ndim == 1 else y).astype(np.float32))
        k = out[0].shape[1]
        for y, (_, where) in zip(out, ys):
            if y.shape[1] != k:
                raise UsageError(f"{where}: {y.shape[1]} targets per sample, but {ys[0][1]} has {k}")
        return out
    labels = [_class_labels(y, where) for y, where in ys]
    kinds = {y.dtype.kind for y in labels}
    if len(kinds) > 1:
        raise UsageError(f"{ys[-1][1]}: labels are text in some splits and numbers in others")
    classes = np.unique(np.concatenate(labels))
    if len(classes) < 2:
        raise UsageError(f"{ys[0][1]}: every label is {classes.tolist()[0]!r}; classification needs at least 2 classes")
    if kinds == {"i"} and classes[0] == 0 and classes[-1] == len(classes) - 1:
        return labels
    shown = classes.tolist() if len(classes) <= 10 else [*classes[:10].tolist(), "..."]
    notes.append(f"dataset: labels {shown} remapped to 0..{len(classes) - 1}".replace("'...'", "..."))
    return [np.searchsorted(classes, y).astype(np.int64) for y in labels]


def _class_labels(y: np.ndarray, where: str) -> np.ndarray:
    """Class labels as a 1-D array of int64 or text: one-hot rows by their argmax, whole
    floats as ints; continuous values refused (they need task: regression)."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        one_hot = y.dtype.kind in "biuf" and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()
        if not one_hot:
            raise UsageError(f"{where}: labels of shape {y.shape} are not one-hot rows (0/1 summing to 1); several targets per sample need task: regression")
        return y.argmax(axis=1).astype(np.int64)
    if y.ndim != 1:
        raise UsageError(f"{where}: class labels must be N values (or N x classes one-hot); got shape {y.shape}")
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        _check_finite(y, where, "labels")
        if not np.array_equal(y, np.round(y)):
            example = y[y != np.round(y)][0]
            raise UsageError(f"{where}: class labels must be whole numbers or text; got {example:g} (for continuous targets use task: regression)")
        if len(y) and np.abs(y).max() >= 2.0**62:
            raise UsageError(f"{where}: class labels must be integers below 2**62; got {y[np.abs(y) >= 2.0**62][0]:g}")
        return y.astype(np.int64)
    if y.dtype.kind in "SO":
        y = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in y.tolist()])
    if y.dtype.kind == "U":
        return y
    raise UsageError(f"{where}: class labels must be integers or text; got {_dtype_name(y)}")
