"""A search's MLflow side at its start: a new search's folder claimed, its experiment and
parent run created and its state file written, all or nothing; a resumed search's queued
writes replayed and its parent run attached again. Either way the search's tracker
(`tracking.SearchTracker`) and the lock on its folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import storage
from ..errors import UsageError
from ..layout import STATE_FILE
from .preparation import python_model


def open_tracking(request, prepared, settings):
    """The search's (client, tracker, lock, settings) as it starts: the parent run of a new
    search started (`_start_tracked`), a resumed one's attached again; `settings` with
    `resume` off when a resumed search stopped before Ray Tune's first save."""
    from ..fingerprints import file_fingerprints
    from ..raytune import can_resume
    from ..redact import redact
    from ..tracking import SearchTracker, connect

    space, name, root, state = prepared.space, prepared.name, prepared.root, prepared.state
    if state is not None:
        lock = storage.lock_folder(root, name)
        if not can_resume(settings.path):
            # stopped before Ray Tune's first save: nothing ran that is kept, its trials start anew
            settings = replace(settings, resume=False)
        try:
            client = connect(request.tracking_uri or storage.stored_tracking_uri(state, name, request.opt('tracking_uri')))
            storage.replay(client, root, name)
            tracker = SearchTracker.attach(client, state["parent_run_id"], space, queue_dir=storage.queue_dir(root, name))
        except BaseException:
            storage.release(lock)
            raise
        return client, tracker, lock, settings
    client = connect(request.tracking_uri)
    params = _search_params(space, prepared.data_fingerprint, redact(settings.path))
    tracker, lock = _start_tracked(request, root, name, client, space, params, {
        "space": space.to_dict(),
        "source": space.source,
        "tracking_uri": redact(client.tracking_uri),
        **({"python_model": True} if python_model(space.model) else {}),
        **({"data_fingerprint": prepared.data_fingerprint} if prepared.data_fingerprint else {}),
        "files": file_fingerprints(space),
    })
    tracker.use_queue(storage.queue_dir(root, name))
    return client, tracker, lock, settings


def _search_params(space, data_fp: str | None, path: str) -> dict[str, Any]:
    """A new search's MLflow parameters (its parent run's): its settings as resolved;
    `path`, its folder (redacted)."""
    return {
        "trials": space.search.trials,
        "concurrency": space.search.concurrency,
        "sampler": space.search.sampler,
        "backend": space.search.backend,
        "gpus_per_trial": space.search.gpus_per_trial,
        "seed": space.search.seed,
        "dataset": space.dataset.name if data_fp is None else "in-memory arrays",
        "data_fingerprint": data_fp,
        "task": space.task.kind if not space.task.regression else f"regression ({space.task.loss})",
        "storage": path,
        "early_stopping": space.early_stopping.scheduler if space.early_stopping else None,
        "synthesis": space.hardware.synthesis,
        "part": space.hardware.part,
        "clock_period_ns": space.hardware.clock_period_ns,
        "constraints": "; ".join(map(str, space.constraints)) or None,
        "harvest": bool(space.harvest),
        "time_budget_s": space.search.time_budget_s,
    }


def _start_tracked(request, root: str, name: str, client, space, params: dict[str, Any], state: dict[str, Any]):
    """Set a new search up: claim STORAGE/NAME and lock it, create its MLflow experiment and
    parent run, write its state file. All or nothing: after a failure (a name taken at the
    same moment, storage not writable, disk full) no parent run stays RUNNING, the folder is
    removed and the name can be used again. Returns (tracker, lock)."""
    import shutil

    from ..tracking import SearchTracker

    local, lock, taken_over = storage.claim(root, name, request)
    tracker = None
    try:
        if taken_over:  # the start stopped before its state file may have left its MLflow experiment
            SearchTracker.retire_interrupted(client, name, params["storage"])
        tracker = SearchTracker.start(client, name, name, space, params)
        try:
            storage.write_state(root, name, {**state, "experiment_id": tracker.experiment_id, "parent_run_id": tracker.parent_run_id})
        except OSError as exc:
            raise UsageError(f"cannot write the search's state to {root}/{name}/{STATE_FILE}: {exc.strerror or exc}") from None
    except BaseException:
        if tracker is not None:
            tracker.discard()
        storage.release(lock)
        if local:
            shutil.rmtree(Path(root) / name, ignore_errors=True)
        raise
    return tracker, lock

