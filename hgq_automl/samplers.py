"""Optuna samplers adapted to being driven by Ray Tune (imported only when a search runs)."""

from __future__ import annotations

import optuna


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its `study.stop()` once every grid point was visited:
    Ray Tune's OptunaSearch tells results outside `study.optimize`, where stop() raises.
    After the grid is exhausted, points are visited again (give `trials` = the grid size,
    or a time budget)."""

    def after_trial(self, study, trial, state, values) -> None:
        pass
