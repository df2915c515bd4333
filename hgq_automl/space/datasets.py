"""The `dataset:` section: which data, from which files or folders, split how; the files
are checked when the space loads (they exist, hold what the keys name)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import SpaceError
from .folders import LAYOUTS, has_split_files, split_files
from .dataset_spec import BOTH_SUFFIXES, COLUMN_SUFFIXES, DatasetSpec, DataSource, KEYED_SUFFIXES, PAIR_SUFFIXES, SOURCE_KEYS
from .values import _int_at_least, _no_unknown_keys, _number, _one_of, _seed
from .vocabulary import DATASETS, SHIPPED_DATASETS, SPLITS


#: keys of the random split that fixed splits leave unused: all four beside a val split;
#: without one, val_fraction and seed carve the validation set out of train
_FIXED_SPLIT_CONFLICTS = ("val_fraction", "test_fraction", "max_samples", "seed")
_CARVE_KEYS = ("val_fraction", "seed")


#: the datasets that read a user's files, every format and layout alike
FILE_DATASETS = ("mnist", "tabular", "arrays")


_FILES_ONLY = ("x", "y", "x_key", "y_key", "label_columns", *SPLITS)


def _parse_dataset(d: dict, source: str, check_files: bool = True) -> DatasetSpec:
    _no_unknown_keys(d, tuple(vars(DatasetSpec())), source, "dataset")
    name = _one_of(d.get("name", "digits"), DATASETS, source, "dataset.name", ("dataset", "datasets"))
    spec = DatasetSpec(name=name)
    for key in _FILES_ONLY:
        if d.get(key) is not None and name not in FILE_DATASETS:
            raise SpaceError(source, f"dataset.{key}", f"only applies to the datasets that read files ({', '.join(FILE_DATASETS)}); this one is {name}")
    if d.get("standardize") is not None:
        if name not in ("arrays", "tabular"):
            raise SpaceError(source, "dataset.standardize", f"only applies to the arrays and tabular datasets; this one is {name}")
        if not isinstance(d["standardize"], bool):
            raise SpaceError(source, "dataset.standardize", f"must be true or false; got {d['standardize']!r}")
        spec = replace(spec, standardize=d["standardize"])
    if "path" in d and d["path"] is not None:
        spec = replace(spec, path=str(d["path"]))
    if "label_column" in d:
        spec = replace(spec, label_column=str(d["label_column"]))
    if name in FILE_DATASETS:
        top = _parse_source({k: d[k] for k in SOURCE_KEYS if d.get(k) is not None}, source, "dataset")
        spec = replace(spec, x=top.x, y=top.y, x_key=top.x_key, y_key=top.y_key, label_columns=top.label_columns)
        for split in SPLITS:
            if d.get(split) is not None:
                spec = replace(spec, **{split: _parse_source(d[split], source, f"dataset.{split}")})
        if spec.fixed_splits:
            unused = _FIXED_SPLIT_CONFLICTS if spec.val is not None else tuple(k for k in _FIXED_SPLIT_CONFLICTS if k not in _CARVE_KEYS)
            given = next((k for k in unused if d.get(k) is not None), None)
            if given:
                raise SpaceError(source, f"dataset.{given}", f"the {'/'.join(s for s in SPLITS if getattr(spec, s))} files fix the split; drop this key")
        elif check_files and spec.path and Path(spec.path).expanduser().is_dir():
            spec = _folder_splits(spec, d, source)
    for key in ("val_fraction", "test_fraction"):
        if key in d:
            frac = _number(d[key], source, f"dataset.{key}")
            if not 0 < frac < 1:
                raise SpaceError(source, f"dataset.{key}", f"must be in (0, 1); got {d[key]!r}")
            spec = replace(spec, **{key: frac})
    if spec.val_fraction + spec.test_fraction >= 1:
        raise SpaceError(source, "dataset", "val_fraction + test_fraction must leave data to train on (< 1)")
    if d.get("max_samples") is not None:
        spec = replace(spec, max_samples=_int_at_least(d["max_samples"], 10, source, "dataset.max_samples"))
    if "seed" in d:
        spec = replace(spec, seed=_seed(d["seed"], source, "dataset.seed"))
    if check_files:
        _check_data_path(spec, source)
        if name in FILE_DATASETS and not _is_idx_folder(spec):
            # the built-in datasets list label_column (default `label`) whatever their file
            label_column_given = "label_column" in d and (name == "arrays" or d["label_column"] != DatasetSpec().label_column)
            _check_keys_used(spec, label_column_given, source)
    return spec


def _is_idx_folder(spec: DatasetSpec) -> bool:
    """An mnist dataset whose path is a folder of idx files (read as such, not as splits)."""
    return spec.name == "mnist" and bool(spec.path) and Path(spec.path).expanduser().is_dir()


def _folder_splits(spec: DatasetSpec, d: dict, source: str) -> DatasetSpec:
    """`spec` with its path, a folder of split files, replaced by the splits it holds
    (`folders.split_files`); an mnist folder of idx files is kept as it is. Random-split keys
    the splits leave unused, set to other than their defaults, are refused."""
    folder = Path(spec.path).expanduser()
    idx = sorted(p.name for p in folder.iterdir() if "-idx" in p.name)
    if spec.name == "mnist" and idx:
        if has_split_files(folder):
            raise SpaceError(source, "dataset.path", f"folder {spec.path} holds both MNIST idx files ({idx[0]}) and split files; keep one layout")
        return spec
    if spec.name == "mnist" and not has_split_files(folder):
        raise SpaceError(
            source, "dataset.path",
            f"folder {spec.path} holds no MNIST idx files (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and their labels) nor split files ({LAYOUTS})",
        )
    try:
        sources = split_files(folder)
    except ValueError as exc:
        raise SpaceError(source, "dataset.path", str(exc)) from None
    unused = _FIXED_SPLIT_CONFLICTS if "val" in sources else tuple(k for k in _FIXED_SPLIT_CONFLICTS if k not in _CARVE_KEYS)
    default = DatasetSpec()
    given = next((k for k in unused if d.get(k) is not None and d[k] != getattr(default, k)), None)
    if given:
        why = "its val split fixes the validation set" if given in _CARVE_KEYS else "its test split fixes the test set"
        raise SpaceError(source, f"dataset.{given}", f"folder {spec.path} holds fixed splits ({', '.join(sources)}): {why}; drop this key")
    return replace(spec, path=None, **sources)


def _parse_source(value: Any, source: str, key: str) -> DataSource:
    """A data source: a path string, or a mapping of `SOURCE_KEYS` (text; label_columns a list)."""
    if isinstance(value, str):
        return DataSource(path=value)
    if not isinstance(value, dict):
        raise SpaceError(source, key, f"must be a path or a mapping of {', '.join(SOURCE_KEYS)}; got {value!r}")
    _no_unknown_keys(value, SOURCE_KEYS, source, key)
    out: dict[str, Any] = {}
    for k, v in value.items():
        if v is None:
            continue
        if k == "label_columns":
            if not isinstance(v, (list, tuple)) or not v or not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in v):
                raise SpaceError(source, f"{key}.label_columns", f"must be a non-empty list of column names; got {v!r}")
            if len(set(map(str, v))) != len(v):
                raise SpaceError(source, f"{key}.label_columns", f"has duplicates: {list(v)}")
            out[k] = tuple(map(str, v))
        elif isinstance(v, (str, int)) and not isinstance(v, bool):
            out[k] = str(v)
        else:
            raise SpaceError(source, f"{key}.{k}", f"must be text; got {v!r}")
    if "label_column" in out and "label_columns" in out:
        raise SpaceError(source, f"{key}.label_columns", "give label_column (one target) or label_columns (several), not both")
    return DataSource(**out)


def _check_data_path(spec: DatasetSpec, source: str) -> None:
    if spec.name in SHIPPED_DATASETS:
        if spec.path:
            raise SpaceError(source, "dataset.path", f"the {spec.name} dataset ships with scikit-learn and reads no file; got {spec.path} (drop dataset.path / --data)")
        return
    if spec.name != "arrays" and not spec.fixed_splits:
        if not (spec.path or spec.x or spec.y):
            raise SpaceError(source, "dataset.path", f"the {spec.name} dataset needs a data file; give dataset.path or --data")
        if spec.path and not Path(spec.path).expanduser().exists():
            raise SpaceError(source, "dataset.path", f"no such file or directory: {spec.path}")
        if _is_idx_folder(spec):
            return
    _check_arrays_files(spec, source)


def _check_arrays_files(spec: DatasetSpec, source: str) -> None:
    """The arrays dataset names its data once (path, or x and y) or per split (train, val,
    test); every file exists and has a suffix it can be read by."""
    if not spec.fixed_splits:
        _check_source(spec.source(), source, "dataset")
        return
    missing = [s for s in ("train", "test") if getattr(spec, s) is None]
    if missing:
        raise SpaceError(
            source, f"dataset.{missing[0]}",
            "missing; fixed splits need train and test, and val unless it is carved from train by val_fraction (or none of them, for a random split)",
        )
    whole = next((k for k in ("path", "x", "y") if getattr(spec, k) is not None), None)
    if whole:
        raise SpaceError(source, f"dataset.{whole}", "the train/val/test files hold the data; drop this key (or the splits)")
    for name in SPLITS:
        if getattr(spec, name) is not None:
            _check_source(getattr(spec, name), source, f"dataset.{name}")


def _check_source(src: DataSource, source: str, key: str) -> None:
    if src.path and (src.x or src.y):
        raise SpaceError(source, f"{key}.{'x' if src.x else 'y'}", "give path (one file holding x and y) or x and y (two .npy files), not both")
    if not src.path:
        if src.x or src.y:
            if not (src.x and src.y):
                raise SpaceError(source, f"{key}.{'y' if src.x else 'x'}", "missing; x and y come as a pair of .npy files")
        else:
            hint = "give dataset.path (or --data), dataset.x and dataset.y, or dataset.train/val/test" if key == "dataset" else "give path, or x and y"
            raise SpaceError(source, f"{key}.path", f"the arrays dataset needs its data: {hint}")
    for k in ("path", "x", "y"):
        given = getattr(src, k)
        if given is None:
            continue
        path = Path(given).expanduser()
        if not path.exists():
            raise SpaceError(source, f"{key}.{k}", f"no such file: {given}")
        if not path.is_file():
            raise SpaceError(source, f"{key}.{k}", f"must be a file; {given} is a directory")
        suffix = path.suffix.lower()
        if k == "path" and suffix not in BOTH_SUFFIXES:
            extra = " (a .npy holds one array: give x and y)" if suffix == ".npy" else ""
            raise SpaceError(source, f"{key}.{k}", f"a file holding x and y must be .npz, .h5, .hdf5, .csv or .parquet; got {given}{extra}")
        if k != "path" and suffix not in PAIR_SUFFIXES:
            raise SpaceError(source, f"{key}.{k}", f"x and y must be .npy files (an .npz, .h5, .csv or .parquet file goes in path); got {given}")
    if key != "dataset":  # a split's own keys; the dataset's are checked against every split's file
        _check_source_keys(src, [src.suffix], source, key)


def _check_source_keys(src: DataSource, suffixes: list[str], source: str, key: str) -> None:
    """Keys that find arrays in a file must match a file that has such keys (none ignored)."""
    for k in ("x_key", "y_key"):
        if getattr(src, k) is not None and not any(s in KEYED_SUFFIXES for s in suffixes):
            raise SpaceError(source, f"{key}.{k}", "only applies to .npz and .h5/.hdf5 files; the data here is not one")
    for k in ("label_column", "label_columns"):
        if getattr(src, k) is not None and not any(s in COLUMN_SUFFIXES for s in suffixes):
            raise SpaceError(source, f"{key}.{k}", "only applies to .csv and .parquet files; the data here is not one")


def _check_keys_used(spec: DatasetSpec, label_column_given: bool, source: str) -> None:
    sources = [getattr(spec, s) for s in SPLITS if getattr(spec, s) is not None] if spec.fixed_splits else [spec.source()]
    own = DataSource(x_key=spec.x_key, y_key=spec.y_key, label_column=spec.label_column if label_column_given else None, label_columns=spec.label_columns)
    _check_source_keys(own, [s.suffix for s in sources], source, "dataset")
