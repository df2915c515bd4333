"""A regression search end to end: scikit-learn's diabetes targets from an .npz file
(the `arrays` dataset), `task: regression`, objectives val_mse and EBOPs, through the real
CLI (Ray in a private network namespace, MLflow SQLite), then `report` and a bit-exact
`export` of a front member to hls4ml (C simulation of every test sample)."""

import json

import numpy as np
import pytest

from .conftest import can_unshare, run_cli, write

SPACE = """\
name: reg
task: {type: regression, loss: mse, chance_margin: 0}  # 3 epochs may not beat the mean: no floor
dataset: {name: arrays, path: diabetes.npz, standardize: true}
model: {family: mlp, dense_layers: 1}
objectives: {val_mse: min, ebops: min}
search: {trials: 2, concurrency: 2, sampler: random, seed: 3}
parameters:
  units_1: {type: int, low: 4, high: 8}
  epochs: 3
  beta: 1.0e-6
  learning_rate: 0.01
"""


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    from mlflow.tracking import MlflowClient
    from sklearn.datasets import load_diabetes

    folder = tmp_path_factory.mktemp("reg")
    x, y = load_diabetes(return_X_y=True)
    np.savez(folder / "diabetes.npz", x=x.astype(np.float32), y=(y / 100.0).astype(np.float32))
    write(folder / "reg.yaml", SPACE)
    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    result = run_cli(["search", "--space", "reg.yaml", "--name", "reg"], cwd=folder, isolated=True)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("reg").experiment_id], max_results=500)
    return folder, result, client, runs


def test_regression_trials_report_errors_not_accuracy(search):
    folder, result, _, runs = search
    assert "task regression (mse loss, 1 targets)" in result.stderr
    trials = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    assert len(trials) == 2 and all(t.info.status == "FINISHED" for t in trials)
    for t in trials:
        m = t.data.metrics
        assert m["val_mse"] > 0 and m["test_mse"] > 0 and m["val_mae"] > 0 and m["val_loss"] == pytest.approx(m["val_mse"])
        assert "val_accuracy" not in m and "test_accuracy" not in m
        assert m["ebops"] > 0 and m["luts"] > 0
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    assert parent.data.params["task"] == "regression (mse)"
    # the table shows the regression columns, best (lowest) val_mse first
    assert "val_mse" in result.stdout and "val_acc" not in result.stdout
    front = [r for r in runs if r.data.tags.get("pareto") == "true"]
    assert front


def test_report_sorts_a_minimised_quality_metric_best_first(search):
    folder, _, _, runs = search
    report = run_cli(["report", "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}", "--experiment", "reg", "--format", "json"], cwd=folder)
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)
    mses = [row["val_mse"] for row in rows]
    assert mses == sorted(mses) and len(rows) >= 1


def test_export_of_a_regression_model_is_bit_exact(search):
    folder, _, _, runs = search
    member = next(r for r in runs if r.data.tags.get("pareto") == "true")
    out = run_cli(["export", member.info.run_id, "--to", "hls4ml", "--out", "fw", "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"], cwd=folder)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "held-out test samples: bit-exact" in out.stdout
