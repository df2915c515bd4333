"""The datasets known by name: scikit-learn's digits and diabetes (they ship with it, so
they load offline), and MNIST from a folder of idx files (optionally gzipped) or an .npz."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .readers import _npz_xy, _reading


def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes regression set: 442 patients, 10 features (as scikit-learn
    scales them: centred, unit norm per column), the disease progression after a year in
    hundreds (scikit-learn's target / 100, so that an HGQ output of a few integer bits holds it)."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return x.astype(np.float32), (y / 100.0).astype(np.float32)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


def _read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped): big-endian magic, dimensions, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with _reading(path, "an idx file" + (" (gzip)" if path.suffix == ".gz" else "")):
        with opener(path, "rb") as f:
            raw = f.read()
        if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
            raise UsageError(f"{path}: not an idx file of unsigned bytes")
        ndim = raw[3]
        if len(raw) < 4 + 4 * ndim:
            raise UsageError(f"{path}: idx header cut short ({len(raw)} bytes)")
        dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise UsageError(f"{path}: idx header says {tuple(dims)} but the file holds {data.size} values")
    return data.reshape(dims)


def _mnist(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if path.suffix == ".npz":
        x, y = _npz_xy(path)
    else:
        xs, ys = [], []
        for prefix in ("train", "t10k"):
            images = _first_existing(path, f"{prefix}-images-idx3-ubyte")
            labels = _first_existing(path, f"{prefix}-labels-idx1-ubyte")
            if images and labels:
                xs.append(_read_idx(images))
                ys.append(_read_idx(labels))
        if not xs:
            raise UsageError(f"{path}: no MNIST idx files (train-images-idx3-ubyte[.gz] / t10k-images-idx3-ubyte[.gz] and their labels)")
        x, y = np.concatenate(xs), np.concatenate(ys)
    if x.ndim != 3:
        raise UsageError(f"{path}: MNIST images must be N x height x width; got shape {x.shape}")
    if len(x) != len(y):
        raise UsageError(f"{path}: {len(x)} images but {len(y)} labels")
    x = x.astype(np.float32)
    if x.max() > 1:
        x /= 255.0
    return x, y.astype(np.int64)


def _first_existing(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None
