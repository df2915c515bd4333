"""The `dataset:` section as parsed: `DatasetSpec` (which dataset, its split, its files)
and `DataSource` (one split's or the whole dataset's files, with the keys that find the
arrays inside them), and the file formats they take. `datasets` builds them from YAML
(validated); `data` loads what they name."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .vocabulary import SPLITS


#: `arrays` files: one file holding x and y (`path`), or a pair of .npy files (`x`, `y`)
BOTH_SUFFIXES = (".npz", ".h5", ".hdf5", ".csv", ".parquet", ".pq")
PAIR_SUFFIXES = (".npy",)
KEYED_SUFFIXES = (".npz", ".h5", ".hdf5")  # take x_key / y_key
COLUMN_SUFFIXES = (".csv", ".parquet", ".pq")  # take label_column / label_columns
SOURCE_KEYS = ("path", "x", "y", "x_key", "y_key", "label_column", "label_columns")


@dataclass(frozen=True)
class DataSource:
    """Where one split's (or the whole dataset's) samples are: a file holding features and
    labels (`path`), or a pair of .npy files (`x`, `y`); with the keys that find them inside
    (`x_key` / `y_key` of an .npz or HDF5 file, the label column(s) of a CSV or parquet file)."""

    path: str | None = None
    x: str | None = None
    y: str | None = None
    x_key: str | None = None
    y_key: str | None = None
    label_column: str | None = None
    label_columns: tuple[str, ...] | None = None

    @property
    def suffix(self) -> str:
        """The format: the suffix of `path` (lower case), or .npy for an x/y pair."""
        return Path(self.path).suffix.lower() if self.path else ".npy"

    def describe(self) -> str | dict[str, Any]:
        """Plain data as written in YAML: the path alone, or a mapping of the keys given."""
        given = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items() if v is not None}
        return self.path if list(given) == ["path"] else given


@dataclass(frozen=True)
class DatasetSpec:
    name: str = "digits"
    path: str | None = None  # a file (.npz/.h5/.hdf5/.csv/.parquet) or a folder of split files (space/folders.py); mnist also a folder of idx files
    label_column: str = "label"  # tabular .csv; arrays .csv / .parquet
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    max_samples: int | None = None  # use only the first N samples (after shuffling)
    seed: int = 0  # the split's seed, fixed so that every trial sees the same split
    # the datasets that read files (mnist, tabular, arrays)
    x: str | None = None  # a .npy of features (with y)
    y: str | None = None  # a .npy of labels / targets (with x)
    x_key: str | None = None  # the features' array in an .npz / HDF5 file (HDF5 default: x)
    y_key: str | None = None  # the labels' array in an .npz / HDF5 file (HDF5 default: y)
    label_columns: tuple[str, ...] | None = None  # CSV / parquet: several target columns (regression)
    standardize: bool | None = None  # features to zero mean, unit variance (train statistics); None: tabular yes, others no
    train: DataSource | None = None  # fixed splits: train and test (val given, or carved from train by val_fraction and seed)
    val: DataSource | None = None
    test: DataSource | None = None

    @property
    def fixed_splits(self) -> bool:
        return any(getattr(self, s) is not None for s in SPLITS)

    def source(self) -> DataSource:
        """The whole dataset's file(s), for a random split."""
        labels = (None, self.label_columns) if self.label_columns else (self.label_column, None)
        return DataSource(self.path, self.x, self.y, self.x_key, self.y_key, *labels)

    def split_sources(self) -> dict[str, DataSource]:
        """The fixed splits' files; keys a split does not set come from the dataset's."""
        out = {}
        for name in SPLITS:
            s = getattr(self, name)
            if s is None:
                continue
            if s.label_column is None and s.label_columns is None:
                s = replace(s, label_column=None if self.label_columns else self.label_column, label_columns=self.label_columns)
            out[name] = replace(s, x_key=s.x_key or self.x_key, y_key=s.y_key or self.y_key)
        return out

    def describe(self) -> dict[str, Any]:
        """Plain data that `parse_space` reads back into an equal spec (logged, and kept by a
        resumable search). The built-in datasets list every set key, as always; arrays, and
        any dataset of fixed splits, lists the keys that differ from their defaults (fixed
        splits have no test_fraction or max_samples)."""
        if self.name != "arrays" and not self.fixed_splits:
            return {k: v for k, v in vars(self).items() if v is not None}
        out: dict[str, Any] = {"name": self.name}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "name" and value != f.default:
                out[f.name] = value.describe() if isinstance(value, DataSource) else list(value) if isinstance(value, tuple) else value
        return out
