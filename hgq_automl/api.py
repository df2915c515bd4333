"""The Python API: `load_space`, `search` and `open_search`, for notebooks and scripts.

`search` runs exactly what `python -m hgq_automl search` runs (the command line calls
`run_request` below with the same options) and returns a `SearchResult` instead of
printing the Pareto table. Bad input raises `UsageError` (a `ValueError`), or its subclass
`SpaceError` for a bad search space, with the one-line message the CLI prints.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .errors import UsageError
from .result import SearchResult, open_result
from .driver import SearchInterrupted, SearchRequest

__all__ = ["load_space", "search", "open_search", "run_request"]


def load_space(space: Any = "digits_cnn"):
    """Load and validate a search space, as `python -m hgq_automl search --space` does.

    Args:
        space: a built-in name (`digits_cnn`, `mnist_cnn`, `tabular_mlp`, ...), the path of a
            YAML file, a dict with the YAML's structure, or a `SearchSpace` (returned as is).
            A dict's `model.builder` may be a function `build(params, input_shape, n_outputs)`
            and its `model.path` a `keras.Model`.

    Returns:
        The validated `SearchSpace`.

    Raises:
        SpaceError: the space is invalid (the message names the file or `<space>`, the key
            and the problem).
    """
    from .driver import resolve_space

    return resolve_space(space)


def _positive_int(value: Any, name: str, minimum: int = 1) -> int | None:
    from .options import MAX_COUNT

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise UsageError(f"{name}: must be {kind}; got {value!r}")
    if value > MAX_COUNT:
        raise UsageError(f"{name}: must be at most {MAX_COUNT}; got {value if value < 2**64 else f'{len(str(value))} digits'}")
    return value


def _progress_mode(progress: Any) -> str | None:
    if progress is True:
        from .progress import in_notebook

        return "bar" if in_notebook() else "lines"
    if progress is False or progress is None:
        return None
    if progress in ("bar", "lines"):
        return progress
    raise UsageError(f"progress: must be True, False, 'bar' or 'lines'; got {progress!r}")


def search(
    space: Any,
    *,
    data: Any = None,
    trials: int | None = None,
    concurrency: int | None = None,
    sampler: str | None = None,
    backend: str | None = None,
    gpus_per_trial: float | None = None,
    seed: int | None = None,
    name: str | None = None,
    tracking_uri: str | None = None,
    storage: str | None = None,
    time_budget_s: float | None = None,
    harvest: bool | None = None,
    synthesis: str | None = None,
    part: str | None = None,
    address: str | None = None,
    cpus: int | None = None,
    max_failures: int = 0,
    resume: bool = False,
    progress: bool | str = True,
    time_budget: float | None = None,
) -> SearchResult:
    """Run a multi-objective search (Ray Tune + Optuna), log it to MLflow, return its result.

    The same search as `python -m hgq_automl search`; None means "as the space says".

    Args:
{ARGS}

    Returns:
        A `SearchResult` (`.front`, `.points`, `.to_dataframe()`, `.plot()`, `.load_model()`,
        `.export()`). After an interrupt Ray Tune caught, `.unfinished` counts the trials
        left and `.resume_command` says how to continue.

    Raises:
        SpaceError: the space (or an override of its settings) is invalid.
        UsageError: another argument, the data or the tracking store is unusable; nothing ran.
        KeyboardInterrupt: interrupted outside Ray Tune; the search is left resumable.
    """
    if time_budget is not None:  # the old name (options.Option.old_api)
        import warnings

        if time_budget_s is not None:
            raise UsageError("time_budget is the old name of time_budget_s; give time_budget_s only")
        warnings.warn("search(time_budget=...) is deprecated; use time_budget_s=... (seconds)", DeprecationWarning, stacklevel=2)
        time_budget_s = time_budget
    if not isinstance(resume, bool):
        raise UsageError(f"resume: must be True or False; got {resume!r}")
    if resume and not name:
        raise UsageError("resume=True continues the search named by name=; give name")
    if harvest is not None and not isinstance(harvest, bool):
        raise UsageError(f"harvest: must be True, False or None; got {harvest!r}")
    for option, value in (("tracking_uri", tracking_uri), ("storage", storage), ("name", name), ("address", address), ("sampler", sampler), ("backend", backend), ("synthesis", synthesis), ("part", part)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise UsageError(f"{option}: must be text; got {value!r}")
    request = SearchRequest(
        space=space,
        data=data,
        trials=trials,
        concurrency=concurrency,
        sampler=sampler,
        backend=backend,
        gpus_per_trial=gpus_per_trial,
        seed=seed,
        name=None if resume else name,
        tracking_uri=None if tracking_uri is None else str(tracking_uri),
        storage=None if storage is None else str(storage),
        resume=name if resume else None,
        address=address,
        cpus=_positive_int(cpus, "cpus"),
        max_failures=_positive_int(max_failures, "max_failures", minimum=0),
        synthesis=synthesis,
        part=part,
        harvest=harvest,
        time_budget_s=time_budget_s,
        api=True,
    )
    return run_request(request, progress=_progress_mode(progress))


def _document_search() -> None:
    """`search`'s Args, from the one table of search options (`options.SEARCH_OPTIONS`)."""
    from .options import api_args_doc

    search.__doc__ = search.__doc__.replace("{ARGS}", api_args_doc())


