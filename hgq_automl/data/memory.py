"""The Python API's `data=` given as arrays in memory: `(x, y)`, a dict of splits, or a
`Splits`; checked as a file's contents are, labels made to fit the task, then split."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import UsageError, first_line
from ..space import SPLITS, DatasetSpec
from .checks import _checked_xy
from .labels import _targets
from .splits import TASKS, Splits
from .splitting import _carved, _standardized, split


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
