"""The search driver (`hgq_automl search` and `hgq_automl.search()`): wires the space, the data, Ray Tune, MLflow and the console together.

A search lives in `STORAGE/NAME/` (`storage.py`: its state file, claim, lock and tracking
queue): Ray Tune's experiment state, a folder per trial with its checkpoint, and
`hgq_automl.json` — what a resume needs to continue the same search (the resolved space,
the seed, the MLflow store and parent run).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import storage
from .errors import UsageError
from .layout import STATE_FILE



@dataclass(frozen=True)
class SearchRequest:
    """The options of one search (the `search` command's flags, the API's arguments);
    None means "as the space says"."""

    #: a built-in name or YAML path; from the API also a dict or a `SearchSpace`
    space: Any = "digits_cnn"
    #: a path replacing the space's dataset.path; from the API also arrays (see `data.from_memory`)
    data: Any = None
    trials: int | None = None
    concurrency: int | None = None
    sampler: str | None = None
    backend: str | None = None  # overrides the space's search.backend
    gpus_per_trial: float | None = None  # overrides the space's search.gpus_per_trial
    seed: int | None = None
    name: str | None = None
    tracking_uri: str | None = None
    storage: str | None = None
    resume: str | None = None  # the name of a search to continue
    address: str | None = None  # an existing Ray cluster
    cpus: int | None = None  # CPUs of a local Ray (default: all of this machine's)
    max_failures: int = 0
    synthesis: str | None = None  # overrides the space's hardware.synthesis
    part: str | None = None  # overrides the space's hardware.part
    harvest: bool | None = None  # overrides the space's harvest (True: the defaults)
    time_budget_s: float | None = None  # overrides the space's search.time_budget_s
    #: made by the Python API: messages name its arguments, not the CLI's flags
    api: bool = False

    def opt(self, field_name: str) -> str:
        """How the user wrote option `field_name` (`options.SEARCH_OPTIONS`): `--time-budget-s`
        on the CLI, `time_budget_s` in Python (`resume=True` there)."""
        from .options import by_field

        option = by_field(field_name)
        if self.api:
            return "resume=True" if field_name == "resume" else option.api_name
        return option.cli_name

    def given(self) -> dict[str, Any]:
        """The options set to something other than their default (`options.SEARCH_OPTIONS`)."""
        from .options import SEARCH_OPTIONS

        out = {}
        for o in SEARCH_OPTIONS:
            value = getattr(self, o.field)
            if (value is not None) if o.default is None else (value is not o.default and value != o.default):
                out[o.field] = value
        return out


@dataclass
class SearchOutcome:
    name: str
    records: list
    front: list
    unfinished: int
    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    resume_command: str
    failed: list = field(default_factory=list)
    run_ids: dict = field(default_factory=dict)  # trial_id (harvested points too) -> MLflow run id
    space: Any = None  # the resolved SearchSpace
    data: Any = None  # the Splits the trials saw
    data_fingerprint: str | None = None  # set when the data came in memory (the API)
    storage_path: str = ""  # STORAGE/NAME: Ray Tune's folder of the search
    notes: tuple = ()  # what loading the data and checking the model noted
    stopped_by: str | None = None  # why the trials stopped before they ended, when not by the user (a full disk)


class SearchInterrupted(KeyboardInterrupt):
    """SIGINT outside Ray Tune's own handling; carries the command that resumes the search."""

    def __init__(self, resume_command: str):
        super().__init__(resume_command)
        self.resume_command = resume_command


# --------------------------------------------------------------------------- phases

