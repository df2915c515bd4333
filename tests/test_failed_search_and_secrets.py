"""A search in which every trial fails exits 1 and says why; credentials in a tracking URI
are shown as *** everywhere they could leak (console, MLflow params and tags, state file,
a Ray Job's command line).

One real search (Ray in a private network namespace, a real SQLite store whose URI carries
a secret-looking query parameter that SQLite ignores), shared by the tests.
"""

from __future__ import annotations

import json

import pytest

from .conftest import can_unshare, run_cli, tiny_space, write

SECRET = "s3cr3t-T0KEN"
# learning_rate 1e30 makes the loss NaN at the first epoch: every trial fails at once
ALL_FAIL = tiny_space("allfail", trials=2, epochs=1, params="  filters_1: 2\n  learning_rate: 1.0e+30\n")


@pytest.fixture(scope="module")
def failed_search(tmp_path_factory):
    if not can_unshare():
        pytest.fail("this test needs `unshare -n` (root) to keep Ray on loopback")
    folder = tmp_path_factory.mktemp("allfail")
    write(folder / "allfail.yaml", ALL_FAIL)
    uri = f"sqlite:///{folder / 'mlflow.db'}?timeout=30&auth_token={SECRET}"
    result = run_cli(["search", "--space", "allfail.yaml", "--name", "allfail", "--tracking-uri", uri, "--cpus", "2", "--concurrency", "3"], cwd=folder, isolated=True, timeout=300)
    return folder, result


def test_every_trial_failed_exits_1_with_the_reasons(failed_search):
    folder, result = failed_search
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr.split("every trial failed")[-1]
    tail = [line for line in result.stderr.split("hgq_automl: every trial failed (2 of 2):")[1].splitlines() if line.strip()]
    assert len(tail) == 2 and all(line.startswith("  trial ") for line in tail), result.stderr[-2000:]
    assert all("NaN" in line or "nan" in line for line in tail), tail
    # more trials at once than CPUs is said, not silently capped
    assert "note: concurrency 3 is above the 2 CPUs Ray has; at most 2 trials run at once" in result.stderr


def test_credentials_are_shown_as_stars_and_never_stored(failed_search):
    from mlflow.tracking import MlflowClient

    folder, result = failed_search
    assert not [line for line in (result.stdout + result.stderr).splitlines() if SECRET in line]
    assert "auth_token=***" in result.stderr
    state = (folder / "hgq_automl_results" / "allfail" / "hgq_automl.json").read_text()
    assert SECRET not in state and "auth_token=***" in json.loads(state)["tracking_uri"]
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("allfail").experiment_id])
    assert len(runs) == 3  # the search and its two trials
    for run in runs:
        assert SECRET not in json.dumps([run.data.params, run.data.tags])
    # a resume from the state file needs the credentials again: they were not saved
    again = run_cli(["search", "--resume", "allfail"], cwd=folder)
    assert again.returncode == 2 and "credentials are not saved; give --tracking-uri with them again" in again.stderr
    assert SECRET not in again.stderr


def test_an_unreachable_server_with_credentials_is_named_without_them(tmp_path):
    result = run_cli(["search", "--tracking-uri", f"http://bob:{SECRET}@127.0.0.1:9/?token={SECRET}", "--name", "x"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert SECRET not in result.stderr and "http://bob:***@127.0.0.1:9/?token=***" in result.stderr


def test_redact():
    from hgq_automl.redact import redact

    assert redact(f"https://bob:{SECRET}@host:5000/x") == "https://bob:***@host:5000/x"
    assert redact(f"https://{SECRET}@host/") == "https://***@host/"
    assert redact(f"s3://bucket/p?access_key=AK&secret_key={SECRET}&region=eu") == "s3://bucket/p?access_key=***&secret_key=***&region=eu"
    for plain in ("sqlite:////tmp/x.db", "sqlite:///x.db?timeout=3", "/a/local/path", "http://127.0.0.1:5000", None):
        assert redact(plain) == plain


def test_a_ray_job_gets_credentials_in_its_environment_not_its_command_line(tmp_path):
    from hgq_automl.cli import build_parser
    from hgq_automl.jobs import search_arguments

    uri = f"http://bob:{SECRET}@mlflow.example:5000"
    storage = f"s3://bucket/results?secret_key={SECRET}"
    args = build_parser().parse_args(["submit", "--address", "http://head:8265", "--tracking-uri", uri, "--storage", storage, "--trials", "3"])
    secrets: dict[str, str] = {}
    argv = search_arguments(args, secrets)
    assert SECRET not in " ".join(argv) and "--tracking-uri" not in argv and "--storage" not in argv
    assert secrets == {"MLFLOW_TRACKING_URI": uri, "HGQ_AUTOML_STORAGE": storage}
    assert argv == ["--trials", "3"]
    plain = build_parser().parse_args(["submit", "--address", "http://head:8265", "--tracking-uri", "http://mlflow.example:5000"])
    secrets = {}
    assert search_arguments(plain, secrets)[:2] == ["--tracking-uri", "http://mlflow.example:5000"] and secrets == {}
