"""`hgq_automl search`: wires the space, the data, Ray Tune, MLflow and the console together.

A search lives in `STORAGE/NAME/`: Ray Tune's experiment state, a folder per trial with
its checkpoint, and `hgq_automl.json` — what a resume needs to continue the same search
(the resolved space, the seed, the MLflow store and parent run).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

#: Where Ray Tune keeps a search's trial folders and checkpoints, unless --storage says.
DEFAULT_STORAGE = "hgq_automl_results"
STATE_FILE = "hgq_automl.json"


@dataclass(frozen=True)
class SearchRequest:
    """The `search` command's options; None means "as the space says"."""

    space: str = "digits_cnn"
    data: str | None = None
    trials: int | None = None
    concurrency: int | None = None
    sampler: str | None = None
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


class SearchInterrupted(KeyboardInterrupt):
    """SIGINT outside Ray Tune's own handling; carries the command that resumes the search."""

    def __init__(self, resume_command: str):
        super().__init__(resume_command)
        self.resume_command = resume_command


# --------------------------------------------------------------------------- storage


def storage_root(storage: str | None) -> str:
    """An absolute local path, or a URI (s3://, gs://, ...) left for Ray and pyarrow."""
    storage = storage or DEFAULT_STORAGE
    if "://" in storage and not storage.startswith("file://"):
        return storage.rstrip("/")
    return str(Path(storage.removeprefix("file://")).expanduser().resolve())


def _fs(root: str):
    import pyarrow.fs as pafs

    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), root


def _exists(root: str, name: str) -> bool:
    import pyarrow.fs as pafs

    fs, base = _fs(root)
    return fs.get_file_info(f"{base}/{name}").type != pafs.FileType.NotFound


def _write_state(root: str, name: str, state: dict[str, Any]) -> None:
    fs, base = _fs(root)
    fs.create_dir(f"{base}/{name}", recursive=True)
    with fs.open_output_stream(f"{base}/{name}/{STATE_FILE}") as out:
        out.write(json.dumps(state, indent=2).encode())


def _read_state(root: str, name: str) -> dict[str, Any]:
    fs, base = _fs(root)
    try:
        with fs.open_input_stream(f"{base}/{name}/{STATE_FILE}") as f:
            return json.loads(f.read().decode())
    except (FileNotFoundError, OSError):
        raise UsageError(f"no search named {name!r} to resume in {root} (no {STATE_FILE} there)") from None


def resume_command(name: str, root: str, address: str | None = None) -> str:
    cmd = f"python -m hgq_automl search --resume {name} --storage {root}"
    return cmd + (f" --address {address}" if address else "")


# --------------------------------------------------------------------------- checks


def prepare(request: SearchRequest):
    """Everything that can be checked before any trial runs: space, flags, data, storage."""
    from .data import load_dataset
    from .space import load_space, parse_space

    root = storage_root(request.storage)
    if request.resume:
        given = {
            "--space": None if request.space == SearchRequest.space else request.space,
            "--data": request.data,
            "--trials": request.trials,
            "--concurrency": request.concurrency,
            "--sampler": request.sampler,
            "--seed": request.seed,
            "--name": request.name,
            "--synthesis": request.synthesis,
            "--part": request.part,
            "--harvest/--no-harvest": request.harvest,
            "--time-budget": request.time_budget_s,
        }
        changed = [flag for flag, value in given.items() if value is not None]
        if changed:
            raise UsageError(f"--resume continues a search as it was started; drop {', '.join(changed)}")
        name = request.resume
        state = _read_state(root, name)
        space = parse_space(state["space"], state["source"])
    else:
        space = load_space(request.space, data=request.data).with_overrides(
            trials=request.trials,
            concurrency=request.concurrency,
            sampler=request.sampler,
            seed=request.seed,
            synthesis=request.synthesis,
            part=request.part,
            harvest=request.harvest,
            time_budget_s=request.time_budget_s,
        )
        name = request.name or f"{space.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        if not re.fullmatch(r"[\w.-]+", name):
            raise UsageError(f"--name must be letters, digits, '_', '-' or '.'; got {name!r}")
        if _exists(root, name):
            raise UsageError(f"a search named {name!r} already exists in {root}; continue it with `{resume_command(name, root)}`, or choose another --name")
        state = None

    from .hardware.synthesis import ToolMissing, check_tools

    try:
        check_tools(space.hardware)  # e.g. synthesis: vivado without Vivado on PATH
    except ToolMissing as exc:
        raise UsageError(str(exc)) from None
    data = load_dataset(space.dataset, space.task.kind)
    space = _check_model(space, data)
    return space, name, root, data, state


