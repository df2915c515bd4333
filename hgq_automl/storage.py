"""A search's folder, `STORAGE/NAME/`: where it lives (a local path or a URI), its state
file (what a resume needs), the claim and lock that keep one process on it, the driver
file, the tracking queue and `sync`, and the command that resumes it.

Ray Tune keeps its experiment state and a folder per trial there too; `layout.py` names
the files.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError, first_line
from .layout import DRIVER_FILE, STATE_FILE

if TYPE_CHECKING:
    from .driver import SearchRequest

#: Where Ray Tune keeps a search's trial folders and checkpoints, unless --storage says.
DEFAULT_STORAGE = "hgq_automl_results"
#: The storage of a search when no --storage is given: how `submit` passes a storage URI
#: holding credentials to a Ray Job without writing them into its command line.
STORAGE_ENV = "HGQ_AUTOML_STORAGE"


def storage_root(storage: str | None) -> str:
    """An absolute local path, or a URI (s3://, gs://, ...) left for Ray and pyarrow."""
    storage = storage or DEFAULT_STORAGE
    if "://" in storage and not storage.startswith("file://"):
        return storage.rstrip("/")
    return str(Path(storage.removeprefix("file://")).expanduser().resolve())


def filesystem(root: str):
    import pyarrow.fs as pafs

    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), root


def exists(root: str, name: str) -> bool:
    import pyarrow.fs as pafs

    fs, base = filesystem(root)
    return fs.get_file_info(f"{base}/{name}").type != pafs.FileType.NotFound


def mark_driver(root: str, name: str) -> None:
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


def write_state(root: str, name: str, state: dict[str, Any]) -> None:
    """Write the state file whole or not at all: locally a temporary file in the same
    folder, fsync'd, renamed over it (`os.replace`), then the folder fsync'd; an object
    store writes an object whole by itself."""
    text = json.dumps(state, indent=2).encode()
    if "://" in root:
        fs, base = filesystem(root)
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


def read_state(root: str, name: str) -> dict[str, Any]:
    from .redact import redact

    fs, base = filesystem(root)
    where = f"{redact(root)}/{name}/{STATE_FILE}"
    try:
        with fs.open_input_stream(f"{base}/{name}/{STATE_FILE}") as f:
            raw = f.read()
    except (FileNotFoundError, OSError):
        if setup_interrupted(root, name):
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


def check_storage(root: str, flag: str) -> None:
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


def name_exists(name: str, root: str, request: SearchRequest) -> UsageError:
    return UsageError(
        f"a search named {name!r} already exists in {root}; continue it with `{resume_command(name, root, api=request.api)}`, "
        f"or choose another {request.opt('name')}"
    )


def setup_interrupted(root: str, name: str) -> bool:
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


def claim(root: str, name: str, request: SearchRequest) -> tuple[bool, FolderLock | None, bool]:
    """Make the new search's folder STORAGE/NAME and lock it; the one of two searches started
    at once with the same storage that makes it proceeds (mkdir is atomic), the other gets
    the "already exists" error. A folder left by a start stopped before its state file
    (`setup_interrupted`) is taken over. Returns (local, lock, taken over)."""
    if "://" in root:  # an object store: no atomic folder, the tracking store decides
        return False, None, False
    taken_over = False
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
        (Path(root) / name).mkdir()
    except FileExistsError:
        if not setup_interrupted(root, name):
            raise name_exists(name, root, request) from None
        taken_over = True
    except OSError as exc:
        raise UsageError(f"{request.opt('storage')}: cannot create the search's folder in {root}: {exc.strerror or exc}") from None
    try:
        lock = lock_folder(root, name)
    except UsageError:  # another start took the folder over between our mkdir and our lock
        raise name_exists(name, root, request) from None
    if taken_over and (Path(root) / name / STATE_FILE).exists():  # another start got it first
        release(lock)
        raise name_exists(name, root, request)
    return True, lock, taken_over


class FolderLock:
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


def lock_folder(root: str, name: str) -> FolderLock | None:
    if "://" in root or not (Path(root) / name).is_dir():
        return None
    try:
        return FolderLock(Path(root) / name, name)
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


def replay(client, root: str, name: str) -> tuple[int, int]:
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
    check_storage(root, "--storage")
    state = read_state(root, name)
    uri = tracking_uri or stored_tracking_uri(state, name, "--tracking-uri (or $MLFLOW_TRACKING_URI)")
    lock = lock_folder(root, name)
    try:
        try:
            client = connect(uri)
        except UsageError as exc:
            from .outbox import Outbox

            left = Outbox(None, queue_dir(root, name)).pending()
            raise UsageError(f"{exc}; the {left} tracking writes queued for {name!r} are kept: run `{sync_command(name, root)}` when it answers") from None
        return replay(client, root, name)
    finally:
        release(lock)


def resume_command(name: str, root: str, address: str | None = None, api: bool = False) -> str:
    """What continues the search: a command line, or (api) a call of `hgq_automl.search`."""
    from .redact import redact

    root = redact(root)
    if api:
        return f"hgq_automl.search(space, name={name!r}, storage={root!r}, resume=True{f', address={address!r}' if address else ''})"
    cmd = f"python -m hgq_automl search --resume {name} --storage {root}"
    return cmd + (f" --address {address}" if address else "")


# --------------------------------------------------------------------------- checks


def stored_tracking_uri(state: dict[str, Any], name: str, flag: str) -> str:
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


def release(lock: FolderLock | None) -> None:
    if lock is not None:
        lock.release()
