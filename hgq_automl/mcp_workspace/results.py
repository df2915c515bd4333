"""What the tools read back from the workspace's MLflow store, as JSON-ready values: a
search's status (`search_state`), its front (`front_summary`), its pareto.json and
pareto.png (the logged ones, or while it runs, the same of its points so far). JSON has
no NaN or infinity: `_finite` makes them null."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .processes import Launched, _last_error


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _logged(tracking_uri: str, name: str):
    """(MLflow client, LoggedSearch, parent run) of the search `name`; UsageError if there is none."""
    from ..tracking import connect, read_search

    client = connect(tracking_uri)
    logged = read_search(client, name)
    return client, logged, client.get_run(logged.parent_run_id)


def search_state(name: str, logged, parent, launched: Launched | None, code: int | None, alive: bool) -> dict[str, Any]:
    """The status of a search logged in MLflow (`logged`, its `parent` run), and of its
    process when this server `launched` it (`code`: its exit code; `alive`: still running)."""
    from ..pareto import pareto_front

    trials = [r for r in logged.records if not r.harvested_from]
    completed = [r for r in logged.records if r.ok]
    front = pareto_front(completed, logged.objectives, lambda r: r.metrics, logged.constraints)
    status = parent.info.status
    if alive:
        state = "running"
    elif launched is not None:
        state = {0: "finished", 130: "stopped"}.get(code, "failed")
        if state == "finished" and status == "KILLED":
            state = "stopped"
    else:
        state = {"RUNNING": "running", "FINISHED": "finished", "KILLED": "stopped"}.get(status, "failed")
    unfinished = sum(r.status == "unfinished" for r in trials)
    planned = parent.data.params.get("trials")
    return _finite({
        "name": name,
        "state": state,
        "finished": state != "running",
        "trials": int(planned) if planned and planned.isdigit() else None,
        "done": sum(r.ok for r in trials),
        "running": unfinished if state == "running" else 0,
        "failed": sum(r.status == "failed" for r in trials),
        "stopped_early": sum(r.status == "stopped" for r in trials),
        "unfinished": 0 if state == "running" else unfinished,
        "harvested_points": sum(1 for r in completed if r.harvested_from),
        "objectives": [f"{m}:{d}" for m, d in logged.objectives],
        "front": [
            {"run_id": logged.run_ids.get(r.trial_id), "trial_id": r.trial_id, **{m: r.metrics.get(m) for m, _ in logged.objectives}}
            for r in front
        ],
        "exit_code": code,
        "error": _last_error(launched.log) if state == "failed" and launched else None,
        "resumable": state == "stopped",
        "log": str(launched.log) if launched else None,
    })


def front_summary(tracking_uri: str, name: str) -> dict[str, Any]:
    """The search's Pareto front (so far): each member's run id, trial id, parameters and metrics."""
    from ..api import open_search

    result = open_search(name, tracking_uri)
    rows = [
        {"run_id": p.run_id, "trial_id": p.trial_id, "harvest_epoch": p.harvest_epoch, "params": p.params, "metrics": p.metrics}
        for p in result.front
    ]
    return _finite({"name": name, "objectives": [f"{m}:{d}" for m, d in result.objectives], "points": len(result.points), "front": rows})


def pareto_json_text(tracking_uri: str, name: str) -> str:
    """The search's logged pareto.json; while it runs (none logged yet), its front so far in the same form."""
    from ..pareto import pareto_front
    from ..report import front_rows

    client, logged, parent = _logged(tracking_uri, name)
    if any(a.path == "pareto.json" for a in client.list_artifacts(parent.info.run_id)):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return Path(client.download_artifacts(parent.info.run_id, "pareto.json", tmp)).read_text()
    completed = [r for r in logged.records if r.ok]
    front = pareto_front(completed, logged.objectives, lambda r: r.metrics, logged.constraints)
    return json.dumps(_finite(front_rows(front, [m for m, _ in logged.objectives], logged.run_ids)), indent=2, default=str)


def pareto_png_bytes(tracking_uri: str, name: str) -> bytes:
    """The search's logged pareto.png; while it runs, the same plot of its points so far."""
    import io

    client, logged, parent = _logged(tracking_uri, name)
    if any(a.path == "pareto.png" for a in client.list_artifacts(parent.info.run_id)):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            return Path(client.download_artifacts(parent.info.run_id, "pareto.png", tmp)).read_bytes()
    from ..api import open_search

    buffer = io.BytesIO()
    open_search(name, tracking_uri).plot().savefig(buffer, format="png")
    return buffer.getvalue()
