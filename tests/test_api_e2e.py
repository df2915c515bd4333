"""The Python API end to end: in-memory arrays in, a SearchResult out (a real local Ray in a
private network namespace, a real MLflow SQLite store), its dataframe, models, export and
plot; a second search in the same process; resume refusals; `open_search` after a CLI search."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO, can_unshare

sys.path.insert(0, str(Path(__file__).parent))
from api_script import SPACE, digits  # noqa: E402


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    """tests/api_script.py run once inside `unshare -n`: (its folder, what it saw, its stderr)."""
    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    out = tmp_path_factory.mktemp("api")
    script = f"'{sys.executable}' '{REPO / 'tests' / 'api_script.py'}' '{out}'"
    done = subprocess.run(["unshare", "-n", "bash", "-c", f"ip link set lo up; exec {script}"], cwd=out, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return out, json.loads((out / "seen.json").read_text()), done.stderr


def test_search_returns_a_result(api_run):
    out, seen, stderr = api_run
    assert seen["name"] == "api" and seen["failed"] == 0 and seen["unfinished"] == 0
    assert len(seen["points"]) == 3 and 1 <= len(seen["front"]) <= 3 and set(seen["front"]) <= set(seen["points"])
    assert seen["repr"].startswith("<SearchResult 'api': front of")
    assert seen["sizes"] == {"train": 180, "val": 60, "test": 60}  # 300 arrays split 0.6 / 0.2 / 0.2
    for params in seen["params"]:
        assert 2 <= params["filters_1"] <= 4 and params["epochs"] == 2 and "learning_rate" in params  # resolved
    # progress=True outside a notebook: the CLI's plain lines on stderr
    assert "search api: space api (<space>), 3 trials" in stderr and "data: in-memory arrays, 180 train / 60 val / 60 test" in stderr
    assert "3/3 done, 0 running, 0 failed" in stderr


def test_dataframe_has_a_row_per_point_with_params_metrics_and_pareto(api_run):
    out, seen, _ = api_run
    columns = seen["columns"]
    assert columns[:5] == ["trial_id", "run_id", "harvested_from", "harvest_epoch", "pareto"]
    assert columns[5:7] == ["val_accuracy", "test_accuracy"]
    for name in ("ebops", "luts", "filters_1", "epochs", "learning_rate", "wall_seconds"):
        assert name in columns, name
    assert seen["dtypes"]["pareto"] == "bool"
    rows = seen["rows"]
    assert [r["trial_id"] for r in rows] == seen["points"]
    assert {r["trial_id"] for r in rows if r["pareto"]} == set(seen["front"])
    assert all(r["run_id"] for r in rows) and all(r["harvest_epoch"] is None for r in rows)


def test_load_model_reproduces_the_logged_val_accuracy(api_run):
    out, seen, _ = api_run
    assert seen["accuracy"] and seen["load_by_run_id"]
    for logged, recomputed in seen["accuracy"]:
        assert recomputed == pytest.approx(logged, abs=1e-9)


def test_export_is_bit_exact_and_plot_is_a_figure(api_run):
    out, seen, _ = api_run
    export = seen["export"]
    assert export["bit_exact"] and export["bit_mismatches"] == 0 and export["checked"] > 0 and export["luts"] > 0
    assert any(p.endswith(".v") for p in export["paths"])
    assert (out / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen["plot_axes"][0].startswith("ebops") and seen["plot_axes"][1].startswith("val_accuracy")


def test_a_second_search_in_the_same_process_with_a_builder_function(api_run):
    out, seen, _ = api_run
    assert seen["ray_after_first"] is False and seen["ray_after_second"] is False  # each call shut its Ray down
    assert seen["second"] == {"points": 1, "failed": [], "sizes": {"train": 150, "val": 75, "test": 75}, "width": [8]}


def test_resume_checks_the_data(api_run):
    import hgq_automl

    out, seen, _ = api_run
    x, y = digits()
    common = {"name": "api", "resume": True, "tracking_uri": f"sqlite:///{out / 'mlflow.db'}", "storage": str(out / "results")}
    with pytest.raises(hgq_automl.UsageError, match=r"data: not the data the search 'api' was started with \(sha256 "):
        hgq_automl.search(SPACE, data=(x[::-1].copy(), y[::-1].copy()), **common)
    with pytest.raises(hgq_automl.UsageError, match="the search 'api' was started with in-memory data; give the same data again"):
        hgq_automl.search(SPACE, **common)
    with pytest.raises(hgq_automl.UsageError, match="resume=True continues a search as it was started; drop trials"):
        hgq_automl.search(SPACE, data=(x, y), trials=5, **common)


def test_open_search_of_an_in_memory_search_needs_its_data_to_export(api_run, tmp_path):
    import hgq_automl

    out, seen, _ = api_run
    opened = hgq_automl.open_search("api", tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    assert sorted(p.trial_id for p in opened.points) == sorted(seen["points"])
    assert sorted(p.run_id for p in opened.front) == sorted(seen["front_run_ids"])
    with pytest.raises(hgq_automl.UsageError, match="was given its data in memory"):
        opened.data
    with pytest.raises(hgq_automl.UsageError, match="its search was given its data in memory"):
        opened.export(opened.front[0], to="verilog", out=tmp_path / "fw")


def test_open_search_after_a_cli_search(finished_search):
    """The CLI's search (3 trials, one failing) read back: points, failures, front, models."""
    import hgq_automl
    from mlflow.tracking import MlflowClient

    folder, cli = finished_search
    assert cli.returncode == 0, cli.stderr[-3000:]
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = hgq_automl.open_search("e2e", tracking_uri=uri)
    assert result.name == "e2e" and len(result.points) == 2 and len(result.failed) == 1
    assert "loss became nan" in result.failed[0].error
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("e2e").experiment_id])
    assert {p.run_id for p in result.front} == {r.info.run_id for r in runs if r.data.tags.get("pareto") == "true"}
    frame = result.to_dataframe()
    assert len(frame) == 2 and frame["pareto"].sum() == len(result.front)
    point = result.front[0]
    model = result.load_model(point.run_id)
    predicted = np.argmax(np.asarray(model(result.data.x_val, training=False)), axis=1)
    assert np.mean(predicted == result.data.y_val) == pytest.approx(point.metrics["val_accuracy"], abs=1e-9)
    with pytest.raises(hgq_automl.UsageError, match="is not a finished point of the search 'e2e'"):
        result.load_model("no-such-run")


