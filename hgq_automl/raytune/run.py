"""A search's trials run (or resumed) on Ray Tune: `run_trials` starts Ray, builds the
Tuner (the trainable with its resources, the searcher, the scheduler, the bridge to the
listeners) or restores it, runs it within the time budget and reads the trials' records
back; `RunSettings` says where and how. It times its parts outside the trials
(`RunSettings.phases`)."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import diskfull
from .._compat import set_restored_callbacks
from .._ray_compat import shutdown_local
from ..data import Splits
from ..errors import UsageError
from ..events import TrialListener, TrialRecord
from ..space import SearchSpace
from .bridge import make_bridge, stop_on_full_disk, trial_record
from .cluster import RayStarting, start_ray
from .searcher import make_scheduler, make_searcher
from .shared import _DEADLINE, _WARM_POOL, WarmPool
from .trainable import hgq_trial


@dataclass(frozen=True)
class RunSettings:
    name: str
    storage: str  # absolute local path or a URI Ray supports; the search's files go to storage/name
    seed: int | None = None
    address: str | None = None  # an existing Ray cluster; None: start a local one
    cpus: int | None = None  # local Ray's CPUs; default: all of this machine's
    max_failures: int = 0  # retries of a failing trial
    resume: bool = False  # continue the search saved at storage/name
    #: why the trials were stopped before they ended, when not by the user, filled in by
    #: `run_trials` when the storage's disk filled (the driver says it, with the resume)
    stopped_by: list[str] = field(default_factory=list)
    #: seconds of each part of `run_trials` outside the trials, filled in as it runs:
    #: ray_start, trials (Tune's fit), results, finish (the `finish` callback), ray_shutdown
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{self.storage.rstrip('/')}/{self.name}"


def can_resume(path: str) -> bool:
    from ray import tune

    try:
        return tune.Tuner.can_restore(path)
    except Exception:  # a path Ray cannot read is a search it cannot resume
        return False


def _finished_trials(path: str) -> list[TrialRecord]:
    """The completed trials of the saved search at `path` (none if Tune cannot read it)."""
    from ray import tune

    try:
        trials = tune.ExperimentAnalysis(path).trials
    except Exception:  # noqa: BLE001 - no warm-start points is no reason to refuse the resume
        return []
    return [r for r in map(trial_record, trials) if r is not None and r.ok and r.model_dir is not None]


def run_trials(
    space: SearchSpace, data: Splits, settings: RunSettings, listeners: Sequence[TrialListener] = (),
    finish: Callable[[list[TrialRecord], int], None] | None = None, starting: RayStarting | None = None,
) -> tuple[list[TrialRecord], int]:
    """Run (or resume) the search; return a record per trial that ended, and how many did not.

    `starting`, when given, is Ray's start begun earlier (`RayStarting`): it is waited for
    rather than begun here (`phases["ray_start"]` is then the wait).

    `finish(records, threads)`, when given, is called once the trials ended, while Ray is
    still up (e.g. to run `finish_points` on the front's harvested members).

    Trials that did not end are the ones an interrupt (SIGINT) left pending or running;
    `settings.resume` continues them.

    With a time budget (`search.time_budget_s`, counted from here; a resumed search gets it
    again), no trial starts after it, and running trials end their training at it (at an
    epoch's end) and are measured and kept: the search ends once they are measured.
    """
    import ray
    from ray import tune

    _quiet_tune()
    gpus = space.search.gpus_per_trial
    phases, clock = settings.phases, time.perf_counter()
    started = starting.wait() if starting is not None else start_ray(settings.address, settings.cpus, space.search.backend, gpus=gpus > 0)
    phases["ray_start"] = time.perf_counter() - clock
    try:
        threads = _threads_per_trial(space, settings)
        budget = space.search.time_budget_s
        deadline = time.time() + budget if budget is not None else None
        _DEADLINE[0] = deadline
        if gpus and not ray.cluster_resources().get("GPU", 0):
            raise UsageError(f"gpus_per_trial {gpus:g}: the Ray cluster has no GPU; drop it or attach to a cluster with GPUs")
        trainable = tune.with_resources(
            tune.with_parameters(hgq_trial, space=space, data=data, seed=settings.seed or 0, threads=threads, deadline=deadline),
            {"cpu": threads, **({"gpu": gpus} if gpus else {})},
        )
        warm = space.search.warm_start is not None
        _WARM_POOL.clear()
        diskfull.reserve(settings.path)
        bridge = make_bridge([*listeners, WarmPool()] if warm else listeners, functools.partial(stop_on_full_disk, settings.path))
        tuner = _tuner(space, settings, trainable, bridge, warm)
        clock = time.perf_counter()
        try:
            grid = tuner.fit()
        except Exception:
            if bridge.disk_full is None:
                raise
            grid = None  # Tune's results read files the full disk left empty: the trials in memory tell
        phases["trials"], clock = time.perf_counter() - clock, time.perf_counter()
        out_of_time = deadline is not None and time.time() >= deadline
        if bridge.disk_full is not None:
            settings.stopped_by.append(f"the disk holding {settings.path} is full ({bridge.disk_full})")
        trials = tune.ExperimentAnalysis(grid.experiment_path).trials if grid is not None else bridge.trials
        records = [r for r in map(trial_record, trials) if r is not None]
        for record in records:
            record.metrics.update(bridge.timings.get(record.trial_id, {}))
        phases["results"], clock = time.perf_counter() - clock, time.perf_counter()
        if finish is not None:
            finish(records, threads)
            phases["finish"] = time.perf_counter() - clock
        # a search that used up its time budget is over: trials it never started are not owed
        return records, 0 if out_of_time else max(0, space.search.trials - len(records))
    finally:
        diskfull.release(settings.path)
        _DEADLINE[0] = None
        _WARM_POOL.clear()
        if started:
            clock = time.perf_counter()
            shutdown_local()
            phases["ray_shutdown"] = time.perf_counter() - clock
        if starting is not None:
            starting.release()


def _quiet_tune() -> None:
    """Optuna and Tune as a search runs them: Optuna's logging at warnings, no experiment
    banner, the experiment state saved often, no strict metric checking."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no experiment banner
    # save the experiment state at least every 2 s, so that a killed driver loses (and
    # a resume re-runs) as few finished trials as possible
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "2")
    # epoch reports lack the final-only objectives (luts, synth_luts, ...): Tune must not require them
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"


def _threads_per_trial(space: SearchSpace, settings: RunSettings) -> int:
    """The CPUs (threads) of each trial: a local Ray's CPUs shared by the trials that run at
    once (one each on a cluster); a note when the concurrency asks for more than fit."""
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))
    concurrency = space.search.concurrency
    threads = max(1, cpus // concurrency) if not settings.address else 1
    if concurrency > cpus // threads:
        # each trial takes at least one CPU: Ray runs no more trials at once than that
        print(f"note: concurrency {concurrency} is above the {cpus} CPUs Ray has; at most {cpus // threads} trials run at once", file=sys.stderr, flush=True)
    return threads


def _tuner(space: SearchSpace, settings: RunSettings, trainable, bridge, warm: bool):
    """The Tuner of a new search (the searcher, the scheduler, the bridge as its callback),
    or a resumed one's restored with this run's bridge (and its finished trials in the
    warm-start pool)."""
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    if settings.resume:
        if warm:  # the trials that finished before the interruption are warm-start points too
            _WARM_POOL.extend(_finished_trials(settings.path))
        tuner = tune.Tuner.restore(settings.path, trainable, resume_unfinished=True, resume_errored=False)
        # Tune keeps the pickled RunConfig; give it this run's listeners
        set_restored_callbacks(tuner, [bridge])
        return tuner
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(make_searcher(space, settings.seed), max_concurrent=space.search.concurrency),
            scheduler=make_scheduler(space),
            num_samples=space.search.trials,
            reuse_actors=True,
            trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=settings.name,
            storage_path=settings.storage,
            callbacks=[bridge],
            verbose=0,  # the console progress listener reports instead
            failure_config=tune.FailureConfig(max_failures=settings.max_failures),
        ),
    )
