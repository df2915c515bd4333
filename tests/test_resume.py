"""Surviving interruption: kill -9 of the driver then --resume, and SIGINT (exit 130 + resume command).

Real Ray inside `unshare -n`, real MLflow SQLite, real training on a tiny space.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from .conftest import can_unshare, run_cli, tiny_space, write

SIX_TRIALS = tiny_space("six", trials=6, epochs=6, params="  beta: {type: log_uniform, low: 1.0e-6, high: 1.0e-4}\n  filters_1: {type: int, low: 2, high: 4}\n")


def _start(folder, args, prefix="", err="err.txt"):
    cmd = f"ip link set lo up; {prefix}exec {sys.executable} -m hgq_automl search " + " ".join(args)
    return subprocess.Popen(
        ["unshare", "-n", "bash", "-c", cmd],
        cwd=folder,
        stdout=open(folder / "out.txt", "w"),
        stderr=open(folder / err, "w"),
        start_new_session=True,  # its own process group: we signal exactly what we started
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for(folder, text, timeout=300, err="err.txt"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in (folder / err).read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared:\n{(folder / err).read_text()[-3000:]}")


def _runs(folder, name):
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id])  # active runs only
    parents = [r for r in runs if r.data.tags.get("hgq_automl.role") == "search"]
    children = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    return parents, children


@pytest.fixture
def space_folder(tmp_path):
    if not can_unshare():
        pytest.fail("these tests need `unshare -n` (root) to keep Ray on loopback")
    write(tmp_path / "six.yaml", SIX_TRIALS)
    return tmp_path


def test_kill_9_then_resume_loses_nothing(space_folder):
    folder = space_folder
    proc = _start(folder, ["--space", "six.yaml", "--name", "k9", "--seed", "1"])
    _wait_for(folder, "2/6 done")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {line.split()[2] for line in (folder / "err.txt").read_text().splitlines() if "val_accuracy=" in line and "done," in line}
    assert len(done_before) >= 2

    again = run_cli(["search", "--space", "six.yaml", "--name", "k9"], cwd=folder)
    assert again.returncode == 2 and "already exists" in again.stderr and "--resume k9" in again.stderr

    result = run_cli(["search", "--resume", "k9"], cwd=folder, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Pareto set of k9:" in result.stdout and "of 6 completed trials (0 failed)" in result.stdout

    parents, children = _runs(folder, "k9")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.metrics["trials_completed"] == 6
    trial_ids = [c.data.tags["hgq_automl.trial_id"] for c in children]
    assert len(trial_ids) == 6 and len(set(trial_ids)) == 6  # no duplicate child runs
    assert done_before <= set(trial_ids)  # nothing finished before the kill was lost
    assert all(c.info.status == "FINISHED" and "test_accuracy" in c.data.metrics for c in children)
    assert all(c.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for c in children)


def test_sigint_exits_130_with_the_resume_command(space_folder):
    folder = space_folder
    proc = _start(folder, ["--space", "six.yaml", "--name", "ctrlc", "--seed", "2"])
    _wait_for(folder, "1/6 done")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    assert proc.wait(timeout=180) == 130
    err = (folder / "err.txt").read_text()
    storage = folder / "hgq_automl_results"
    expected = f"resume with: python -m hgq_automl search --resume ctrlc --storage {storage}"
    assert expected in err
    parents, _ = _runs(folder, "ctrlc")
    assert parents[0].info.status == "KILLED"

    command = expected.split("resume with: python -m hgq_automl ")[1].split()
    # SIGINT while the resumed search starts Ray, with SIGINT inherited ignored (as a
    # background job of a script, or a server started so, gives it): still Ctrl-C
    proc = _start(folder, command[1:], prefix="trap '' INT; ", err="err2.txt")
    _wait_for(folder, "search ctrlc (resumed)", err="err2.txt")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 130, (folder / "err2.txt").read_text()[-3000:]
    assert expected in (folder / "err2.txt").read_text()
    result = run_cli(command, cwd=folder, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    parents, children = _runs(folder, "ctrlc")
    assert parents[0].info.status == "FINISHED" and len(children) == 6
    assert {c.info.status for c in children} == {"FINISHED"}
