"""`SearchTracker`, the trial-event listener that records one search in MLflow: the parent
run's settings and space, a child run per trial (parameters, per-epoch metrics in batches,
final metrics, its model, its end state), harvested points nested under their trial, and
the end of the search (counts, timings, `publish.FrontPublisher`). Every write goes
through an `outbox.Outbox`."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError, first_line
from ..events import TrialRecord, with_harvest
from ..layout import MODEL_ARTIFACT, MODEL_FILE, SPACE_ARTIFACT
from ..metrics import FINAL_KEY, NOTE_PREFIX, logged_values
from ..space import SearchSpace
from ..tags import EARLY_STOPPED, ERROR, HARVESTED_FROM, PARENT_RUN, RESTARTED, ROLE, SEARCH_RUN, SPACE, TRIAL_ID
from .experiment import create_experiment, discard_experiment, retire_interrupted
from .params import param_texts
from .store import _shown


class SearchTracker:
    """Records one search in MLflow. Implements `events.TrialListener`.

    `start` creates the search's parent run; `attach` continues it (a resumed search),
    finding the child runs already made so that no trial gets a second one.

    Every write goes through an `outbox.Outbox`: retried with backoff, and queued on disk
    (`queue_dir`) while the store does not answer, so that no trial is lost or failed
    because of tracking. A tracking write that fails for another reason is reported as
    one warning line and the search goes on.

    Epoch reports are written in batches, at most every `flush_seconds` per trial (a
    write per report would cost the driver, which shares the cores with the trials, a
    store round trip each; see docs/benchmarks.md), and always when the trial ends or
    the search stops.
    """

    #: MLflow accepts at most 1000 metrics per log_batch.
    MAX_BATCH = 1000

    def __init__(
        self, client, experiment_id: str, parent_run_id: str, space: SearchSpace, run_ids: dict[str, str] | None = None,
        flush_seconds: float = 5.0, queue_dir: Path | None = None, statuses: dict[str, str] | None = None,
    ):
        from ..outbox import Outbox

        self.client = client
        self.out = Outbox(client, queue_dir)
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.space = space
        self.run_ids: dict[str, str] = dict(run_ids or {})  # trial_id -> child run id
        self.flush_seconds = flush_seconds
        self._pending: dict[str, list] = {}  # run id -> epoch metrics not written yet
        self._flushed: dict[str, float] = {}  # run id -> time.monotonic() of its last write
        self._status: dict[str, str] = dict(statuses or {})  # run id -> its status as last written
        self._epochs: dict[str, int] = {}  # run id -> the trial's planned epochs
        self._written: dict[tuple[str, str, int], float] = {}  # (run id, metric, step) -> value written

    def use_queue(self, folder: Path | None) -> None:
        """Queue the writes in `folder` while the store does not answer."""
        self.out.folder = Path(folder) if folder is not None else None

    @classmethod
    def start(cls, client, experiment_name: str, search_name: str, space: SearchSpace, settings: dict[str, Any]) -> SearchTracker:
        import yaml

        experiment_id = create_experiment(client, experiment_name)  # the search's claim on its name
        tracker = cls(client, experiment_id, "", space)
        try:
            run = client.create_run(experiment_id, run_name=search_name, tags={ROLE: "search", SPACE: space.name})
            tracker.parent_run_id = run.info.run_id
            params = {"space": space.name, "objectives": ",".join(f"{m}:{d}" for m, d in space.objectives), **settings}
            tracker._log_params(run.info.run_id, params)
            client.log_text(run.info.run_id, yaml.safe_dump(space.to_dict(), sort_keys=False), SPACE_ARTIFACT)
        except BaseException:
            tracker.discard()
            raise
        return tracker

    def discard(self) -> None:
        """Undo `start` after a set-up failure: the parent run is deleted and the experiment
        renamed and deleted, so that no run stays RUNNING and the name can be used again."""
        discard_experiment(self.client, self.experiment_id, self.parent_run_id)

    @staticmethod
    def retire_interrupted(client, experiment_name: str, storage: str) -> bool:
        """Before a new search takes over the name of one whose start was stopped before it
        wrote its state file: retire that start's experiment if it holds nothing else
        (`experiment.retire_interrupted`). True if one was retired."""
        return retire_interrupted(client, experiment_name, storage)

    @classmethod
    def attach(cls, client, parent_run_id: str, space: SearchSpace, queue_dir: Path | None = None) -> SearchTracker:
        try:
            parent = client.get_run(parent_run_id)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"the search's MLflow parent run {parent_run_id} is not in {_shown(client)}: {first_line(exc)}") from None
        children = client.search_runs([parent.info.experiment_id], filter_string=f"tags.{PARENT_RUN} = '{parent_run_id}'", max_results=50000)
        children += client.search_runs([parent.info.experiment_id], filter_string=f"tags.`{SEARCH_RUN}` = '{parent_run_id}'", max_results=50000)
        run_ids = {r.data.tags[TRIAL_ID]: r.info.run_id for r in children if TRIAL_ID in r.data.tags}
        statuses = {r.info.run_id: r.info.status for r in children}
        tracker = cls(client, parent.info.experiment_id, parent_run_id, space, run_ids, queue_dir=queue_dir, statuses=statuses)
        tracker._set_status(parent_run_id, "RUNNING")
        return tracker

    # -- writing, through the outbox

    def _write(self, op: str, *args: Any) -> Any:
        return self.out.write(op, *args)

    def _set_status(self, run_id: str, status: str) -> None:
        self._write("set_status", run_id, status)
        self._status[run_id] = status

    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self._write("log_batch", run_id, [], param_texts(params))

    def _log_metrics(self, run_id: str, metrics: list[tuple[str, float, int, int]]) -> None:
        if metrics:
            self._write("log_batch", run_id, [list(m) for m in metrics], {})

    # -- TrialListener

    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None:
        restarted = trial_id in self.run_ids
        if restarted:
            # a trial started again (after an interrupt, or a retry): it trains from scratch,
            # so its earlier run (and any harvested point logged under it) is replaced, and
            # each metric keeps one value per epoch
            old = self.run_ids.pop(trial_id)
            self._pending.pop(old, None)
            self._write("delete_run", old)
            for point_id in [t for t in self.run_ids if t.startswith(f"{trial_id}-e")]:
                self._write("delete_run", self.run_ids.pop(point_id))
        tags = {PARENT_RUN: self.parent_run_id, ROLE: "trial", TRIAL_ID: trial_id, **({RESTARTED: "true"} if restarted else {})}
        run_id = self._write("create_run", self.experiment_id, f"trial_{trial_id}", tags)
        self.run_ids[trial_id] = run_id
        self._status[run_id] = "RUNNING"
        resolved = self.space.resolve(config)
        if isinstance(resolved.get("epochs"), (int, float)):
            self._epochs[run_id] = int(resolved["epochs"])
        self._log_params(run_id, resolved)

    def trial_reported(self, trial_id: str, metrics: dict[str, Any]) -> None:
        run_id = self.run_ids.get(trial_id)
        if run_id is None:
            return
        step = int(metrics.get("epoch", metrics.get("training_iteration", 0)))
        now = int(time.time() * 1000)
        batch = [(k, v, now, step) for k, v in logged_values(metrics, finite=True).items()]
        pending = self._pending.setdefault(run_id, [])
        final = FINAL_KEY in metrics
        if final:
            # the final report repeats the last epoch's step: one value per metric and step,
            # the final one (the last epoch's report is held back for this, see below)
            keys = {m[0] for m in batch}
            pending[:] = [m for m in pending if not (m[3] == step and m[0] in keys)]
            batch = [m for m in batch if self._written.get((run_id, m[0], step)) != m[1]]
        pending += batch
        last_epoch = not final and step >= self._epochs.get(run_id, math.inf)
        if not last_epoch and (time.monotonic() - self._flushed.get(run_id, -math.inf) >= self.flush_seconds or len(pending) >= self.MAX_BATCH):
            self._flush(run_id)

    def _flush(self, run_id: str | None = None) -> None:
        """Write the pending epoch metrics of one run (None: of every run)."""
        for rid in [run_id] if run_id else list(self._pending):
            pending = self._pending.pop(rid, [])
            for key, value, _, step in pending:
                self._written[(rid, key, step)] = value
            for i in range(0, len(pending), self.MAX_BATCH):
                self._log_metrics(rid, pending[i : i + self.MAX_BATCH])
            self._flushed[rid] = time.monotonic()

    def trial_finished(self, record: TrialRecord) -> None:
        if record.trial_id not in self.run_ids:
            self.trial_started(record.trial_id, record.config)
        run_id = self.run_ids[record.trial_id]
        self._flush(run_id)
        if record.ok:
            self._log_notes(run_id, record.metrics)
            self._log_model(run_id, record)
            for point in record.harvested:
                self._log_harvested(run_id, point)
            self._set_status(run_id, "FINISHED")
        elif record.status == "stopped":
            self._write("set_tag", run_id, EARLY_STOPPED, "true")
            self._set_status(run_id, "KILLED")
        else:
            self._write("set_tag", run_id, ERROR, (record.error or "error")[:4000])
            self._set_status(run_id, "FAILED")

    def _log_notes(self, run_id: str, metrics: dict[str, Any]) -> None:
        """A trial's text notes (`metrics.NOTE_PREFIX`) as tags `hgq_automl.<name>`."""
        for key, value in metrics.items():
            if key.startswith(NOTE_PREFIX) and isinstance(value, str):
                self._write("set_tag", run_id, f"hgq_automl.{key[len(NOTE_PREFIX):]}", value[:4000])

    def _log_model(self, run_id: str, record: TrialRecord) -> None:
        model = record.model_dir / MODEL_FILE if record.model_dir else None
        if model is not None and model.is_file():
            from ..mlflow_model import save_pyfunc

            with tempfile.TemporaryDirectory() as tmp:
                self._write("log_artifacts", run_id, str(save_pyfunc(model, Path(tmp) / MODEL_ARTIFACT)), MODEL_ARTIFACT)

    def _log_harvested(self, trial_run_id: str, point: TrialRecord) -> None:
        """A harvested checkpoint: a FINISHED run nested under its trial's run, with the
        trial's parameters plus `harvest_epoch`, its metrics and its MLflow model. One
        left unfinished by a kill while it was logged is deleted and logged again."""
        if point.trial_id in self.run_ids:
            old = self.run_ids[point.trial_id]
            if self._status.get(old) == "FINISHED":  # logged before an interrupt
                return
            self._write("delete_run", old)
            del self.run_ids[point.trial_id]
        run_id = self._write(
            "create_run", self.experiment_id, f"trial_{point.trial_id}",
            {
                PARENT_RUN: trial_run_id,
                ROLE: "harvest",
                TRIAL_ID: point.trial_id,
                HARVESTED_FROM: point.harvested_from or "",
                SEARCH_RUN: self.parent_run_id,
            },
        )
        self.run_ids[point.trial_id] = run_id
        self._status[run_id] = "RUNNING"
        self._log_params(run_id, {**self.space.resolve(point.config), "harvest_epoch": int(point.metrics["harvest_epoch"])})
        now = int(time.time() * 1000)
        step = int(point.metrics["harvest_epoch"])
        self._log_metrics(run_id, [(k, v, now, step) for k, v in logged_values(point.metrics, finite=True).items()])
        self._log_notes(run_id, point.metrics)
        self._log_model(run_id, point)
        self._set_status(run_id, "FINISHED")

    def point_measured(self, point: TrialRecord, metrics: dict[str, Any]) -> None:
        """More metrics of a point already logged (a harvested front member's synthesis step,
        run at the end of the search): on its run, at its epoch's step."""
        run_id = self.run_ids.get(point.trial_id)
        if run_id is None:
            return
        now = int(time.time() * 1000)
        step = int(point.metrics.get("harvest_epoch", 0))
        self._log_metrics(run_id, [(k, v, now, step) for k, v in logged_values(metrics, finite=True).items()])
        self._log_notes(run_id, metrics)

    # -- the end of a search

    def finish(self, records: Sequence[TrialRecord], front: Sequence[TrialRecord], unfinished: int = 0, phases: dict[str, float] | None = None) -> None:
        """Log the Pareto set on the parent run, tag its members, and end the parent run.

        With unfinished trials (an interrupt) the parent and the open child runs end
        KILLED, to be continued by a resume. Child runs of trials Ray no longer knows
        (made after its last saved state, before the driver died) are deleted. A trial
        that ended but whose logging a kill cut short (its run not FINISHED) is logged again.
        `phases` (seconds of the driver's parts outside the trials) gets `publish`, the time of
        the front's publishing, and goes to the parent run as `driver_<phase>_seconds`.
        """
        self._flush()
        for record in records:  # ended in an earlier session whose logging was cut short
            run_id = self.run_ids.get(record.trial_id)
            expected = "FINISHED" if record.ok else "KILLED" if record.status == "stopped" else "FAILED"
            if run_id is None or self._status.get(run_id) != expected or (record.ok and any(
                self._status.get(self.run_ids.get(p.trial_id, "")) != "FINISHED" for p in record.harvested
            )):
                if run_id is None:
                    self.trial_started(record.trial_id, record.config)
                    run_id = self.run_ids[record.trial_id]
                if record.ok and not self._has_final(run_id):
                    self.trial_reported(record.trial_id, record.metrics)
                self.trial_finished(record)
        ended = {r.trial_id for r in with_harvest(records)}
        for trial_id, run_id in list(self.run_ids.items()):
            if trial_id in ended:
                continue
            if unfinished:
                if self._status.get(run_id, "RUNNING") == "RUNNING":
                    self._set_status(run_id, "KILLED")
            else:
                self._write("delete_run", run_id)
                del self.run_ids[trial_id]
        self._log_timings(records)
        from ..publish import FrontPublisher

        clock = time.perf_counter()
        FrontPublisher(self.out, self.experiment_id, self.parent_run_id, self.space, self.run_ids).publish(records, front, register=not unfinished)
        phases = phases if phases is not None else {}
        phases["publish"] = time.perf_counter() - clock
        now = int(time.time() * 1000)
        counts = {
            "trials_completed": sum(r.ok for r in records),
            "trials_failed": sum(r.status == "failed" for r in records),
            "trials_stopped": sum(r.status == "stopped" for r in records),
            "trials_unfinished": unfinished,
            "harvested_points": sum(len(r.harvested) for r in records),
            "pareto_size": len(front),
            **{f"driver_{k}_seconds": v for k, v in phases.items()},
        }
        self._log_metrics(self.parent_run_id, [(k, float(v), now, 0) for k, v in counts.items()])
        self._set_status(self.parent_run_id, "KILLED" if unfinished else "FINISHED")
        self.out.replay()

    def _has_final(self, run_id: str) -> bool:
        try:
            return FINAL_KEY in self.client.get_run(self.out.real_id(run_id)).data.metrics
        except Exception:  # noqa: BLE001 - a queued run, or a store that does not answer
            return False

    def _log_timings(self, records: Sequence[TrialRecord]) -> None:
        """The driver's view of each trial's time (known only after Tune ends it)."""
        now = int(time.time() * 1000)
        for record in records:
            run_id = self.run_ids.get(record.trial_id)
            timings = [(k, float(record.metrics[k]), now, 0) for k in ("wall_seconds", "tracking_seconds") if k in record.metrics]
            if run_id and timings:
                self._log_metrics(run_id, timings)

    def abort(self, status: str = "FAILED") -> None:
        """End the parent run and any child still open: FAILED after an error, KILLED after an interrupt."""
        try:
            self._flush()  # the curves so far are kept
            for run_id in self.run_ids.values():
                if self._status.get(run_id, "RUNNING") == "RUNNING":
                    self._set_status(run_id, status)
            self._set_status(self.parent_run_id, status)
            self.out.replay(attempts=1)
        except Exception:  # noqa: BLE001 - a store that fails here must not hide the first error
            pass

    def replay_hint(self, command: str) -> str | None:
        """One line saying where the unwritten tracking is and how to write it, if any is left."""
        left = self.out.pending()
        if not left:
            return None
        return f"hgq_automl: the MLflow store {_shown(self.client)} did not answer; {left} tracking writes are kept in {self.out.folder}; write them with: {command}"
