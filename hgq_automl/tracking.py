"""MLflow adapter: one parent run per search, one nested child run per trial.

Child runs get the trial's resolved parameters, its per-epoch metrics (step = epoch),
its final metrics, its trained model (`model/model.keras`) and its end state: FINISHED,
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

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    try:
        client.search_experiments(max_results=1)
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot track"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"MLflow tracking server {uri} is unreachable or unusable: {first[:300]}") from None
    return client


class SearchTracker:
    """Records one search in MLflow. Implements `events.TrialListener`."""

    def __init__(self, client, experiment_name: str, search_name: str, space: SearchSpace, settings: dict[str, Any]):
        import yaml

        self.client = client
        self.space = space
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            root = _local_artifact_root(client.tracking_uri)
            self.experiment_id = client.create_experiment(experiment_name, artifact_location=f"{root}/{experiment_name}" if root else None)
        else:
            self.experiment_id = experiment.experiment_id
        run = client.create_run(
            self.experiment_id,
            run_name=search_name,
            tags={"hgq_automl.role": "search", "hgq_automl.space": space.name},
        )
        self.parent_run_id = run.info.run_id
        self.run_ids: dict[str, str] = {}  # trial_id -> child run id
        params = {"space": space.name, "objectives": ",".join(f"{m}:{d}" for m, d in space.objectives), **settings}
        self._log_params(self.parent_run_id, params)
        client.log_text(self.parent_run_id, yaml.safe_dump(space.to_dict(), sort_keys=False), "search_space.yaml")

    # -- TrialListener

    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None:
        if trial_id in self.run_ids:
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
        else:
            self.client.set_tag(run_id, "error", (record.error or "error")[:4000])
            self.client.set_terminated(run_id, "FAILED")

    # -- the end of a search

    def finish(self, records: Sequence[TrialRecord], front: Sequence[TrialRecord], unfinished: int = 0) -> None:
        """Log the Pareto set on the parent run, tag its members, and end the parent run."""
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
                firmware = record.model_dir / "firmware" if record.model_dir else None
                if firmware is not None and firmware.is_dir():
                    self.client.log_artifacts(self.run_ids[record.trial_id], str(firmware), "firmware")
        now = int(time.time() * 1000)
        from mlflow.entities import Metric

        counts = {
            "trials_completed": sum(r.ok for r in records),
            "trials_failed": sum(not r.ok for r in records),
            "trials_unfinished": unfinished,
            "pareto_size": len(front),
        }
        self.client.log_batch(run, metrics=[Metric(k, float(v), now, 0) for k, v in counts.items()])
        self.client.set_terminated(run, "KILLED" if unfinished else "FINISHED")

    def abort(self) -> None:
        """End the parent run (and any child still open) as FAILED after an error in the driver."""
        for run_id in self.run_ids.values():
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, "FAILED")
        self.client.set_terminated(self.parent_run_id, "FAILED")

    def run_url(self, run_id: str | None = None) -> str:
        return f"{self.client.tracking_uri} experiment {self.experiment_id} run {run_id or self.parent_run_id}"

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
