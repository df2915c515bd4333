"""Ray Tune adapter: runs the trials of a search space with an Optuna sampler.

It translates; it holds no search logic. The space samples itself (define-by-run), the
trial trains itself (`trial.run_trial`), and Tune's callbacks are forwarded to plain
`TrialListener`s. Multi-objective settings follow what works with the pinned Ray and
Optuna: metric and mode go to `OptunaSearch` only, never to `TuneConfig`;
trials stopped early by a scheduler are told to Optuna as PRUNED, not COMPLETE.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._compat import optuna_study, optuna_trial, set_restored_callbacks
from ._ray_compat import shutdown_local
from .data import Splits
from . import diskfull
from .diskfull import DISK_FULL_KEY, is_disk_full
from .errors import UsageError, first_line
from .events import TrialListener, TrialRecord, harvested_records, with_harvest
from .layout import FIRMWARE_DIR, HARVEST_DIR, MODEL_FILE
from .metrics import FINAL_KEY
from .space import WARM_START_FROM, WARM_START_MODEL, SearchSpace, WarmStart

def worker_env(backend: str, gpus: bool = False) -> dict[str, str]:
    """Environment of the Ray workers that train: Keras' `backend` (`search.backend`; each
    trial checks it again, `backend.use_backend`), quiet TensorFlow. Without `gpus` no GPU
    is visible (no probing); with them Ray sets CUDA_VISIBLE_DEVICES in each trial's worker
    to the GPUs it gave that trial, and the trial's framework sees those alone."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": backend}
    return env if gpus else {**env, "CUDA_VISIBLE_DEVICES": ""}


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


#: A `time.time()` after which the running search starts no trial (its time budget).
_DEADLINE: list[float | None] = [None]


def search_deadline() -> float | None:
    """The running search's deadline. A module-level function, so that a searcher Tune
    restores from its pickle (a resumed search) reads the live value, not a copy."""
    return _DEADLINE[0]


#: The finished trials (their models and harvested checkpoints) of the running search: the
#: points a warm-started trial may start from (`search.warm_start`). Module-level, like the
#: deadline: a searcher restored from its pickle reads the live list.
_WARM_POOL: list[TrialRecord] = []


def warm_pool() -> list[TrialRecord]:
    return _WARM_POOL


class WarmPool:
    """A `TrialListener` that adds every completed trial (with its harvested checkpoints)
    to the warm-start pool."""

    def trial_started(self, trial_id, config) -> None:
        pass

    def trial_reported(self, trial_id, metrics) -> None:
        pass

    def trial_finished(self, record: TrialRecord | None) -> None:
        if record is not None and record.ok and record.model_dir is not None:
            _WARM_POOL.append(record)


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

            from .pareto import pareto_front

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
    from .samplers import make_sampler

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


def hgq_trial(config: dict[str, Any], space: SearchSpace, data: Splits, seed: int, threads: int, deadline: float | None = None) -> None:
    """The Tune trainable: one trial, reporting every epoch and then the final metrics;
    training ends early at the search's `deadline` (the trial is still measured and kept)."""
    from ray import tune

    from .hardware.synthesis import run_synthesis
    from .trial import run_trial

    es = space.early_stopping
    last: dict[str, Any] = {}

    def report(metrics: dict[str, Any]) -> None:
        last.update(metrics)
        tune.report({**metrics, "score": es.score_of(metrics)} if es else metrics)

    with tempfile.TemporaryDirectory() as folder:
        # the checkpoint holds model.keras, the synthesis step's project (firmware/) and
        # the harvested checkpoints (harvest/epoch_NNNN/)
        final, model = run_trial(
            space, config, data, report=report, seed=seed, threads=threads,
            firmware_dir=Path(folder) / FIRMWARE_DIR, harvest_dir=Path(folder) / HARVEST_DIR, deadline=deadline,
            synthesize=run_synthesis,
        )
        final["epoch"] = int(final["epochs_trained"])
        if es:  # the scheduler needs its metric in every report; the final values take precedence
            final["score"] = es.score_of({**last, **final})
        model.save(os.path.join(folder, MODEL_FILE))
        try:
            tune.report(final, checkpoint=tune.Checkpoint.from_directory(folder))
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            _wait_for_the_stop(exc)


def _wait_for_the_stop(exc: OSError) -> None:
    """The storage's disk is full: this trial's checkpoint could not be saved. Say so to
    the driver (a report it stops the search on, `diskfull`) and wait to be stopped, so
    that the trial is left unfinished (a resume runs it again) rather than failed. If no
    stop comes (a driver that cannot interrupt Tune), fail after all."""
    from ray import tune

    tune.report({DISK_FULL_KEY: 1.0})
    time.sleep(300)
    raise exc


