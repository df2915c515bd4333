"""What Tune asks for the next trial and which trials it stops early: the Optuna searcher
(`HgqOptunaSearch`: multi-objective, constrained, early-stopped trials PRUNED, the time
budget, warm starts) and the ASHA / HyperBand scheduler of the space's `early_stopping`."""

from __future__ import annotations

import functools
import random
import time
from typing import Any

from .._compat import optuna_study, optuna_trial
from ..events import TrialRecord, with_harvest
from ..layout import MODEL_FILE
from ..metrics import FINAL_KEY
from ..space import WARM_START_FROM, WARM_START_MODEL, SearchSpace, WarmStart
from .shared import search_deadline, warm_pool


@functools.cache
def searcher_class():
    """`HgqOptunaSearch` (defined on first use: importing Ray Tune takes seconds)."""
    from ray.tune.search import Searcher
    from ray.tune.search.optuna import OptunaSearch

    class HgqOptunaSearch(OptunaSearch):
        """OptunaSearch for trials whose objectives may exist only in the final result.

        - Epoch reports carry the training curves only; one without every objective
          (e.g. `luts`, `synth_luts`) is not passed to Optuna as an intermediate value.
        - A trial stopped early by the scheduler (no final report) is told PRUNED: its
          last epoch's values are truncated, not results (Ray tells PRUNED for None).
        - After the search's deadline it suggests nothing more (`Searcher.FINISHED`).
        - Before Optuna is told a trial's final result, the space's constraints are set on
          the Optuna trial (Optuna 5's `Trial.set_constraint`, which NSGA-II and TPE read;
          it replaces the deprecated `constraints_func`): a value <= 0 is satisfied, and a
          trial missing the metric gets inf (infeasible).
        - With `warm_start` (a `space.WarmStart`), once trials have finished, a new trial is,
          with probability `share`, a warm start: a point of the front so far (`warm_pool`,
          the space's `objectives` and constraints) picked at random; its `inherited`
          parameters are enqueued in the Optuna study (asked like a start point, the rest
          sampled) and the config names the point (`warm_start_from`) and its saved model
          (`warm_start_model`), which the trial starts from. Not while start points wait.
        """

        def __init__(self, *args, constraints=(), warm_start=None, objectives=(), inherited=None, warm_seed=None, **kwargs):
            super().__init__(*args, **kwargs)
            self._constraints = tuple(constraints)
            self._warm_start = warm_start
            self._objectives = tuple(objectives)
            self._inherited = inherited
            self._rng = random.Random(warm_seed)

        def suggest(self, trial_id):
            deadline = search_deadline()
            if deadline is not None and time.time() >= deadline:
                return Searcher.FINISHED
            source = self._warm_source() if optuna_trial(self, trial_id) is None else None
            if source is not None:
                optuna_study(self).enqueue_trial(self._inherited(source.config) if self._inherited else {}, skip_if_exists=False)
            config = super().suggest(trial_id)
            if source is not None and isinstance(config, dict):
                config.update({WARM_START_FROM: source.trial_id, WARM_START_MODEL: str(source.model_dir / MODEL_FILE)})
            return config

        def _warm_source(self) -> TrialRecord | None:
            from optuna.trial import TrialState

            from ..pareto import pareto_front

            points = [p for p in with_harvest(warm_pool()) if p.model_dir is not None]
            if self._warm_start is None or not points or self._rng.random() >= self._warm_start.share:
                return None
            if optuna_study(self).get_trials(deepcopy=False, states=(TrialState.WAITING,)):
                return None  # start points come first (and an enqueued point would be asked in their place)
            front = pareto_front(points, self._objectives, lambda r: r.metrics, self._constraints)
            return self._rng.choice(front) if front else None

        def on_trial_result(self, trial_id, result):
            metrics = self.metric if isinstance(self.metric, list) else [self.metric]
            if all(m in result for m in metrics):
                super().on_trial_result(trial_id, result)

        def on_trial_complete(self, trial_id, result=None, error=False):
            if not error and result is not None and FINAL_KEY not in result:
                result = None  # stopped early -> PRUNED
            trial = optuna_trial(self, trial_id)
            if self._constraints and result and trial is not None:
                for constraint in self._constraints:
                    trial.set_constraint(str(constraint), constraint.violation(result))
            super().on_trial_complete(trial_id, result=result, error=error)

    return HgqOptunaSearch


def make_searcher(space: SearchSpace, seed: int | None):
    """OptunaSearch over the space: multi-objective, constrained, early-stopped trials PRUNED."""
    from ..samplers import make_sampler

    return searcher_class()(
        space=space.suggest,
        metric=space.objective_names(),
        mode=space.objective_modes(),
        sampler=make_sampler(space, seed),
        constraints=space.constraints,
        # enqueued in the Optuna study: asked first, their missing parameters sampled
        points_to_evaluate=[dict(p) for p in space.search.start_points] or None,
        warm_start=space.search.warm_start,
        objectives=space.objectives,
        inherited=functools.partial(inherited_params, space),
        warm_seed=seed,
    )


def inherited_params(space: SearchSpace, config: dict[str, Any]) -> dict[str, Any]:
    """The searched parameters a trial warm-started from a point with this config inherits
    (the model's shape and quantizer settings: all but `WarmStart.resampled`)."""
    return {k: v for k, v in config.items() if k in space.parameters and space.parameters[k].kind != "fixed" and not WarmStart.resampled(k)}


def make_scheduler(space: SearchSpace):
    es = space.early_stopping
    if es is None:
        return None
    from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler

    # max_t one past the last epoch: the scheduler must never stop a trial at its last
    # epoch, before its final report (the one with test_accuracy and the estimates)
    common = {"metric": "score", "mode": "max", "time_attr": "epoch", "max_t": space.max_epochs() + 1}
    if es.scheduler == "hyperband":
        return HyperBandScheduler(reduction_factor=es.reduction_factor, **common)
    return ASHAScheduler(grace_period=es.grace_period, reduction_factor=es.reduction_factor, **common)
