"""MLflow adapter: one parent run per search, one nested child run per trial.

Child runs get the trial's resolved parameters, its per-epoch metrics (step = epoch),
its final metrics, its trained model (an MLflow model in `model/`) and its end state: FINISHED,
or FAILED with the error in the `error` tag. The parent run gets the resolved search
space, the Pareto set (JSON, CSV, PNG plot) and `pareto=true` tags on the members; the
members also get their synthesis step's project (`firmware/hls4ml` or `firmware/verilog`).
Everything is written from the driver, so a SQLite store is safe.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .events import TrialRecord, with_harvest
from .metrics import FINAL_KEY, LOGGED_METRICS, NOTE_PREFIX
from .report import front_rows, plot_front, plot_front_html, plot_parameters, rows_to_csv, software_versions
from .space import SearchSpace

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


def connect(uri: str | None):
    """An MlflowClient for `uri`, checked to answer; UsageError if it does not."""
    uri = resolve_tracking_uri(uri)
    if uri.startswith(("http://", "https://")):
        # fail fast on an unreachable server instead of MLflow's minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    import logging

    from mlflow.tracking import MlflowClient

    # after the import: MLflow sets its own logger up when imported
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    client = MlflowClient(tracking_uri=uri)
    try:
        client.search_experiments(max_results=1)
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot track"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"MLflow tracking server {uri} is unreachable or unusable: {first[:300]}") from None
    return client


class NameTaken(UsageError):
    """The search's name is already an experiment in the tracking store."""


