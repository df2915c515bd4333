"""What a search prints on the console: its settings as it starts (stderr), and at its end
the Pareto set (a table with the members' configs, the untrusted and unchecked members,
the failed trials, where MLflow and the trial folders are). Text only; the search's
numbers come from `run.run_search`."""

from __future__ import annotations

import sys


def settings_text(prepared, settings, client, tracker) -> str:
    """The lines that open a search on stderr: its name and settings, the data, the notes,
    objectives and constraints, the hardware, where MLflow and its results are."""
    from ..redact import redact

    space, name, data, state, data_fp = prepared.space, prepared.name, prepared.data, prepared.state, prepared.data_fingerprint
    seed = space.search.seed
    sizes = data.sizes()
    return (
        f"search {name}{(' (resumed)' if settings.resume else ' (resumed: it was stopped before its first save, its trials start anew)') if state else ''}: space {space.name} ({space.source}), {space.search.trials} trials, "
        f"{space.search.concurrency} at a time, sampler {space.search.sampler}, seed {seed}, backend {space.search.backend}\n"
        f"  data: {space.dataset.name if data_fp is None else 'in-memory arrays'}, {sizes['train']} train / {sizes['val']} val / {sizes['test']} test samples; "
        f"task {space.task.kind}" + (f" ({space.task.loss} loss, {data.n_outputs} targets)" if space.task.regression else f" ({data.n_outputs} classes)") + "\n"
        + "".join(f"  note: {note}\n" for note in data.notes)
        + "".join(f"  note: {note}\n" for note in prepared.notes)
        + f"  objectives: {', '.join(f'{m} ({d})' for m, d in space.objectives)}"
        + (f"; constraints: {', '.join(map(str, space.constraints))}" if space.constraints else "")
        + (f"; early stopping: {space.early_stopping.scheduler} on score = " + " + ".join(f"{w:g}*{m}" for m, w in space.early_stopping.score) if space.early_stopping else "")
        + (f"; harvesting up to {space.harvest.max_points} non-dominated epochs per trial (beta ramps)" if space.harvest else "")
        + (f"; time budget {space.search.time_budget_s:g} s" if space.search.time_budget_s else "")
        + f"\n  hardware: synthesis {space.hardware.synthesis}, part {space.hardware.part}, clock {space.hardware.clock_period_ns:g} ns"
        + f"\n  MLflow: {redact(client.tracking_uri)}, experiment {name!r}, parent run {tracker.parent_run_id}\n  results: {redact(settings.path)}"
    )


def print_front(outcome, run_ids, console=None) -> None:
    """The Pareto set of a finished search (`SearchOutcome`) on `console` (a rich Console;
    default: stdout, wide when not a terminal): the table titled with what the search
    counted, each member's MLflow run (`run_ids`: the tracker's, trial id -> run id) and
    config, the members whose firmware is untrusted or unchecked, the failed trials, where
    to browse it."""
    from rich.console import Console

    from ..report import config_summary, front_table
    from ..redact import redact

    space, front, failed = outcome.space, outcome.front, outcome.failed
    # a file or a pipe gets a wide table rather than rich's 80 columns
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    console.print(front_table(front, space.objective_names(), title=_title(outcome), ascii_only=not console.is_terminal))
    # trials the time budget left no time to start: said, so that a --trials given is not silently cut
    not_started = max(0, space.search.trials - len(outcome.records) - outcome.unfinished) if space.search.time_budget_s else 0
    if not_started:
        console.print(f"  {not_started} of {space.search.trials} trials not started: the time budget ({space.search.time_budget_s:g} s) ended first", soft_wrap=True)
    for record in front:
        epoch = f" at epoch {int(record.metrics['harvest_epoch'])}" if record.harvested_from else ""
        console.print(f"  trial {record.trial_id} (MLflow run {run_ids.get(record.trial_id)}){epoch}: {config_summary(record.config)}", soft_wrap=True)
    _print_trust(console, front, space)
    for record in failed:
        console.print(f"  failed trial {record.trial_id}: {record.error}", soft_wrap=True)
    console.print(
        f"MLflow: {redact(outcome.tracking_uri)} (experiment {outcome.name!r}, id {outcome.experiment_id}; parent run {outcome.parent_run_id})\n"
        f"Trial folders and checkpoints: {redact(outcome.storage_path)}\n"
        f"Browse: mlflow ui --backend-store-uri {redact(outcome.tracking_uri)} --host 127.0.0.1",
        soft_wrap=True,
    )


def _title(outcome) -> str:
    """The front table's title: its size among the points the search had, and how many
    trials failed, stopped early, were cut or paced by the time budget, infeasible, unfinished."""
    from ..constraints import feasible
    from ..events import budget_ending

    space, records, unfinished = outcome.space, outcome.records, outcome.unfinished
    completed = [r for r in records if r.ok]
    stopped = [r for r in records if r.status == "stopped"]
    infeasible = sum(not feasible(space.constraints, r.metrics) for r in completed)
    harvested = sum(len(r.harvested) for r in completed)
    endings = [budget_ending(space.resolve(r.config), r.metrics) for r in completed]
    cut, paced = endings.count("cut"), endings.count("paced")
    candidates = f"{len(completed) + harvested} points ({len(completed)} completed trials + {harvested} harvested epochs)" if space.harvest else f"{len(completed)} completed trials"
    return (
        f"Pareto set of {outcome.name}: {len(outcome.front)} of {candidates} "
        f"({len(outcome.failed)} failed{f', {len(stopped)} stopped early' if stopped else ''}{f', {cut} cut short by the time budget' if cut else ''}{f', {paced} ramps paced by the time budget' if paced else ''}"
        f"{f', {infeasible} infeasible' if space.constraints else ''}{f', {unfinished} unfinished' if unfinished else ''})"
    )


def _print_trust(console, front, space) -> None:
    """The front's members whose firmware differs from Keras (UNTRUSTED), or whose synthesis
    step failed (UNCHECKED)."""
    from ..metrics import NOTE_PREFIX

    for record in front:
        if record.metrics.get("bit_mismatches"):
            console.print(f"  UNTRUSTED trial {record.trial_id}: {int(record.metrics['bit_mismatches'])} firmware outputs differ from Keras")
        elif space.hardware.synthesis != "none" and "bit_mismatches" not in record.metrics:
            why = record.metrics.get(f"{NOTE_PREFIX}finish_error", "not simulated")
            console.print(f"  UNCHECKED trial {record.trial_id}: its synthesis step failed ({why})", soft_wrap=True)
