"""Loading the dataset a space names (`load_dataset`): a shipped one, a file split at
random, or fixed train[/val]/test files; features shaped as the dataset needs them,
labels made to fit the task, then split (`splitting`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..space import DatasetSpec
from .labels import _targets
from .readers import _read_source
from .shipped import _diabetes, _digits, _mnist
from .splits import TASKS, Splits
from .splitting import _carved, _standardized, split


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
