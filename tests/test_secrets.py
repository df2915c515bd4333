"""No credential printed, stored or shown on a command line (issue #32, item 3): redaction
of every URI form MLflow and Ray accept, and a planted secret grepped for in the outputs and
files of `export`, `ui`, `sync` and `submit` (its entrypoint, runtime_env and secrets file).
Real processes and a real MLflow store; no cluster (`submit`'s job is built, not sent).
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

from .conftest import assert_one_line_error, can_unshare, run_cli

SECRET = "pa/ss#w0rd@T0K"  # a password with / # @ (in user:password@host)
QSECRET = "q-s3cr3t-T0KEN"  # a query value (there a # or & would end it)


@pytest.mark.parametrize(
    "uri, shown",
    [
        ("https://bob:s3cr3t@host:5000/x", "https://bob:***@host:5000/x"),
        ("https://s3cr3t@host/", "https://***@host/"),
        ("http://bob:pa/ss@host:5000/x", "http://bob:***@host:5000/x"),  # '/' in the password
        ("http://bob:pa#ss@host", "http://bob:***@host"),  # '#'
        ("http://bob:p@ss?x@[::1]:5000/api", "http://bob:***@[::1]:5000/api"),  # '@' and '?', an IPv6 host
        ("http://bob:p%40ss%2Fx@host/", "http://bob:***@host/"),  # percent-encoded
        ("postgresql+psycopg2://u:pw@db:5432/ml?sslpassword=x&sslmode=require", "postgresql+psycopg2://u:***@db:5432/ml?sslpassword=***&sslmode=require"),
        ("s3://bucket/p?access_key=AK&secret_key=SK&region=eu", "s3://bucket/p?access_key=***&secret_key=***&region=eu"),
        ("https://h/x?token=abc&password=def;sig=ghi", "https://h/x?token=***&password=***;sig=***"),
        ("https://h/x?X-Amz-Signature=zz&X-Amz-Credential=cc&X-Amz-Security-Token=tt", "https://h/x?X-Amz-Signature=***&X-Amz-Credential=***&X-Amz-Security-Token=***"),
        ("https://h/x#access_token=abc", "https://h/x#access_token=***"),
        ("https://h/x?api%5Fkey=abc", "https://h/x?api%5Fkey=***"),  # an encoded key name
        ("ray://u:pw@head:10001", "ray://u:***@head:10001"),
        ("s3://bucket/r?secret_key=pa/ss@T0K&x=1", "s3://bucket/r?secret_key=***&x=1"),  # '@' in a query value
        # nothing to hide
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("sqlite:///x.db?timeout=3", "sqlite:///x.db?timeout=3"),
        ("file:///a@b/c", "file:///a@b/c"),
        ("abfss://container@account.dfs.core.windows.net/p", "abfss://container@account.dfs.core.windows.net/p"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("/a/local/path", "/a/local/path"),
    ],
)
def test_redact_every_uri_form(uri, shown):
    from hgq_automl.redact import has_secret, redact, redact_text, secret_values

    assert redact(uri) == shown
    assert has_secret(uri) == (uri != shown)
    message = f"error at {uri}: could not reach it (decoded: {[v for v in secret_values(uri)]})"
    cleaned = redact_text(message, uri)
    for value in secret_values(uri):
        assert value not in cleaned


def test_a_redacted_uri_is_never_sent():
    from hgq_automl.errors import UsageError
    from hgq_automl.redact import is_redacted
    from hgq_automl.tracking import connect

    assert is_redacted("http://bob:***@host") and is_redacted("sqlite:///x.db?auth_token=***") and not is_redacted("http://host/***")
    with pytest.raises(UsageError, match=r"holds \*\*\*"):
        connect("http://bob:***@127.0.0.1:9")


def test_the_sync_hint_hides_a_storage_secret():
    from hgq_automl.storage import sync_command

    assert sync_command("n", "s3://bucket/r?secret_key=pa/ss@T0K") == "python -m hgq_automl sync n --storage s3://bucket/r?secret_key=***"


def test_export_names_the_store_without_its_credentials(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}?auth_token={QSECRET}"
    missing = run_cli(["export", "0123abcd", "--to", "verilog", "--out", "o", "--tracking-uri", uri], cwd=tmp_path)
    # (SQLAlchemy warns that SQLite ignores the parameter: its lines come first)
    assert missing.returncode == 2 and "no MLflow run '0123abcd'" in missing.stderr.splitlines()[-1] and "auth_token=***" in missing.stderr.splitlines()[-1], missing.stderr
    down = run_cli(["export", "0123abcd", "--to", "verilog", "--out", "o", "--tracking-uri", f"http://bob:{SECRET}@127.0.0.1:9"], cwd=tmp_path)
    assert_one_line_error(down, "http://bob:***@127.0.0.1:9")
    for result in (missing, down):
        assert SECRET not in result.stdout + result.stderr and QSECRET not in result.stderr and "pa/ss" not in result.stderr


def test_a_job_gets_its_credentials_in_a_file_not_its_runtime_env(tmp_path):
    """`submit`'s job: no credential in the entrypoint or the runtime_env (what `ray job
    list` shows); they are in a file readable by the user only, which the job's CLI reads
    into its environment and deletes (shown here with `sync`, which then finds the store)."""
    from hgq_automl.cli import build_parser
    from hgq_automl.jobs import SECRETS_ENV, SECRETS_FILE, job_spec

    from .test_recovery import make_queued_search

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}?auth_token={QSECRET}"
    make_queued_search(str(tmp_path / "res"), "job", uri)
    args = build_parser().parse_args(["submit", "--address", "http://127.0.0.1:8265", "--tracking-uri", uri, "--storage", str(tmp_path / "res")])
    folder = tmp_path / "job"
    folder.mkdir()
    entrypoint, runtime_env, secrets = job_spec(args, folder, "digits_cnn")
    assert QSECRET not in entrypoint + json.dumps(runtime_env)
    assert runtime_env["env_vars"] == {SECRETS_ENV: SECRETS_FILE} and secrets == {"MLFLOW_TRACKING_URI": uri}
    secrets_file = folder / SECRETS_FILE
    assert secrets_file.stat().st_mode & 0o777 == 0o600 and json.loads(secrets_file.read_text()) == secrets

    result = run_cli(["sync", "job", "--storage", str(tmp_path / "res")], cwd=folder, env={**runtime_env["env_vars"]})
    assert result.returncode == 0 and "5 queued tracking writes of job written" in result.stdout, result.stderr
    assert QSECRET not in result.stdout + result.stderr and not secrets_file.exists()
    for path in (tmp_path / "res").rglob("*"):
        assert not path.is_file() or QSECRET.encode() not in path.read_bytes(), path


def test_ui_passes_the_store_by_environment_not_command_line(tmp_path):
    """`ui` on a store whose URI holds a secret: no process it starts has it on its command
    line (what `ps` shows every user); its output shows it as ***."""
    if not can_unshare():
        pytest.fail("this test needs `unshare -n` (root): the UI binds a port")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}?auth_token={QSECRET}"
    MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").search_experiments()  # the store exists
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}  # not on our own command line either
    cmd = f"ip link set lo up; exec {sys.executable} -m hgq_automl ui --port 5096"
    out, err = open(tmp_path / "ui.out", "w"), open(tmp_path / "ui.err", "w")
    proc = subprocess.Popen(["unshare", "-n", "bash", "-c", cmd], cwd=tmp_path, stdout=out, stderr=err, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 180
        while "MLflow UI for" not in (tmp_path / "ui.out").read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "MLflow UI for" in (tmp_path / "ui.out").read_text(), (tmp_path / "ui.err").read_text()[-2000:]
        table = [line.split() for line in subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.splitlines()]
        pids = {str(proc.pid)}
        for _ in range(6):  # its descendants: the UI's own session, its server's workers
            pids |= {pid for pid, ppid in table if ppid in pids}
        cmdlines = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids if Path(f"/proc/{pid}/cmdline").exists()]
        assert len(cmdlines) >= 2 and any(b"mlflow" in c for c in cmdlines), cmdlines  # the UI and its server
        assert not [c for c in cmdlines if b"T0K" in c], cmdlines
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    output = (tmp_path / "ui.out").read_text() + (tmp_path / "ui.err").read_text()
    assert "auth_token=***" in output and "T0K" not in output
