"""A search's preparation: everything that can be checked before any trial runs (the
space, the flags, a resume's state, the machine, the data, a user's model), so that bad
input is refused in one line before Ray, MLflow or a storage folder is touched. The
search's start (`run.run_search`) and `validate` both begin here."""

from __future__ import annotations

import os
import re
import time
from typing import Any, NamedTuple

from .. import storage
from ..errors import UsageError


class Prepared(NamedTuple):
    """What `prepare` returns (a tuple: `space, name, root, data, state, data_fp, notes = prepare(...)`)."""

    #: the resolved `SearchSpace`
    space: Any
    #: the search's name
    name: str
    #: the storage root
    root: str
    #: the `Splits`
    data: Any
    #: the saved state of a resumed search, else None
    state: dict[str, Any] | None
    #: the sha256 of in-memory data, else None
    data_fingerprint: str | None
    #: what loading the data and checking the model noted
    notes: tuple


def resolve_space(space: Any, data: str | os.PathLike | None = None, data_in_memory: bool = False):
    """A search's `space` (built-in name, YAML path, dict or `SearchSpace`) as a validated
    `SearchSpace`; `data`, a path, replaces its dataset.path (the `--data` flag).
    `data_in_memory`: the data comes as arrays, the dataset section only sets the split."""
    from ..space import SearchSpace, load_space, parse_space, with_data_path
    from ..space.parse import _with_data_flag

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


def python_model(model) -> dict[str, Any]:
    """The model section's entries that are Python objects (a builder function, a keras.Model)."""
    out: dict[str, Any] = {}
    if model.family == "builder" and not isinstance(model.builder, str):
        out["builder"] = model.builder
    if model.family == "file" and not isinstance(model.path, str):
        out["path"] = model.path
    return out


def prepare(request) -> Prepared:
    """Everything that can be checked before any trial runs: space, flags, data, storage.

    Returns (space, name, root, data, state, data_fingerprint, notes): the resolved space,
    the search's name, the storage root, the `Splits`, the saved state of a resumed search
    (else None), the sha256 of in-memory data (else None), and what loading noted."""
    from ..constraints import mixed_designs
    from ..data import is_in_memory
    from ..tracking import check_tracking_uri

    root = storage.storage_root(request.storage or os.environ.get(storage.STORAGE_ENV))
    storage.check_storage(root, request.opt("storage"))
    if request.tracking_uri or not request.resume:
        check_tracking_uri(request.tracking_uri, request.opt("tracking_uri"))
    memory = is_in_memory(request.data)
    if request.resume:
        space, name, state = _resumed(request, root, memory)
    else:
        space, name = _new(request, root, memory)
        state = None
    _check_machine(request, space)
    data, data_fp = _load_data(request, space, memory, name, state)
    notes: list[str] = [line for line in [mixed_designs(space.constraints)] if line]
    space = _check_model(space, data, notes)
    space = _with_floor(space, data, notes)
    return Prepared(space, name, root, data, state, data_fp, tuple(notes))


def _resumed(request, root: str, memory: bool):
    """A resumed search's (space, name, state): the options it may not change refused, the
    space read back from its state file (a Python model given again from the API), the
    in-memory data and the files it read checked for what was given at its start."""
    from ..options import SEARCH_OPTIONS
    from ..space import parse_space
    from ..tracking import check_tracking_uri

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
        objects = python_model(again.model)
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
    from ..fingerprints import changed_file

    changed = changed_file(state.get("files") or {})
    if changed:
        raise UsageError(f"{changed}; the search {name!r} cannot be resumed with it: put the file back as it was, or start a new search")
    if not request.tracking_uri:
        check_tracking_uri(storage.stored_tracking_uri(state, name, request.opt('tracking_uri')), request.opt("tracking_uri"))
    return space, name, state


def _new(request, root: str, memory: bool):
    """A new search's (space, name): the space resolved with the request's overrides, the
    name checked (a folder's: its characters, its length, not taken)."""
    from ..redact import redact

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
    return space, name


def _check_machine(request, space) -> None:
    """This machine for the space: the driver's Keras backend set, a GPU where the trials
    ask for one (on a local Ray), the synthesis step's tools on PATH."""
    from ..backend import driver_backend
    from ..hardware.synthesis import ToolMissing, check_tools

    driver_backend(space.search.backend)  # before the driver loads Keras (a user's model, the front's estimates)
    if space.search.gpus_per_trial and not (request.address or os.environ.get("RAY_ADDRESS")):
        from ..backend import local_gpus

        if not local_gpus():
            raise UsageError(
                f"{request.opt('gpus_per_trial')} {space.search.gpus_per_trial:g}: this machine has no GPU (no NVIDIA driver lists one); "
                f"drop it, or run on a cluster with GPUs ({request.opt('address')})"
            )
    try:
        check_tools(space.hardware)  # e.g. synthesis: vivado without Vivado on PATH
    except ToolMissing as exc:
        raise UsageError(str(exc)) from None


def _load_data(request, space, memory: bool, name: str, state: dict[str, Any] | None):
    """The search's (`Splits`, sha256 of in-memory data or None): the arrays the API gave
    (a resume's checked against those it started with), else the space's dataset."""
    from ..data import fingerprint, from_memory, load_dataset

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
    return data, data_fp


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

    from ..space import check_input_shape

    if space.model.input_shape is None:
        space = replace(space, model=replace(space.model, input_shape=tuple(data.input_shape)))
        check_input_shape(space.model, space.source)
    elif data.input_shape != tuple(space.model.input_shape):
        raise UsageError(
            f"{space.source}: model.input_shape {list(space.model.input_shape)} does not match the data's {list(data.input_shape)}"
        )
    if space.model.is_user:
        from ..models import check_model

        try:
            model_notes = check_model(space.model, space.first_params(), data.input_shape, data.n_outputs)
        except UsageError as exc:
            raise UsageError(f"{space.source}: {exc}") from None
        if notes is not None:
            notes += model_notes
    return space
