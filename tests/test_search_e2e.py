"""The real CLI, end to end: a real local Ray (in a private network namespace), a real
MLflow SQLite store, real HGQ2 training and da4ml estimates, on a tiny space."""

import json

import pytest
from mlflow.tracking import MlflowClient

def test_search_exits_0_and_prints_the_front(finished_search):
    folder, result = finished_search
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Pareto set of e2e:" in result.stdout
    assert "of 2 completed trials (1 failed)" in result.stdout
    assert "loss became nan at epoch 1" in result.stdout
    # progress lines on stderr
    assert "3/3 done, 0 running, 1 failed" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "hgq_automl: 1 of 3 trials failed (see above)"
    assert "sqlite:///" in result.stdout and "mlflow.db" in result.stdout


def test_mlflow_has_parent_and_child_runs_with_metrics(finished_search):
    folder, result = finished_search
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("e2e")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("hgq_automl.role") == "search"]
    children = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    assert len(parents) == 1 and len(children) == 3
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    assert parent.data.metrics["trials_completed"] == 2 and parent.data.metrics["trials_failed"] == 1

    finished = [c for c in children if c.info.status == "FINISHED"]
    failed = [c for c in children if c.info.status == "FAILED"]
    assert len(finished) == 2 and len(failed) == 1
    assert "TrialFailed: loss became nan at epoch 1" in failed[0].data.tags["error"]
    assert failed[0].data.params["learning_rate"] == "1e+30"
    for child in finished:
        m = child.data.metrics
        for name in ("val_accuracy", "test_accuracy", "ebops", "flops", "params", "luts", "dsps", "latency_cycles", "latency_ns"):
            assert name in m, name
        assert 0 <= m["val_accuracy"] <= 1 and m["ebops"] > 0 and m["luts"] > 0 and m["params"] > 0
        assert child.data.params["epochs"] == "2" and 2 <= int(child.data.params["filters_1"]) <= 4
        history = client.get_metric_history(child.info.run_id, "loss")
        assert sorted(h.step for h in history) == [1, 2]
        assert {"model/MLmodel", "model/data"} <= {a.path for a in client.list_artifacts(child.info.run_id, "model")}


def test_pareto_artifacts_and_tags_agree(finished_search):
    folder, result = finished_search
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("e2e")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"pareto.json", "pareto.csv", "pareto.png", "search_space.yaml"} <= artifacts
    local = client.download_artifacts(parent.info.run_id, "pareto.json", str(folder))
    rows = json.loads(open(local).read())
    tagged = {r.info.run_id for r in runs if r.data.tags.get("pareto") == "true"}
    assert rows and {row["run_id"] for row in rows} == tagged
    assert parent.data.metrics["pareto_size"] == len(rows)
    # the time outside the trials, part by part: on the parent run and in one progress line
    phases = {k: v for k, v in parent.data.metrics.items() if k.startswith("driver_") and k.endswith("_seconds")}
    assert {f"driver_{p}_seconds" for p in ("imports", "setup", "ray_start", "trials", "results", "ray_shutdown", "publish")} <= set(phases)
    assert all(v >= 0 for v in phases.values()) and phases["driver_trials_seconds"] > phases["driver_results_seconds"]
    assert phases["driver_imports_seconds"] > 0  # the interpreter's start, measured from /proc
    assert "time outside the trials: before " in result.stderr
    by_id = {r.info.run_id: r for r in runs}
    for row in rows:
        child = by_id[row["run_id"]]
        assert row["val_accuracy"] == pytest.approx(child.data.metrics["val_accuracy"])
        assert row["ebops"] == pytest.approx(child.data.metrics["ebops"])
        assert row["trial_id"] in result.stdout  # printed in the table
    png = client.download_artifacts(parent.info.run_id, "pareto.png", str(folder))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_max_failures_retries_a_failing_trial(tmp_path):
    from .conftest import can_unshare, run_cli, tiny_space, write

    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    write(tmp_path / "nan.yaml", tiny_space("nan", trials=1, params="  learning_rate: 1.0e+30\n"))
    result = run_cli(["search", "--space", "nan.yaml", "--name", "nan", "--max-failures", "1"], cwd=tmp_path, isolated=True)
    assert result.returncode == 1, result.stderr[-3000:]  # every trial failed
    assert "0 of 0 completed trials (1 failed)" in result.stdout
    assert "hgq_automl: every trial failed (1 of 1):" in result.stderr and "loss became nan" in result.stderr.splitlines()[-1]
    assert result.stderr.count(" started (") == 2  # the first attempt and one retry
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("nan").experiment_id])
    trial = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "trial")
    assert len(runs) == 2 and trial.info.status == "FAILED"
    assert trial.data.tags.get("restarted") == "true" and "loss became nan" in trial.data.tags["error"]