_document_search()


def run_request(request: SearchRequest, progress: str | None = "lines", console=None, show_front: bool = False) -> SearchResult:
    """Run the search `request` describes (what `search` and the CLI's `search` both do).

    Args:
        request: the options.
        progress: "lines", "bar" or None (see `search.run_search`).
        console: where the Pareto table goes when `show_front` (the CLI prints it).
        show_front: print the Pareto table and the members' configs.

    Returns:
        The `SearchResult`. An interrupt outside Ray Tune raises `SearchInterrupted` (a
        KeyboardInterrupt carrying the resume command).
    """
    from .driver import run_search

    try:
        outcome = run_search(request, console=console, progress=progress, show_front=show_front)
    except SearchInterrupted as exc:
        if request.api and progress:
            print(f"hgq_automl: interrupted; resume with: {exc.resume_command}", file=sys.stderr, flush=True)
        raise
    if request.api and progress and outcome.unfinished:
        print(f"hgq_automl: {unfinished_line(outcome)}", file=sys.stderr, flush=True)
    return SearchResult.from_outcome(outcome)


def unfinished_line(outcome, terminated: bool = False) -> str:
    """What a search that ended with unfinished trials tells its user: why (an interrupt,
    or a full disk) and how to continue it."""
    if outcome.stopped_by:
        return f"{outcome.stopped_by}: {outcome.unfinished} trial(s) did not finish; free space, then resume with: {outcome.resume_command}"
    return f"{'terminated' if terminated else 'interrupted'}: {outcome.unfinished} trial(s) did not finish; resume with: {outcome.resume_command}"


def open_search(name: str | list[str] | None = None, tracking_uri: str | None = None, *, objectives=None) -> SearchResult:
    """A search read back from MLflow (what `python -m hgq_automl report` reads).

    Args:
        name: the search's name (its MLflow experiment); None for the latest search in the
            store; a list of names for one result over all their points (trial ids
            prefixed `NAME/`, the front computed over them; no `.space` or `.data`).
        tracking_uri: MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else ./mlflow.db).
        objectives: ((metric, "max" | "min"), ...) to compute the front with instead of
            the search's own.

    Returns:
        Its `SearchResult`: the points and front as logged (the front recomputed with the
        objectives and the search's constraints).

    Raises:
        UsageError: no such experiment, or it holds no hgq_automl search.
    """
    if objectives is not None:
        from .metrics import parse_objectives

        objectives = parse_objectives([o if isinstance(o, str) else ":".join(o) for o in objectives], label="objectives")
    return open_result(name, tracking_uri, objectives)
