"""`python -m hgq_automl validate SPACE` and `search --dry-run`: a search's checks, nothing started.

`validate` runs the driver's own `prepare` (the space and its overrides, the storage and
the search's name, the tracking URI's scheme, the synthesis tools, the data, the model
built once with the space's first parameters), so it accepts and refuses exactly what a
search's start does; it starts no Ray, opens no MLflow store and writes no folder.
`space_summary` is also what the MCP server's `validate_space` returns.
"""

from __future__ import annotations

from typing import Any


def space_summary(space) -> dict[str, Any]:
    """What a valid space says in a few fields (the MCP tool `validate_space` returns it)."""
    return {
        "ok": True,
        "name": space.name,
        "source": space.source,
        "trials": space.search.trials,
        "concurrency": space.search.concurrency,
        "sampler": space.search.sampler,
        "seed": space.search.seed,
        "backend": space.search.backend,
        "time_budget_s": space.search.time_budget_s,
        "task": space.task.kind,
        "objectives": [f"{m}:{d}" for m, d in space.objectives],
        "constraints": [str(c) for c in space.constraints],
        "parameters": sorted(space.parameters),
    }


def validate(request) -> dict[str, Any]:
    """Check the search `request` describes as its start does (`driver.prepare`); UsageError
    (one line) on bad input. Returns `space_summary` plus the data's sizes, the model's
    parameter count (its first config) and what the checks noted."""
    from .driver import prepare
    from .models import build_model

    space, name, root, data, state, data_fp, notes = prepare(request)
    summary = space_summary(space)
    model = build_model(space.model, space.first_params(), data.input_shape, data.n_outputs)
    summary.update(
        search_name=name,
        resume=state is not None,
        data={"dataset": space.dataset.name if data_fp is None else "in-memory arrays", **data.sizes()},
        n_outputs=data.n_outputs,
        input_shape=list(data.input_shape),
        model_family=space.model.family,
        model_parameters=int(model.count_params()),
        notes=[*data.notes, *notes],
    )
    return summary


def summary_lines(summary: dict[str, Any], started: str = "nothing was started") -> list[str]:
    """The console lines of a `validate` summary."""
    data = summary["data"]
    what = f"{summary['n_outputs']} classes" if summary["task"] == "classification" else f"{summary['n_outputs']} targets"
    lines = [
        f"space {summary['name']} ({summary['source']}): valid; search {summary['search_name']}{' (resume)' if summary['resume'] else ''}",
        f"  data: {data['dataset']}, {data['train']} train / {data['val']} val / {data['test']} test samples, input shape "
        f"{summary['input_shape']}; task {summary['task']} ({what})",
        f"  search: {summary['trials']} trials, {summary['concurrency']} at a time, sampler {summary['sampler']}, seed {summary['seed'] if summary['seed'] is not None else '(none: random)'}, "
        f"backend {summary['backend']}" + (f", time budget {summary['time_budget_s']:g} s" if summary["time_budget_s"] else ""),
        f"  objectives: {', '.join(summary['objectives'])}" + (f"; constraints: {', '.join(summary['constraints'])}" if summary["constraints"] else ""),
        f"  parameters: {', '.join(summary['parameters']) or '(none)'}",
        f"  model: {summary['model_family']}, {summary['model_parameters']} parameters (first config)",
        *(f"  note: {note}" for note in summary["notes"]),
        started,
    ]
    return lines
