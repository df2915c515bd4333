"""Shared test helpers: paths, tiny spaces, and running the real CLI in a private network namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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



# learning_rate 1e30 makes the loss NaN at the first epoch: that trial must fail alone.
TINY = """\
name: tiny
dataset: {name: digits, max_samples: 300}
model: {family: cnn, input_shape: [8, 8], conv_layers: 1}
search: {trials: 3, concurrency: 2, sampler: random}
parameters:
  beta: {type: log_uniform, low: 1.0e-6, high: 1.0e-4}
  filters_1: {type: int, low: 2, high: 4}
  learning_rate: {type: choice, values: [0.005, 1.0e+30]}
  epochs: 2
"""


def _seed_with_one_failure(space_path):
    """A seed whose first three sampled configs include exactly one NaN-making learning rate."""
    import optuna

    from hgq_automl.raytune import make_sampler
    from hgq_automl.space import load_space

    space = load_space(space_path)
    for seed in range(100):
        study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(space, seed))
        rates = [space.suggest(study.ask())["learning_rate"] for _ in range(3)]
        if rates.count(1e30) == 1:
            return seed
    raise AssertionError("no such seed")


@pytest.fixture(scope="session")
def finished_search(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    space = write(folder / "tiny.yaml", TINY)
    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    seed = _seed_with_one_failure(space)
    result = run_cli(["search", "--space", "tiny.yaml", "--seed", str(seed), "--name", "e2e"], cwd=folder, isolated=True)
    return folder, result