def finish_points(points: Sequence[TrialRecord], space: SearchSpace, data: Splits, threads: int, say=lambda text: None) -> dict[str, dict[str, Any] | str]:
    """What saved checkpoints (the front's harvested members) lack to be finished products,
    as Ray tasks of `threads` CPUs each, as many at once as Ray fits: da4ml's estimates for a
    point without `luts`, the space's synthesis step for one without `bit_mismatches`
    (`trial.finish_saved`). Each task gets the checkpoint's model file as bytes and returns
    its metrics and, after a synthesis step, its project folder as a tar, unpacked here into
    the checkpoint's FIRMWARE_DIR: the workers need not see this machine's disk. Per trial
    id: the metrics, or the error (one line) when a task failed."""
    import ray

    task = ray.remote(num_cpus=threads)(_finish_point)
    x_test = ray.put(data.x_test)
    synthesis = space.hardware.synthesis != "none"
    pending = {
        task.remote((p.model_dir / MODEL_FILE).read_bytes(), dict(p.config), space, x_test, threads,
                    "luts" not in p.metrics, synthesis and "bit_mismatches" not in p.metrics): p
        for p in points
    }
    out: dict[str, dict[str, Any] | str] = {}
    start = time.perf_counter()
    while pending:
        [ref], _ = ray.wait(list(pending), num_returns=1)
        point = pending.pop(ref)
        try:
            metrics, project = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - this point's step failed: said, and the search goes on
            out[point.trial_id] = _error_text(exc)
            say(f"  {point.trial_id}: failed: {out[point.trial_id]}")
            continue
        if project is not None:
            _untar(project, point.model_dir / FIRMWARE_DIR)
        out[point.trial_id] = metrics
        shown = ", ".join(f"{k} {v:,.6g}" for k, v in metrics.items() if isinstance(v, (int, float)))
        say(f"  {point.trial_id}: {shown} ({len(out)} of {len(points)}, {time.perf_counter() - start:.0f} s)")
    return out


def _finish_point(model_bytes: bytes, config: dict[str, Any], space: SearchSpace, x_test, threads: int, da4ml: bool, synthesis: bool) -> tuple[dict[str, Any], bytes | None]:
    """A Ray task: `trial.finish_saved` on a model given as bytes; (metrics, the synthesis
    step's project as a tar, or None without one)."""
    import io
    import tarfile

    from .hardware.synthesis import run_synthesis
    from .trial import finish_saved

    with tempfile.TemporaryDirectory(prefix="hgq_automl_fw_") as folder:
        model_file = Path(folder) / MODEL_FILE
        model_file.write_bytes(model_bytes)
        project = Path(folder) / FIRMWARE_DIR
        metrics = finish_saved(space, config, model_file, x_test, project, run_synthesis, threads, da4ml=da4ml, synthesis=synthesis)
        if not project.is_dir():
            return metrics, None
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(project, arcname=".")
    return metrics, buffer.getvalue()


def _untar(data: bytes, folder: Path) -> None:
    import io
    import tarfile

    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")


def _error_text(error: BaseException | str) -> str:
    """One line: the original exception's type and last message line (Ray wraps it)."""
    if isinstance(error, str):
        return error
    cause = getattr(error, "cause", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[-1] if lines else ''}".strip()


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


def _model_dir(checkpoint) -> Path | None:
    if checkpoint is None:
        return None
    if os.path.isdir(checkpoint.path):
        return Path(checkpoint.path)
    return Path(checkpoint.to_directory())  # remote storage: download


def _stop_on_full_disk(path: str, error: str) -> None:
    """The storage's disk is full: give the reserve back, for Tune's last save and the
    tracking's last writes, and stop Tune as an interrupt does (its SIGUSR1 handler, set
    when it runs in the main thread); the trials left unfinished run again on a resume."""
    import logging
    import signal

    diskfull.release(path)
    # Tune's state saves that were under way fail too and log their tracebacks: said here, once
    logging.getLogger("ray.tune.execution.experiment_state").setLevel(logging.CRITICAL)
    print(f"hgq_automl: {error}; stopping the search", file=sys.stderr, flush=True)
    if callable(signal.getsignal(signal.SIGUSR1)):
        signal.raise_signal(signal.SIGUSR1)