def _since_process_start() -> float:
    """Seconds since this process started (the interpreter's start-up and imports, when
    called as a search begins); 0 when the OS does not say."""
    try:  # Linux: the process's start in clock ticks after boot (/proc/self/stat's 22nd field)
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            return max(0.0, float(uptime.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):  # another OS: not measured
        return 0.0


#: the parts of a search outside its trials, in order: (phase, label); `trials` is Tune's fit
PHASES_BEFORE = (("imports", "imports"), ("setup", "set-up"), ("ray_start", "Ray start"))
PHASES_AFTER = (("results", "results"), ("finish", "finishing the front"), ("ray_shutdown", "Ray shutdown"), ("publish", "MLflow front"))


def _phases_line(phases: dict[str, float]) -> str:
    """One line of the time a search spent outside its trials, part by part."""

    def part(names):
        seen = [(label, phases[key]) for key, label in names if key in phases]
        return f"{sum(v for _, v in seen):.1f} s (" + ", ".join(f"{label} {v:.1f}" for label, v in seen) + ")"

    return f"time outside the trials: before {part(PHASES_BEFORE)}, after {part(PHASES_AFTER)}"


def resolve_space(space: Any, data: str | os.PathLike | None = None, data_in_memory: bool = False):
    """A search's `space` (built-in name, YAML path, dict or `SearchSpace`) as a validated
    `SearchSpace`; `data`, a path, replaces its dataset.path (the `--data` flag).
    `data_in_memory`: the data comes as arrays, the dataset section only sets the split."""
    from .space import SearchSpace, load_space, parse_space, with_data_path
    from .space.parse import _with_data_flag

    if isinstance(space, SearchSpace):
        return with_data_path(space, str(data)) if data is not None else space
    if isinstance(space, dict):
        raw = dict(space)
        if data is not None and isinstance(raw.get("dataset") or {}, dict):
            raw["dataset"] = _with_data_flag(raw.get("dataset") or {}, str(data), "<space>")
        return parse_space(raw, "<space>", data_in_memory=data_in_memory)
    if isinstance(space, (str, os.PathLike)):
        return load_space(str(space), data=None if data is None else str(data), data_in_memory=data_in_memory)
    raise UsageError(f"space: must be a built-in name, a YAML path, a dict or a SearchSpace; got {type(space).__name__}")


def _python_model(model) -> dict[str, Any]:
    """The model section's entries that are Python objects (a builder function, a keras.Model)."""
    out: dict[str, Any] = {}
    if model.family == "builder" and not isinstance(model.builder, str):
        out["builder"] = model.builder
    if model.family == "file" and not isinstance(model.path, str):
        out["path"] = model.path
    return out


def prepare(request: SearchRequest):
    """Everything that can be checked before any trial runs: space, flags, data, storage.

    Returns (space, name, root, data, state, data_fingerprint, notes): the resolved space,
    the search's name, the storage root, the `Splits`, the saved state of a resumed search
    (else None), the sha256 of in-memory data (else None), and what loading noted."""
    from .constraints import mixed_designs
    from .data import fingerprint, from_memory, is_in_memory, load_dataset
    from .redact import redact
    from .space import parse_space
    from .tracking import check_tracking_uri

    root = storage.storage_root(request.storage or os.environ.get(storage.STORAGE_ENV))
    storage.check_storage(root, request.opt("storage"))
    if request.tracking_uri or not request.resume:
        check_tracking_uri(request.tracking_uri, request.opt("tracking_uri"))
    memory = is_in_memory(request.data)
    if request.resume:
        from .options import SEARCH_OPTIONS

        # the search's own options may not change; the API passes its space (a Python model
        # must come again) and the search's name, and in-memory data is checked below
        allowed = {o.field for o in SEARCH_OPTIONS if o.on_resume} | ({"space", "name"} if request.api else set()) | ({"data"} if memory else set())
        changed = [request.opt(key) for key in request.given() if key not in allowed]
        if changed:
            raise UsageError(f"{request.opt('resume')} continues a search as it was started; drop {', '.join(changed)}")
        name = request.resume
        state = storage.read_state(root, name)
        raw = dict(state["space"])
        if request.api:
            again = resolve_space(request.space, data_in_memory=True)
            if again.name != raw.get("name"):
                raise UsageError(f"the search {name!r} was started with the space {raw.get('name')!r}; got the space {again.name!r}")
            objects = _python_model(again.model)
            if objects:
                raw["model"] = {**raw["model"], **objects}
            elif state.get("python_model"):
                raise UsageError(f"the search {name!r} was started with a model given as a Python object; give the same space (with that model) again")
        elif state.get("python_model"):
            raise UsageError(f"the search {name!r} was started from Python with a model given as a Python object; resume it from Python: hgq_automl.search(space, name={name!r}, resume=True)")
        stored_fp = state.get("data_fingerprint")
        if stored_fp and not memory:
            how = f"give the same data again ({request.opt('data')}=...)" if request.api else f"resume it from Python with the same data: hgq_automl.search(space, data=..., name={name!r}, resume=True)"
            raise UsageError(f"the search {name!r} was started with in-memory data; {how}")
        if memory and not stored_fp:
            raise UsageError(f"the search {name!r} was started with the space's dataset, not in-memory data; drop {request.opt('data')}")
        space = parse_space(raw, state["source"], data_in_memory=memory)
        from .fingerprints import changed_file

        changed = changed_file(state.get("files") or {})
        if changed:
            raise UsageError(f"{changed}; the search {name!r} cannot be resumed with it: put the file back as it was, or start a new search")
        if not request.tracking_uri:
            check_tracking_uri(storage.stored_tracking_uri(state, name, request.opt('tracking_uri')), request.opt("tracking_uri"))
    else:
        space = resolve_space(request.space, None if memory else request.data, data_in_memory=memory).with_overrides(
            trials=request.trials,
            concurrency=request.concurrency,
            sampler=request.sampler,
            backend=request.backend,
            gpus_per_trial=request.gpus_per_trial,
            seed=request.seed,
            synthesis=request.synthesis,
            part=request.part,
            harvest=request.harvest,
            time_budget_s=request.time_budget_s,
            origin="search() arguments" if request.api else "command line",
        )
        name = request.name or f"{space.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        if not re.fullmatch(r"[\w.-]+", name):
            raise UsageError(f"{request.opt('name')} must be letters, digits, '_', '-' or '.'; got {name!r}")
        if len(name.encode()) > storage.MAX_NAME:
            raise UsageError(f"{request.opt('name')} must be at most {storage.MAX_NAME} bytes (it names a folder); got {len(name.encode())}")
        if storage.exists(root, name) and not storage.setup_interrupted(root, name):
            raise UsageError(
                f"a search named {name!r} already exists in {redact(root)}; continue it with `{storage.resume_command(name, root, api=request.api)}`, "
                f"or choose another {request.opt('name')}"
            )
        state = None

    from .backend import driver_backend
    from .hardware.synthesis import ToolMissing, check_tools

    driver_backend(space.search.backend)  # before the driver loads Keras (a user's model, the front's estimates)
    if space.search.gpus_per_trial and not (request.address or os.environ.get("RAY_ADDRESS")):
        from .backend import local_gpus

        if not local_gpus():
            raise UsageError(
                f"{request.opt('gpus_per_trial')} {space.search.gpus_per_trial:g}: this machine has no GPU (no NVIDIA driver lists one); "
                f"drop it, or run on a cluster with GPUs ({request.opt('address')})"
            )
    try:
        check_tools(space.hardware)  # e.g. synthesis: vivado without Vivado on PATH
    except ToolMissing as exc:
        raise UsageError(str(exc)) from None
    if memory:
        data = from_memory(request.data, space.dataset, space.task.kind)
        data_fp = fingerprint(data)
        if state is not None and data_fp != state["data_fingerprint"]:
            raise UsageError(
                f"{request.opt('data')}: not the data the search {name!r} was started with "
                f"(sha256 {data_fp[:12]}... instead of {state['data_fingerprint'][:12]}...); give the same arrays to resume it"
            )
    else:
        data, data_fp = load_dataset(space.dataset, space.task.kind), None
    notes: list[str] = [line for line in [mixed_designs(space.constraints)] if line]
    space = _check_model(space, data, notes)
    space = _with_floor(space, data, notes)
    return space, name, root, data, state, data_fp, tuple(notes)


def _with_floor(space, data, notes: list[str]):
    """The space with the task's chance floor (`TaskSpec.floor`) among its constraints, its
    line added to `notes` (the search's summary says it, after the checks that may still
    refuse bad input in one line): like a user's constraint it keeps points off the front
    and is told to Optuna. A resumed search has it already (its state holds the constraints)."""
    from dataclasses import replace

    floor = space.task.floor(data.y_train, data.y_val)
    if floor is None:
        return space
    constraint, line = floor
    notes.append(line)
    if constraint in space.constraints:
        return space
    return replace(space, constraints=(*space.constraints, constraint))


def _check_model(space, data, notes: list[str] | None = None):
    """The space with its model's input shape (the data's, when the space gives none),
    checked against the data; a user's model (builder, file) built once with the space's
    first parameters (`models.check_model`), its notes added to `notes` (the search's summary
    says them, after every check that may still refuse bad input in one line).
    Raises UsageError."""
    from dataclasses import replace

    from .space import check_input_shape

    if space.model.input_shape is None:
        space = replace(space, model=replace(space.model, input_shape=tuple(data.input_shape)))
        check_input_shape(space.model, space.source)
    elif data.input_shape != tuple(space.model.input_shape):
        raise UsageError(
            f"{space.source}: model.input_shape {list(space.model.input_shape)} does not match the data's {list(data.input_shape)}"
        )
    if space.model.is_user:
        from .models import check_model

        try:
            model_notes = check_model(space.model, space.first_params(), data.input_shape, data.n_outputs)
        except UsageError as exc:
            raise UsageError(f"{space.source}: {exc}") from None
        if notes is not None:
            notes += model_notes
    return space


# --------------------------------------------------------------------------- the command


def _start_tracked(request: SearchRequest, root: str, name: str, client, space, params: dict[str, Any], state: dict[str, Any]):
    """Set a new search up: claim STORAGE/NAME and lock it, create its MLflow experiment and
    parent run, write its state file. All or nothing: after a failure (a name taken at the
    same moment, storage not writable, disk full) no parent run stays RUNNING, the folder is
    removed and the name can be used again. Returns (tracker, lock)."""
    import shutil

    from .tracking import SearchTracker

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


def _finish_front(records, space, data, threads: int, tracker, say) -> None:
    """Every front member a finished product: the harvested points that make the front get
    what their trials measured only for their own last model, da4ml's estimates (`luts`,
    ...) and the synthesis step when the space asks for one (`raytune.finish_points`); the
    metrics are added to each one's record, metrics.json and MLflow run, a synthesis
    project beside its model.

    A point not yet finished is judged by the constraints on the metrics it has (it may yet
    meet those on the synthesis step's, e.g. `bit_mismatches <= 0`); rounds go on until
    every harvested member of the front is finished. One whose task fails keeps its place
    when no constraint needs the metrics it lacks, with the error as its `finish_error` note."""

    from .constraints import feasible
    from .events import with_harvest
    from .layout import METRICS_FILE
    from .metrics import FINAL_METRICS, NOTE_PREFIX
    from .pareto import pareto_front
    from .raytune import finish_points

    synthesis = space.hardware.synthesis != "none"
    from_step = {name for name, metric in FINAL_METRICS.items() if metric.needs}
    others = [c for c in space.constraints if c.metric not in from_step]
    points = with_harvest([r for r in records if r.ok])
    tried: set[str] = set()

    def pending(p) -> bool:
        lacks = "luts" not in p.metrics or (synthesis and "bit_mismatches" not in p.metrics)
        return bool(p.harvested_from) and p.model_dir is not None and lacks and p.trial_id not in tried

    while True:
        candidates = [p for p in points if feasible(others if pending(p) else space.constraints, p.metrics)]
        todo = [p for p in pareto_front(candidates, space.objectives, lambda r: r.metrics) if pending(p)]
        if not todo:
            return
        what = "da4ml's estimates" + (f" and the synthesis step ({space.hardware.synthesis})" if synthesis else "")
        say(f"finishing {len(todo)} harvested point(s) of the front: {what}")
        tried.update(p.trial_id for p in todo)
        for trial_id, got in finish_points(todo, space, data, threads, say).items():
            point = next(r for r in todo if r.trial_id == trial_id)
            new = dict(got) if isinstance(got, dict) else {f"{NOTE_PREFIX}finish_error": got}
            point.metrics.update(new)
            saved = point.model_dir / METRICS_FILE
            if saved.is_file():  # a resume reads the point back from it
                saved.write_text(json.dumps({**json.loads(saved.read_text()), **new}, indent=1))
            tracker.point_measured(point, new)


def run_search(request: SearchRequest, console=None, progress: str | None = "lines", show_front: bool = True) -> SearchOutcome:
    """Run (or resume) a whole search and log it.

    Args:
        request: the search's options.
        console: a rich Console for the Pareto table (default: stdout, wide when not a terminal).
        progress: "lines" (the settings, then a line per trial on stderr: `ConsoleProgress`),
            "bar" (the settings, then a live bar: `BarProgress`), or None (silent).
        show_front: print the Pareto set (a table, the members' configs, the MLflow location).
    """
    from .constraints import feasible
    from .events import budget_ending, with_harvest
    from .fingerprints import file_fingerprints
    from .metrics import NOTE_PREFIX
    from .pareto import pareto_front
    from .raytune import RunSettings, can_resume, run_trials
    from .report import config_summary, front_table
    from .redact import redact
    from .tracking import SearchTracker, connect

    entered = time.perf_counter()
    # the interpreter's start and imports: a command's own; a notebook's kernel started long before
    imports = None if request.api else _since_process_start()
    space, name, root, data, state, data_fp, model_notes = prepare(request)
    seed = space.search.seed
    if request.cpus and (request.address or os.environ.get("RAY_ADDRESS")):
        raise UsageError(f"{request.opt('cpus')} sets the CPUs of a local Ray; it cannot be combined with a cluster ({request.opt('address')} or $RAY_ADDRESS)")
    settings = RunSettings(name=name, storage=root, seed=seed, address=request.address, cpus=request.cpus, max_failures=request.max_failures, resume=state is not None)
    lock = None
    if state is not None:
        lock = storage.lock_folder(root, name)
        if not can_resume(settings.path):
            # stopped before Ray Tune's first save: nothing ran that is kept, its trials start anew
            from dataclasses import replace

            settings = replace(settings, resume=False)
        try:
            client = connect(request.tracking_uri or storage.stored_tracking_uri(state, name, request.opt('tracking_uri')))
            storage.replay(client, root, name)
            tracker = SearchTracker.attach(client, state["parent_run_id"], space, queue_dir=storage.queue_dir(root, name))
        except BaseException:
            storage.release(lock)
            raise
    else:
        client = connect(request.tracking_uri)
        params = {
            "trials": space.search.trials,
            "concurrency": space.search.concurrency,
            "sampler": space.search.sampler,
            "backend": space.search.backend,
            "gpus_per_trial": space.search.gpus_per_trial,
            "seed": seed,
            "dataset": space.dataset.name if data_fp is None else "in-memory arrays",
            "data_fingerprint": data_fp,
            "task": space.task.kind if not space.task.regression else f"regression ({space.task.loss})",
            "storage": redact(settings.path),
            "early_stopping": space.early_stopping.scheduler if space.early_stopping else None,
            "synthesis": space.hardware.synthesis,
            "part": space.hardware.part,
            "clock_period_ns": space.hardware.clock_period_ns,
            "constraints": "; ".join(map(str, space.constraints)) or None,
            "harvest": bool(space.harvest),
            "time_budget_s": space.search.time_budget_s,
        }
        tracker, lock = _start_tracked(request, root, name, client, space, params, {
            "space": space.to_dict(),
            "source": space.source,
            "tracking_uri": redact(client.tracking_uri),
            **({"python_model": True} if _python_model(space.model) else {}),
            **({"data_fingerprint": data_fp} if data_fp else {}),
            "files": file_fingerprints(space),
        })
        tracker.use_queue(storage.queue_dir(root, name))
    again = storage.resume_command(name, root, request.address, api=request.api)
    storage.mark_driver(root, name)
    # from here on an interrupt ends the parent run KILLED and says how to resume
    try:
        sizes = data.sizes()
        say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else (lambda text: None)
        say(
            f"search {name}{(' (resumed)' if settings.resume else ' (resumed: it was stopped before its first save, its trials start anew)') if state else ''}: space {space.name} ({space.source}), {space.search.trials} trials, "
            f"{space.search.concurrency} at a time, sampler {space.search.sampler}, seed {seed}, backend {space.search.backend}\n"
            f"  data: {space.dataset.name if data_fp is None else 'in-memory arrays'}, {sizes['train']} train / {sizes['val']} val / {sizes['test']} test samples; "
            f"task {space.task.kind}" + (f" ({space.task.loss} loss, {data.n_outputs} targets)" if space.task.regression else f" ({data.n_outputs} classes)") + "\n"
            + "".join(f"  note: {note}\n" for note in data.notes)
            + "".join(f"  note: {note}\n" for note in model_notes)
            + f"  objectives: {', '.join(f'{m} ({d})' for m, d in space.objectives)}"
            + (f"; constraints: {', '.join(map(str, space.constraints))}" if space.constraints else "")
            + (f"; early stopping: {space.early_stopping.scheduler} on score = " + " + ".join(f"{w:g}*{m}" for m, w in space.early_stopping.score) if space.early_stopping else "")
            + (f"; harvesting up to {space.harvest.max_points} non-dominated epochs per trial (beta ramps)" if space.harvest else "")
            + (f"; time budget {space.search.time_budget_s:g} s" if space.search.time_budget_s else "")
            + f"\n  hardware: synthesis {space.hardware.synthesis}, part {space.hardware.part}, clock {space.hardware.clock_period_ns:g} ns"
            + f"\n  MLflow: {redact(client.tracking_uri)}, experiment {name!r}, parent run {tracker.parent_run_id}\n  results: {redact(settings.path)}"
        )
        listeners: list = [tracker]
        if progress == "lines":
            from .progress import ConsoleProgress

            listeners.insert(0, ConsoleProgress(space))
        elif progress == "bar":
            from .progress import BarProgress

            listeners.insert(0, BarProgress(space))

        def front_of(records):
            return pareto_front(with_harvest([r for r in records if r.ok]), space.objectives, lambda r: r.metrics, space.constraints)

        def finish(records, threads):
            _finish_front(records, space, data, threads, tracker, say)

        phases = settings.phases
        phases.update({} if imports is None else {"imports": imports}, setup=time.perf_counter() - entered)
        try:
            records, unfinished = run_trials(space, data, settings, listeners, finish=finish)
        finally:
            for listener in listeners:
                getattr(listener, "close", lambda: None)()
        completed = [r for r in records if r.ok]
        front = front_of(records)
        tracker.finish(records, front, unfinished, phases=phases)
        say(_phases_line(phases))
    except KeyboardInterrupt:
        tracker.abort("KILLED")
        raise SearchInterrupted(again) from None
    except BaseException:
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
        run_ids={t: tracker.out.real_id(r) for t, r in tracker.run_ids.items()}, space=space, data=data, data_fingerprint=data_fp, storage_path=settings.path,
        notes=(*data.notes, *model_notes), stopped_by="; ".join(settings.stopped_by) or None,
    )
    if not show_front:
        return outcome
    from rich.console import Console

    # a file or a pipe gets a wide table rather than rich's 80 columns
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    stopped = [r for r in records if r.status == "stopped"]
    infeasible = sum(not feasible(space.constraints, r.metrics) for r in completed)
    harvested = sum(len(r.harvested) for r in completed)
    endings = [budget_ending(space.resolve(r.config), r.metrics) for r in completed]
    cut, paced = endings.count("cut"), endings.count("paced")
    # trials the time budget left no time to start: said, so that a --trials given is not silently cut
    not_started = max(0, space.search.trials - len(records) - unfinished) if space.search.time_budget_s else 0
    candidates = f"{len(completed) + harvested} points ({len(completed)} completed trials + {harvested} harvested epochs)" if space.harvest else f"{len(completed)} completed trials"
    title = (
        f"Pareto set of {name}: {len(front)} of {candidates} "
        f"({len(failed)} failed{f', {len(stopped)} stopped early' if stopped else ''}{f', {cut} cut short by the time budget' if cut else ''}{f', {paced} ramps paced by the time budget' if paced else ''}"
        f"{f', {infeasible} infeasible' if space.constraints else ''}{f', {unfinished} unfinished' if unfinished else ''})"
    )
    console.print(front_table(front, space.objective_names(), title=title, ascii_only=not console.is_terminal))
    if not_started:
        console.print(f"  {not_started} of {space.search.trials} trials not started: the time budget ({space.search.time_budget_s:g} s) ended first", soft_wrap=True)
    for record in front:
        epoch = f" at epoch {int(record.metrics['harvest_epoch'])}" if record.harvested_from else ""
        console.print(f"  trial {record.trial_id} (MLflow run {tracker.run_ids.get(record.trial_id)}){epoch}: {config_summary(record.config)}", soft_wrap=True)
    for record in front:
        if record.metrics.get("bit_mismatches"):
            console.print(f"  UNTRUSTED trial {record.trial_id}: {int(record.metrics['bit_mismatches'])} firmware outputs differ from Keras")
        elif space.hardware.synthesis != "none" and "bit_mismatches" not in record.metrics:
            why = record.metrics.get(f"{NOTE_PREFIX}finish_error", "not simulated")
            console.print(f"  UNCHECKED trial {record.trial_id}: its synthesis step failed ({why})", soft_wrap=True)
    for record in failed:
        console.print(f"  failed trial {record.trial_id}: {record.error}", soft_wrap=True)
    console.print(
        f"MLflow: {redact(client.tracking_uri)} (experiment {name!r}, id {tracker.experiment_id}; parent run {tracker.parent_run_id})\n"
        f"Trial folders and checkpoints: {redact(settings.path)}\n"
        f"Browse: mlflow ui --backend-store-uri {redact(client.tracking_uri)} --host 127.0.0.1",
        soft_wrap=True,
    )
    return outcome
