"""Choosing what to keep: a 0/1 knapsack solved with `scipy.optimize.milp` (HiGHS).

Maximise the kept importance subject to the kept cost <= the step's budget, as in
hls4ml's `dsp_aware_pruning/knapsack.py` (which needs OR-tools; HiGHS is the well-kept
solver available here). One item per group of weights (see `structures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def solve_knapsack(
    values: np.ndarray,
    costs: np.ndarray,
    budget: float,
    must_keep_one: Sequence[np.ndarray] = (),
    time_limit: float = 30.0,
) -> np.ndarray:
    """Boolean array: which items to keep.

    values, costs: one non-negative number per item; budget: the most cost kept.
    must_keep_one: index arrays; at least one item of each is kept (a layer is never
    removed completely), even if that exceeds the budget by that item.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    values = np.asarray(values, dtype=float)
    costs = np.asarray(costs, dtype=float)
    if values.shape != costs.shape or values.ndim != 1:
        raise ValueError(f"values and costs must be 1-D and of equal length; got {values.shape} and {costs.shape}")
    if np.any(values < 0) or np.any(costs < 0):
        raise ValueError("values and costs must be non-negative")
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    if costs.sum() <= budget:
        return np.ones(n, dtype=bool)
    free = costs == 0  # costs nothing: always kept
    rows = [np.where(free, 0.0, costs)[None, :]]
    lower, upper = [-np.inf], [max(float(budget), 0.0)]
    reserved = 0.0  # the cheapest item of every must_keep_one set
    for idx in must_keep_one:
        idx = np.asarray(idx)
        if idx.size and not free[idx].any():
            row = np.zeros(n)
            row[idx] = 1.0
            rows.append(row[None, :])
            lower.append(1.0)
            upper.append(np.inf)
            reserved += float(costs[idx].min())
    upper[0] = max(upper[0], reserved)  # keeping one item per set wins over the budget
    # tiny tie-breaking bonus for cheap items, so that equal values keep the cheaper one
    bonus = 1e-9 * (1.0 - costs / costs.max())
    res = milp(
        c=-(values + bonus),
        constraints=LinearConstraint(np.vstack(rows), lower, upper),
        integrality=np.ones(n),
        bounds=Bounds(np.where(free, 1.0, 0.0), np.ones(n)),
        # HiGHS's presolve (probing) takes minutes on ~10k binaries; without it ~2 s
        options={"time_limit": time_limit, "presolve": False, "mip_rel_gap": 1e-4},
    )
    if res.x is None:  # a time-limited run still returns its best feasible solution
        raise RuntimeError(f"the knapsack solver found no solution: {res.message}")
    return res.x > 0.5


@dataclass
class PrunableLayer:
    """One layer's pruning problem: per-weight importance and cost, and its groups."""

    name: str
    importance: np.ndarray  # >= 0, kernel-shaped
    cost: np.ndarray  # >= 0, kernel-shaped, in the objective's unit
    groups: np.ndarray  # int, kernel-shaped (see structures.group_ids)


def select_masks(layers: Sequence[PrunableLayer], sparsity: float) -> dict[str, np.ndarray]:
    """Masks (1 = keep) so that the kept cost is <= (1 - sparsity) x the total cost.

    Global selection over all layers; every layer keeps at least one group.
    """
    if not 0 <= sparsity < 1:
        raise ValueError(f"The 'sparsity' parameter must be a float in [0, 1); got {sparsity!r}.")
    values, costs, spans = [], [], []
    start = 0
    for layer in layers:
        g = layer.groups.ravel()
        n_groups = int(g.max()) + 1 if g.size else 0
        values.append(np.bincount(g, weights=layer.importance.ravel(), minlength=n_groups))
        costs.append(np.bincount(g, weights=layer.cost.ravel(), minlength=n_groups))
        spans.append(np.arange(start, start + n_groups))
        start += n_groups
    values_all, costs_all = np.concatenate(values), np.concatenate(costs)
    budget = (1.0 - sparsity) * costs_all.sum()
    keep = solve_knapsack(values_all, costs_all, budget, must_keep_one=spans)
    return {layer.name: keep[span][layer.groups].astype(np.float32) for layer, span in zip(layers, spans)}
