"""Harvesting end to end: a real search (Ray in a private network namespace, MLflow
SQLite) with `harvest:` and a wall-clock budget; harvested checkpoints become MLflow
runs nested under their trial, front members, registry versions, report rows and
exportable, bit-exact models."""

import json

import pytest

from .conftest import logged_search, run_cli, tiny_space

SPACE = tiny_space(
    "hv",
    trials=200,
    epochs=8,
    extra="harvest: {max_points: 3}\n",
    params="  beta: {type: log_uniform, low: 1.0e-6, high: 1.0e-5}\n  beta_final: {type: log_uniform, low: 1.0e-3, high: 1.0e-2}\n  filters_1: {type: int, low: 2, high: 4}\n",
    floor=True,  # the default chance floor: ramps to 1e-2 end near collapse
)


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    return logged_search(tmp_path_factory, "hv", SPACE, "--seed", "3", "--time-budget-s", "40")


def _role(runs, role):
    return [r for r in runs if r.data.tags.get("hgq_automl.role") == role]


def test_time_budget_ends_the_search_as_finished(search):
    folder, result, client, runs = search
    parent = _role(runs, "search")[0]
    assert parent.info.status == "FINISHED"  # not KILLED: the budget ending is no interrupt
    assert parent.data.params["time_budget_s"] == "40.0" and parent.data.params["harvest"] == "True"
    m = parent.data.metrics
    assert m["trials_unfinished"] == 0
    assert 1 <= m["trials_completed"] < 200
    assert "time budget 40 s" in result.stderr and "resume with" not in result.stderr
    # trials running at the budget end their training there and are kept, not killed
    trials = _role(runs, "trial")
    assert len(trials) == m["trials_completed"] and all(t.info.status == "FINISHED" for t in trials)
    trained = [int(t.data.metrics["epochs_trained"]) for t in trials]
    assert all(1 <= n <= 8 for n in trained)
    cut = sum(n < 8 for n in trained)
    # harvesting ramps every trial: a ramp the budget cut kept pace with it (reached beta_final)
    assert (f"{cut} ramps paced by the time budget" in result.stdout) == (cut > 0) and "cut short" not in result.stdout
    # the trials asked for but never started are said, not silently dropped
    assert f"{200 - len(trials)} of 200 trials not started: the time budget (40 s) ended first" in result.stdout


def test_harvested_checkpoints_are_runs_nested_under_their_trial(search):
    folder, result, client, runs = search
    trials = {r.info.run_id: r for r in _role(runs, "trial")}
    harvested = _role(runs, "harvest")
    parent = _role(runs, "search")[0]
    assert len(harvested) >= 1
    assert parent.data.metrics["harvested_points"] == len(harvested)
    assert f"+ {len(harvested)} harvested epochs)" in result.stdout
    for run in harvested:
        trial = trials[run.data.tags["mlflow.parentRunId"]]
        assert run.info.status == "FINISHED" and trial.info.status == "FINISHED"
        assert run.data.tags["hgq_automl.search_run"] == parent.info.run_id
        assert run.data.tags["hgq_automl.trial_id"] == f"{trial.data.tags['hgq_automl.trial_id']}-e{run.data.params['harvest_epoch']}"
        epoch = int(run.data.params["harvest_epoch"])
        assert 1 <= epoch < 8 and run.data.metrics["harvest_epoch"] == epoch
        assert {k: v for k, v in run.data.params.items() if k != "harvest_epoch"} == trial.data.params
        assert trial.data.metrics["harvest_points"] >= 1
        assert run.data.metrics["ebops"] > 0 and 0 <= run.data.metrics["test_accuracy"] <= 1
        assert run.data.metrics["luts"] > 0 and run.data.metrics["latency_ns"] > 0  # every estimate, da4ml's too
        assert "model/data/model.keras" in {a.path for a in client.list_artifacts(run.info.run_id, "model/data")}
    assert all(t.data.params["beta_schedule"] == "ramp" for t in trials.values())
    for trial in trials.values():  # the time split: the trainable's parts, and the driver's view
        m = trial.data.metrics
        if trial.info.status == "FINISHED":
            assert m["wall_seconds"] >= m["trial_seconds"] > m["train_seconds"] + m["harvest_seconds"] + m["estimate_seconds"] > 0
            assert m["tracking_seconds"] > 0


def test_the_front_registry_and_report_cover_harvested_points(search):
    folder, result, client, runs = search
    (folder / "dl").mkdir(exist_ok=True)
    pareto = json.loads(open(client.download_artifacts(_role(runs, "search")[0].info.run_id, "pareto.json", str(folder / "dl"))).read())
    by_run = {r.info.run_id: r for r in runs}
    assert pareto and all(by_run[row["run_id"]].data.tags.get("pareto") == "true" for row in pareto)
    # no NaN column: harvested members carry every estimate the table shows, da4ml's LUTs included
    assert any(row["harvested_from"] for row in pareto)
    assert all(isinstance(row["luts"], float) and row["luts"] > 0 and row["dsps"] is not None for row in pareto)
    for row in pareto:
        run = by_run[row["run_id"]]
        assert row["harvested_from"] == run.data.tags.get("hgq_automl.harvested_from", "")
    # the chance floor: said once, logged with the constraints, no front member below it
    line = next(x.strip() for x in result.stderr.splitlines() if x.strip().startswith("note: the front keeps points with val_accuracy >= "))
    bound = float(line.split(">= ")[1].split(":")[0])
    assert 0.1 < bound < 0.3 and _role(runs, "search")[0].data.params["constraints"] == f"val_accuracy >= {bound:g}"
    assert all(by_run[row["run_id"]].data.metrics["val_accuracy"] >= bound for row in pareto)
    versions = client.search_model_versions("name = 'hv'")
    assert sorted(v.run_id for v in versions) == sorted(row["run_id"] for row in pareto)
    report = run_cli(["report", "--experiment", "hv", "--format", "json"], cwd=folder)
    assert report.returncode == 0, report.stderr
    assert sorted(r["run_id"] for r in json.loads(report.stdout)) == sorted(row["run_id"] for row in pareto)
    table = run_cli(["report", "--experiment", "hv"], cwd=folder)
    assert "harvested epochs" in table.stdout


def test_a_harvested_checkpoint_exports_bit_exact(search):
    folder, result, client, runs = search
    run = _role(runs, "harvest")[0]
    out = run_cli(["export", run.info.run_id, "--to", "verilog", "--out", "out_v"], cwd=folder)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "held-out test samples: bit-exact" in out.stdout
    assert (folder / "out_v" / "src" / "model.v").is_file()
