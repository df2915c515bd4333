"""Datasets: scikit-learn's digits and diabetes (ship offline); and a user's own files, read
alike by `mnist` (also idx files; N x height x width images), `tabular` (N x features,
standardized) and `arrays` (any feature shape): .npy pairs, .npz, HDF5, CSV, parquet, split
at random or in fixed train[/val]/test files (a folder of them: space/folders.py), the
validation set carved out of train when no val file is given.

Everything is loaded once, in the driver, and split with a fixed seed into train,
validation and test sets (stratified by class for classification), so every trial of a
search sees the same split. Labels are made to fit the task: class indices 0..K-1 for
classification, float targets N x k for regression. A file that cannot be read, or data
that cannot be used, is a one-line `UsageError` naming the file.
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import UsageError, first_line
from .space import SPLITS, DataSource, DatasetSpec

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"  # classification: y int64 (N,) in 0..K-1; regression: y float32 (N, k)
    notes: tuple[str, ...] = ()  # what loading changed or decided (labels remapped, split unstratified), to print

    @property
    def n_classes(self) -> int:
        if self.task != "classification":
            raise ValueError(f"{self.task} data has no classes; use n_outputs")
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1

    @property
    def n_outputs(self) -> int:
        """The model's outputs: classes for classification, targets for regression."""
        return self.n_classes if self.task == "classification" else int(self.y_train.shape[1])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}


