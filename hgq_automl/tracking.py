"""MLflow adapter: one parent run per search, one nested child run per trial.

Child runs get the trial's resolved parameters, its per-epoch metrics (step = epoch),
its final metrics, its trained model (`model/model.keras`) and its end state: FINISHED,
or FAILED with the error in the `error` tag. The parent run gets the resolved search
space, the Pareto set (JSON, CSV, PNG plot) and `pareto=true` tags on the members.
Everything is written from the driver, so a SQLite store is safe.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError
from .events import TrialRecord
from .metrics import LOGGED_METRICS
from .report import front_rows, plot_front
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


class SearchTracker:
    """Records one search in MLflow. Implements `events.TrialListener`.

    `start` creates the search's parent run; `attach` continues it (a resumed search),
    finding the child runs already made so that no trial gets a second one.
    """

    def __init__(self, client, experiment_id: str, parent_run_id: str, space: SearchSpace, run_ids: dict[str, str] | None = None):
        self.client = client
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.space = space
        self.run_ids: dict[str, str] = dict(run_ids or {})  # trial_id -> child run id

    @classmethod
    def start(cls, client, experiment_name: str, search_name: str, space: SearchSpace, settings: dict[str, Any]) -> SearchTracker:
        import yaml

        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            root = _local_artifact_root(client.tracking_uri)
            experiment_id = client.create_experiment(experiment_name, artifact_location=f"{root}/{experiment_name}" if root else None)
        else:
            experiment_id = experiment.experiment_id
        run = client.create_run(experiment_id, run_name=search_name, tags={"hgq_automl.role": "search", "hgq_automl.space": space.name})
        tracker = cls(client, experiment_id, run.info.run_id, space)
        params = {"space": space.name, "objectives": ",".join(f"{m}:{d}" for m, d in space.objectives), **settings}
        tracker._log_params(run.info.run_id, params)
        client.log_text(run.info.run_id, yaml.safe_dump(space.to_dict(), sort_keys=False), "search_space.yaml")
        return tracker

    @classmethod
    def attach(cls, client, parent_run_id: str, space: SearchSpace) -> SearchTracker:
        try:
            parent = client.get_run(parent_run_id)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"the search's MLflow parent run {parent_run_id} is not in {client.tracking_uri}: {str(exc).splitlines()[0][:200]}") from None
        children = client.search_runs([parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=50000)
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
        if batch:
            self.client.log_batch(run_id, metrics=batch)

    def trial_finished(self, record: TrialRecord) -> None:
        if record.trial_id not in self.run_ids:
            self.trial_started(record.trial_id, record.config)
        run_id = self.run_ids[record.trial_id]
        if record.ok:
            model = record.model_dir / "model.keras" if record.model_dir else None
            if model is not None and model.is_file():
                self.client.log_artifact(run_id, str(model), "model")
            self.client.set_terminated(run_id, "FINISHED")
        elif record.status == "stopped":
            self.client.set_tag(run_id, "early_stopped", "true")
            self.client.set_terminated(run_id, "KILLED")
        else:
            self.client.set_tag(run_id, "error", (record.error or "error")[:4000])
            self.client.set_terminated(run_id, "FAILED")

    # -- the end of a search

    def finish(self, records: Sequence[TrialRecord], front: Sequence[TrialRecord], unfinished: int = 0) -> None:
        """Log the Pareto set on the parent run, tag its members, and end the parent run.

        With unfinished trials (an interrupt) the parent and the open child runs end
        KILLED, to be continued by a resume. Child runs of trials Ray no longer knows
        (made after its last saved state, before the driver died) are deleted.
        """
        ended = {r.trial_id for r in records}
        for trial_id, run_id in list(self.run_ids.items()):
            if trial_id in ended:
                continue
            if unfinished:
                if self.client.get_run(run_id).info.status == "RUNNING":
                    self.client.set_terminated(run_id, "KILLED")
            else:
                self.client.delete_run(run_id)
                del self.run_ids[trial_id]
        objectives = self.space.objectives
        names = [m for m, _ in objectives]
        rows = front_rows(front, names, self.run_ids)
        run = self.parent_run_id
        self.client.log_text(run, json.dumps(rows, indent=2, default=str), "pareto.json")
        self.client.log_text(run, _csv(rows), "pareto.csv")
        with tempfile.TemporaryDirectory() as tmp:
            self.client.log_artifact(run, str(plot_front(records, front, objectives, Path(tmp) / "pareto.png")))
        for record in front:
            if record.trial_id in self.run_ids:
                self.client.set_tag(self.run_ids[record.trial_id], "pareto", "true")
        now = int(time.time() * 1000)
        from mlflow.entities import Metric

        counts = {
            "trials_completed": sum(r.ok for r in records),
            "trials_failed": sum(r.status == "failed" for r in records),
            "trials_stopped": sum(r.status == "stopped" for r in records),
            "trials_unfinished": unfinished,
            "pareto_size": len(front),
        }
        self.client.log_batch(run, metrics=[Metric(k, float(v), now, 0) for k, v in counts.items()])
        self.client.set_terminated(run, "KILLED" if unfinished else "FINISHED")

    def abort(self, status: str = "FAILED") -> None:
        """End the parent run and any child still open: FAILED after an error, KILLED after an interrupt."""
        for run_id in self.run_ids.values():
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, status)
        self.client.set_terminated(self.parent_run_id, status)

    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items() if v is not None])


def _csv(rows: list[dict[str, Any]]) -> str:
    """The Pareto rows as CSV, the config flattened into one column per parameter."""
    import csv
    import io

    params = sorted({p for row in rows for p in row["config"]})
    fields = [k for k in (rows[0] if rows else {"trial_id": None}) if k != "config"] + params
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({**{k: v for k, v in row.items() if k != "config"}, **row["config"]})
    return out.getvalue()
