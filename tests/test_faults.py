"""Faults caused for real (issue #18): SIGTERM, two searches with one name at once, a
Pareto front that changes across an interrupt, set-up failures (read-only storage, disk
full), a tracking server stopped during a search.

Real CLI processes, real Ray inside `unshare -n`, real MLflow (SQLite, or a real
`mlflow server` on 127.0.0.1), real signals; tiny data, 1-2 epochs, 2 trials.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .conftest import can_unshare, run_cli, tiny_space, write

TWO = tiny_space("two", trials=2, concurrency=1, epochs=2)


def _start(folder: Path, args: list[str], tag: str, env: dict | None = None, kill_at: str | None = None) -> subprocess.Popen:
    """`python -m hgq_automl ARGS` in its own network namespace and session (we signal
    exactly what we started); stdout/stderr go to TAG.out / TAG.err. With `kill_at`
    (OP:ROLE:N), it SIGKILLs itself before that write (tests/kill_at_script.py)."""
    program = f"{Path(__file__).with_name('kill_at_script.py')} {kill_at}" if kill_at else "-m hgq_automl"
    cmd = f"ip link set lo up; exec {sys.executable} {program} " + " ".join(args)
    inherited = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.Popen(
        ["unshare", "-n", "bash", "-c", cmd],
        cwd=folder,
        stdout=open(folder / f"{tag}.out", "w"),
        stderr=open(folder / f"{tag}.err", "w"),
        start_new_session=True,
        env={**inherited, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def _wait_for(path: Path, text: str, timeout: float = 300, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared in {path.name}:\n{path.read_text()[-3000:] if path.exists() else ''}")


def _client(folder: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")


def _runs(client: MlflowClient, name: str):
    experiment = client.get_experiment_by_name(name)
    return client.search_runs([experiment.experiment_id], max_results=1000)


@pytest.fixture
def folder(tmp_path):
    if not can_unshare():
        pytest.fail("these tests need `unshare -n` (root) to keep Ray on loopback")
    write(tmp_path / "two.yaml", TWO)
    return tmp_path


# --------------------------------------------------------------------------- item 10: set-up failures


SETUP_FAILURE = """\
set -u
mount -t tmpfs -o size=64k tmpfs {mnt}
{prepare}
exec {python} -m hgq_automl search --space two.yaml --name {name} --storage {mnt} --tracking-uri sqlite:///$PWD/mlflow.db
"""


@pytest.mark.parametrize(
    "prepare, message",
    [
        ("mount -o remount,ro {mnt}", "cannot create the search's folder"),
        ("dd if=/dev/zero of={mnt}/fill bs=4k 2>/dev/null || true", "No space left on device"),
    ],
    ids=["read-only", "disk-full"],
)
def test_set_up_failure_leaves_no_running_run_and_frees_the_name(folder, prepare, message):
    mnt = folder / "mnt"
    mnt.mkdir()
    script = SETUP_FAILURE.format(mnt=mnt, prepare=prepare.format(mnt=mnt), python=sys.executable, name="setup")
    result = subprocess.run(["unshare", "-m", "bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    client = _client(folder)
    assert client.get_experiment_by_name("setup") is None  # the name can be used again
    every = client.search_runs([e.experiment_id for e in client.search_experiments(view_type=3)], run_view_type=3)
    assert not [r for r in every if r.info.status == "RUNNING"]


# --------------------------------------------------------------------------- items 3, 4, 5 on one search


def test_one_name_twice_at_once_then_sigterm_then_resume(folder):
    """Three searches named `dup` start together (two on one storage, one on another, one
    MLflow store): exactly one proceeds, the others exit 2 with one line. SIGTERM then stops
    it like Ctrl-C (exit 143, parent KILLED, resume command); a second resume while the
    first runs is refused (lock); after the resume every run is FINISHED and `pareto=true`
    and the registry hold exactly the final front."""
    common = ["search", "--space", "two.yaml", "--name", "dup", "--seed", "3", "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    procs = {
        "a": _start(folder, [*common, "--storage", "s1"], "a"),
        "b": _start(folder, [*common, "--storage", "s1"], "b"),
        "c": _start(folder, [*common, "--storage", "s2"], "c"),
    }
    deadline = time.monotonic() + 300
    while sum(p.poll() is not None for p in procs.values()) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    losers = [tag for tag, p in procs.items() if p.poll() is not None]
    assert len(losers) == 2, {t: (folder / f"{t}.err").read_text()[-2000:] for t in procs}
    for tag in losers:
        assert procs[tag].returncode == 2
        lines = (folder / f"{tag}.err").read_text().strip().splitlines()
        assert len(lines) == 1 and "a search named 'dup' already exists" in lines[0], lines
    (winner,) = set(procs) - set(losers)
    proc = procs[winner]
    storage = folder / ("s2" if winner == "c" else "s1")

    _wait_for(folder / f"{winner}.err", "1/2 done", proc=proc)
    proc.send_signal(signal.SIGTERM)  # as Kubernetes and `ray job stop` do
    assert proc.wait(timeout=180) == 143
    err = (folder / f"{winner}.err").read_text()
    expected = f"resume with: python -m hgq_automl search --resume dup --storage {storage}"
    assert expected in err and "Traceback" not in err
    client = _client(folder)
    parents = [r for r in _runs(client, "dup") if r.data.tags.get("hgq_automl.role") == "search"]
    assert len(parents) == 1 and parents[0].info.status == "KILLED"
    assert not [r for r in _runs(client, "dup") if r.info.status == "RUNNING"]

    resume = expected.split("resume with: python -m hgq_automl ")[1].split()
    first = _start(folder, resume, "r1")
    _wait_for(folder / "r1.err", "search dup (resumed)", proc=first)
    second = run_cli(resume, cwd=folder, isolated=True)
    assert second.returncode == 2 and "is running in another process" in second.stderr, second.stderr[-2000:]
    assert first.wait(timeout=300) == 0, (folder / "r1.err").read_text()[-3000:]

    runs = _runs(client, "dup")
    assert {r.info.status for r in runs} == {"FINISHED"}
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    front = json.loads(Path(client.download_artifacts(parent.info.run_id, "pareto.json", str(folder))).read_text())
    members = {row["run_id"] for row in front}
    assert members and {r.info.run_id for r in runs if r.data.tags.get("pareto") == "true"} == members
    versions = client.search_model_versions("name = 'dup'")
    assert {v.run_id for v in versions} == members


def test_sigterm_to_the_whole_process_group_stops_like_ctrl_c(folder):
    """Slurm's scancel and `kill -- -PGID` send SIGTERM to every process of the group,
    the local Ray's GCS, raylet and workers included. They must outlive it (as they do
    SIGINT) so that the driver can stop the search: exit 143 with the resume command, the
    runs KILLED, none left RUNNING, no Ray process left behind."""
    write(folder / "long.yaml", tiny_space("long", trials=2, concurrency=1, epochs=40))
    args = ["search", "--space", "long.yaml", "--name", "grp", "--seed", "3", "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}", "--storage", "s"]
    proc = _start(folder, args, "grp")
    _wait_for(folder / "grp.err", "1/2 done", proc=proc)
    _wait_for(folder / "grp.err", "started (1/2 done", proc=proc)  # the second trial runs
    group = subprocess.run(["ps", "-o", "comm=", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert "raylet" in group and "gcs_server" in group  # the signal reaches Ray's own processes
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"the search hung after SIGTERM to its group:\n{(folder / 'grp.err').read_text()[-3000:]}") from None
    err = (folder / "grp.err").read_text()
    assert code == 143, err[-3000:]
    assert f"resume with: python -m hgq_automl search --resume grp --storage {folder / 's'}" in err and "Traceback" not in err
    runs = _runs(_client(folder), "grp")
    assert next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search").info.status == "KILLED"
    assert not [r for r in runs if r.info.status == "RUNNING"]
    left = subprocess.run(["ps", "-o", "pid=,comm=", "-s", str(proc.pid)], capture_output=True, text=True).stdout.strip()
    assert not left, left


# --------------------------------------------------------------------------- item 3, unit level


def test_stale_pareto_tags_and_versions_follow_the_front(tmp_path):
    """A front logged at an interrupt, then another after the resume: tags and registry
    versions of runs that left the front are removed."""
    from hgq_automl.events import TrialRecord
    from hgq_automl.space import load_space
    from hgq_automl.tracking import SearchTracker

    client = MlflowClient(f"sqlite:///{tmp_path / 'm.db'}")
    space = load_space("digits_cnn")
    tracker = SearchTracker.start(client, "tags", "tags", space, {})
    model = tmp_path / "model"
    model.mkdir()
    records = []
    for tid in ("a", "b", "c"):
        tracker.trial_started(tid, {})
        records.append(TrialRecord(tid, {}, {"val_accuracy": 0.5, "ebops": 1.0}, model_dir=model))
    a, b, c = records
    tracker.finish([a, b], [a, b], unfinished=1)  # an interrupt: a and b tagged, nothing registered
    tracker = SearchTracker.attach(client, tracker.parent_run_id, space)
    tracker.finish(records, [a, b])  # finished: a and b registered
    assert {v.run_id for v in client.search_model_versions("name = 'tags'")} == {tracker.run_ids["a"], tracker.run_ids["b"]}
    tracker = SearchTracker.attach(client, tracker.parent_run_id, space)
    tracker.finish(records, [b, c])  # finished again (a kill after registering, then a resume)
    tagged = {r.info.run_id for r in client.search_runs([tracker.experiment_id], filter_string="tags.pareto = 'true'")}
    assert tagged == {tracker.run_ids["b"], tracker.run_ids["c"]}
    assert {v.run_id for v in client.search_model_versions("name = 'tags'")} == {tracker.run_ids["b"], tracker.run_ids["c"]}


# --------------------------------------------------------------------------- item 1: the tracking store goes away


OUTAGE = """\
set -u
ip link set lo up
export PATH={bin}:$PATH
serve() {{
  python -m mlflow server --workers 1 --host 127.0.0.1 --port 5097 --backend-store-uri sqlite:///$PWD/server.db --artifacts-destination $PWD/server-artifacts >> server.log 2>&1 &
  SERVER=$!
  for i in $(seq 1 120); do
    python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5097/health', timeout=2)" 2>/dev/null && return
    sleep 1
  done
}}
waitfor() {{ for i in $(seq 1 600); do grep -q "$1" search.err && return; sleep 0.5; done; }}
serve
python -m hgq_automl search --space two.yaml --name out --seed 4 --tracking-uri http://127.0.0.1:5097 > search.out 2> search.err &
SEARCH=$!
waitfor "started (0/2 done"
kill $SERVER; wait $SERVER
echo server-stopped
wait $SEARCH
echo "search-exit-code=$?"
serve
python -m hgq_automl sync out > sync.out 2>&1
echo "sync-exit-code=$?"
kill $SERVER; wait $SERVER
"""


def test_tracking_server_stopped_during_a_search_loses_nothing(folder):
    """A real `mlflow server` stops while the first trial runs and stays down to the end:
    the search ends normally, its tracking kept on disk with one line saying how to write
    it; once the server is back, `sync` writes it all: every run FINISHED with its model,
    one value per metric step, `pareto=true` and the registry equal to the front."""
    write(folder / "run.sh", OUTAGE.format(bin=Path(sys.executable).parent))
    result = subprocess.run(["unshare", "-n", "bash", "run.sh"], cwd=folder, capture_output=True, text=True, timeout=900)
    err = (folder / "search.err").read_text()
    assert "search-exit-code=0" in result.stdout and "sync-exit-code=0" in result.stdout, result.stdout + err[-3000:]
    assert "Traceback" not in err and "of 2 completed trials (0 failed)" in (folder / "search.out").read_text(), err[-3000:]
    assert "does not answer" in err
    assert f"write them with: python -m hgq_automl sync out --storage {folder / 'hgq_automl_results'}" in err
    assert "queued tracking writes of out written" in (folder / "sync.out").read_text()
    assert not (folder / "hgq_automl_results" / "out" / "tracking_queue").exists()

    client = MlflowClient(f"sqlite:///{folder / 'server.db'}")
    runs = _runs(client, "out")
    assert sorted(r.data.tags.get("hgq_automl.role") for r in runs) == ["search", "trial", "trial"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    trials = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    for run in trials:
        assert "test_accuracy" in run.data.metrics
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy")]
        assert sorted(steps) == sorted(set(steps)) and len(steps) >= 2  # each epoch once
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    # the server's artifacts: server-artifacts/<experiment>/<run>/artifacts/...
    (pareto,) = (folder / "server-artifacts").glob(f"*/{parent.info.run_id}/artifacts/pareto.json")
    front = json.loads(pareto.read_text())
    members = {row["run_id"] for row in front}
    assert members and members <= {r.info.run_id for r in trials}
    assert {r.info.run_id for r in trials if r.data.tags.get("pareto") == "true"} == members
    assert {v.run_id for v in client.search_model_versions("name = 'out'")} == members
    # server-artifacts/<experiment>/<run>/artifacts/model/MLmodel: each trial holds its model
    models = {p.parent.parent.parent.name for p in (folder / "server-artifacts").rglob("model/MLmodel")}
    assert {r.info.run_id for r in trials} <= models


def test_a_locked_sqlite_store_queues_the_writes_and_replays_them_in_order(tmp_path):
    """A SQLite store locked past its busy timeout (another process holds an exclusive
    transaction): the writes are queued on disk, a run gets a placeholder id; once the lock
    is gone the next write replays the queue first, in order, and goes on directly."""
    import sqlite3

    from hgq_automl.events import TrialRecord
    from hgq_automl.space import load_space
    from hgq_automl.tracking import SearchTracker

    db = tmp_path / "m.db"
    client = MlflowClient(f"sqlite:///{db}")
    tracker = SearchTracker.start(client, "locked", "locked", load_space("digits_cnn"), {})
    tracker.use_queue(tmp_path / "queue")
    tracker.flush_seconds = 0
    tracker.out.attempts, tracker.out.backoff, tracker.out.probe_seconds = 1, 0.1, 3600
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    tracker.trial_started("t1", {})
    tracker.trial_reported("t1", {"epoch": 1, "val_accuracy": 0.1})
    assert tracker.run_ids["t1"].startswith("queued-") and tracker.out.pending() >= 3
    holder.rollback()
    holder.close()
    tracker.out.probe_seconds = 0
    tracker.trial_reported("t1", {"epoch": 2, "val_accuracy": 0.2})
    assert tracker.out.pending() == 0 and not (tmp_path / "queue").exists()
    tracker.trial_finished(TrialRecord("t1", {}, {"epoch": 2}, status="stopped"))
    run_id = tracker.out.real_id(tracker.run_ids["t1"])
    assert not run_id.startswith("queued-")
    history = client.get_metric_history(run_id, "val_accuracy")
    assert sorted((m.step, m.value) for m in history) == [(1, 0.1), (2, 0.2)]
    assert client.get_run(run_id).info.status == "KILLED"
    assert client.get_run(run_id).data.tags["mlflow.parentRunId"] == tracker.parent_run_id


# --------------------------------------------------------------------------- item 2: SIGKILL while logging


HARVEST = tiny_space(
    "hk",
    trials=2,
    concurrency=1,
    epochs=4,
    extra="harvest: {max_points: 2}\n",
    params="  beta: {type: log_uniform, low: 1.0e-6, high: 1.0e-5}\n  beta_final: {type: log_uniform, low: 1.0e-3, high: 1.0e-2}\n  filters_1: {type: int, low: 2, high: 4}\n",
)


def test_sigkill_while_logging_then_resume_leaves_every_run_finished_once(folder):
    """The search SIGKILLs itself (a real SIGKILL, placed by tests/kill_at_script.py) while it
    logs a trial's epoch metrics; the resume SIGKILLs itself while it logs a harvested
    point's model; after the second `--resume` every run is FINISHED with its model, and
    every metric has one value per step. (One search for both kill points: each kill's
    leftovers must be repaired by the resume that follows.)"""
    write(folder / "hk.yaml", HARVEST)
    for tag, args, kill_at in (
        ("trial", ["--space", "hk.yaml", "--name", "hk", "--seed", "5"], "log_batch:trial:3"),
        ("harvest", ["--resume", "hk"], "log_artifacts:harvest:1"),
    ):
        proc = _start(folder, ["search", *args], tag, kill_at=kill_at)
        assert proc.wait(timeout=600) in (-signal.SIGKILL, 128 + signal.SIGKILL), (folder / f"{tag}.err").read_text()[-3000:]
    result = run_cli(["search", "--resume", "hk"], cwd=folder, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]

    client = _client(folder)
    runs = _runs(client, "hk")
    roles = [r.data.tags.get("hgq_automl.role") for r in runs]
    assert roles.count("search") == 1 and roles.count("trial") == 2 and roles.count("harvest") >= 1
    assert {r.info.status for r in runs} == {"FINISHED"}, [(r.data.tags.get("hgq_automl.role"), r.info.status) for r in runs]
    for run in runs:
        if run.data.tags.get("hgq_automl.role") == "search":
            continue
        assert [a.path for a in client.list_artifacts(run.info.run_id, "model")], run.data.tags  # holds its model
        for key in ("val_accuracy",):
            steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
            assert steps and len(steps) == len(set(steps)), (key, steps)
    trial_ids = [r.data.tags["hgq_automl.trial_id"] for r in runs if r.data.tags.get("hgq_automl.role") != "search"]
    assert len(trial_ids) == len(set(trial_ids))


def test_tag_names_agree_with_mlflow():
    from mlflow.utils import mlflow_tags

    from hgq_automl import tags

    assert tags.PARENT_RUN == mlflow_tags.MLFLOW_PARENT_RUN_ID