def trial_record(trial, status: str | None = None) -> TrialRecord | None:
    """The record of a Tune trial that ended; None for one still pending or running.

    `status` ("ended" or "error") is what a callback knows before Tune updates the
    trial's own status; without it, the trial's status decides.
    """
    result = dict(trial.last_result or {})
    status = status or {"ERROR": "error", "TERMINATED": "ended"}.get(trial.status)
    if status == "error":
        return TrialRecord(trial.trial_id, dict(trial.config), result, status="failed", error=_error_text(_trial_error(trial)))
    if status != "ended":
        return None
    if FINAL_KEY not in result:
        return TrialRecord(trial.trial_id, dict(trial.config), result, status="stopped")
    record = TrialRecord(trial.trial_id, dict(trial.config), result, model_dir=_model_dir(trial.checkpoint))
    record.harvested = harvested_records(record)
    return record


def _bridge(listeners: Sequence[TrialListener], on_disk_full: Callable[[str], None] | None = None):
    from ray import tune

    class Bridge(tune.Callback):
        """Forwards Tune's trial callbacks to the listeners, and times each trial as the
        driver sees it: `wall_seconds` from Tune's start to its end, `tracking_seconds`
        spent in the listeners (MLflow logging, console lines) for that trial.

        Tune pickles its callbacks with the experiment; the listeners (open clients,
        streams) are left out, and a resumed search attaches fresh ones.
        """

        def __init__(self, listeners, on_disk_full: Callable[[str], None] | None = None):
            self.listeners = list(listeners)
            self.started: dict[str, float] = {}
            self.timings: dict[str, dict[str, float]] = {}
            self.on_disk_full = on_disk_full
            self.disk_full: str | None = None  # the first refused write's error, once the disk is full
            self.trials: list = []  # Tune's trials, as last seen (read when its own state could not be saved)

        def __getstate__(self):
            return {"listeners": [], "started": {}, "timings": {}, "on_disk_full": None, "disk_full": None, "trials": []}

        def _full(self, text: str) -> None:
            if self.disk_full is None:
                self.disk_full = text
                if self.on_disk_full is not None:
                    self.on_disk_full(text)

        def _tell(self, trial_id: str, method: str, *args) -> None:
            start = time.perf_counter()
            for listener in self.listeners:
                try:
                    getattr(listener, method)(*args)
                except Exception as exc:  # noqa: BLE001 - a listener's failure must not fail the trial
                    print(f"hgq_automl: warning: {type(listener).__name__}.{method} for trial {trial_id} failed: {first_line(exc, 300, typed=True)}", file=sys.stderr, flush=True)
            times = self.timings.setdefault(trial_id, {"tracking_seconds": 0.0})
            times["tracking_seconds"] += time.perf_counter() - start

        def on_trial_start(self, iteration, trials, trial, **info):
            self.trials = trials
            self.started[trial.trial_id] = time.perf_counter()
            self._tell(trial.trial_id, "trial_started", trial.trial_id, dict(trial.config))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if DISK_FULL_KEY in result:  # the trial could not save its checkpoint: it waits to be stopped
                self._full(f"trial {trial.trial_id}'s checkpoint: No space left on device")
                return
            self._tell(trial.trial_id, "trial_reported", trial.trial_id, result)

        def on_trial_complete(self, iteration, trials, trial, **info):
            self._finished(trial, trial_record(trial, "ended"))

        def on_trial_error(self, iteration, trials, trial, **info):
            record = trial_record(trial, "error")
            self._finished(trial, record)
            if is_disk_full(record.error):
                self._full(f"trial {trial.trial_id}: {record.error}")

        def _finished(self, trial, record):
            if trial.trial_id in self.started:
                wall = time.perf_counter() - self.started.pop(trial.trial_id)
                self.timings.setdefault(trial.trial_id, {"tracking_seconds": 0.0})["wall_seconds"] = wall
            self._tell(trial.trial_id, "trial_finished", record)

    return Bridge(listeners, on_disk_full)


