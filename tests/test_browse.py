"""`report` reads searches back from MLflow; `ui` serves them, checked in headless Chromium."""

import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from .conftest import run_cli, tiny_space, write

SECOND = tiny_space("second", trials=2)


def _uri(folder):
    return f"sqlite:///{folder / 'mlflow.db'}"


def test_report_table_csv_json_match_mlflow(finished_search):
    folder, search = finished_search
    uri = _uri(folder)
    table = run_cli(["report", "--tracking-uri", uri], cwd=folder)  # default: the latest search
    assert table.returncode == 0, table.stderr
    assert "Pareto set of e2e (val_accuracy max, ebops min):" in table.stdout
    assert "(1 failed)" in table.stdout and "loss became nan" in table.stdout

    rows = json.loads(run_cli(["report", "--experiment", "e2e", "--tracking-uri", uri, "--format", "json"], cwd=folder).stdout)
    client = MlflowClient(uri)
    tagged = {r.info.run_id for r in client.search_runs([client.get_experiment_by_name("e2e").experiment_id]) if r.data.tags.get("pareto") == "true"}
    assert {row["run_id"] for row in rows} == tagged
    for row in rows:
        assert row["trial_id"] in table.stdout and row["trial_id"] in search.stdout
        assert row["config"]["epochs"] == 2 and 0 <= row["val_accuracy"] <= 1

    parsed = list(csv.DictReader(io.StringIO(run_cli(["report", "--experiment", "e2e", "--tracking-uri", uri, "--format", "csv"], cwd=folder).stdout)))
    assert [r["run_id"] for r in parsed] == [row["run_id"] for row in rows]
    assert [float(r["ebops"]) for r in parsed] == [row["ebops"] for row in rows]
    assert "filters_1" in parsed[0]

    luts = json.loads(run_cli(["report", "--experiment", "e2e", "--tracking-uri", uri, "--format", "json", "--objectives", "luts"], cwd=folder).stdout)
    assert len(luts) == 1 and luts[0]["luts"] == min(row["luts"] for row in rows) or luts[0]["luts"] <= min(row["luts"] for row in rows)


def test_report_combines_searches_and_refuses_unknown_ones(finished_search):
    folder, _ = finished_search
    uri = _uri(folder)
    write(folder / "second.yaml", SECOND)
    second = run_cli(["search", "--space", "second.yaml", "--name", "second", "--seed", "1"], cwd=folder, isolated=True)
    assert second.returncode == 0, second.stderr[-3000:]
    one = json.loads(run_cli(["report", "--experiment", "e2e", "--tracking-uri", uri, "--format", "json"], cwd=folder).stdout)
    two = json.loads(run_cli(["report", "--experiment", "second", "--tracking-uri", uri, "--format", "json"], cwd=folder).stdout)
    both = json.loads(run_cli(["report", "--experiment", "e2e", "second", "--tracking-uri", uri, "--format", "json"], cwd=folder).stdout)
    assert {r["trial_id"].split("/")[0] for r in both} <= {"e2e", "second"}
    assert {r["run_id"] for r in both} <= {r["run_id"] for r in one + two}
    # the combined front dominates or equals each one: its best accuracy is the best of both
    assert max(r["val_accuracy"] for r in both) == max(r["val_accuracy"] for r in one + two)

    missing = run_cli(["report", "--experiment", "nope", "--tracking-uri", uri], cwd=folder)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "no MLflow experiment named 'nope'" in missing.stderr
    bad = run_cli(["report", "--tracking-uri", uri, "--objectives", "speed"], cwd=folder)
    assert bad.returncode == 2 and "--objectives: unknown metric 'speed'" in bad.stderr


