"""Ray's private internals, in one place (the adapter half of `_compat`, which is core and
imports no Ray): what the Ray Tune adapter needs that Ray has no public name for. A Ray
upgrade that moves one of them breaks here, and `tests/test_compat.py` says so.
"""

from __future__ import annotations

import os
import signal


def loopback_only() -> None:
    """Make a local Ray's node IP 127.0.0.1, so that its servers (GCS, raylet, workers,
    agents) listen on loopback only, not on every interface or the machine's address.

    Ray on Linux turns a given node IP of 127.0.0.1 into the address it finds by routing
    to 8.8.8.8 (and warns when there is no route). `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`
    makes it use loopback, as it does on macOS and Windows. Ray reads that variable when
    imported, so the already imported constant is set too; the variable itself is for
    the processes Ray starts.
    """
    import ray._private.ray_constants as ray_constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


def shutdown_local() -> None:
    """`ray.shutdown()` for the local Ray this process started, without its grace period.

    The search starts a local Ray's processes with SIGTERM blocked (`raytune.start_ray`), so
    Ray's shutdown, which sends each process type SIGTERM and waits a second for it before
    SIGKILL, spends about a second per type for nothing. Here its processes get SIGKILL at
    once, as they would after the wait; their children (the raylet's agents and workers,
    which Ray leaves to notice the raylet's death, and which do not when it was killed)
    are killed after it, each checked by its start time so that no reused pid is hit.
    """
    import ray
    from ray._private import worker

    node = worker._global_node
    if node is None or not node.is_head():
        ray.shutdown()
        return
    started = [info.process for infos in node.all_processes.values() for info in infos]
    tree = _descendants({p.pid for p in started})
    for process in started:
        process.terminate = process.kill  # Ray's graceful step, made the forced one
    ray.shutdown()
    for pid, start in tree.items():
        if _start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _descendants(roots: set[int]) -> dict[int, str]:
    """Every live descendant of `roots` (not the roots): pid -> start time. Empty where
    there is no /proc."""
    parent: dict[int, int] = {}
    start: dict[int, str] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return {}
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)], start[int(entry)] = int(fields[1]), fields[19]
    found: dict[int, str] = {}
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier and pid not in found and pid not in roots}
        found.update({pid: start[pid] for pid in frontier})
    return found
