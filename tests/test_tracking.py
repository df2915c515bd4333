"""A search tracked on a remote MLflow server (`--tracking-uri http://...`), artifacts included.

The server and the search run in one private network namespace (Ray must stay on
loopback); the server is stopped by the PID the script started.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .conftest import can_unshare, tiny_space, write

SCRIPT = """\
set -u
ip link set lo up
export PATH={bin}:$PATH
python -m mlflow server --host 127.0.0.1 --port 5099 --backend-store-uri sqlite:///$PWD/server.db --artifacts-destination $PWD/server-artifacts > server.log 2>&1 &
SERVER=$!
for i in $(seq 1 120); do
  python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5099/health', timeout=2)" 2>/dev/null && break
  sleep 1
done
python -m hgq_automl search --space remote.yaml --name remote --seed 4 --tracking-uri http://127.0.0.1:5099
echo "search-exit-code=$?"
kill $SERVER
wait $SERVER
"""


def test_search_logs_to_a_remote_tracking_server(tmp_path):
    if not can_unshare():
        pytest.fail("this test needs `unshare -n` (root) to keep Ray on loopback")
    write(tmp_path / "remote.yaml", tiny_space("remote", trials=2))
    write(tmp_path / "run.sh", SCRIPT.format(bin=Path(sys.executable).parent))
    result = subprocess.run(["unshare", "-n", "bash", "run.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert "search-exit-code=0" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    assert "MLflow: http://127.0.0.1:5099" in result.stdout
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to the local default store

    # the server's own store holds the search; its artifacts went through the server
    client = MlflowClient(f"sqlite:///{tmp_path / 'server.db'}")
    experiment = client.get_experiment_by_name("remote")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags.get("hgq_automl.role") for r in runs) == ["search", "trial", "trial"]
    assert all(r.info.status == "FINISHED" for r in runs)
    stored = {p.name for p in (tmp_path / "server-artifacts").rglob("*") if p.is_file()}
    assert {"pareto.json", "pareto.png", "search_space.yaml", "MLmodel"} <= stored


def test_epoch_reports_are_written_in_batches_and_all_kept(tmp_path):
    from hgq_automl.events import TrialRecord
    from hgq_automl.space import load_space
    from hgq_automl.tracking import SearchTracker

    client = MlflowClient(f"sqlite:///{tmp_path / 'm.db'}")
    tracker = SearchTracker.start(client, "batches", "batches", load_space("digits_cnn"), {})
    tracker.flush_seconds = 3600
    tracker.trial_started("t1", {})
    run_id = tracker.run_ids["t1"]
    for epoch in range(1, 5):
        tracker.trial_reported("t1", {"epoch": epoch, "val_accuracy": epoch / 10, "loss": 1.0 / epoch})
    # the first report is written at once (a live curve), the next ones wait for the batch
    assert [m.step for m in client.get_metric_history(run_id, "val_accuracy")] == [1]
    tracker.trial_finished(TrialRecord("t1", {}, {"epoch": 4}, status="stopped"))
    history = client.get_metric_history(run_id, "val_accuracy")
    assert sorted((m.step, m.value) for m in history) == [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4)]
    assert client.get_run(run_id).info.status == "KILLED"