def test_an_interrupted_search_resumes_in_the_same_process(tmp_path):
    """SIGINT (a kernel's interrupt) during search(): it stops cleanly (Ray shut down, the
    resume call printed), and search(..., resume=True) in the same process finishes it."""
    import os
    import signal
    import time

    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    script = f"'{sys.executable}' '{REPO / 'tests' / 'api_interrupt_script.py'}' '{tmp_path}'"
    err = tmp_path / "err.txt"
    proc = subprocess.Popen(
        ["unshare", "-n", "bash", "-c", f"ip link set lo up; exec {script}"], cwd=tmp_path, stdout=open(tmp_path / "out.txt", "w"),
        stderr=open(err, "w"), start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 300
    while "1/4 done" not in err.read_text():
        assert time.monotonic() < deadline and proc.poll() is None, err.read_text()[-3000:]
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=600) == 0, err.read_text()[-3000:]
    seen = json.loads((tmp_path / "interrupt.json").read_text())
    first = seen["first"]
    assert first["raised"] or (first["unfinished"] > 0 and "resume=True" in first["resume_command"]), first
    assert "hgq_automl: interrupted" in err.read_text() and "hgq_automl.search(space, name='intr'" in err.read_text()
    assert seen["ray_after_interrupt"] is False
    assert seen["resumed"]["unfinished"] == 0 and len(seen["resumed"]["points"]) == 4 and seen["resumed"]["failed"] == 0
