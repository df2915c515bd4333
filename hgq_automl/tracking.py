"""MLflow adapter: one parent run per search, one nested child run per trial.

Child runs get the trial's resolved parameters, its per-epoch metrics (step = epoch),
its final metrics, its trained model (an MLflow model in `model/`) and its end state: FINISHED,
or FAILED with the error in the `error` tag. The parent run gets the search's settings
and resolved search space; at the end, `publish.FrontPublisher` adds the Pareto front
(files, plots, tags, firmware, registered versions). Also here: connecting to a store,
and reading a logged search back (`read_search`). Everything is written from the
driver, so a SQLite store is safe.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError, first_line
from .events import TrialRecord, with_harvest
from .layout import MODEL_ARTIFACT, MODEL_FILE, SPACE_ARTIFACT
from .metrics import FINAL_KEY, NOTE_PREFIX, logged_values
from .space import SearchSpace
from .tags import EARLY_STOPPED, ERROR, HARVESTED_FROM, PARENT_RUN, RESTARTED, ROLE, SEARCH_RUN, SPACE, TRIAL_ID

#: MLflow's own default when no tracking URI is set: a SQLite file in the working directory.
DEFAULT_DB = "mlflow.db"


def resolve_tracking_uri(uri: str | None) -> str:
    """The tracking URI to use: the flag, else MLFLOW_TRACKING_URI, else ./mlflow.db."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def _local_artifact_root(uri: str) -> str | None:
    """For a SQLite store, artifacts go to ./mlruns beside the database file."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///") :]).resolve().parent / "mlruns").as_uri()
    return None


#: The schemes of MLflow's tracking stores (a database URI may add a driver: postgresql+psycopg2).
TRACKING_SCHEMES = ("file", "sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks", "databricks-uc", "uc")


def check_tracking_uri(uri: str | None, flag: str = "--tracking-uri") -> str:
    """The tracking URI to use (`resolve_tracking_uri`), its scheme checked without
    importing MLflow, so that a typo fails before the data is even read. UsageError."""
    from .redact import redact

    uri = resolve_tracking_uri(uri)
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    if scheme and scheme not in TRACKING_SCHEMES:
        raise UsageError(
            f"{flag} {redact(uri)}: unknown scheme {scheme!r}; an MLflow store is sqlite:///FILE, http(s)://SERVER, "
            "postgresql://..., mysql://..., mssql://..., databricks or file:///FOLDER"
        )
    return uri


def existing_store(uri: str | None, flag: str = "--tracking-uri") -> str:
    """The tracking URI to read searches from (`check_tracking_uri`); UsageError when it is a
    SQLite file that does not exist, which would hold no search: reading one must not create
    an empty store (`report`, `ui` and `open_search` in a folder with no search)."""
    from .redact import redact

    uri = check_tracking_uri(uri, flag)
    if uri.startswith("sqlite:///") and not os.path.exists(uri[len("sqlite:///") :].split("?", 1)[0]):
        raise UsageError(f"no MLflow store at {redact(uri)}, so no searches; run a search first or give {flag}")
    return uri


@contextlib.contextmanager
def _sqlite_init_lock(uri: str):
    """For a SQLite store, an fcntl lock beside the database while MLflow first opens it:
    MLflow creates and migrates a new database on first use, and two processes doing that
    at once break it (alembic: "duplicate column name")."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    db = Path(uri[len("sqlite:///") :])
    try:
        lock = open(db.parent / f".{db.name}.lock", "a")  # noqa: SIM115
    except OSError:  # a folder we cannot write: MLflow will say so
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def connect(uri: str | None):
    """An MlflowClient for `uri`, checked to answer; UsageError if it does not."""
    from .redact import is_redacted, redact, redact_text

    uri = check_tracking_uri(uri)
    if is_redacted(uri):  # e.g. read back from a state file: never sent as the password
        raise UsageError(f"the tracking URI {uri} holds *** (credentials shown redacted), not the credentials; give them with --tracking-uri or $MLFLOW_TRACKING_URI")
    if uri.startswith(("http://", "https://")):
        # fail fast on an unreachable server instead of MLflow's minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    import logging

    from mlflow.tracking import MlflowClient

    # after the import: MLflow sets its own logger up when imported
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # a store error's traceback (a locked or read-only SQLite file); our callers say it in one line
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)

    try:
        with _sqlite_init_lock(uri):  # MLflow creates (migrates) a new database here
            client = MlflowClient(tracking_uri=uri)
            client.search_experiments(max_results=1)
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot track"
        raise UsageError(f"MLflow tracking server {redact(uri)} is unreachable or unusable: {redact_text(first_line(exc, 300), uri)}") from None
    return client


