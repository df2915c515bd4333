"""Shared test helpers: paths, tiny spaces, and running the real CLI in a private network namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# the trials' default backend, also for the models tests build in this process (`backend.use_backend`)
os.environ.setdefault("KERAS_BACKEND", "jax")

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
    so that the Ray it starts has only a loopback network."""
    cmd = [sys.executable, "-m", "hgq_automl", *args]
    # each test names its MLflow store: none may leak in from the environment
    inherited = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full_env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
    if isolated:
        quoted = " ".join(f"'{c}'" for c in cmd)
        cmd = ["unshare", "-n", "bash", "-c", f"ip link set lo up; exec {quoted}"]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)



def logged_search(tmp_path_factory, name: str, space_text: str, *flags: str):
    """A search through the real CLI (Ray in a private network namespace) that must succeed:
    (folder, result, MLflow client, the experiment's runs)."""
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp(name)
    write(folder / f"{name}.yaml", space_text)
    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    result = run_cli(["search", "--space", f"{name}.yaml", "--name", name, *flags], cwd=folder, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name(name).experiment_id], max_results=5000)
    return folder, result, client, runs


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Bad input: exit code 2 and one line on stderr holding every fragment."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def tiny_space(
    name: str,
    trials: int,
    concurrency: int = 2,
    epochs: int = 2,
    sampler: str = "random",
    extra: str = "",
    params: str = "  filters_1: {type: int, low: 2, high: 4}\n",
    floor: bool = False,
) -> str:
    """A search space small enough for an end-to-end test: 300 digits, a few epochs.

    Without `floor` the chance floor is off (`task.chance_margin: 0`): a 2-epoch trial on
    300 digits can sit near chance, and the tests that need a front are about other things."""
    return (
        f"name: {name}\n"
        "dataset: {name: digits, max_samples: 300}\n"
        + ("" if floor else "task: {type: classification, chance_margin: 0}\n")
        + "model: {family: cnn, input_shape: [8, 8], conv_layers: 1}\n"
        f"search: {{trials: {trials}, concurrency: {concurrency}, sampler: {sampler}}}\n"
        f"{extra}"
        "parameters:\n"
        f"{params}"
        f"  epochs: {epochs}\n"
    )


def find_seed(space_path, n: int, wanted) -> int:
    """The first seed whose first `n` sampled configs satisfy `wanted(configs)`.

    Sampling is reproducible (the same seed gives the same configs), so tests can pick
    a seed that makes, e.g., exactly one trial fail.
    """
    import optuna

    from hgq_automl.samplers import make_sampler
    from hgq_automl.space import load_space

    space = load_space(space_path)
    for seed in range(200):
        study = optuna.create_study(directions=["maximize" if d == "max" else "minimize" for _, d in space.objectives], sampler=make_sampler(space, seed))
        if wanted([space.suggest(study.ask()) for _ in range(n)]):
            return seed
    raise AssertionError("no seed gives the wanted configs")


# learning_rate 1e30 makes the loss NaN at the first epoch: that trial must fail alone.
TINY = tiny_space(
    "tiny",
    trials=3,
    params="  beta: {type: log_uniform, low: 1.0e-6, high: 1.0e-4}\n  filters_1: {type: int, low: 2, high: 4}\n  learning_rate: {type: choice, values: [0.005, 1.0e+30]}\n",
)


@pytest.fixture(scope="session")
def finished_search(tmp_path_factory):
    """One tiny search through the real CLI (3 trials, one of them failing), shared by the tests."""
    folder = tmp_path_factory.mktemp("e2e")
    space = write(folder / "tiny.yaml", TINY)
    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    seed = find_seed(space, 3, lambda configs: [c["learning_rate"] for c in configs].count(1e30) == 1)
    result = run_cli(["search", "--space", "tiny.yaml", "--seed", str(seed), "--name", "e2e"], cwd=folder, isolated=True)
    return folder, result


# --------------------------------------------------------------------------- the fast tier
# `python -m pytest -m 'not e2e'` runs the fast tier (CONTRIBUTING.md). A test is e2e when it
# starts Ray, a server or a CLI search, or trains a model: its module is listed below, or its
# own source or that of a fixture it uses does one of these things (so a new test that does
# is marked without anyone remembering to).
E2E_MODULES = {
    "test_api_e2e", "test_export_e2e", "test_harvest_e2e", "test_regression_e2e", "test_search_e2e", "test_user_models_e2e",
    "test_faults", "test_recovery", "test_resume", "test_failed_search_and_secrets", "test_jobs", "test_mcp", "test_network",
    "test_notebook", "test_tracking", "test_early_stopping", "test_warm_start", "test_trust", "test_browse",
}
_E2E_SOURCE = ("isolated=True", "logged_search(", "run_trial(", "run_trials(", "start_ray", "Popen(", "anyio.run(", ".fit(", "tune.Tuner", "ray.init(")


def _source(fn) -> str:
    import inspect

    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        sources = [_source(getattr(item, "function", None))]
        for defs in getattr(item, "_fixtureinfo", None).name2fixturedefs.values() if getattr(item, "_fixtureinfo", None) else ():
            sources += [_source(d.func) for d in defs if getattr(d, "baseid", "") != ""]
        if module in E2E_MODULES or any(p in s for s in sources for p in _E2E_SOURCE):
            item.add_marker(pytest.mark.e2e)
