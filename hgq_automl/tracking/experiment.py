"""A search's experiment in the MLflow store, which is its claim on its name: created by
a new search (`create_experiment`; a name already taken is `NameTaken`), renamed and
deleted after a failed set-up (`discard_experiment`) or a start that was killed before it
wrote its state file (`retire_interrupted`), so that the name can be used again. A SQLite
store's artifacts go to ./mlruns beside the database file (`_local_artifact_root`)."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import UsageError
from ..tags import ROLE
from .store import _shown


class NameTaken(UsageError):
    """The search's name is already an experiment in the tracking store."""


def _local_artifact_root(uri: str) -> str | None:
    """For a SQLite store, artifacts go to ./mlruns beside the database file."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///") :]).resolve().parent / "mlruns").as_uri()
    return None


def create_experiment(client, experiment_name: str) -> str:
    """A new experiment named `experiment_name` (its id); NameTaken if the store has one."""
    # creating the experiment is the search's claim on its name in the tracking store:
    # MLflow refuses a second experiment of that name, so of two searches started at
    # once (whatever their storage) exactly one gets it
    root = _local_artifact_root(client.tracking_uri)
    try:
        return client.create_experiment(
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


def discard_experiment(client, experiment_id: str, parent_run_id: str) -> None:
    """Undo a search's start after a set-up failure: its parent run (if made) ends FAILED
    and is deleted, and the experiment is renamed and deleted."""
    try:
        if parent_run_id:
            client.set_terminated(parent_run_id, "FAILED")
            client.delete_run(parent_run_id)
        name = client.get_experiment(experiment_id).name
        client.rename_experiment(experiment_id, f"{name}.setup-failed-{time.strftime('%Y%m%d-%H%M%S')}-{experiment_id}")
        client.delete_experiment(experiment_id)
    except Exception:  # noqa: BLE001 - the store failing too must not hide the first error
        pass


def retire_interrupted(client, experiment_name: str, storage: str) -> bool:
    """Before a new search takes over the name of one whose start was stopped before it
    wrote its state file (SIGKILL, power loss): if the MLflow experiment of that name
    holds only that start's parent run(s) (the same storage or none logged yet, no trial),
    they end KILLED
    and the experiment is renamed and deleted, like a failed set-up (`discard_experiment`), so
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