def test_parent_and_child_runs_hold_what_users_browse(finished_search, monkeypatch):
    folder, _ = finished_search
    client = MlflowClient(_uri(folder))
    experiment = client.get_experiment_by_name("e2e")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"pareto.png", "pareto.html", "versions.json", "search_space.yaml", "parameters"} <= artifacts
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "parameters")}
    assert "parameters/parallel_val_accuracy.png" in plots and "parameters/parallel_ebops.png" in plots
    html = open(client.download_artifacts(parent.info.run_id, "pareto.html", str(folder))).read()
    assert "plotly" in html and "Pareto front" in html
    versions = json.loads(open(client.download_artifacts(parent.info.run_id, "versions.json", str(folder))).read())
    assert {"hgq2", "hls4ml", "da4ml", "keras", "ray", "optuna", "mlflow"} <= set(versions)

    # front members are registered, one version each, with their estimates as tags
    front = [r for r in runs if r.data.tags.get("pareto") == "true"]
    versions = client.search_model_versions("name = 'e2e'")
    assert sorted(v.run_id for v in versions) == sorted(r.info.run_id for r in front)
    for v in versions:
        run = client.get_run(v.run_id)
        assert float(v.tags["luts"]) == run.data.metrics["luts"] and float(v.tags["ebops"]) == run.data.metrics["ebops"]

    # the trained model loads back through MLflow and predicts
    import mlflow.pyfunc
    import numpy as np

    # MLflow keeps the tracking URI in the environment too: restore it after the test
    monkeypatch.setenv("MLFLOW_TRACKING_URI", _uri(folder))
    mlflow.set_tracking_uri(_uri(folder))
    model = mlflow.pyfunc.load_model(f"runs:/{front[0].info.run_id}/model")
    out = model.predict(np.zeros((3, 8, 8), dtype=np.float32))
    assert np.asarray(out).shape == (3, 10)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium(args, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("headless Chromium is needed (Debian package chromium; .ci/run installs it)")
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'chrome-profile'}", "--virtual-time-budget=25000",
    ]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=180)


def test_mlflow_ui_shows_the_search_in_a_browser(finished_search, tmp_path):
    folder, _ = finished_search
    client = MlflowClient(_uri(folder))
    experiment = client.get_experiment_by_name("e2e")
    parent = next(r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("hgq_automl.role") == "search")
    port = _free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "hgq_automl", "ui", "--tracking-uri", _uri(folder), "--port", str(port)],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        line = ui.stdout.readline()  # printed once the UI answers /health
        assert "workflowType=machine_learning" in line
        assert f"http://127.0.0.1:{port}" in line, line
        base = f"http://127.0.0.1:{port}"

        ml = "?workflowType=machine_learning"  # the UI's model-training view
        children = [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("hgq_automl.role") == "trial"]
        runs_page = _chromium(["--dump-dom", f"{base}/#/experiments/{experiment.experiment_id}/runs{ml}"], tmp_path).stdout
        assert "e2e" in runs_page, runs_page[-2000:]
        assert re.search(rf">\s*{1 + len(children)}\s*<.*matching runs|{1 + len(children)} matching runs", runs_page)

        child = children[0]
        run_page = _chromium(["--dump-dom", f"{base}/#/experiments/{experiment.experiment_id}/runs/{child.info.run_id}{ml}"], tmp_path).stdout
        assert child.info.run_name in run_page and "val_accuracy" in run_page

        artifacts_page = _chromium(["--dump-dom", f"{base}/#/experiments/{experiment.experiment_id}/runs/{parent.info.run_id}/artifacts{ml}"], tmp_path).stdout
        assert "pareto.png" in artifacts_page and "pareto.html" in artifacts_page

        shot = tmp_path / "runs.png"
        _chromium(["--window-size=1400,900", f"--screenshot={shot}", f"{base}/#/experiments/{experiment.experiment_id}/runs{ml}"], tmp_path)
        import numpy as np
        from PIL import Image

        pixels = np.asarray(Image.open(shot).convert("L"))
        assert len(np.unique(pixels)) > 20  # a rendered page, not a blank one
    finally:
        os.killpg(ui.pid, signal.SIGINT)  # what Ctrl-C does: the command stops the UI and its workers
        assert ui.wait(timeout=60) == 0
    time.sleep(1)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
