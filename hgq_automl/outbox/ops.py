"""The writes a search makes to MLflow (`Ops`), each a static method with JSON arguments,
so that the outbox can queue one on disk as a line and replay it later by name."""

from __future__ import annotations

from ..tags import PARETO
from .verdicts import is_transient


class Ops:
    """The writes a search makes, with JSON arguments: what the queue can hold."""

    @staticmethod
    def create_run(client, experiment_id: str, run_name: str, tags: dict[str, str]) -> str:
        return client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id

    @staticmethod
    def log_batch(client, run_id: str, metrics: list, params: dict) -> None:
        from mlflow.entities import Metric, Param

        metric_list = [Metric(k, v, ts, step) for k, v, ts, step in metrics]
        param_list = [Param(k, v) for k, v in params.items()]
        for i in range(0, max(len(metric_list), 1), 1000):
            client.log_batch(run_id, metrics=metric_list[i : i + 1000], params=param_list if i == 0 else [])

    @staticmethod
    def set_tag(client, run_id: str, key: str, value: str) -> None:
        client.set_tag(run_id, key, value)

    @staticmethod
    def delete_tag(client, run_id: str, key: str) -> None:
        try:
            client.delete_tag(run_id, key)
        except Exception as exc:  # noqa: BLE001 - already gone is what we wanted
            if is_transient(exc):
                raise

    @staticmethod
    def set_status(client, run_id: str, status: str) -> None:
        if status == "RUNNING":
            client.update_run(run_id, status="RUNNING")
        else:
            client.set_terminated(run_id, status)

    @staticmethod
    def delete_run(client, run_id: str) -> None:
        client.delete_run(run_id)

    @staticmethod
    def log_text(client, run_id: str, text: str, path: str) -> None:
        client.log_text(run_id, text, path)

    @staticmethod
    def log_artifact(client, run_id: str, local: str, artifact_path: str | None) -> None:
        client.log_artifact(run_id, local, artifact_path)

    @staticmethod
    def log_artifacts(client, run_id: str, local: str, artifact_path: str | None) -> None:
        client.log_artifacts(run_id, local, artifact_path)

    @staticmethod
    def untag_stale(client, experiment_id: str, members: list[str]) -> None:
        """Remove `pareto=true` from every run of the experiment not in `members`."""
        for run in client.search_runs([experiment_id], filter_string=f"tags.{PARETO} = 'true'", max_results=50000):
            if run.info.run_id not in members:
                client.delete_tag(run.info.run_id, PARETO)

    @staticmethod
    def register(client, experiment_id: str, versions: list, ours: list[str]) -> None:
        """Register the front's models (`versions`: [run_id, tags]) under the experiment's
        name; versions of this search's runs (`ours`) that left the front are deleted."""
        name = client.get_experiment(experiment_id).name
        try:
            client.get_registered_model(name)
        except Exception as exc:  # noqa: BLE001 - "not found" is RestException / MlflowException
            if is_transient(exc):
                raise
            client.create_registered_model(name, description=f"Pareto set of the hgq_automl search {name}")
        members = {run_id for run_id, _ in versions}
        registered = set()
        for version in client.search_model_versions(f"name = '{name}'"):
            if version.run_id in ours and version.run_id not in members:
                client.delete_model_version(name, version.version)
            else:
                registered.add(version.run_id)
        for run_id, tags in versions:
            if run_id not in registered:
                client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id, tags=tags)
