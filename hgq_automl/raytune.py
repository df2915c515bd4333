"""Ray Tune adapter: runs the trials of a search space with an Optuna sampler.

It translates; it holds no search logic. The space samples itself (define-by-run), the
trial trains itself (`trial.run_trial`), and Tune's callbacks are forwarded to plain
`TrialListener`s. Multi-objective settings follow what was measured for Ray 2.60 +
Optuna 5 (FACTS.md): metric and mode go to `OptunaSearch` only, never to `TuneConfig`.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import Splits
from .events import TrialListener, TrialRecord
from .space import SearchSpace

#: Environment of the Ray workers that train: quiet TensorFlow, no GPU probing.
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "KERAS_BACKEND": "tensorflow"}


@dataclass(frozen=True)
class RunSettings:
    name: str
    storage: Path  # absolute; the search's files go to storage / name
    seed: int | None = None
    cpus: int | None = None  # local Ray's CPUs; default: all of this machine's


def make_sampler(space: SearchSpace, seed: int | None):
    import optuna

    s = space.search
    if s.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=s.nsga2_population(), seed=seed)
    if s.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=s.concurrency > 1)
    return optuna.samplers.RandomSampler(seed=seed)


@functools.cache
def searcher_class():
    """`HgqOptunaSearch` (defined on first use: importing Ray Tune takes seconds)."""
    from ray.tune.search.optuna import OptunaSearch

    class HgqOptunaSearch(OptunaSearch):
        """OptunaSearch for trials whose objectives may exist only in the final result.

        - Epoch reports carry the training curves only; one without every objective
          (e.g. `luts`, `synth_luts`) is not passed to Optuna as an intermediate value.
        - Before Optuna is told a trial's final result, the space's constraints are set on
          the Optuna trial (Optuna 5's `Trial.set_constraint`, which NSGA-II and TPE read;
          it replaces the deprecated `constraints_func`): a value <= 0 is satisfied, and a
          trial missing the metric gets inf (infeasible).
        """

        def __init__(self, *args, constraints=(), **kwargs):
            super().__init__(*args, **kwargs)
            self._constraints = tuple(constraints)

        def on_trial_result(self, trial_id, result):
            metrics = self.metric if isinstance(self.metric, list) else [self.metric]
            if all(m in result for m in metrics):
                super().on_trial_result(trial_id, result)

        def on_trial_complete(self, trial_id, result=None, error=False):
            if self._constraints and result and trial_id in self._ot_trials:
                for constraint in self._constraints:
                    self._ot_trials[trial_id].set_constraint(str(constraint), constraint.violation(result))
            super().on_trial_complete(trial_id, result=result, error=error)

    return HgqOptunaSearch


def hgq_trial(config: dict[str, Any], space: SearchSpace, data: Splits, seed: int, threads: int) -> None:
    """The Tune trainable: one trial, reporting every epoch and then the final metrics."""
    from ray import tune

    from .trial import run_trial

    with tempfile.TemporaryDirectory() as folder:
        # the checkpoint holds model.keras and the synthesis step's project (firmware/)
        final, model = run_trial(space, config, data, report=tune.report, seed=seed, threads=threads, firmware_dir=Path(folder) / "firmware")
        final["epoch"] = int(space.resolve(config)["epochs"])
        model.save(os.path.join(folder, "model.keras"))
        tune.report(final, checkpoint=tune.Checkpoint.from_directory(folder))


def _error_text(error: BaseException) -> str:
    """One line: the original exception's type and last message line (Ray wraps it)."""
    cause = getattr(error, "cause", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[-1] if lines else ''}".strip()


def _to_record(trial_id: str, config: dict, metrics: dict | None, error, checkpoint) -> TrialRecord:
    if error is not None:
        return TrialRecord(trial_id, dict(config), status="failed", error=_error_text(error) if isinstance(error, BaseException) else str(error))
    model_dir = Path(checkpoint.path) if checkpoint is not None and os.path.isdir(checkpoint.path) else None
    return TrialRecord(trial_id, dict(config), dict(metrics or {}), model_dir=model_dir)


