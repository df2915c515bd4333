"""A folder of split files, as `dataset.path` (or `--data`) may name it.

Two layouts are read, one per folder:
- split files: `train`, `val` (optional) and `test`, each one file holding x and y in a
  format the `arrays` dataset reads (`train.npz`, `val.csv`, `test.h5`, ...);
- `.npy` pairs, as the hls4ml tutorial saves them: `X_<split>.npy` and `y_<split>.npy` for
  `train_val` (or `train`), optionally `val`, and `test`.

A `train_val` (or a `train` without `val`) split has its validation set carved out by
`val_fraction`. Anything that does not fit one layout exactly (two layouts, a split twice,
half a pair, a data file that is no split, a test split without train) is refused with a
message naming the files, never guessed at.
"""

from __future__ import annotations

import re
from pathlib import Path

from .dataset_spec import BOTH_SUFFIXES, DataSource

_PAIR = re.compile(r"^(?P<axis>[xXyY])_(?P<split>train_val|train|val|test)\.npy$")
_FILE_SPLITS = ("train", "val", "test")
_DATA_SUFFIXES = (*BOTH_SUFFIXES, ".npy")

#: what a folder of splits holds, for messages
LAYOUTS = (
    "train, val (optional) and test files (.npz, .h5, .hdf5, .csv, .parquet), or the hls4ml tutorial's "
    "X_train_val.npy, y_train_val.npy, X_test.npy, y_test.npy"
)


def has_split_files(folder: Path) -> bool:
    """Whether `folder` holds any file named as a split (either layout)."""
    return any(_split_of(p) for p in folder.iterdir() if p.is_file())


def _split_of(path: Path) -> tuple[str, str] | None:
    """(layout, split) a file's name gives it, or None."""
    m = _PAIR.match(path.name)
    if m:
        return "pairs", m.group("split")
    if path.suffix.lower() in BOTH_SUFFIXES and path.stem.lower() in _FILE_SPLITS:
        return "files", path.stem.lower()
    return None


def split_files(folder: Path) -> dict[str, DataSource]:
    """The splits a folder holds: {"train": ..., ["val": ...,] "test": ...}; a `train_val`
    split comes back as `train`. Raises ValueError with a one-line message on anything
    ambiguous or missing."""
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _DATA_SUFFIXES), key=lambda p: p.name)
    if not files:
        raise ValueError(f"folder {folder} holds no data files; a folder of splits holds {LAYOUTS}")
    layouts: dict[str, list[str]] = {}
    found: dict[str, list[Path]] = {}  # split -> its files
    for p in files:
        kind = _split_of(p)
        if kind is None:
            raise ValueError(f"{p}: not a split file; a folder of splits holds {LAYOUTS} (move other data files out)")
        layouts.setdefault(kind[0], []).append(p.name)
        found.setdefault(kind[1], []).append(p)
    if len(layouts) > 1:
        raise ValueError(f"folder {folder} mixes two layouts ({layouts['files'][0]} and {layouts['pairs'][0]}); keep one: {LAYOUTS}")
    out: dict[str, DataSource] = {}
    if "files" in layouts:
        for split, paths in found.items():
            if len(paths) > 1:
                raise ValueError(f"folder {folder} holds the {split} split twice ({', '.join(p.name for p in paths)}); keep one")
            out[split] = DataSource(path=str(paths[0]))
    else:
        if "train" in found and "train_val" in found:
            raise ValueError(f"folder {folder} holds both train and train_val pairs; keep one")
        if "val" in found and "train_val" in found:
            raise ValueError(
                f"folder {folder} holds X_val/y_val beside X_train_val/y_train_val: is the validation set inside train_val or not? "
                "rename train_val to train to use val as given, or drop val to carve it from train_val"
            )
        for split, paths in found.items():
            by_axis: dict[str, list[Path]] = {}
            for p in paths:
                by_axis.setdefault(p.name[0].lower(), []).append(p)
            for axis in ("x", "y"):
                if len(by_axis.get(axis, [])) > 1:
                    raise ValueError(f"folder {folder} holds {' and '.join(p.name for p in by_axis[axis])}: which is the {split} split's {axis}? keep one")
            if set(by_axis) != {"x", "y"}:
                have, lack = next(iter(by_axis.values()))[0].name, "y" if "x" in by_axis else "X"
                raise ValueError(f"folder {folder}: {have} has no {lack}_{split}.npy beside it (features and labels come as a pair)")
            out["train" if split == "train_val" else split] = DataSource(x=str(by_axis["x"][0]), y=str(by_axis["y"][0]))
    if "train" not in out:
        given = ", ".join(sorted(p.name for ps in found.values() for p in ps))
        raise ValueError(f"folder {folder} has no train split ({given} without train or train_val); a folder of splits holds {LAYOUTS}")
    if "test" not in out:
        raise ValueError(f"folder {folder} has no test split; a folder of splits holds {LAYOUTS}")
    return {s: out[s] for s in _FILE_SPLITS if s in out}