class SearchTracker:
    """Records one search in MLflow. Implements `events.TrialListener`.

    `start` creates the search's parent run; `attach` continues it (a resumed search),
    finding the child runs already made so that no trial gets a second one.

    Epoch reports are written in batches, at most every `flush_seconds` per trial (one
    SQLite write per report would cost ~6 ms each in the driver, which shares the cores
    with the trials), and always when the trial ends or the search stops.
    """

    #: MLflow accepts at most 1000 metrics per log_batch.
    MAX_BATCH = 1000

    def __init__(
        self, client, experiment_id: str, parent_run_id: str, space: SearchSpace, run_ids: dict[str, str] | None = None, flush_seconds: float = 5.0
    ):
        self.client = client
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.space = space
        self.run_ids: dict[str, str] = dict(run_ids or {})  # trial_id -> child run id
        self.flush_seconds = flush_seconds
        self._pending: dict[str, list] = {}  # run id -> epoch metrics not written yet
        self._flushed: dict[str, float] = {}  # run id -> time.monotonic() of its last write

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
                f"a search named {experiment_name!r} already exists in the MLflow store {client.tracking_uri} "
                f"(experiment {existing.experiment_id}{deleted}); choose another name"
            ) from None
        tracker = cls(client, experiment_id, "", space)
        try:
            run = client.create_run(experiment_id, run_name=search_name, tags={"hgq_automl.role": "search", "hgq_automl.space": space.name})
            tracker.parent_run_id = run.info.run_id
            params = {"space": space.name, "objectives": ",".join(f"{m}:{d}" for m, d in space.objectives), **settings}
            tracker._log_params(run.info.run_id, params)
            client.log_text(run.info.run_id, yaml.safe_dump(space.to_dict(), sort_keys=False), "search_space.yaml")
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

    @classmethod
    def attach(cls, client, parent_run_id: str, space: SearchSpace) -> SearchTracker:
        try:
            parent = client.get_run(parent_run_id)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"the search's MLflow parent run {parent_run_id} is not in {client.tracking_uri}: {str(exc).splitlines()[0][:200]}") from None
        children = client.search_runs([parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=50000)
        children += client.search_runs([parent.info.experiment_id], filter_string=f"tags.`hgq_automl.search_run` = '{parent_run_id}'", max_results=50000)
        run_ids = {r.data.tags["hgq_automl.trial_id"]: r.info.run_id for r in children if "hgq_automl.trial_id" in r.data.tags}
        client.update_run(parent_run_id, status="RUNNING")
        return cls(client, parent.info.experiment_id, parent_run_id, space, run_ids)

    # -- TrialListener

    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None:
        if trial_id in self.run_ids:  # a trial restarted after an interrupt: same run, once
            run_id = self.run_ids[trial_id]
            self.client.update_run(run_id, status="RUNNING")
            self.client.set_tag(run_id, "restarted", "true")
            return
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial_{trial_id}",
            tags={"mlflow.parentRunId": self.parent_run_id, "hgq_automl.role": "trial", "hgq_automl.trial_id": trial_id},
        )
        self.run_ids[trial_id] = run.info.run_id
        self._log_params(run.info.run_id, self.space.resolve(config))

    def trial_reported(self, trial_id: str, metrics: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        run_id = self.run_ids.get(trial_id)
        if run_id is None:
            return
        step = int(metrics.get("epoch", metrics.get("training_iteration", 0)))
        now = int(time.time() * 1000)
        batch = [
            Metric(k, float(v), now, step)
            for k, v in metrics.items()
            if k in LOGGED_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ]
        pending = self._pending.setdefault(run_id, [])
        pending += batch
        if time.monotonic() - self._flushed.get(run_id, -math.inf) >= self.flush_seconds or len(pending) >= self.MAX_BATCH:
            self._flush(run_id)

    def _flush(self, run_id: str | None = None) -> None:
        """Write the pending epoch metrics of one run (None: of every run)."""
        for rid in [run_id] if run_id else list(self._pending):
            pending = self._pending.pop(rid, [])
            for i in range(0, len(pending), self.MAX_BATCH):
                self.client.log_batch(rid, metrics=pending[i : i + self.MAX_BATCH])
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
            self.client.set_terminated(run_id, "FINISHED")
        elif record.status == "stopped":
            self.client.set_tag(run_id, "early_stopped", "true")
            self.client.set_terminated(run_id, "KILLED")
        else:
            self.client.set_tag(run_id, "error", (record.error or "error")[:4000])
            self.client.set_terminated(run_id, "FAILED")

    def _log_notes(self, run_id: str, metrics: dict[str, Any]) -> None:
        """A trial's text notes (`metrics.NOTE_PREFIX`) as tags `hgq_automl.<name>`."""
        for key, value in metrics.items():
            if key.startswith(NOTE_PREFIX) and isinstance(value, str):
                self.client.set_tag(run_id, f"hgq_automl.{key[len(NOTE_PREFIX):]}", value[:4000])

    def _log_model(self, run_id: str, record: TrialRecord) -> None:
        model = record.model_dir / "model.keras" if record.model_dir else None
        if model is not None and model.is_file():
            from .mlflow_model import save_pyfunc

            with tempfile.TemporaryDirectory() as tmp:
                self.client.log_artifacts(run_id, str(save_pyfunc(model, Path(tmp) / "model")), "model")

    def _log_harvested(self, trial_run_id: str, point: TrialRecord) -> None:
        """A harvested checkpoint: a FINISHED run nested under its trial's run, with the
        trial's parameters plus `harvest_epoch`, its metrics and its MLflow model."""
        from mlflow.entities import Metric

        if point.trial_id in self.run_ids:  # logged before an interrupt
            return
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial_{point.trial_id}",
            tags={
                "mlflow.parentRunId": trial_run_id,
                "hgq_automl.role": "harvest",
                "hgq_automl.trial_id": point.trial_id,
                "hgq_automl.harvested_from": point.harvested_from or "",
                "hgq_automl.search_run": self.parent_run_id,
            },
        )
        self.run_ids[point.trial_id] = run.info.run_id
        self._log_params(run.info.run_id, {**self.space.resolve(point.config), "harvest_epoch": int(point.metrics["harvest_epoch"])})
        now = int(time.time() * 1000)
        step = int(point.metrics["harvest_epoch"])
        metrics = [
            Metric(k, float(v), now, step)
            for k, v in point.metrics.items()
            if k in LOGGED_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ]
        self.client.log_batch(run.info.run_id, metrics=metrics)
        self._log_notes(run.info.run_id, point.metrics)
        self._log_model(run.info.run_id, point)
        self.client.set_terminated(run.info.run_id, "FINISHED")

    # -- the end of a search

    def finish(self, records: Sequence[TrialRecord], front: Sequence[TrialRecord], unfinished: int = 0) -> None:
        """Log the Pareto set on the parent run, tag its members, and end the parent run.

        With unfinished trials (an interrupt) the parent and the open child runs end
        KILLED, to be continued by a resume. Child runs of trials Ray no longer knows
        (made after its last saved state, before the driver died) are deleted.
        """
        self._flush()
        ended = {r.trial_id for r in with_harvest(records)}
        for trial_id, run_id in list(self.run_ids.items()):
            if trial_id in ended:
                continue
            if unfinished:
                if self.client.get_run(run_id).info.status == "RUNNING":
                    self.client.set_terminated(run_id, "KILLED")
            else:
                self.client.delete_run(run_id)
                del self.run_ids[trial_id]
        self._log_timings(records)
        objectives = self.space.objectives
        names = [m for m, _ in objectives]
        rows = front_rows(front, names, self.run_ids)
        run = self.parent_run_id
        self.client.log_text(run, json.dumps(rows, indent=2, default=str), "pareto.json")
        self.client.log_text(run, rows_to_csv(rows), "pareto.csv")
        self.client.log_text(run, json.dumps(software_versions(), indent=2), "versions.json")
        with tempfile.TemporaryDirectory() as tmp:
            points = with_harvest(records)
            self.client.log_artifact(run, str(plot_front(points, front, objectives, Path(tmp) / "pareto.png")))
            self.client.log_artifact(run, str(plot_front_html(points, front, objectives, Path(tmp) / "pareto.html")))
            for path in plot_parameters(records, self.space, objectives, Path(tmp)):
                self.client.log_artifact(run, str(path), "parameters")
        self._untag_stale(front)
        for record in front:
            if record.trial_id in self.run_ids:
                self.client.set_tag(self.run_ids[record.trial_id], "pareto", "true")
                firmware = record.model_dir / "firmware" if record.model_dir else None
                if firmware is not None and firmware.is_dir():
                    self.client.log_artifacts(self.run_ids[record.trial_id], str(firmware), "firmware")
        if not unfinished:
            self.register_front(front)
        now = int(time.time() * 1000)
        from mlflow.entities import Metric

        counts = {
            "trials_completed": sum(r.ok for r in records),
            "trials_failed": sum(r.status == "failed" for r in records),
            "trials_stopped": sum(r.status == "stopped" for r in records),
            "trials_unfinished": unfinished,
            "harvested_points": sum(len(r.harvested) for r in records),
            "pareto_size": len(front),
        }
        self.client.log_batch(run, metrics=[Metric(k, float(v), now, 0) for k, v in counts.items()])
        self.client.set_terminated(run, "KILLED" if unfinished else "FINISHED")

    def _front_runs(self, front: Sequence[TrialRecord]) -> set[str]:
        return {self.run_ids[r.trial_id] for r in front if r.trial_id in self.run_ids}

    def _untag_stale(self, front: Sequence[TrialRecord]) -> None:
        """Remove `pareto=true` from runs no longer on the front (a front logged at an
        interrupt, then changed by the resumed trials)."""
        members = self._front_runs(front)
        tagged = self.client.search_runs([self.experiment_id], filter_string="tags.pareto = 'true'", max_results=50000)
        for run in tagged:
            if run.info.run_id not in members:
                self.client.delete_tag(run.info.run_id, "pareto")

    def _log_timings(self, records: Sequence[TrialRecord]) -> None:
        """The driver's view of each trial's time (known only after Tune ends it)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        for record in records:
            run_id = self.run_ids.get(record.trial_id)
            timings = [Metric(k, float(record.metrics[k]), now, 0) for k in ("wall_seconds", "tracking_seconds") if k in record.metrics]
            if run_id and timings:
                self.client.log_batch(run_id, metrics=timings)

    def register_front(self, front: Sequence[TrialRecord]) -> None:
        """Register each Pareto member's model in the MLflow model registry.

        The registered model is named after the search (the experiment); each member is
        a version tagged with its trial id and hardware estimates, so it can be found
        from the registry later (e.g. `tags.luts < 20000`).
        """
        from .metrics import FINAL_METRICS

        name = self.client.get_experiment(self.experiment_id).name
        try:
            self.client.get_registered_model(name)
        except Exception:  # noqa: BLE001 - MLflow raises RestException / MlflowException for "not found"
            self.client.create_registered_model(name, description=f"Pareto set of the hgq_automl search {name}")
        members = self._front_runs(front)
        ours = set(self.run_ids.values())
        registered = set()
        for version in self.client.search_model_versions(f"name = '{name}'"):
            if version.run_id in ours and version.run_id not in members:
                self.client.delete_model_version(name, version.version)  # a stale member of this search
            else:
                registered.add(version.run_id)
        for record in front:
            run_id = self.run_ids.get(record.trial_id)
            if run_id is None or run_id in registered or not record.model_dir:
                continue
            tags = {"trial_id": record.trial_id, **{m: str(record.metrics[m]) for m in FINAL_METRICS if m in record.metrics}}
            self.client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id, tags=tags)

    def abort(self, status: str = "FAILED") -> None:
        """End the parent run and any child still open: FAILED after an error, KILLED after an interrupt."""
        try:
            self._flush()  # the curves so far are kept
        except Exception:  # noqa: BLE001 - a store that fails here must not hide the first error
            pass
        for run_id in self.run_ids.values():
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, status)
        self.client.set_terminated(self.parent_run_id, status)

    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items() if v is not None])



# --------------------------------------------------------------------------- reading searches back


def _value(text: str) -> Any:
    """An MLflow param (always text) as the number or word it was."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _record_from_run(run, prefix: str = "") -> TrialRecord:
    tags = run.data.tags
    status = {"FINISHED": "completed", "FAILED": "failed"}.get(run.info.status, "unfinished")
    if tags.get("early_stopped") == "true":
        status = "stopped"
    # a trial's run holds its final report; a harvested checkpoint's run its harvest_epoch
    if status == "completed" and FINAL_KEY not in run.data.metrics and "harvest_epoch" not in run.data.metrics:
        status = "unfinished"
    trial_id = prefix + tags.get("hgq_automl.trial_id", run.info.run_id[:8])
    config = {k: _value(v) for k, v in run.data.params.items()}
    config.pop("harvest_epoch", None)  # a harvested checkpoint's epoch is in its metrics
    source = tags.get("hgq_automl.harvested_from")
    return TrialRecord(trial_id, config, dict(run.data.metrics), status=status, error=tags.get("error"), harvested_from=prefix + source if source else None)


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
        raise UsageError(f"no MLflow experiment named {experiment_name!r} in {client.tracking_uri}{known}")
    runs = client.search_runs([experiment.experiment_id], max_results=50000, order_by=["attributes.start_time DESC"])
    parents = [r for r in runs if r.data.tags.get("hgq_automl.role") == "search"]
    if not parents:
        raise UsageError(f"MLflow experiment {experiment_name!r} holds no hgq_automl search")
    parent = parents[0]
    objectives = tuple(tuple(item.split(":")) for item in parent.data.params.get("objectives", "val_accuracy:max,ebops:min").split(","))
    from .constraints import parse_constraint

    constraints = tuple(parse_constraint(c) for c in parent.data.params.get("constraints", "").split(";") if c.strip())
    children = [
        r for r in runs
        if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id or r.data.tags.get("hgq_automl.search_run") == parent.info.run_id
    ]
    records = [_record_from_run(r, prefix) for r in children]
    run_ids = {rec.trial_id: r.info.run_id for rec, r in zip(records, children)}
    return LoggedSearch(experiment_name, parent.info.run_id, objectives, constraints, records, run_ids)


def latest_search_experiment(client) -> str:
    """The experiment of the most recently started hgq_automl search."""
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments(max_results=1000)],
        filter_string="tags.`hgq_automl.role` = 'search'",
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    if not runs:
        raise UsageError(f"no hgq_automl search in {client.tracking_uri}; run `python -m hgq_automl search` first")
    return client.get_experiment(runs[0].info.experiment_id).name
