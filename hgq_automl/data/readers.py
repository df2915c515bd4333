"""Reading a user's data files: .npy pairs, .npz, HDF5, CSV and parquet (`_read_source`,
one `DataSource`), each read under `_reading`, which turns whatever a reading library
raises into one line naming the file. h5py and pandas are imported only when needed."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import UsageError, first_line
from ..space import DataSource
from .checks import _checked_xy


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