def _trial_error(trial) -> BaseException | str:
    try:
        err = trial.get_pickled_error()
    except Exception:  # the pickle may not load in the driver; fall back to the text file
        err = None
    if err is not None:
        return err
    if trial.error_file and Path(trial.error_file).is_file():
        lines = [ln for ln in Path(trial.error_file).read_text().splitlines() if ln.strip()]
        return lines[-1] if lines else "error"
    return "error"


def _bridge(listeners: Sequence[TrialListener]):
    from ray import tune

    class Bridge(tune.Callback):
        """Forwards Tune's trial callbacks to the listeners."""

        def on_trial_start(self, iteration, trials, trial, **info):
            for listener in listeners:
                listener.trial_started(trial.trial_id, dict(trial.config))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            for listener in listeners:
                listener.trial_reported(trial.trial_id, result)

        def on_trial_complete(self, iteration, trials, trial, **info):
            record = _to_record(trial.trial_id, trial.config, trial.last_result, None, trial.checkpoint)
            for listener in listeners:
                listener.trial_finished(record)

        def on_trial_error(self, iteration, trials, trial, **info):
            record = _to_record(trial.trial_id, trial.config, None, _trial_error(trial), None)
            for listener in listeners:
                listener.trial_finished(record)

    return Bridge()


def start_ray(cpus: int | None = None) -> bool:
    """Start a local Ray unless one is running in this process. True if this call started it.

    Without RAY_ADDRESS, a new local Ray is started (address "local"): `ray.init()` alone
    would join whatever cluster another user last started on this host (it reads
    /tmp/ray/ray_current_cluster), and refuse `num_cpus` there.
    """
    import ray

    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS") or "local"
    ray.init(
        address=address,
        **({"num_cpus": cpus or os.cpu_count()} if address == "local" else {}),
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
        runtime_env={"env_vars": WORKER_ENV},
    )
    return True


def run_trials(
    space: SearchSpace, data: Splits, settings: RunSettings, listeners: Sequence[TrialListener] = ()
) -> tuple[list[TrialRecord], int]:
    """Run the search; return a record per trial that ended, and how many did not end.

    Trials that did not end are the ones an interrupt (SIGINT) left pending or running.
    """
    import optuna
    import ray
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no experiment banner
    # epoch reports lack the final-only objectives (luts, synth_luts, ...): Tune must not require them
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"

    started = start_ray(settings.cpus)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        concurrency = space.search.concurrency
        threads = max(1, cpus // concurrency)
        searcher = searcher_class()(
            space=space.suggest,
            metric=space.objective_names(),
            mode=space.objective_modes(),
            sampler=make_sampler(space, settings.seed),
            constraints=space.constraints,
        )
        trainable = tune.with_resources(
            tune.with_parameters(hgq_trial, space=space, data=data, seed=settings.seed or 0, threads=threads),
            {"cpu": threads},
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=ConcurrencyLimiter(searcher, max_concurrent=concurrency),
                num_samples=space.search.trials,
                reuse_actors=True,
                trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}",
            ),
            run_config=tune.RunConfig(
                name=settings.name,
                storage_path=str(settings.storage),
                callbacks=[_bridge(listeners)],
                verbose=0,  # the console progress listener reports instead
                failure_config=tune.FailureConfig(max_failures=0),
            ),
        )
        grid = tuner.fit()
        records, unfinished = [], 0
        for result in grid:
            metrics = result.metrics or {}
            if result.error is None and "test_accuracy" not in metrics:
                unfinished += 1  # stopped by an interrupt before its final report
                continue
            trial_id = metrics.get("trial_id") or Path(result.path).name
            records.append(_to_record(trial_id, result.config or {}, metrics, result.error, result.checkpoint))
        return records, unfinished
    finally:
        if started:
            ray.shutdown()

