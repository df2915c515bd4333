"""The Pareto set of finished trials (non-dominated sorting by moocore), feasible ones only."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from .constraints import Constraint, feasible

T = TypeVar("T")


def objective_matrix(records: Sequence[Mapping[str, Any]], objectives: Sequence[str]) -> np.ndarray:
    """Rows of the objectives' values, one per record (NaN where one is missing)."""
    return np.array([[float(r.get(m, np.nan)) for m in objectives] for r in records], dtype=float).reshape(len(records), len(objectives))


def pareto_mask(values: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """True for the rows no other row dominates. Rows with a NaN are never on the front.

    Ties are kept: two trials with identical objectives are both on the front.
    """
    import moocore

    values = np.asarray(values, dtype=float)
    mask = np.zeros(len(values), dtype=bool)
    finite = np.all(np.isfinite(values), axis=1)
    if finite.any():
        mask[finite] = moocore.is_nondominated(values[finite], maximise=[m == "max" for m in modes], keep_weakly=True)
    return mask


def pareto_front(
    items: Sequence[T],
    objectives: Sequence[tuple[str, str]],
    metrics: Callable[[T], Mapping[str, Any]] = lambda item: item,
    constraints: Sequence[Constraint] = (),
) -> list[T]:
    """The non-dominated items among those meeting every constraint, sorted by the first
    objective (best first). An infeasible item is never on the front.

    `metrics(item)` gives an item's metric values (by default the item is the mapping).
    """
    names = [m for m, _ in objectives]
    modes = [mode for _, mode in objectives]
    items = [item for item in items if feasible(constraints, metrics(item))]
    if not items:
        return []
    mask = pareto_mask(objective_matrix([metrics(i) for i in items], names), modes)
    front = [item for item, keep in zip(items, mask) if keep]
    first, mode = objectives[0]
    return sorted(front, key=lambda i: -float(metrics(i)[first]) if mode == "max" else float(metrics(i)[first]))