def start_ray(address: str | None = None, cpus: int | None = None, backend: str = "jax", gpus: bool = False) -> bool:
    """Attach to `address` (or $RAY_ADDRESS), else start a local Ray. True if this call did either.

    On a cluster the workers get this package (`py_modules`); its dependencies must be
    installed on the nodes.
    """
    import signal
    import threading

    import ray

    if ray.is_initialized():
        return False
    # ray.init replaces the driver's SIGTERM handler (it exits at once); keep ours, which
    # stops the search like Ctrl-C (`cli`)
    main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
    # A local Ray's processes (GCS, raylet, workers) are in the driver's process group. Ray
    # blocks SIGINT in them, so that Ctrl-C reaches only the driver, which stops the search
    # through them; SIGTERM sent to the whole group (Slurm's scancel, `kill -- -PGID`) killed
    # them under the driver instead, which then hung for a minute and died with its runs left
    # RUNNING. They inherit this thread's signal mask: block SIGTERM in it while they start,
    # as Ray does SIGINT. The driver's own SIGTERM, if one comes meanwhile, waits until then.
    local = not (address or os.environ.get("RAY_ADDRESS"))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}) if local else None
    try:
        _init_ray(ray, address, cpus, backend, gpus)
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if callable(sigterm):
            signal.signal(signal.SIGTERM, sigterm)
    return True


def _init_ray(ray, address: str | None, cpus: int | None, backend: str, gpus: bool) -> None:
    address = address or os.environ.get("RAY_ADDRESS") or None
    runtime_env: dict[str, Any] = {"env_vars": worker_env(backend, gpus)}
    if address:
        runtime_env["py_modules"] = [str(Path(__file__).resolve().parent)]
        ray.init(address=address, log_to_driver=False, logging_level="ERROR", runtime_env=runtime_env)
    else:
        _loopback_only()
        ray.init(
            address="local",  # a new local Ray, never one found in /tmp/ray/ray_current_cluster
            num_cpus=cpus or os.cpu_count(),
            _node_ip_address="127.0.0.1",
            include_dashboard=False,  # no dashboard (its agent still runs, on the node IP)
            log_to_driver=False,
            logging_level="ERROR",
            runtime_env=runtime_env,
        )


def _loopback_only() -> None:
    """Make a local Ray's node IP 127.0.0.1, so that its servers (GCS, raylet, workers,
    agents) listen on loopback only, not on every interface or the machine's address.

    Ray on Linux turns a given node IP of 127.0.0.1 into the address it finds by routing
    to 8.8.8.8 (and warns when there is no route). `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`
    makes it use loopback, as it does on macOS and Windows. Ray reads that variable when
    imported, so the already imported constant is set too; the variable itself is for
    the processes Ray starts.
    """
    import ray._private.ray_constants as ray_constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


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
    finish: Callable[[list[TrialRecord], int], None] | None = None,
) -> tuple[list[TrialRecord], int]:
    """Run (or resume) the search; return a record per trial that ended, and how many did not.

    `finish(records, threads)`, when given, is called once the trials ended, while Ray is
    still up (e.g. to run `finish_points` on the front's harvested members).

    Trials that did not end are the ones an interrupt (SIGINT) left pending or running;
    `settings.resume` continues them.

    With a time budget (`search.time_budget_s`, counted from here; a resumed search gets it
    again), no trial starts after it, and running trials end their training at it (at an
    epoch's end) and are measured and kept: the search ends once they are measured.
    """
    import optuna
    import ray
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no experiment banner
    # save the experiment state at least every 2 s, so that a killed driver loses (and
    # a resume re-runs) as few finished trials as possible
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "2")
    # epoch reports lack the final-only objectives (luts, synth_luts, ...): Tune must not require them
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    gpus = space.search.gpus_per_trial
    phases, clock = settings.phases, time.perf_counter()
    started = start_ray(settings.address, settings.cpus, space.search.backend, gpus=gpus > 0)
    phases["ray_start"] = time.perf_counter() - clock
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        concurrency = space.search.concurrency
        threads = max(1, cpus // concurrency) if not settings.address else 1
        if concurrency > cpus // threads:
            # each trial takes at least one CPU: Ray runs no more trials at once than that
            print(f"note: concurrency {concurrency} is above the {cpus} CPUs Ray has; at most {cpus // threads} trials run at once", file=sys.stderr, flush=True)
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
        bridge = _bridge([*listeners, WarmPool()] if warm else listeners, functools.partial(_stop_on_full_disk, settings.path))
        if settings.resume:
            if warm:  # the trials that finished before the interruption are warm-start points too
                _WARM_POOL.extend(_finished_trials(settings.path))
            tuner = tune.Tuner.restore(settings.path, trainable, resume_unfinished=True, resume_errored=False)
            # Tune keeps the pickled RunConfig; give it this run's listeners
            set_restored_callbacks(tuner, [bridge])
        else:
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(
                    search_alg=ConcurrencyLimiter(make_searcher(space, settings.seed), max_concurrent=concurrency),
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
