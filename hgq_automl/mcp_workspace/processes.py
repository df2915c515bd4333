"""The search processes a workspace starts: each `python -m hgq_automl search ...` in a
process group of its own, its output appended to the search's log (`spawn`), watched until
it has passed its checks (`wait_until_set_up`: its driver file names it), stopped by the
CLI's Ctrl-C, which leaves it resumable (`interrupt`, `stop_all`); and what its log says
when it failed (`_last_error`: the CLI's one-line error)."""

from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .confine import FILES

ERROR_PREFIX = "hgq_automl: error: "


@dataclass
class Launched:
    """A search process this server started."""

    name: str
    process: subprocess.Popen
    log: Path
    started: float
    offset: int = 0  # where this run's output starts in the log (a resumed search appends)

    def output(self) -> str:
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")


def _driver_pid(path: Path) -> int | None:
    """The pid in a search's DRIVER_FILE, or None while there is none (or it is being written)."""
    try:
        return int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _last_error(log: Path) -> str | None:
    """The CLI's one-line error in a search's log (without its prefix), else its last line."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return None
    errors = [line[len(ERROR_PREFIX):] for line in lines if line.startswith(ERROR_PREFIX)]
    return errors[-1] if errors else (lines[-1] if lines else None)


def spawn(root: Path, name: str, cmd: list[str]) -> Launched:
    """Start `cmd` in the workspace `root`, in its own process group, its output to the
    search's log (`FILES/NAME/search.log`; a resumed search appends to it)."""
    folder = root / FILES / name
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "search.log"
    offset = log.stat().st_size if log.exists() else 0  # a resumed search appends to its log
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")}
    env["PYTHONUNBUFFERED"] = "1"
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, cwd=root, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    return Launched(name, process, log, time.time(), offset)


def wait_until_set_up(launched: Launched, driver_file: Path, timeout: float) -> int | None:
    """Wait until the search has passed its checks (its driver file names its process:
    its set-up is done), it exits, or `timeout` seconds pass. Its exit code if it exited
    with an error, else None."""
    process = launched.process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            return code if code != 0 else None
        if _driver_pid(driver_file) == process.pid:  # its set-up is done
            return None
        time.sleep(0.25)
    return None


def interrupt(launched: Launched, timeout: float) -> int:
    """Stop a running search as Ctrl-C stops the CLI (SIGINT to its process group), once
    its first trial has started; SIGKILL if it has not ended after `timeout` seconds.
    Its exit code."""
    # Ray Tune handles the interrupt once its loop runs (an interrupt while Ray starts
    # can be lost): wait for this run's first trial to start
    deadline = time.monotonic() + timeout / 2
    while launched.process.poll() is None and time.monotonic() < deadline and not re.search(r"^\[[\d:]+\] trial \S+ started", launched.output(), re.M):
        time.sleep(0.5)
    if launched.process.poll() is None:
        os.killpg(launched.process.pid, signal.SIGINT)  # the CLI's Ctrl-C: Ray Tune saves its state, MLflow runs end KILLED
    try:
        code = launched.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(launched.process.pid, signal.SIGKILL)  # still resumable from Ray Tune's last saved state
        code = launched.process.wait()
    return code


def stop_all(launched: list[Launched]) -> None:
    """Stop the searches still running (SIGINT: they stay resumable), at server exit."""
    for one in launched:
        if one.process.poll() is None:
            os.killpg(one.process.pid, signal.SIGINT)
    for one in launched:
        try:
            one.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(one.process.pid, signal.SIGKILL)
