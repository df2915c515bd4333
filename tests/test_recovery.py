"""Recovery paths of the tracking queue (issue #32, item 1), caused for real: `sync NAME`
against a store that answers reads but refuses writes (a SQLite store write-locked by
another process; a real `mlflow server` whose store is made read-only), a run deleted under
a queued write, a queue whose last line was cut short, a server stopped, and a store whose
credentials the state file holds as ***.

The queue is made by the real `Outbox` writing to a real server address where nothing
listens (connection refused, so every write is queued at once); the store that then
replays it is a real SQLite file or a real `mlflow server`. No Ray: `sync` needs none.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .conftest import assert_one_line_error, can_unshare, run_cli, write

SECRET = "pa/ss#w0rd-T0K"
DEAD = "http://127.0.0.1:9"  # nothing listens there: connection refused


def make_queued_search(root: str, name: str, uri: str, state_uri: str | None = None) -> dict:
    """A search `name` in `root` logging to `uri` (its parent run and one trial run made
    there) with 5 tracking writes queued on disk while its store "did not answer": the
    trial's metrics and tags, a second trial created while down (a placeholder), and a tag
    on the parent. Returns the ids."""
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    from hgq_automl.storage import queue_dir, write_state
    from hgq_automl.outbox import Outbox
    from hgq_automl.redact import redact
    from hgq_automl.space import load_space
    from hgq_automl.tracking import SearchTracker

    client = MlflowClient(uri)
    space = load_space("digits_cnn")
    tracker = SearchTracker.start(client, name, name, space, {})
    trial = client.create_run(tracker.experiment_id, run_name="t1", tags={"mlflow.parentRunId": tracker.parent_run_id}).info.run_id
    write_state(root, name, {"space": space.to_dict(), "source": space.source, "tracking_uri": state_uri or redact(uri),
                              "experiment_id": tracker.experiment_id, "parent_run_id": tracker.parent_run_id})
    out = Outbox(MlflowClient(DEAD), queue_dir(root, name), attempts=1, backoff=0.01, probe_seconds=3600)
    out.write("log_batch", trial, [["val_accuracy", 0.5, 1, 1], ["val_accuracy", 0.6, 2, 2]], {})
    out.write("set_tag", trial, "queued", "yes")
    second = out.write("create_run", tracker.experiment_id, "t2", {"mlflow.parentRunId": tracker.parent_run_id})
    out.write("set_tag", second, "queued", "yes")
    out.write("set_tag", tracker.parent_run_id, "queued", "yes")
    assert out.pending() == 5
    return {"experiment": tracker.experiment_id, "parent": tracker.parent_run_id, "trial": trial}


def _queue(root: Path, name: str) -> Path:
    return root / name / "tracking_queue" / "queue.jsonl"


def _tagged(client: MlflowClient, experiment: str) -> set[str]:
    return {r.info.run_name for r in client.search_runs([experiment], filter_string="tags.queued = 'yes'")}


@pytest.fixture
def store(tmp_path):
    return tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_sync_while_the_store_refuses_writes_keeps_the_queue_then_writes_it(store):
    """Another process holds a write lock on the SQLite store: reads answer, writes time
    out. `sync` (which crashed with NameError) exits 2 in one line saying the writes are kept
    and what to run; once the lock is gone it writes them all."""
    folder, uri = store
    ids = make_queued_search(str(folder / "res"), "locked", uri)
    queue = _queue(folder / "res", "locked").read_text()
    holder = sqlite3.connect(folder / "mlflow.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a RESERVED lock: readers go on, writers wait
    try:
        result = run_cli(["sync", "locked", "--storage", "res", "--tracking-uri", f"{uri}?timeout=1"], cwd=folder)
    finally:
        holder.rollback()
        holder.close()
    assert_one_line_error(result, "does not take writes", "5 tracking writes queued", "are kept", f"python -m hgq_automl sync locked --storage {folder / 'res'}")
    assert _queue(folder / "res", "locked").read_text() == queue  # nothing lost, nothing half-applied

    again = run_cli(["sync", "locked", "--storage", "res", "--tracking-uri", uri], cwd=folder)
    assert again.returncode == 0 and "5 queued tracking writes of locked written" in again.stdout, again.stderr
    client = MlflowClient(uri)
    assert _tagged(client, ids["experiment"]) == {"locked", "t1", "t2"}
    assert [m.value for m in client.get_metric_history(ids["trial"], "val_accuracy")] == [0.5, 0.6]
    assert not (folder / "res" / "locked" / "tracking_queue").exists()


def test_a_write_refused_for_good_is_set_aside_and_the_rest_written(store):
    """The trial's run is deleted under its queued writes: those two are set aside in a
    file (with the store's reason) and said in one line; the others are written; exit 0."""
    folder, uri = store
    ids = make_queued_search(str(folder / "res"), "gone", uri)
    MlflowClient(uri).delete_run(ids["trial"])
    result = run_cli(["sync", "gone", "--storage", "res", "--tracking-uri", uri], cwd=folder)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and "refused 2 queued tracking write(s) for good" in warning[0], result.stderr
    assert "3 queued tracking writes of gone written, 2 refused by the store set aside" in result.stdout
    refused = [json.loads(line) for line in (folder / "res" / "gone" / "tracking_queue.refused" / "refused.jsonl").read_text().splitlines()]
    assert [(e["op"], e["args"][0]) for e in refused] == [("log_batch", ids["trial"]), ("set_tag", ids["trial"])]
    assert all("active" in e["refused"] or "deleted" in e["refused"] for e in refused), refused
    assert _tagged(MlflowClient(uri), ids["experiment"]) == {"gone", "t2"}
    assert not (folder / "res" / "gone" / "tracking_queue").exists()


def test_a_torn_last_line_is_dropped_with_a_note(store):
    """A kill (or a full disk) cut the queue's last line: it is dropped with a note, the
    writes before it are written."""
    folder, uri = store
    ids = make_queued_search(str(folder / "res"), "torn", uri)
    queue = _queue(folder / "res", "torn")
    lines = queue.read_text().splitlines(keepends=True)
    queue.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # the parent's tag, cut
    result = run_cli(["sync", "torn", "--storage", "res", "--tracking-uri", uri], cwd=folder)
    assert result.returncode == 0, result.stderr
    note = result.stderr.strip().splitlines()
    assert len(note) == 1 and "was cut short" in note[0] and "dropped it" in note[0], result.stderr
    assert "4 queued tracking writes of torn written" in result.stdout
    assert _tagged(MlflowClient(uri), ids["experiment"]) == {"t1", "t2"}


def test_sync_takes_the_credentials_from_the_environment_never_as_stars(store):
    """The state file holds the store's URI with its credentials as ***: `sync` without
    them exits 2 in one line (it never sends ***); with $MLFLOW_TRACKING_URI holding them it
    writes the queue. No output and no file of the search holds the secret."""
    folder, uri = store
    secret_uri = f"{uri}?auth_token={SECRET}"
    make_queued_search(str(folder / "res"), "cred", secret_uri)
    state = (folder / "res" / "cred" / "hgq_automl.json").read_text()
    assert "auth_token=***" in state and SECRET not in state
    refused = run_cli(["sync", "cred", "--storage", "res"], cwd=folder)
    assert_one_line_error(refused, "credentials are not saved", "$MLFLOW_TRACKING_URI")
    stars = run_cli(["sync", "cred", "--storage", "res", "--tracking-uri", f"{uri}?auth_token=***"], cwd=folder)
    assert_one_line_error(stars, "holds ***", "give them")
    assert _queue(folder / "res", "cred").is_file()
    done = run_cli(["sync", "cred", "--storage", "res"], cwd=folder, env={"MLFLOW_TRACKING_URI": secret_uri})
    assert done.returncode == 0 and "5 queued tracking writes of cred written" in done.stdout, done.stderr
    for out in (refused, stars, done):
        assert SECRET not in out.stdout + out.stderr
    for path in (folder / "res").rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes(), path


SERVER = """\
set -u
ip link set lo up
export PATH={bin}:$PATH PYTHONPATH={repo}
mkdir -p store rostore
serve() {{  # serve PORT FOLDER: a real server on FOLDER/server.db
  python -m mlflow server --workers 1 --host 127.0.0.1 --port $1 --backend-store-uri sqlite:///$PWD/$2/server.db --artifacts-destination $PWD/art >> server.log 2>&1 &
  LAST=$!
  for i in $(seq 1 120); do
    python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$1/health', timeout=2)" 2>/dev/null && return
    sleep 1
  done
}}
make() {{ python -c "from tests.test_recovery import make_queued_search as m; import json; print(json.dumps(m('$PWD/res', '$1', 'http://127.0.0.1:5098', 'http://127.0.0.1:5099')))" > $1.ids; }}
sync() {{ python -m hgq_automl sync $1 --storage res ${{3:-}} > $2.out 2> $2.err; echo "$2=$?"; }}
serve 5098 store; WRITABLE=$LAST
make ro
make down
# the same store through a read-only bind mount, served by a second server
mount --bind store rostore && mount -o remount,bind,ro rostore
serve 5099 rostore; READONLY=$LAST
sync ro readonly
sync ro writable "--tracking-uri http://127.0.0.1:5098"
kill $READONLY; wait $READONLY
sync down stopped
kill $WRITABLE; wait $WRITABLE
"""


def test_against_a_real_server_read_only_then_stopped(tmp_path):
    """A real `mlflow server` whose store is read-only (a read-only bind mount of it): `sync`
    exits 2 in one line saying the store does not take writes, and every write stays queued; to
    a server of the same store that can write, `sync` writes them all. The server stopped:
    exit 2 in one line, the queue kept."""
    if not can_unshare():
        pytest.fail("this test needs `unshare` (root) for a private network and mount namespace")
    repo = Path(__file__).resolve().parents[1]
    write(tmp_path / "run.sh", SERVER.format(bin=Path(sys.executable).parent, repo=repo))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    result = subprocess.run(["unshare", "-n", "-m", "bash", "run.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    log = result.stdout + result.stderr + (tmp_path / "server.log").read_text()[-2000:]

    def err(tag: str) -> list[str]:
        return (tmp_path / f"{tag}.err").read_text().strip().splitlines()

    assert "readonly=2" in result.stdout, log + "\n".join(err("readonly"))
    (line,) = err("readonly")
    # a read-only store's server answers 503, as one busy for a while: nothing is set aside
    assert "does not take writes" in line and "5 tracking writes queued" in line and "are kept" in line, line
    assert not (tmp_path / "res" / "ro" / "tracking_queue.refused").exists()
    assert "writable=0" in result.stdout and "5 queued tracking writes of ro written" in (tmp_path / "writable.out").read_text(), log + "\n".join(err("writable"))
    assert "stopped=2" in result.stdout, log
    (line,) = err("stopped")
    assert "unreachable" in line and "5 tracking writes queued for 'down' are kept" in line and "sync down --storage" in line, line
    assert len(_queue(tmp_path / "res", "down").read_text().splitlines()) == 5
    client = MlflowClient(f"sqlite:///{tmp_path / 'store' / 'server.db'}")
    ids = json.loads((tmp_path / "ro.ids").read_text())
    assert _tagged(client, ids["experiment"]) == {"ro", "t1", "t2"}
