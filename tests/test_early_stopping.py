"""ASHA early stopping: stopped trials are PRUNED in Optuna and kept off the Pareto set."""

import glob
import json
import pickle

import optuna
import pytest
from mlflow.tracking import MlflowClient

from .conftest import can_unshare, find_seed, run_cli, tiny_space, write

# score = -ebops: a trial with 8 filters has several times the EBOPs of one with 2, so
# ASHA (keeping the best half at each rung) stops it once a 2-filter trial passed the rung.
SPACE = tiny_space(
    "asha",
    trials=4,
    concurrency=1,
    epochs=3,
    extra="early_stopping: {scheduler: asha, score: {ebops: -1.0}, grace_period: 1, reduction_factor: 2}\n",
    params="  filters_1: {type: choice, values: [2, 8]}\n",
)


def test_early_stopped_trials_are_pruned_and_off_the_front(tmp_path):
    if not can_unshare():
        pytest.fail("this test needs `unshare -n` (root) to keep Ray on loopback")
    path = write(tmp_path / "asha.yaml", SPACE)
    result = run_cli(["search", "--space", "asha.yaml", "--name", "asha", "--seed", str(find_seed(path, 4, lambda cs: cs[0]["filters_1"] == 2 and 8 in [c["filters_1"] for c in cs[1:]]))], cwd=tmp_path, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stopped early" in result.stdout

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("asha")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    children = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    stopped = [c for c in children if c.data.tags.get("early_stopped") == "true"]
    assert stopped and all(c.info.status == "KILLED" for c in stopped)
    assert all(c.data.params["filters_1"] == "8" for c in stopped)
    assert all("test_accuracy" not in c.data.metrics and "ebops" in c.data.metrics for c in stopped)
    assert parent.data.metrics["trials_stopped"] == len(stopped)
    assert parent.data.metrics["trials_completed"] == len(children) - len(stopped)

    rows = json.loads(open(client.download_artifacts(parent.info.run_id, "pareto.json", str(tmp_path))).read())
    stopped_ids = {c.info.run_id for c in stopped}
    assert rows and not stopped_ids & {row["run_id"] for row in rows}
    assert not any(c.data.tags.get("pareto") == "true" for c in stopped)

    state = sorted(glob.glob(str(tmp_path / "hgq_automl_results" / "asha" / "searcher-state-*.pkl")))[-1]
    study = pickle.load(open(state, "rb"))["_ot_study"]
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) == len(stopped)
    assert states.count(optuna.trial.TrialState.COMPLETE) == len(children) - len(stopped)