def _check_model(space, data):
    """The space with its model's input shape (the data's, when the space gives none),
    checked against the data; a user's model (builder, file) built once with the space's
    first parameters (`models.check_model`), its notes printed. Raises UsageError."""
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
            notes = check_model(space.model, space.first_params(), data.input_shape, data.n_outputs)
        except UsageError as exc:
            raise UsageError(f"{space.source}: {exc}") from None
        for note in notes:
            print(f"note: {note}", file=sys.stderr, flush=True)
    return space


# --------------------------------------------------------------------------- the command


def run_search(request: SearchRequest, console=None) -> SearchOutcome:
    """Run (or resume) a whole search and log it; print the Pareto set on `console`."""
    from rich.console import Console

    from .constraints import feasible
    from .events import with_harvest
    from .pareto import pareto_front
    from .progress import ConsoleProgress
    from .raytune import RunSettings, can_resume, run_trials
    from .report import config_summary, front_table
    from .tracking import SearchTracker, connect

    # a file or a pipe gets a wide table rather than rich's 80 columns
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    space, name, root, data, state = prepare(request)
    seed = space.search.seed
    if request.cpus and (request.address or os.environ.get("RAY_ADDRESS")):
        raise UsageError("--cpus sets the CPUs of a local Ray; it cannot be combined with a cluster (--address or $RAY_ADDRESS)")
    settings = RunSettings(name=name, storage=root, seed=seed, address=request.address, cpus=request.cpus, max_failures=request.max_failures, resume=state is not None)
    if state is not None:
        if not can_resume(settings.path):
            raise UsageError(f"the search {name!r} in {root} has no Ray Tune state to resume (it was stopped before its first trial)")
        client = connect(request.tracking_uri or state["tracking_uri"])
        tracker = SearchTracker.attach(client, state["parent_run_id"], space)
    else:
        client = connect(request.tracking_uri)
        params = {
            "trials": space.search.trials,
            "concurrency": space.search.concurrency,
            "sampler": space.search.sampler,
            "seed": seed,
            "dataset": space.dataset.name,
            "task": space.task.kind if not space.task.regression else f"regression ({space.task.loss})",
            "storage": settings.path,
            "early_stopping": space.early_stopping.scheduler if space.early_stopping else None,
            "synthesis": space.hardware.synthesis,
            "part": space.hardware.part,
            "clock_period_ns": space.hardware.clock_period_ns,
            "constraints": "; ".join(map(str, space.constraints)) or None,
            "harvest": bool(space.harvest),
            "time_budget_s": space.search.time_budget_s,
        }
        tracker = SearchTracker.start(client, name, name, space, params)
        _write_state(root, name, {
            "space": space.to_dict(),
            "source": space.source,
            "tracking_uri": client.tracking_uri,
            "experiment_id": tracker.experiment_id,
            "parent_run_id": tracker.parent_run_id,
        })
    again = resume_command(name, root, request.address)
    sizes = data.sizes()
    print(
        f"search {name}{' (resumed)' if state else ''}: space {space.name} ({space.source}), {space.search.trials} trials, "
        f"{space.search.concurrency} at a time, sampler {space.search.sampler}, seed {seed}\n"
        f"  data: {space.dataset.name}, {sizes['train']} train / {sizes['val']} val / {sizes['test']} test samples; "
        f"task {space.task.kind}" + (f" ({space.task.loss} loss, {data.n_outputs} targets)" if space.task.regression else f" ({data.n_outputs} classes)") + "\n"
        + "".join(f"  note: {note}\n" for note in data.notes)
        + f"  objectives: {', '.join(f'{m} ({d})' for m, d in space.objectives)}"
        + (f"; constraints: {', '.join(map(str, space.constraints))}" if space.constraints else "")
        + (f"; early stopping: {space.early_stopping.scheduler} on score = " + " + ".join(f"{w:g}*{m}" for m, w in space.early_stopping.score) if space.early_stopping else "")
        + (f"; harvesting up to {space.harvest.max_points} non-dominated epochs per trial (beta ramps)" if space.harvest else "")
        + (f"; time budget {space.search.time_budget_s:g} s" if space.search.time_budget_s else "")
        + f"\n  hardware: synthesis {space.hardware.synthesis}, part {space.hardware.part}, clock {space.hardware.clock_period_ns:g} ns"
        + f"\n  MLflow: {client.tracking_uri}, experiment {name!r}, parent run {tracker.parent_run_id}\n  results: {settings.path}",
        file=sys.stderr,
        flush=True,
    )
    try:
        records, unfinished = run_trials(space, data, settings, [ConsoleProgress(space), tracker])
        completed = [r for r in records if r.ok]
        front = pareto_front(with_harvest(completed), space.objectives, lambda r: r.metrics, space.constraints)
        tracker.finish(records, front, unfinished)
    except KeyboardInterrupt:
        tracker.abort("KILLED")
        raise SearchInterrupted(again) from None
    except BaseException:
        tracker.abort()
        raise

    failed = [r for r in records if r.status == "failed"]
    stopped = [r for r in records if r.status == "stopped"]
    infeasible = sum(not feasible(space.constraints, r.metrics) for r in completed)
    harvested = sum(len(r.harvested) for r in completed)
    cut = sum(r.metrics.get("epochs_trained", math.inf) < int(space.resolve(r.config)["epochs"]) for r in completed)
    candidates = f"{len(completed) + harvested} points ({len(completed)} completed trials + {harvested} harvested epochs)" if space.harvest else f"{len(completed)} completed trials"
    title = (
        f"Pareto set of {name}: {len(front)} of {candidates} "
        f"({len(failed)} failed{f', {len(stopped)} stopped early' if stopped else ''}{f', {cut} cut short by the time budget' if cut else ''}"
        f"{f', {infeasible} infeasible' if space.constraints else ''}{f', {unfinished} unfinished' if unfinished else ''})"
    )
    console.print(front_table(front, space.objective_names(), title=title, ascii_only=not console.is_terminal))
    for record in front:
        epoch = f" at epoch {int(record.metrics['harvest_epoch'])}" if record.harvested_from else ""
        console.print(f"  trial {record.trial_id} (MLflow run {tracker.run_ids.get(record.trial_id)}){epoch}: {config_summary(record.config)}", soft_wrap=True)
    for record in front:
        if record.metrics.get("bit_mismatches"):
            console.print(f"  UNTRUSTED trial {record.trial_id}: {int(record.metrics['bit_mismatches'])} firmware outputs differ from Keras")
    for record in failed:
        console.print(f"  failed trial {record.trial_id}: {record.error}", soft_wrap=True)
    console.print(
        f"MLflow: {client.tracking_uri} (experiment {name!r}, id {tracker.experiment_id}; parent run {tracker.parent_run_id})\n"
        f"Trial folders and checkpoints: {settings.path}\n"
        f"Browse: mlflow ui --backend-store-uri {client.tracking_uri} --host 127.0.0.1",
        soft_wrap=True,
    )
    return SearchOutcome(name, records, front, unfinished, tracker.parent_run_id, tracker.experiment_id, client.tracking_uri, again, failed)
