"""Tune's trials as the package's events: a Tune trial that ended as a `TrialRecord`
(`trial_record`: its metrics, checkpoint folder, harvested points, or its error in one
line), and the Tune callback that forwards Tune's trial callbacks to `TrialListener`s."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import diskfull
from ..diskfull import DISK_FULL_KEY, is_disk_full
from ..errors import first_line
from ..events import TrialListener, TrialRecord, harvested_records
from ..metrics import FINAL_KEY


def error_text(error: BaseException | str) -> str:
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


def trial_record(trial, status: str | None = None) -> TrialRecord | None:
    """The record of a Tune trial that ended; None for one still pending or running.

    `status` ("ended" or "error") is what a callback knows before Tune updates the
    trial's own status; without it, the trial's status decides.
    """
    result = dict(trial.last_result or {})
    status = status or {"ERROR": "error", "TERMINATED": "ended"}.get(trial.status)
    if status == "error":
        return TrialRecord(trial.trial_id, dict(trial.config), result, status="failed", error=error_text(_trial_error(trial)))
    if status != "ended":
        return None
    if FINAL_KEY not in result:
        return TrialRecord(trial.trial_id, dict(trial.config), result, status="stopped")
    record = TrialRecord(trial.trial_id, dict(trial.config), result, model_dir=_model_dir(trial.checkpoint))
    record.harvested = harvested_records(record)
    return record


def make_bridge(listeners: Sequence[TrialListener], on_disk_full: Callable[[str], None] | None = None):
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


def stop_on_full_disk(path: str, error: str) -> None:
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
