"""The beta schedule of a trial: HGQ's resource penalty, constant or ramped log-linearly
from `beta` to `beta_final` over the epochs (paced by a time budget when there is one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def beta_at(params: Mapping[str, Any], epoch: int, progress: float = 0.0) -> float:
    """Global beta at an epoch (0-based): constant, or log-linear from beta to beta_final.

    A ramp's position is the epoch's share of the epochs, or `progress` (the share of a time
    budget that will be used when the epoch ends, see `BetaSchedule`) if larger: a trial that
    the budget will cut still ramps to beta_final before it stops."""
    beta = float(params["beta"])
    if params.get("beta_schedule") != "ramp":
        return beta
    last = max(1, int(params["epochs"]) - 1)
    end = float(params["beta_final"])
    at = min(1.0, max(min(epoch, last) / last, progress))
    if beta <= 0 or end <= 0:  # a log ramp needs positive ends; fall back to linear
        return beta + (end - beta) * at
    return beta * (end / beta) ** at
