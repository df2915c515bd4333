"""Shared test helpers: paths, tiny spaces, and running the real CLI in a private network namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def run_cli(args: list[str], cwd: Path, isolated: bool = False, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m hgq_automl ARGS` in `cwd`; with isolated=True inside `unshare -n`,
    so that the Ray it starts has only a loopback network (see FACTS.md)."""
    cmd = [sys.executable, "-m", "hgq_automl", *args]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if isolated:
        quoted = " ".join(f"'{c}'" for c in cmd)
        cmd = ["unshare", "-n", "bash", "-c", f"ip link set lo up; exec {quoted}"]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)