def fit_arguments(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0, validation: tuple[np.ndarray, np.ndarray] | None = None
) -> dict:
    """The data arguments of `model.fit` for Keras' active backend: (x, y), batched, shuffled
    each epoch when `shuffle`, and `validation` data if given.

    Under JAX, the arrays themselves: Keras' numpy adapter slices them by index in the
    training thread (no TensorFlow, no tf.data; its shuffle draws from NumPy's seeded
    generator). Under TensorFlow, `batches`' tf.data pipelines."""
    import keras

    if keras.backend.backend() == "jax":
        out = {"x": x, "y": y, "batch_size": batch_size, "shuffle": shuffle}
        if validation is not None:
            out.update(validation_data=validation, validation_batch_size=batch_size)
        return out
    out = {"x": batches(x, y, batch_size, shuffle=shuffle, seed=seed)}
    if validation is not None:
        out["validation_data"] = batches(*validation, batch_size)
    return out


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0):
    """`x`, `y` as a tf.data pipeline of batches for `model.fit` (TensorFlow backend).

    The same batches as Keras' own adapter for numpy arrays (every sample once per epoch,
    reshuffled each epoch when `shuffle`, the last batch partial), built so that a trial
    keeps to its one core: no autotuned parallel map or prefetch, a private pool of one
    thread. Keras' adapter autotunes those: it costs more CPU per epoch, and the training
    thread waits on its threads (with two trials side by side neither keeps its core busy;
    the epoch times of both are in the speed section of docs/benchmarks.md).
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


def load_dataset(spec: DatasetSpec, task: str = "classification") -> Splits:
    """Load the dataset a space names, make its labels fit `task`, and split it (train / val / test)."""
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; known tasks are {', '.join(TASKS)}")
    notes: list[str] = []
    if spec.fixed_splits:
        return _fixed_splits(spec, task)
    if spec.name == "digits":
        x, y, where = *_digits(), "digits"
    elif spec.name == "diabetes":
        x, y, where = *_diabetes(), "diabetes"
    elif spec.name == "mnist" and spec.path and Path(spec.path).expanduser().is_dir():
        path = Path(spec.path).expanduser()
        x, y, where = *_mnist(path), str(path)
    elif spec.name in ("mnist", "tabular", "arrays"):
        x, y, where = _read_source(spec.source(), notes)
        (x,) = _as_dataset_needs(spec.name, [(x, where)])
    else:  # pragma: no cover - the space validator refuses other names
        raise UsageError(f"unknown dataset {spec.name!r}")
    (y,) = _targets([(y, where)], task, notes)
    standardize = spec.standardize if spec.standardize is not None else spec.name == "tabular"
    return split(x, y, spec, standardize=standardize, task=task, notes=tuple(notes))


def is_in_memory(data) -> bool:
    """Whether `data` (the API's `data=`) holds arrays rather than naming a file (or nothing)."""
    import os

    return data is not None and not isinstance(data, (str, os.PathLike))


def from_memory(data, spec: DatasetSpec, task: str = "classification") -> Splits:
    """The API's in-memory `data` as splits, checked like a file's contents.

    `data` is `(x, y)` (split as `spec` says: its fractions, seed, max_samples and
    standardize), `{"train": (x, y), "val": (x, y), "test": (x, y)}` (used as given; without
    "val", the validation set is carved from train by spec's val_fraction and seed), or a `Splits`
    (used as is). Features are standardized as the space's dataset says (`standardize`;
    by default only for tabular). Labels are made to
    fit `task` as a file's are. Raises UsageError naming `data` (or `data['val']`)."""
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; known tasks are {', '.join(TASKS)}")
    if isinstance(data, Splits):
        if data.task != task:
            raise UsageError(f"data: the Splits are for task {data.task}, the space's task is {task}")
        return data
    notes: list[str] = []
    standardize = spec.standardize if spec.standardize is not None else spec.name == "tabular"
    if isinstance(data, dict):
        if sorted(data) not in (sorted(SPLITS), ["test", "train"]):
            raise UsageError(f"data: a dict of splits needs the keys train, val and test (or train and test, val carved from train); got {', '.join(map(str, data)) or 'none'}")
        parts = {name: _memory_pair(data[name], f"data[{name!r}]", notes) for name in SPLITS if name in data}
        shape = parts["train"][0].shape[1:]
        for name in parts:
            if parts[name][0].shape[1:] != shape:
                raise UsageError(f"data[{name!r}]: samples of shape {parts[name][0].shape[1:]}, but data['train']'s are {shape}")
        ys = _targets([(y, f"data[{name!r}]") for name, (_, y) in parts.items()], task, notes)
        parts = {name: (x, y) for (name, (x, _)), y in zip(parts.items(), ys)}
        if "val" not in parts:
            parts = _carved(*parts["train"], parts["test"], spec, task, "data['train']", notes)
        xs, ys = [parts[s][0] for s in SPLITS], [parts[s][1] for s in SPLITS]
        if standardize:
            xs = [_standardized(x, xs[0]) for x in xs]
        (xtr, xva, xte), (ytr, yva, yte) = [x.astype(np.float32) for x in xs], ys
        return Splits(xtr, ytr, xva, yva, xte, yte, task=task, notes=tuple(notes))
    if isinstance(data, (tuple, list)):
        x, y = _memory_pair(data, "data", notes)
        (y,) = _targets([(y, "data")], task, notes)
        return split(x, y, replace(spec, name="in-memory data"), standardize=standardize, task=task, notes=tuple(notes))
    raise UsageError(
        "data: must be None (the space's dataset), a path, (x, y) arrays or {'train': (x, y), ['val': (x, y),] 'test': (x, y)}; "
        f"got {type(data).__name__}"
    )


def _memory_pair(pair, where: str, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) given in memory as arrays, checked: numeric finite features, a label per sample."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise UsageError(f"{where}: must be a pair (x, y) of arrays; got {type(pair).__name__}{f' of {len(pair)}' if isinstance(pair, (tuple, list)) else ''}")
    try:
        x, y = np.asarray(pair[0]), np.asarray(pair[1])
    except Exception as exc:  # noqa: BLE001 - ragged lists and the like
        raise UsageError(f"{where}: cannot be read as arrays ({first_line(exc, typed=True)})") from None
    return _checked_xy(x, y, where, where, notes)


def fingerprint(data: Splits) -> str:
    """sha256 of the splits' arrays (shapes, dtypes and bytes): the same data gives the same text."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        a = np.ascontiguousarray(getattr(data, name))
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def split(x: np.ndarray, y: np.ndarray, spec: DatasetSpec, standardize: bool = False, task: str = "classification", notes: tuple[str, ...] = ()) -> Splits:
    """A random split of (x, y) into spec's fractions, seeded by spec.seed; stratified by
    class for classification when every class has enough samples (else unstratified, noted)."""
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
    tr, va, te = np.arange(0, n_train), np.arange(n_train, n_train + n_val), np.arange(n_train + n_val, len(x))
    if task == "classification":
        try:
            tr, va, te = _stratified(y, n_val, n_test, spec.seed)
        except ValueError as exc:
            notes = (*notes, f"dataset: split unstratified, a class has too few samples to stratify ({first_line(exc)})")
    if standardize:
        x = _standardized(x, x[tr])
    x = x.astype(np.float32)
    return Splits(x[tr], y[tr], x[va], y[va], x[te], y[te], task=task, notes=tuple(notes))


def _stratified(y: np.ndarray, n_val: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / val / test indices of these sizes, each holding the classes in y's proportions."""
    from sklearn.model_selection import train_test_split

    rest, te = train_test_split(np.arange(len(y)), test_size=n_test, stratify=y, random_state=seed)
    tr, va = train_test_split(rest, test_size=n_val, stratify=y[rest], random_state=seed)
    return tr, va, te


def _standardized(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """x shifted and scaled by the training samples' per-feature mean and std (std 0 -> 1)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1.0)


def _fixed_splits(spec: DatasetSpec, task: str) -> Splits:
    """The train/val/test files as given (no shuffling, no sampling); features of one shape.
    Without a val file, the validation set is carved out of train: `val_fraction` of its
    samples, drawn with `seed` (stratified by class when every class allows), noted."""
    notes: list[str] = []
    parts = {name: _read_source(src, notes) for name, src in spec.split_sources().items()}
    train_x, _, train_where = parts["train"]
    for name in parts:
        x, _, where = parts[name]
        if x.shape[1:] != train_x.shape[1:]:
            raise UsageError(f"{where}: the {name} split's samples have shape {x.shape[1:]}, the train split's ({train_where}) {train_x.shape[1:]}")
    xs = _as_dataset_needs(spec.name, [(x, where) for x, _, where in parts.values()])
    ys = _targets([(y, where) for _, y, where in parts.values()], task, notes)
    split_xy = {name: (x, y) for name, x, y in zip(parts, xs, ys)}
    if "val" not in split_xy:
        split_xy = _carved(*split_xy["train"], split_xy["test"], spec, task, train_where, notes)
    xs, ys = [split_xy[s][0] for s in ("train", "val", "test")], [split_xy[s][1] for s in ("train", "val", "test")]
    standardize = spec.standardize if spec.standardize is not None else spec.name == "tabular"
    if standardize:
        xs = [_standardized(x, xs[0]) for x in xs]
    (xtr, xva, xte), (ytr, yva, yte) = [x.astype(np.float32) for x in xs], ys
    return Splits(xtr, ytr, xva, yva, xte, yte, task=task, notes=tuple(notes))


def _carved(x: np.ndarray, y: np.ndarray, test: tuple[np.ndarray, np.ndarray], spec: DatasetSpec, task: str, where: str, notes: list[str]) -> dict:
    """Train split into train and val (`spec.val_fraction` of it, seeded by `spec.seed`,
    stratified for classification when it can be); each part keeps the file's order."""
    n_val = max(1, round(len(x) * spec.val_fraction))
    if len(x) - n_val < 1:
        raise UsageError(f"{where}: {len(x)} training samples leave none to train on after carving val_fraction {spec.val_fraction:g} for validation")
    order = np.random.default_rng(spec.seed).permutation(len(x))
    tr, va = order[n_val:], order[:n_val]
    how = ""
    if task == "classification":
        from sklearn.model_selection import train_test_split

        try:
            tr, va = train_test_split(np.arange(len(x)), test_size=n_val, stratify=y, random_state=spec.seed)
            how = ", stratified"
        except ValueError as exc:
            how = f", unstratified: a class has too few samples to stratify ({first_line(exc)})"
    tr, va = np.sort(tr), np.sort(va)
    notes.append(f"dataset: validation carved from the train split ({where}): {n_val} of {len(x)} samples (val_fraction {spec.val_fraction:g}, seed {spec.seed}{how})")
    return {"train": (x[tr], y[tr]), "val": (x[va], y[va]), "test": test}


def _as_dataset_needs(name: str, xs: list[tuple[np.ndarray, str]]) -> list[np.ndarray]:
    """Features shaped as the dataset needs them: tabular N x features; mnist N x height x
    width images, scaled to [0, 1] (by 255) when any split holds values above 1."""
    if name == "tabular":
        for x, where in xs:
            if x.ndim != 2:
                raise UsageError(f"{where}: tabular features must be N x features; got shape {x.shape}")
    if name == "mnist":
        for x, where in xs:
            if x.ndim != 3:
                raise UsageError(f"{where}: MNIST images must be N x height x width; got shape {x.shape}")
        if any(x.max() > 1 for x, _ in xs):
            return [x.astype(np.float32) / 255.0 for x, _ in xs]
    return [x for x, _ in xs]


# --------------------------------------------------------------------------- labels


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




# --------------------------------------------------------------------------- files


@contextmanager
def _reading(path: Path, what: str) -> Iterator[None]:
    """Turn whatever a reading library raises into one line naming the file."""
    if path.is_file() and path.stat().st_size == 0:
        raise UsageError(f"{path}: empty file")
    try:
        yield
    except UsageError:
        raise
    except Exception as exc:  # the libraries' own errors: zipfile, h5py, pandas, pyarrow, numpy, gzip
        raise UsageError(f"{path}: cannot be read as {what} ({first_line(exc, typed=True)})") from None


def _read_source(src: DataSource, notes: list[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """(features, labels, file to name in messages) of one `arrays` source, checked:
    numeric, finite features; as many labels as samples; at least one sample."""
    if src.path:
        path = Path(src.path).expanduser()
        x_where = y_where = str(path)
        suffix = path.suffix.lower()
        if suffix == ".npz":
            x, y = _npz_xy(path, src.x_key, src.y_key)
        elif suffix in (".h5", ".hdf5"):
            x, y = _h5_xy(path, src.x_key or "x", src.y_key or "y")
        else:
            x, y = _frame_xy(path, src.label_column, src.label_columns)
    else:
        x_path, y_path = Path(src.x).expanduser(), Path(src.y).expanduser()
        x, y, x_where, y_where = _npy(x_path), _npy(y_path), str(x_path), str(y_path)
    x, y = _checked_xy(x, y, x_where, y_where, notes)
    return x, y, y_where


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


def _npy(path: Path) -> np.ndarray:
    with _reading(path, ".npy"):
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise UsageError(f"{path}: not a .npy file (no NumPy header)")
        return np.load(path, allow_pickle=False)


def _h5_xy(path: Path, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    import h5py

    with _reading(path, "HDF5"), h5py.File(path, "r") as f:
        names: list[str] = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for key in (x_key, y_key):
            if key not in f or not isinstance(f[key], h5py.Dataset):
                raise UsageError(f"{path}: no dataset {key!r} (set dataset x_key / y_key); it has {', '.join(names) or 'none'}")
        return f[x_key][()], f[y_key][()]


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


def _npz_xy(path: Path, x_key: str | None = None, y_key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """x/y arrays from an .npz: x_key/y_key when given (the other defaulting to x / y), else
    keys (x, y), (X, y), or x_train/y_train [+ x_test/y_test, concatenated]."""
    with _reading(path, ".npz"):
        if not zipfile.is_zipfile(path):
            raise UsageError(f"{path}: not an .npz file (not a zip archive)")
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            if x_key or y_key:
                for key in (x_key or "x", y_key or "y"):
                    if key not in keys:
                        raise UsageError(f"{path}: no array {key!r} (set dataset x_key / y_key); it has {', '.join(sorted(keys)) or 'none'}")
                return f[x_key or "x"], f[y_key or "y"]
            for xk, yk in (("x", "y"), ("X", "y")):
                if {xk, yk} <= keys:
                    return f[xk], f[yk]
            if {"x_train", "y_train"} <= keys:
                xs, ys = [f["x_train"]], [f["y_train"]]
                if {"x_test", "y_test"} <= keys:
                    xs.append(f["x_test"])
                    ys.append(f["y_test"])
                return np.concatenate(xs), np.concatenate(ys)
    raise UsageError(f"{path}: an .npz needs arrays x and y (or x_train, y_train, or set dataset x_key / y_key); it has {', '.join(sorted(keys)) or 'none'}")


def _frame_xy(path: Path, label_column: str | None, label_columns: tuple[str, ...] | None) -> tuple[np.ndarray, np.ndarray]:
    """Features (every other column, numeric) and labels (one column, or N x k for several) of a CSV or parquet file."""
    import pandas as pd

    kind = "CSV" if path.suffix.lower() == ".csv" else "parquet"
    with _reading(path, kind):
        frame = pd.read_csv(path) if kind == "CSV" else pd.read_parquet(path)
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise UsageError(f"{path}: holds no samples (columns {', '.join(frame.columns) or 'none'}, no rows)")
    wanted = list(label_columns) if label_columns else [label_column or "label"]
    for column in wanted:
        if column not in frame.columns:
            raise UsageError(f"{path}: no label column {column!r}; columns are {', '.join(frame.columns)}")
        if frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise UsageError(f"{path}: label column {column!r} has an empty or NaN value (first at row {row})")
    y = frame[wanted].to_numpy() if label_columns else frame[wanted[0]].to_numpy()
    features = frame.drop(columns=wanted)
    if features.shape[1] == 0:
        raise UsageError(f"{path}: no feature columns besides the label column(s) {', '.join(wanted)}")
    non_numeric = [c for c in features.columns if not (pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c]))]
    if non_numeric:
        raise UsageError(f"{path}: feature columns must be numeric; {', '.join(non_numeric)} are not")
    return features.to_numpy(dtype=np.float32), y

