"""The Pareto set of finished trials (non-dominated sorting by moocore), feasible ones only;
and the measure of a front where users deploy: the cheapest model at each accuracy level."""

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


# --------------------------------------------------------------------------- where users deploy

#: Accuracy levels of the deployable band: these many accuracy points below the best.
DEPLOY_OFFSETS = (0.005, 0.01, 0.02, 0.03, 0.05)


def deploy_levels(best: float, offsets: Sequence[float] = DEPLOY_OFFSETS) -> list[float]:
    """The accuracy levels a user deploys at: `offsets` below the `best` accuracy reached."""
    return [best - o for o in offsets]


def cheapest_reaching(points: Sequence[Mapping[str, Any]], level: float, accuracy: str = "test_accuracy", cost: str = "ebops") -> float:
    """The cost of the cheapest point whose `accuracy` is at least `level`: the model a user
    deploys who needs that accuracy. inf when no point reaches it (or none has the cost)."""
    costs = [float(p[cost]) for p in points if float(p.get(accuracy, -np.inf)) >= level and np.isfinite(float(p.get(cost, np.nan)))]
    return min(costs, default=float("inf"))


def log_cost_ratios(
    tool: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]], levels: Sequence[float], ceiling: float,
    accuracy: str = "test_accuracy", cost: str = "ebops",
) -> np.ndarray:
    """log(baseline's cheapest cost / tool's) at each level: > 0 where the tool's model is
    smaller. A side that reaches no model at a level is charged `ceiling` there (e.g. the
    largest cost any method's model had: as if it had to deploy the biggest model), so a
    level one side misses still counts against it, and a level neither reaches gives 0."""
    def cost_at(points, level):
        found = cheapest_reaching(points, level, accuracy, cost)
        return ceiling if not np.isfinite(found) else found

    return np.array([np.log(cost_at(baseline, lv) / cost_at(tool, lv)) for lv in levels], dtype=float)


def paired_bootstrap_geomean(log_ratios: np.ndarray, samples: int = 10000, seed: int = 0, confidence: float = 0.95) -> tuple[float, float, float]:
    """The geometric mean of the ratios in `log_ratios` (seeds x levels, the same seeds for
    both methods: paired) and its bootstrap confidence interval over the seeds (the seeds
    are resampled with replacement, each keeping all its levels). (mean, low, high)."""
    values = np.asarray(log_ratios, dtype=float)
    per_seed = values.reshape(len(values), -1).mean(axis=1)
    rng = np.random.default_rng(seed)
    means = per_seed[rng.integers(0, len(per_seed), size=(samples, len(per_seed)))].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(np.exp(per_seed.mean())), float(np.exp(low)), float(np.exp(high))
