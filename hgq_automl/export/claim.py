"""An export's output folder, claimed by one export at a time (`claimed_out`): a lock file
holding the exporter's pid, taken with `O_EXCL`, so that two exports started at once into
one folder (CLI, API or MCP server) never mix; a killed export's lock is taken over."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UsageError


#: in an export's --out while it writes there: the exporting process's pid
EXPORT_LOCK = ".hgq_automl_export.lock"


@contextmanager
def claimed_out(request) -> Iterator[Path]:
    """`request.out`, made this export's for as long as it writes there.

    The folder is created, then its lock file taken (`O_EXCL`: of two exports started at
    once into one folder, from the CLI, the API or the MCP server, one gets it, the other
    stops with one line), then checked to be empty apart from the lock. The lock is removed
    when the export ends; a killed export's lock names a dead process and is taken over."""
    out = Path(request.out).resolve()
    shown = f"{request.opt('out')}{'' if request.api else ' '}{request.out}"
    out.mkdir(parents=True, exist_ok=True)
    lock = out / EXPORT_LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        holder = _lock_holder(lock)
        if holder is not None:
            raise UsageError(f"{shown}: another export (pid {holder}) is writing there; wait for it to end or choose another folder") from None
        lock.unlink(missing_ok=True)  # left by a killed export
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    try:
        if any(p.name != EXPORT_LOCK for p in out.iterdir()):
            raise UsageError(f"{shown} exists and is not an empty folder")
        yield out
    finally:
        lock.unlink(missing_ok=True)


def _lock_holder(lock: Path) -> int | None:
    """The pid in an export lock when that process still runs, else None."""
    try:
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        return pid
    return pid
