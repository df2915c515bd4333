"""The checks every source of samples passes, a file or arrays in memory: samples there,
a label per sample, numeric features, no NaN or inf, nothing beyond float32's range (the
trials compute in float32). Each failure is a one-line `UsageError` naming the source."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError


#: the largest magnitude a trial's float32 tensors hold: data beyond it would become inf
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_finite(a: np.ndarray, where: str, what: str) -> None:
    """No NaN or inf, and nothing that becomes inf as float32 (the trials' dtype)."""
    if a.dtype.kind != "f" or a.size == 0:
        return
    flat = a.reshape(len(a), -1)
    bad = ~np.isfinite(flat)
    if bad.any():
        raise UsageError(f"{where}: NaN or inf in the {what} (first at sample {int(np.argwhere(bad)[0, 0])})")
    if a.dtype.itemsize > 4:
        big = np.abs(flat) > FLOAT32_MAX
        if big.any():
            row, col = (int(i) for i in np.argwhere(big)[0])
            raise UsageError(
                f"{where}: {what} beyond float32's range (|value| > {FLOAT32_MAX:.4g}), which trials compute in; "
                f"first at sample {row}: {flat[row, col]:g}"
            )


def _dtype_name(a: np.ndarray) -> str:
    return {"U": "text", "S": "text", "O": "Python objects"}.get(a.dtype.kind, f"dtype {a.dtype}")


def _checked_xy(x: np.ndarray, y: np.ndarray, x_where: str, y_where: str, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels that can be used: samples, a label per sample (the labels'
    file named), numeric finite features; a 1-D x becomes N x 1 (noted)."""
    if x.ndim == 0 or len(x) == 0:
        raise UsageError(f"{x_where}: holds no samples (features of shape {x.shape})")
    if y.ndim == 0 or len(y) != len(x):
        raise UsageError(f"{y_where}: {len(x)} samples of features but {len(y) if y.ndim else 0} labels")
    if x.dtype.kind not in "biuf":
        raise UsageError(f"{x_where}: features must be numbers; got {_dtype_name(x)}")
    if x.ndim > 1 and 0 in x.shape[1:]:
        raise UsageError(f"{x_where}: holds no features (features of shape {x.shape})")
    _check_finite(x, x_where, "features")
    if x.ndim == 1:
        x = x[:, None]
        notes.append(f"dataset: {x_where} holds one feature per sample (shape ({len(x)},)): read as {len(x)} x 1")
    return x, y
