"""One search end to end (`run_search`), in its phases: prepare (`preparation`), open its
tracking (`tracked`), run the trials (`raytune.run_trials`) with the console's and
MLflow's listeners, finish the front (`front`), log it, print it (`console`). An
interrupt ends the parent run KILLED and says how to resume."""

from __future__ import annotations

import os
import sys
import time

from .. import storage
from ..errors import UsageError
from .console import print_front, settings_text
from .front import finish_front
from .phases import _phases_line, _since_process_start
from .preparation import prepare
from .request import SearchInterrupted, SearchOutcome, SearchRequest
from .tracked import open_tracking


def run_search(request: SearchRequest, console=None, progress: str | None = "lines", show_front: bool = True) -> SearchOutcome:
    """Run (or resume) a whole search and log it.

    Args:
        request: the search's options.
        console: a rich Console for the Pareto table (default: stdout, wide when not a terminal).
        progress: "lines" (the settings, then a line per trial on stderr: `ConsoleProgress`),
            "bar" (the settings, then a live bar: `BarProgress`), or None (silent).
        show_front: print the Pareto set (a table, the members' configs, the MLflow location).
    """
    from ..raytune import RayStarting, RunSettings

    entered = time.perf_counter()
    # the interpreter's start and imports: a command's own; a notebook's kernel started long before
    imports = None if request.api else _since_process_start()
    prepared = prepare(request)
    space, name, root, data = prepared.space, prepared.name, prepared.root, prepared.data
    if request.cpus and (request.address or os.environ.get("RAY_ADDRESS")):
        raise UsageError(f"{request.opt('cpus')} sets the CPUs of a local Ray; it cannot be combined with a cluster ({request.opt('address')} or $RAY_ADDRESS)")
    settings = RunSettings(
        name=name, storage=root, seed=space.search.seed, address=request.address, cpus=request.cpus, max_failures=request.max_failures,
        resume=prepared.state is not None,
    )
    # Ray starts while the tracking is set up (its store, the experiment); the trials take it over
    starting = RayStarting(request.address, request.cpus, space.search.backend, space.search.gpus_per_trial > 0)
    try:
        client, tracker, lock, settings = open_tracking(request, prepared, settings)
    except BaseException:
        starting.cancel()
        raise
    again = storage.resume_command(name, root, request.address, api=request.api)
    storage.mark_driver(root, name)
    # from here on an interrupt ends the parent run KILLED and says how to resume
    try:
        say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else (lambda text: None)
        say(settings_text(prepared, settings, client, tracker))
        phases = settings.phases
        phases.update({} if imports is None else {"imports": imports}, setup=time.perf_counter() - entered)
        records, unfinished, front = _run(space, data, settings, tracker, progress, say, starting)
        tracker.finish(records, front, unfinished, phases=phases)
        say(_phases_line(phases))
    except KeyboardInterrupt:
        starting.cancel()
        tracker.abort("KILLED")
        raise SearchInterrupted(again) from None
    except BaseException:
        starting.cancel()
        tracker.abort()
        raise
    finally:
        storage.release(lock)
        hint = tracker.replay_hint(storage.sync_command(name, root))
        if hint:
            print(hint, file=sys.stderr, flush=True)

    failed = [r for r in records if r.status == "failed"]
    outcome = SearchOutcome(
        name, records, front, unfinished, tracker.parent_run_id, tracker.experiment_id, client.tracking_uri, again, failed,
        run_ids={t: tracker.out.real_id(r) for t, r in tracker.run_ids.items()}, space=space, data=data, data_fingerprint=prepared.data_fingerprint,
        storage_path=settings.path, notes=(*data.notes, *prepared.notes), stopped_by="; ".join(settings.stopped_by) or None,
    )
    if show_front:
        print_front(outcome, tracker.run_ids, console)
    return outcome


def _run(space, data, settings, tracker, progress: str | None, say, starting=None):
    """The search's trials (`raytune.run_trials`), the console's progress and the tracker
    listening, its front finished; (records, unfinished, front)."""
    from ..events import with_harvest
    from ..pareto import pareto_front
    from ..raytune import run_trials

    listeners = _listeners(space, tracker, progress)

    def finish(records, threads):
        finish_front(records, space, data, threads, tracker, say)

    try:
        records, unfinished = run_trials(space, data, settings, listeners, finish=finish, starting=starting)
    finally:
        for listener in listeners:
            getattr(listener, "close", lambda: None)()
    front = pareto_front(with_harvest([r for r in records if r.ok]), space.objectives, lambda r: r.metrics, space.constraints)
    return records, unfinished, front


def _listeners(space, tracker, progress: str | None) -> list:
    """The trial-event listeners: the console's progress ("lines", "bar" or None), then the tracker."""
    listeners: list = [tracker]
    if progress == "lines":
        from ..progress import ConsoleProgress

        listeners.insert(0, ConsoleProgress(space))
    elif progress == "bar":
        from ..progress import BarProgress

        listeners.insert(0, BarProgress(space))
    return listeners
