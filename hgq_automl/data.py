"""Datasets: scikit-learn's digits (ships offline), MNIST from idx files or .npz, tabular .npz/.csv.

Everything is loaded once, in the driver, and split with a fixed seed into train,
validation and test sets, so every trial of a search sees the same split.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UsageError
from .space import DatasetSpec


@dataclass(frozen=True)
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0):
    """`x`, `y` as a tf.data pipeline of batches for `model.fit` (TensorFlow backend).

    The same batches as Keras' own adapter for numpy arrays (every sample once per epoch,
    reshuffled each epoch when `shuffle`, the last batch partial), built so that a trial
    keeps to its one core: no autotuned parallel map or prefetch, a private pool of one
    thread. Keras' adapter autotunes those: it costs more CPU per epoch, and the training
    thread waits on its threads (with two trials side by side each kept ~0.8 of a core
    busy; an epoch here is 1.4-1.7x faster, see the speed section of docs/benchmarks.md).
    Each batch is gathered from the arrays by index, so a shuffle holds indices, not samples.
    """
    import tensorflow as tf

    x, y = tf.constant(x), tf.constant(y)
    order = tf.data.Dataset.range(len(x))
    if shuffle:
        order = order.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = order.batch(batch_size).map(lambda i: (tf.gather(x, i), tf.gather(y, i)))
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.with_options(options)


def load_dataset(spec: DatasetSpec) -> Splits:
    """Load the dataset a space names and split it (train / val / test)."""
    if spec.name == "digits":
        x, y = _digits()
    elif spec.name == "mnist":
        x, y = _mnist(Path(spec.path).expanduser())
    elif spec.name == "tabular":
        x, y = _tabular(Path(spec.path).expanduser(), spec.label_column)
    else:  # pragma: no cover - the space validator refuses other names
        raise UsageError(f"unknown dataset {spec.name!r}")
    return split(x, y, spec, standardize=spec.name == "tabular")


def split(x: np.ndarray, y: np.ndarray, spec: DatasetSpec, standardize: bool = False) -> Splits:
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(len(x))
    if spec.max_samples:
        order = order[: spec.max_samples]
    x, y = x[order], y[order]
    n_test = max(1, round(len(x) * spec.test_fraction))
    n_val = max(1, round(len(x) * spec.val_fraction))
    n_train = len(x) - n_val - n_test
    if n_train < 1:
        raise UsageError(f"dataset {spec.name}: {len(x)} samples leave none to train on")
    tr, va, te = slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, None)
    if standardize:
        mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)
        x = (x - mean) / np.where(std > 0, std, 1.0)
    x = x.astype(np.float32)
    return Splits(x[tr], y[tr], x[va], y[va], x[te], y[te])


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


def _read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped): big-endian magic, dimensions, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise UsageError(f"{path}: not an idx file of unsigned bytes")
    ndim = raw[3]
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
    x = x.astype(np.float32)
    if x.max() > 1:
        x /= 255.0
    return x, y.astype(np.int64)


def _first_existing(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _npz_xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """x/y arrays from an .npz: keys (x, y), (X, y), or x_train/y_train [+ x_test/y_test]."""
    with np.load(path) as f:
        keys = set(f.files)
        for xk, yk in (("x", "y"), ("X", "y")):
            if {xk, yk} <= keys:
                return f[xk], f[yk]
        if {"x_train", "y_train"} <= keys:
            xs, ys = [f["x_train"]], [f["y_train"]]
            if {"x_test", "y_test"} <= keys:
                xs.append(f["x_test"])
                ys.append(f["y_test"])
            return np.concatenate(xs), np.concatenate(ys)
    raise UsageError(f"{path}: an .npz needs arrays x and y (or x_train, y_train); it has {', '.join(sorted(keys))}")


def _tabular(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    if path.suffix == ".npz":
        x, y = _npz_xy(path)
    else:
        import pandas as pd

        frame = pd.read_csv(path)
        if label_column not in frame.columns:
            raise UsageError(f"{path}: no label column {label_column!r}; columns are {', '.join(map(str, frame.columns))}")
        y = frame.pop(label_column).to_numpy()
        non_numeric = [c for c in frame.columns if not np.issubdtype(frame[c].dtype, np.number)]
        if non_numeric:
            raise UsageError(f"{path}: feature columns must be numeric; {', '.join(non_numeric)} are not")
        x = frame.to_numpy(dtype=np.float32)
    if x.ndim != 2:
        raise UsageError(f"{path}: tabular features must be N x features; got shape {x.shape}")
    if y.ndim == 2:  # one-hot labels
        y = y.argmax(axis=1)
    _, y = np.unique(y, return_inverse=True)  # labels of any kind -> 0..n_classes-1
    return x.astype(np.float32), y.astype(np.int64)
