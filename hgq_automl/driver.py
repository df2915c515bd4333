"""The search driver (`hgq_automl search` and `hgq_automl.search()`): wires the space, the data, Ray Tune, MLflow and the console together.

A search lives in `STORAGE/NAME/`: Ray Tune's experiment state, a folder per trial with
its checkpoint, and `hgq_automl.json` — what a resume needs to continue the same search
(the resolved space, the seed, the MLflow store and parent run).
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

from .errors import UsageError, first_line
from .layout import DRIVER_FILE, STATE_FILE

#: Where Ray Tune keeps a search's trial folders and checkpoints, unless --storage says.
DEFAULT_STORAGE = "hgq_automl_results"
#: The storage of a search when no --storage is given: how `submit` passes a storage URI
#: holding credentials to a Ray Job without writing them into its command line.
STORAGE_ENV = "HGQ_AUTOML_STORAGE"


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


def _since_process_start() -> float:
    """Seconds since this process started (the interpreter's start-up and imports, when
    called as a search begins); 0 when the OS does not say."""
    try:
        import psutil  # Ray's dependency

        return max(0.0, time.time() - psutil.Process().create_time())
    except Exception:  # noqa: BLE001 - a measurement only
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


def _mark_driver(root: str, name: str) -> None:
    """Write DRIVER_FILE (this process's pid and the time) in a local search's folder: its
    set-up is done. Atomic (write, rename); best effort: nothing depends on it but watchers."""
    if "://" in root:
        return
    folder = Path(root) / name
    tmp = folder / f".{DRIVER_FILE}.tmp"
    try:
        tmp.write_text(json.dumps({"pid": os.getpid(), "started": time.time()}))
        os.replace(tmp, folder / DRIVER_FILE)
    except OSError:
        pass


def _write_state(root: str, name: str, state: dict[str, Any]) -> None:
    """Write the state file whole or not at all: locally a temporary file in the same
    folder, fsync'd, renamed over it (`os.replace`), then the folder fsync'd; an object
    store writes an object whole by itself."""
    text = json.dumps(state, indent=2).encode()
    if "://" in root:
        fs, base = _fs(root)
        fs.create_dir(f"{base}/{name}", recursive=True)
        with fs.open_output_stream(f"{base}/{name}/{STATE_FILE}") as out:
            out.write(text)
        return
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{STATE_FILE}.tmp"
    try:
        with open(tmp, "wb") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / STATE_FILE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: What a state file must hold (`run_search` writes them).
_STATE_KEYS = ("space", "source", "tracking_uri", "parent_run_id")


def _read_state(root: str, name: str) -> dict[str, Any]:
    from .redact import redact

    fs, base = _fs(root)
    where = f"{redact(root)}/{name}/{STATE_FILE}"
    try:
        with fs.open_input_stream(f"{base}/{name}/{STATE_FILE}") as f:
            raw = f.read()
    except (FileNotFoundError, OSError):
        if _setup_interrupted(root, name):
            raise UsageError(
                f"the search {name!r} in {redact(root)} was stopped before its set-up ended (no {STATE_FILE}): nothing of it was kept; "
                f"start it again with the same name"
            ) from None
        raise UsageError(f"no search named {name!r} to resume in {redact(root)} (no {STATE_FILE} there)") from None
    try:
        state = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{where}: corrupt state file, not JSON ({type(exc).__name__}: {first_line(exc)}); the search cannot be resumed") from None
    missing = [key for key in _STATE_KEYS if not isinstance(state, dict) or key not in state]
    if missing or not isinstance(state["space"], dict):
        raise UsageError(f"{where}: corrupt state file (no {', '.join(missing) or 'space mapping'}); the search cannot be resumed")
    return state


#: the URI schemes Ray Tune's storage (pyarrow's and fsspec's file systems) reads
STORAGE_SCHEMES = ("s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss", "az", "memory")
#: a search's name is a folder's and an MLflow experiment's: under a file name's 255 bytes,
#: with room for what is added to it
MAX_NAME = 200


def _check_storage(root: str, flag: str) -> None:
    """A local storage root must be a folder, or a path that can become one; a URI one of
    a scheme Ray Tune reads."""
    if "://" in root:
        from .redact import redact

        scheme = root.split("://", 1)[0].lower()
        if scheme not in STORAGE_SCHEMES:
            raise UsageError(f"{flag} {redact(root)}: unknown scheme {scheme!r}; a storage is a folder or a URI of {', '.join(f'{s}://' for s in STORAGE_SCHEMES)}")
        return
    path = Path(root)
    while not path.exists() and path.parent != path:
        path = path.parent
    if not path.is_dir():
        raise UsageError(f"{flag} {root}: {path} is a file, not a folder")


LOCK_FILE = ".hgq_automl.lock"


def _name_exists(name: str, root: str, request: SearchRequest) -> UsageError:
    return UsageError(
        f"a search named {name!r} already exists in {root}; continue it with `{resume_command(name, root, api=request.api)}`, "
        f"or choose another {request.opt('name')}"
    )


def _setup_interrupted(root: str, name: str) -> bool:
    """STORAGE/NAME is what a start stopped (SIGKILL, power loss) before it wrote its state
    file left: a local folder without a state file that no process holds (locks)."""
    import fcntl

    folder = Path(root) / name
    if "://" in root or not folder.is_dir() or (folder / STATE_FILE).exists():
        return False
    try:
        with open(folder / LOCK_FILE, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # dropped on close
    except OSError:  # locked by a start under way, or not ours to write
        return False
    return not (folder / STATE_FILE).exists()


def _claim(root: str, name: str, request: SearchRequest) -> tuple[bool, _FolderLock | None, bool]:
    """Make the new search's folder STORAGE/NAME and lock it; the one of two searches started
    at once with the same storage that makes it proceeds (mkdir is atomic), the other gets
    the "already exists" error. A folder left by a start stopped before its state file
    (`_setup_interrupted`) is taken over. Returns (local, lock, taken over)."""
    if "://" in root:  # an object store: no atomic folder, the tracking store decides
        return False, None, False
    taken_over = False
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
        (Path(root) / name).mkdir()
    except FileExistsError:
        if not _setup_interrupted(root, name):
            raise _name_exists(name, root, request) from None
        taken_over = True
    except OSError as exc:
        raise UsageError(f"{request.opt('storage')}: cannot create the search's folder in {root}: {exc.strerror or exc}") from None
    try:
        lock = _lock(root, name)
    except UsageError:  # another start took the folder over between our mkdir and our lock
        raise _name_exists(name, root, request) from None
    if taken_over and (Path(root) / name / STATE_FILE).exists():  # another start got it first
        _release(lock)
        raise _name_exists(name, root, request)
    return True, lock, taken_over


class _FolderLock:
    """An exclusive `fcntl` lock on STORAGE/NAME/.hgq_automl.lock, held while the search
    runs: a second process on the same search (a resume, or a search started at the same
    moment) is refused instead of writing the same state."""

    def __init__(self, path: Path, name: str):
        import fcntl

        self.file = open(path / LOCK_FILE, "a")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise UsageError(f"the search {name!r} is running in another process ({path} is locked); wait for it or stop it first") from None

    def release(self) -> None:
        self.file.close()  # closing drops the lock


def _lock(root: str, name: str) -> _FolderLock | None:
    if "://" in root or not (Path(root) / name).is_dir():
        return None
    try:
        return _FolderLock(Path(root) / name, name)
    except PermissionError:  # a read-only copy of a search can still be read; it just is not locked
        return None


def queue_dir(root: str, name: str) -> Path:
    """Where a search queues its tracking while the store does not answer (`outbox`):
    in its folder, or for an object store in a local temporary folder."""
    from .outbox import QUEUE_DIR

    if "://" in root:
        import tempfile

        return Path(tempfile.gettempdir()) / "hgq_automl" / QUEUE_DIR / name
    return Path(root) / name / QUEUE_DIR


def sync_command(name: str, root: str) -> str:
    """What writes a search's queued tracking to its store (a storage's credentials as ***:
    `sync` takes them from $HGQ_AUTOML_STORAGE or --storage again)."""
    from .redact import redact

    return f"python -m hgq_automl sync {name} --storage {redact(root)}"


def _replay(client, root: str, name: str) -> tuple[int, int]:
    """Write the tracking a search queued while its store did not answer; UsageError if
    the store still does not take it (the queue is kept). Writes the store refuses for good
    one by one are set aside (`outbox`). Returns how many writes were written and how many
    set aside."""
    from .outbox import Outbox
    from .redact import redact

    outbox = Outbox(client, queue_dir(root, name))
    left = outbox.pending()
    if left and not outbox.replay():
        raise UsageError(
            f"the MLflow store {redact(client.tracking_uri)} does not take writes ({outbox.refusal}); the {outbox.pending()} tracking writes "
            f"queued in {outbox.folder} are kept: run `{sync_command(name, root)}` when it takes writes again"
        )
    return left - outbox.set_aside, outbox.set_aside


def sync(name: str, storage: str | None = None, tracking_uri: str | None = None) -> tuple[int, int]:
    """Write the tracking the search `name` queued on disk while its MLflow store did not
    answer (`python -m hgq_automl sync NAME`). The store is `tracking_uri`, else the
    search's own; when the state file holds it with its credentials as ***, they come from
    $MLFLOW_TRACKING_URI (the same store with them) or `tracking_uri` again, never as ***.
    Returns how many writes were written and how many set aside (refused for good)."""
    from .redact import is_redacted, redact
    from .tracking import connect

    root = storage_root(storage or os.environ.get(STORAGE_ENV))
    if is_redacted(root):
        raise UsageError(f"--storage {redact(root)}: its credentials are ***; give them (--storage or ${STORAGE_ENV})")
    _check_storage(root, "--storage")
    state = _read_state(root, name)
    uri = tracking_uri or _stored_tracking_uri(state, name, "--tracking-uri (or $MLFLOW_TRACKING_URI)")
    lock = _lock(root, name)
    try:
        try:
            client = connect(uri)
        except UsageError as exc:
            from .outbox import Outbox

            left = Outbox(None, queue_dir(root, name)).pending()
            raise UsageError(f"{exc}; the {left} tracking writes queued for {name!r} are kept: run `{sync_command(name, root)}` when it answers") from None
        return _replay(client, root, name)
    finally:
        _release(lock)


def resume_command(name: str, root: str, address: str | None = None, api: bool = False) -> str:
    """What continues the search: a command line, or (api) a call of `hgq_automl.search`."""
    from .redact import redact

    root = redact(root)
    if api:
        return f"hgq_automl.search(space, name={name!r}, storage={root!r}, resume=True{f', address={address!r}' if address else ''})"
    cmd = f"python -m hgq_automl search --resume {name} --storage {root}"
    return cmd + (f" --address {address}" if address else "")


# --------------------------------------------------------------------------- checks


def _stored_tracking_uri(state: dict[str, Any], name: str, flag: str) -> str:
    """The tracking URI a resumed search goes on logging to. The state file holds it with its
    credentials as *** (they are never written down): then $MLFLOW_TRACKING_URI must be the
    same store with its credentials, or the user gives it again (`flag`)."""
    from .redact import has_secret, redact

    stored = state["tracking_uri"]
    if "***" not in stored:
        return stored
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env and has_secret(env) and redact(env) == stored:
        return env
    raise UsageError(f"the search {name!r} logs to {stored}, whose credentials are not saved; give {flag} with them again")


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

    root = storage_root(request.storage or os.environ.get(STORAGE_ENV))
    _check_storage(root, request.opt("storage"))
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
        state = _read_state(root, name)
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
            check_tracking_uri(_stored_tracking_uri(state, name, request.opt('tracking_uri')), request.opt("tracking_uri"))
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
        if len(name.encode()) > MAX_NAME:
            raise UsageError(f"{request.opt('name')} must be at most {MAX_NAME} bytes (it names a folder); got {len(name.encode())}")
        if _exists(root, name) and not _setup_interrupted(root, name):
            raise UsageError(
                f"a search named {name!r} already exists in {redact(root)}; continue it with `{resume_command(name, root, api=request.api)}`, "
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


def _release(lock: _FolderLock | None) -> None:
    if lock is not None:
        lock.release()


def _start_tracked(request: SearchRequest, root: str, name: str, client, space, params: dict[str, Any], state: dict[str, Any]):
    """Set a new search up: claim STORAGE/NAME and lock it, create its MLflow experiment and
    parent run, write its state file. All or nothing: after a failure (a name taken at the
    same moment, storage not writable, disk full) no parent run stays RUNNING, the folder is
    removed and the name can be used again. Returns (tracker, lock)."""
    import shutil

    from .tracking import SearchTracker

    local, lock, taken_over = _claim(root, name, request)
    tracker = None
    try:
        if taken_over:  # the start stopped before its state file may have left its MLflow experiment
            SearchTracker.retire_interrupted(client, name, params["storage"])
        tracker = SearchTracker.start(client, name, name, space, params)
        try:
            _write_state(root, name, {**state, "experiment_id": tracker.experiment_id, "parent_run_id": tracker.parent_run_id})
        except OSError as exc:
            raise UsageError(f"cannot write the search's state to {root}/{name}/{STATE_FILE}: {exc.strerror or exc}") from None
    except BaseException:
        if tracker is not None:
            tracker.discard()
        _release(lock)
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
    import json

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
    imports = _since_process_start()
    space, name, root, data, state, data_fp, model_notes = prepare(request)
    seed = space.search.seed
    if request.cpus and (request.address or os.environ.get("RAY_ADDRESS")):
        raise UsageError(f"{request.opt('cpus')} sets the CPUs of a local Ray; it cannot be combined with a cluster ({request.opt('address')} or $RAY_ADDRESS)")
    settings = RunSettings(name=name, storage=root, seed=seed, address=request.address, cpus=request.cpus, max_failures=request.max_failures, resume=state is not None)
    lock = None
    if state is not None:
        lock = _lock(root, name)
        if not can_resume(settings.path):
            # stopped before Ray Tune's first save: nothing ran that is kept, its trials start anew
            from dataclasses import replace

            settings = replace(settings, resume=False)
        try:
            client = connect(request.tracking_uri or _stored_tracking_uri(state, name, request.opt('tracking_uri')))
            _replay(client, root, name)
            tracker = SearchTracker.attach(client, state["parent_run_id"], space, queue_dir=queue_dir(root, name))
        except BaseException:
            _release(lock)
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
        tracker.use_queue(queue_dir(root, name))
    again = resume_command(name, root, request.address, api=request.api)
    _mark_driver(root, name)
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
        phases.update(imports=imports, setup=time.perf_counter() - entered)
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
        _release(lock)
        hint = tracker.replay_hint(sync_command(name, root))
        if hint:
            print(hint, file=sys.stderr, flush=True)

    failed = [r for r in records if r.status == "failed"]
    outcome = SearchOutcome(
        name, records, front, unfinished, tracker.parent_run_id, tracker.experiment_id, client.tracking_uri, again, failed,
        run_ids={t: tracker.out.real_id(r) for t, r in tracker.run_ids.items()}, space=space, data=data, data_fingerprint=data_fp, storage_path=settings.path,
        notes=(*data.notes, *model_notes),
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
