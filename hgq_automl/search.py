"""`hgq_automl search`: wires the space, the data, Ray Tune, MLflow and the console together."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

#: Where Ray Tune keeps a search's trial folders and checkpoints, unless --storage says.
DEFAULT_STORAGE = "hgq_automl_results"


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
    synthesis: str | None = None
    part: str | None = None


@dataclass
class SearchOutcome:
    name: str
    records: list
    front: list
    unfinished: int
    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    storage: Path


def prepare(request: SearchRequest):
    """Everything that can be checked before any trial runs: space, flags, data, storage."""
    from .space import load_space

    space = load_space(request.space, data=request.data).with_overrides(
        trials=request.trials,
        concurrency=request.concurrency,
        sampler=request.sampler,
        seed=request.seed,
        synthesis=request.synthesis,
        part=request.part,
    )
    from .hardware.synthesis import ToolMissing, check_tools

    try:
        check_tools(space.hardware)
    except ToolMissing as exc:
        raise UsageError(str(exc)) from None
    name = request.name or f"{space.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not re.fullmatch(r"[\w.-]+", name):
        raise UsageError(f"--name must be letters, digits, '_', '-' or '.'; got {name!r}")
    storage = Path(request.storage or DEFAULT_STORAGE).expanduser().resolve()
    if (storage / name).exists():
        raise UsageError(f"a search named {name!r} already exists in {storage}; choose another --name")

    from .data import load_dataset

    data = load_dataset(space.dataset)
    if data.input_shape != tuple(space.model.input_shape):
        raise UsageError(
            f"{space.source}: model.input_shape {list(space.model.input_shape)} does not match the data's {list(data.input_shape)}"
        )
    return space, name, storage, data


def run_search(request: SearchRequest, console=None) -> SearchOutcome:
    """Run a whole search and log it; print the Pareto set on `console` (a rich Console)."""
    from rich.console import Console

    from .constraints import feasible
    from .pareto import pareto_front
    from .progress import ConsoleProgress
    from .raytune import RunSettings, run_trials
    from .report import config_summary, front_table
    from .tracking import SearchTracker, connect

    # a file or a pipe gets a wide table rather than rich's 80 columns
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    space, name, storage, data = prepare(request)
    seed = space.search.seed
    client = connect(request.tracking_uri)
    settings = {
        "trials": space.search.trials,
        "concurrency": space.search.concurrency,
        "sampler": space.search.sampler,
        "seed": seed,
        "dataset": space.dataset.name,
        "storage": str(storage / name),
        "synthesis": space.hardware.synthesis,
        "part": space.hardware.part,
        "clock_period_ns": space.hardware.clock_period_ns,
        "constraints": "; ".join(map(str, space.constraints)) or None,
    }
    tracker = SearchTracker(client, name, name, space, settings)
    sizes = data.sizes()
    print(
        f"search {name}: space {space.name} ({space.source}), {space.search.trials} trials, "
        f"{space.search.concurrency} at a time, sampler {space.search.sampler}, seed {seed}\n"
        f"  data: {space.dataset.name}, {sizes['train']} train / {sizes['val']} val / {sizes['test']} test samples\n"
        f"  objectives: {', '.join(f'{m} ({d})' for m, d in space.objectives)}"
        f"{'; constraints: ' + ', '.join(map(str, space.constraints)) if space.constraints else ''}\n"
        f"  hardware: synthesis {space.hardware.synthesis}, part {space.hardware.part}, clock {space.hardware.clock_period_ns:g} ns\n"
        f"  MLflow: {client.tracking_uri}, experiment {name!r}, parent run {tracker.parent_run_id}",
        file=sys.stderr,
        flush=True,
    )
    try:
        records, unfinished = run_trials(
            space, data, RunSettings(name=name, storage=storage, seed=seed), [ConsoleProgress(space), tracker]
        )
        completed = [r for r in records if r.ok]
        front = pareto_front(completed, space.objectives, lambda r: r.metrics, space.constraints)
        tracker.finish(records, front, unfinished)
    except BaseException:
        tracker.abort()
        raise

    failed = [r for r in records if not r.ok]
    infeasible = sum(not feasible(space.constraints, r.metrics) for r in completed)
    title = f"Pareto set of {name}: {len(front)} of {len(completed)} completed trials ({len(failed)} failed"
    title += f", {infeasible} infeasible)" if space.constraints else ")"
    console.print(front_table(front, space.objective_names(), title=title))
    for record in front:
        console.print(f"  trial {record.trial_id} (MLflow run {tracker.run_ids.get(record.trial_id)}): {config_summary(record.config)}", soft_wrap=True)
    for record in front:
        if record.metrics.get("bit_mismatches"):
            console.print(f"  UNTRUSTED trial {record.trial_id}: {int(record.metrics['bit_mismatches'])} firmware outputs differ from Keras")
    for record in failed:
        console.print(f"  failed trial {record.trial_id}: {record.error}")
    console.print(
        f"MLflow: {client.tracking_uri} (experiment {name!r}, id {tracker.experiment_id}; parent run {tracker.parent_run_id})\n"
        f"Trial folders and checkpoints: {storage / name}\n"
        f"Browse: mlflow ui --backend-store-uri {client.tracking_uri} --host 127.0.0.1"
    )
    return SearchOutcome(name, records, front, unfinished, tracker.parent_run_id, tracker.experiment_id, client.tracking_uri, storage)
