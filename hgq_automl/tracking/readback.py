"""Reading a logged search back from MLflow (`read_search`): its parent run, objectives,
constraints and every trial and harvested point as a `TrialRecord`; and the latest search
in a store (`latest_search_experiment`). For `report`, `open_search` and the MCP server."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..events import TrialRecord
from ..metrics import FINAL_KEY
from ..tags import EARLY_STOPPED, ERROR, HARVESTED_FROM, PARENT_RUN, ROLE, SEARCH_RUN, TRIAL_ID
from .params import param_value
from .store import _shown


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
    from ..constraints import parse_constraint

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