def _shown(client) -> str:
    """The client's tracking URI as it may be printed (credentials as ***)."""
    from .redact import redact

    return redact(client.tracking_uri)


def param_texts(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as MLflow params (text; None left out); `param_value` reads them back."""
    return {k: str(v) for k, v in params.items() if v is not None}


class NameTaken(UsageError):
    """The search's name is already an experiment in the tracking store."""


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
        from .outbox import Outbox

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

        # creating the experiment is the search's claim on its name in the tracking store:
        # MLflow refuses a second experiment of that name, so of two searches started at
        # once (whatever their storage) exactly one gets it
        root = _local_artifact_root(client.tracking_uri)
        try:
            experiment_id = client.create_experiment(
                experiment_name,
                artifact_location=f"{root}/{experiment_name}" if root else None,
                # the MLflow UI then opens it as a model-training experiment (runs), not GenAI
                tags={"mlflow.experimentKind": "custom_model_development"},
            )
        except Exception:  # noqa: BLE001 - RESOURCE_ALREADY_EXISTS from SQL and REST stores alike
            existing = client.get_experiment_by_name(experiment_name)
            if existing is None:
                raise
            deleted = " (deleted; restore it, or purge it with `mlflow gc`)" if existing.lifecycle_stage == "deleted" else ""
            raise NameTaken(
                f"a search named {experiment_name!r} already exists in the MLflow store {_shown(client)} "
                f"(experiment {existing.experiment_id}{deleted}); choose another name"
            ) from None
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
        try:
            if self.parent_run_id:
                self.client.set_terminated(self.parent_run_id, "FAILED")
                self.client.delete_run(self.parent_run_id)
            name = self.client.get_experiment(self.experiment_id).name
            self.client.rename_experiment(self.experiment_id, f"{name}.setup-failed-{time.strftime('%Y%m%d-%H%M%S')}-{self.experiment_id}")
            self.client.delete_experiment(self.experiment_id)
        except Exception:  # noqa: BLE001 - the store failing too must not hide the first error
            pass

    @staticmethod
    def retire_interrupted(client, experiment_name: str, storage: str) -> bool:
        """Before a new search takes over the name of one whose start was stopped before it
        wrote its state file (SIGKILL, power loss): if the MLflow experiment of that name
        holds only that start's parent run(s) (the same storage or none logged yet, no trial),
        they end KILLED
        and the experiment is renamed and deleted, like a failed set-up (`discard`), so
        that the new search can create it. Any other experiment of that name is left alone
        (`start` then says the name is taken). True if one was retired."""
        existing = client.get_experiment_by_name(experiment_name)
        if existing is None or existing.lifecycle_stage != "active":
            return False
        runs = client.search_runs([existing.experiment_id], run_view_type=3, max_results=100)
        if any(r.data.tags.get(ROLE) != "search" or r.data.params.get("storage", storage) != storage for r in runs):
            return False
        for run in runs:
            if run.info.status == "RUNNING":
                client.set_terminated(run.info.run_id, "KILLED")
        client.rename_experiment(existing.experiment_id, f"{experiment_name}.start-interrupted-{time.strftime('%Y%m%d-%H%M%S')}-{existing.experiment_id}")
        client.delete_experiment(existing.experiment_id)
        return True

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
            from .mlflow_model import save_pyfunc

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
        from .publish import FrontPublisher

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



# --------------------------------------------------------------------------- reading searches back


def param_value(text: str, kind: type | None = None) -> Any:
    """An MLflow param (always text, as `param_texts` wrote it) as the value it was: of
    `kind` (a space rule's float, int or str) when known, else the number or word it reads as."""
    if kind is not None:
        return kind(float(text)) if kind is int else kind(text)
    for guess in (int, float):
        try:
            return guess(text)
        except ValueError:
            pass
    return text


def _record_from_run(run, prefix: str = "") -> TrialRecord:
    tags = run.data.tags
    status = {"FINISHED": "completed", "FAILED": "failed"}.get(run.info.status, "unfinished")
    if tags.get(EARLY_STOPPED) == "true":
        status = "stopped"
    # a trial's run holds its final report; a harvested checkpoint's run its harvest_epoch
    if status == "completed" and FINAL_KEY not in run.data.metrics and "harvest_epoch" not in run.data.metrics:
        status = "unfinished"
    trial_id = prefix + tags.get(TRIAL_ID, run.info.run_id[:8])
    config = {k: param_value(v) for k, v in run.data.params.items()}
    config.pop("harvest_epoch", None)  # a harvested checkpoint's epoch is in its metrics
    source = tags.get(HARVESTED_FROM)
    return TrialRecord(trial_id, config, dict(run.data.metrics), status=status, error=tags.get(ERROR), harvested_from=prefix + source if source else None)


@dataclass
class LoggedSearch:
    """A search read back from MLflow: its parent run, objectives and trials."""

    experiment: str
    parent_run_id: str
    objectives: tuple[tuple[str, str], ...]
    constraints: tuple  # of constraints.Constraint, as the search had them
    records: list[TrialRecord]
    run_ids: dict[str, str]  # trial_id -> child run id


def read_search(client, experiment_name: str, prefix: str = "") -> LoggedSearch:
    """The latest search logged in an MLflow experiment; UsageError if there is none."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        names = [e.name for e in client.search_experiments(max_results=50) if e.name != "Default"]
        known = f"; experiments there: {', '.join(names)}" if names else ""
        raise UsageError(f"no MLflow experiment named {experiment_name!r} in {_shown(client)}{known}")
    runs = client.search_runs([experiment.experiment_id], max_results=50000, order_by=["attributes.start_time DESC"])
    parents = [r for r in runs if r.data.tags.get(ROLE) == "search"]
    if not parents:
        raise UsageError(f"MLflow experiment {experiment_name!r} holds no hgq_automl search")
    parent = parents[0]
    objectives = tuple(tuple(item.split(":")) for item in parent.data.params.get("objectives", "val_accuracy:max,ebops:min").split(","))
    from .constraints import parse_constraint

    constraints = tuple(parse_constraint(c) for c in parent.data.params.get("constraints", "").split(";") if c.strip())
    children = [
        r for r in runs
        if r.data.tags.get(PARENT_RUN) == parent.info.run_id or r.data.tags.get(SEARCH_RUN) == parent.info.run_id
    ]
    records = [_record_from_run(r, prefix) for r in children]
    run_ids = {rec.trial_id: r.info.run_id for rec, r in zip(records, children)}
    return LoggedSearch(experiment_name, parent.info.run_id, objectives, constraints, records, run_ids)


def latest_search_experiment(client) -> str:
    """The experiment of the most recently started hgq_automl search."""
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments(max_results=1000)],
        filter_string=f"tags.`{ROLE}` = 'search'",
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    if not runs:
        raise UsageError(f"no hgq_automl search in {_shown(client)}; run `python -m hgq_automl search` first")
    return client.get_experiment(runs[0].info.experiment_id).name
