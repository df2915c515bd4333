"""A full disk under a running search: recognised, and met with space kept in reserve.

When the disk holding a search's folder fills, Ray Tune can no longer persist a trial's
checkpoint, and its own state files (the experiment state, the searcher's pickle) would be
cut short mid-write: a search stopped then could not be resumed. So a search keeps a file
of reserved blocks in its folder (`RESERVE_FILE`, `reserve`); the first write refused for
want of space gives it back (`release`), and the search stops as an interrupt does, with
room for Tune's last save, the tracking store's last writes (when it is on the same disk)
and the queue. The user frees space and resumes; the trial that met the full disk starts
anew.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

#: in a search's folder while it runs: blocks kept free for its last writes
RESERVE_FILE = ".space_reserve"
#: the reserve's size: Tune's state of a few hundred trials and the tracking's last writes
RESERVE_BYTES = 8 << 20
#: a trial's report that says it could not save its checkpoint for want of space
DISK_FULL_KEY = "hgq_disk_full"

_TEXTS = ("no space left on device", "disk quota exceeded", "database or disk is full")


def is_disk_full(error: BaseException | str | None) -> bool:
    """True if `error` (an exception, or an error's text as Ray hands it over) says a write
    was refused for want of space or quota."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower() if error is not None else ""
    return any(t in text for t in _TEXTS)


def reserve(folder: str | Path, size: int = RESERVE_BYTES) -> int:
    """Reserve up to `size` bytes in `folder` (never more than a tenth of the free space);
    the bytes reserved, 0 when none could be (a URI, a full disk: the search runs without)."""
    path = Path(folder)
    if "://" in str(folder) or not path.is_dir():
        return 0
    try:
        size = min(size, shutil.disk_usage(path).free // 10)
        if size <= 0:
            return 0
        fd = os.open(path / RESERVE_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
        finally:
            os.close(fd)
        return size
    except OSError:
        Path(path / RESERVE_FILE).unlink(missing_ok=True)
        return 0


def release(folder: str | Path) -> bool:
    """Give the reserve back; True if there was one."""
    if "://" in str(folder):
        return False
    try:
        Path(folder, RESERVE_FILE).unlink()
        return True
    except OSError:
        return False
