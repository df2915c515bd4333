"""A search stopped at any moment of its start, before Ray Tune's first save: it can be
resumed (its trials start anew under the same parent run, which ends FINISHED) or, when it
was stopped before its state file, its name used again; a resume refuses changed input
files (data, builder module) in one line. Real CLI processes, real signals, real Ray inside
`unshare -n`, real MLflow (SQLite)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from .conftest import assert_one_line_error, can_unshare, run_cli, tiny_space, write

HERE = Path(__file__).resolve().parent
TWO = tiny_space("two", trials=2, concurrency=1, epochs=1)
BUILDER = """\
import keras


def build(params, input_shape, n_outputs):
    inputs = keras.Input(input_shape)
    h = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_outputs)(h))
"""


@pytest.fixture
def folder(tmp_path):
    if not can_unshare():
        pytest.fail("these tests need `unshare -n` (root) to keep Ray on loopback")
    write(tmp_path / "two.yaml", TWO)
    return tmp_path


def _popen(folder: Path, argv: list[str], tag: str) -> subprocess.Popen:
    inherited = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    quoted = " ".join(f"'{a}'" for a in argv)
    return subprocess.Popen(
        ["unshare", "-n", "bash", "-c", f"ip link set lo up; exec {sys.executable} {quoted}"],
        cwd=folder,
        stdout=open(folder / f"{tag}.out", "w"),
        stderr=open(folder / f"{tag}.err", "w"),
        start_new_session=True,  # its own process group: we signal exactly what we started
        env={**inherited, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(HERE.parent)},
    )


def _killed_at(folder: Path, point: str, sig: str, args: list[str]) -> int:
    proc = _popen(folder, [str(HERE / "start_kill_script.py"), point, sig, "search", *args], f"{point}-{sig}")
    return proc.wait(timeout=300)


def _tune_saved(search: Path) -> bool:
    return any(search.glob("experiment_state-*.json"))


def _parents(folder: Path, name: str):
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id], run_view_type=3)
    return [r for r in runs if r.data.tags.get("hgq_automl.role") == "search"], [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]


def _no_running_run(folder: Path) -> bool:
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    every = client.search_runs([e.experiment_id for e in client.search_experiments(view_type=3)], run_view_type=3)
    return not [r for r in every if r.info.status == "RUNNING"]


def _check_resumed_anew(folder: Path, name: str, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "its trials start anew" in result.stderr
    assert f"Pareto set of {name}:" in result.stdout and "of 2 completed trials (0 failed)" in result.stdout
    parents, children = _parents(folder, name)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"  # the same parent run, ended
    assert len(children) == 2 and {c.info.status for c in children} == {"FINISHED"}
    assert _no_running_run(folder)


def test_sigkill_as_the_state_file_appears_then_resume(folder):
    """SIGKILL from outside as soon as the state file exists (Ray Tune has saved nothing):
    `--resume` starts the trials anew under the same parent run."""
    proc = _popen(folder, ["-m", "hgq_automl", "search", "--space", "two.yaml", "--name", "k", "--seed", "1"], "k")
    search = folder / "hgq_automl_results" / "k"
    deadline = time.monotonic() + 300
    while not (search / "hgq_automl.json").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert (search / "hgq_automl.json").exists() and not _tune_saved(search), (folder / "k.err").read_text()[-2000:]
    assert _parents(folder, "k")[0][0].info.status == "RUNNING"  # what the kill left

    again = run_cli(["search", "--space", "two.yaml", "--name", "k"], cwd=folder)
    assert again.returncode == 2 and "--resume k" in again.stderr
    _check_resumed_anew(folder, "k", run_cli(["search", "--resume", "k"], cwd=folder, isolated=True))


def test_sigint_as_the_state_file_appears_then_resume(folder):
    """Ctrl-C right after the set-up (its summary printed, Ray starting): exit 130 with the
    resume command, the parent run KILLED; the resume starts the trials anew and ends it
    FINISHED."""
    proc = _popen(folder, ["-m", "hgq_automl", "search", "--space", "two.yaml", "--name", "c", "--seed", "2"], "c")
    search = folder / "hgq_automl_results" / "c"
    deadline = time.monotonic() + 300
    while "search c: space" not in (folder / "c.err").read_text() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=180) == 130, (folder / "c.err").read_text()[-3000:]
    assert "resume with: python -m hgq_automl search --resume c" in (folder / "c.err").read_text()
    assert not _tune_saved(search)
    assert _parents(folder, "c")[0][0].info.status == "KILLED"
    _check_resumed_anew(folder, "c", run_cli(["search", "--resume", "c"], cwd=folder, isolated=True))


def test_sigint_inside_the_set_up_undoes_it(folder):
    """Ctrl-C just after the state file is written, inside the set-up: the set-up is undone
    (folder removed, parent run and experiment set aside), exit 130, the name is free."""
    code = _killed_at(folder, "after_state", "INT", ["--space", "two.yaml", "--name", "i", "--seed", "4"])
    assert code == 130, (folder / "after_state-INT.err").read_text()[-2000:]
    assert not (folder / "hgq_automl_results" / "i").exists()
    assert MlflowClient(f"sqlite:///{folder / 'mlflow.db'}").get_experiment_by_name("i") is None
    assert _no_running_run(folder)


def test_sigkill_before_the_state_file_frees_the_name(folder):
    """SIGKILL after the MLflow parent run is made, before the state file is written: the
    resume says to start again; a new search of that name proceeds, the old parent run ends
    KILLED (its experiment set aside), and no run stays RUNNING."""
    code = _killed_at(folder, "before_state", "KILL", ["--space", "two.yaml", "--name", "b", "--seed", "3"])
    assert code in (-signal.SIGKILL, 128 + signal.SIGKILL)
    search = folder / "hgq_automl_results" / "b"
    assert search.is_dir() and not (search / "hgq_automl.json").exists()
    assert _parents(folder, "b")[0][0].info.status == "RUNNING"

    resumed = run_cli(["search", "--resume", "b"], cwd=folder)
    assert_one_line_error(resumed, "'b'", "stopped before its set-up ended", "start it again with the same name")
    result = run_cli(["search", "--space", "two.yaml", "--name", "b", "--seed", "3"], cwd=folder, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    parents, children = _parents(folder, "b")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED" and len(children) == 2
    assert _no_running_run(folder)
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    retired = [e for e in client.search_experiments(view_type=3) if e.name.startswith("b.start-interrupted-")]
    assert len(retired) == 1 and retired[0].lifecycle_stage == "deleted"
    assert {r.info.status for r in client.search_runs([retired[0].experiment_id], run_view_type=3)} == {"KILLED"}


@pytest.mark.parametrize("edited", ["data", "builder"])
def test_resume_refuses_a_changed_input_file(folder, edited):
    """State written, then SIGKILL (before any Ray); the data file or the builder module is
    edited: `--resume` is refused in one line naming the file; the data put back, the
    resume runs."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(folder / "d.npz", x=digits.data[:200], y=digits.target[:200])
    write(folder / "my_builder.py", BUILDER)
    model = "{builder: 'my_builder:build'}" if edited == "builder" else "{family: mlp}"
    write(folder / "s.yaml", f"name: s\ndataset: {{name: arrays, path: d.npz}}\ntask: {{type: classification, chance_margin: 0}}\nmodel: {model}\n"
          "search: {trials: 1}\nparameters:\n  epochs: 1\n")
    code = _killed_at(folder, "after_state", "KILL", ["--space", "s.yaml", "--name", "s"])
    assert code in (-signal.SIGKILL, 128 + signal.SIGKILL), (folder / "after_state-KILL.err").read_text()[-2000:]
    target = folder / ("d.npz" if edited == "data" else "my_builder.py")
    original = target.read_bytes()
    if edited == "data":
        np.savez(target, x=digits.data[:200], y=(digits.target[:200] + 1) % 10)
    else:
        target.write_text(BUILDER.replace("Dense(n_outputs)", "Dense(n_outputs, use_bias=False)"))
    refused = run_cli(["search", "--resume", "s"], cwd=folder)
    assert_one_line_error(refused, str(target.resolve()), "changed since the search started", "cannot be resumed")
    target.write_bytes(original)
    if edited == "builder":
        return  # one full resume (below) is enough for the tests' time
    result = run_cli(["search", "--resume", "s"], cwd=folder, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "its trials start anew" in result.stderr
