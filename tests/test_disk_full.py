"""The disk filling during a search (issue #32 item 6), caused for real: a small tmpfs holds
the search's folder (checkpoints, harvested models, the tracking queue) and its SQLite
MLflow store with the artifacts beside it; once the first trial is logged, `dd` fills the
disk. The search stops with one line and exit 1, nothing it had logged is lost, and after
the fill file is removed `--resume` completes it: every trial logged once, with its model.

Real CLI processes, real Ray inside `unshare -n`, a real tmpfs inside `unshare -m`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import can_unshare, tiny_space, write

SPACE = tiny_space("full", trials=3, concurrency=1, epochs=4, extra="harvest: {max_points: 2}\n")

SCRIPT = """\
set -u
mount -t tmpfs -o size=24m tmpfs {mnt}
ip link set lo up
{python} -m hgq_automl search --space full.yaml --name full --storage {mnt} --tracking-uri sqlite:///{mnt}/mlflow.db --seed 1 > first.out 2> first.err &
pid=$!
until grep -q "1/3 done" first.err || ! kill -0 $pid 2>/dev/null; do sleep 0.2; done
dd if=/dev/zero of={mnt}/fill bs=64k 2>/dev/null
wait $pid; echo $? > first.rc
ls -a {mnt}/full > first.ls
rm {mnt}/fill
{python} -m hgq_automl search --resume full --storage {mnt} > second.out 2> second.err; echo $? > second.rc
ls -a {mnt}/full > second.ls
{python} {report} sqlite:///{mnt}/mlflow.db > runs.json
"""

REPORT = """\
import json, sys
from mlflow.tracking import MlflowClient
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("full")
runs = client.search_runs([experiment.experiment_id], run_view_type=3, max_results=1000)
print(json.dumps([
    {"role": r.data.tags.get("hgq_automl.role"), "trial": r.data.tags.get("hgq_automl.trial_id"), "status": r.info.status,
     "stage": r.info.lifecycle_stage, "artifacts": [a.path for a in client.list_artifacts(r.info.run_id)],
     "val_accuracy": r.data.metrics.get("val_accuracy")}
    for r in runs
]))
"""


@pytest.mark.e2e
def test_a_disk_filled_during_a_search_stops_it_with_one_line_and_it_resumes_once_freed(tmp_path):
    if not can_unshare():
        pytest.fail("this test needs `unshare -m -n` (root): a tmpfs of its own, Ray on loopback")
    write(tmp_path / "full.yaml", SPACE)
    write(tmp_path / "report.py", REPORT)
    (tmp_path / "mnt").mkdir()
    script = SCRIPT.format(mnt=tmp_path / "mnt", python=sys.executable, report=tmp_path / "report.py")
    subprocess.run(["unshare", "-m", "-n", "bash", "-c", script], cwd=tmp_path, timeout=900, check=True)

    first = (tmp_path / "first.err").read_text()
    assert (tmp_path / "first.rc").read_text().strip() == "1", first[-3000:]
    last = first.strip().splitlines()[-1]
    assert last.startswith(f"hgq_automl: the disk holding {tmp_path / 'mnt' / 'full'} is full (") and "No space left on device" in last, first[-3000:]
    assert last.endswith(f"free space, then resume with: python -m hgq_automl search --resume full --storage {tmp_path / 'mnt'}")
    assert "internal error" not in first and "hgq_automl/" not in first  # no traceback of ours
    assert ".space_reserve" not in (tmp_path / "first.ls").read_text()  # given back

    second = (tmp_path / "second.err").read_text()
    assert (tmp_path / "second.rc").read_text().strip() == "0", second[-3000:]
    assert "search full (resumed)" in second and "Traceback" not in second
    assert ".space_reserve" not in (tmp_path / "second.ls").read_text()

    runs = json.loads((tmp_path / "runs.json").read_text())
    live = [r for r in runs if r["stage"] == "active"]
    trials = [r for r in live if r["role"] == "trial"]
    # every trial once, finished, with its model; nothing logged before the fill was lost
    assert sorted(r["trial"] for r in trials) == sorted({r["trial"] for r in trials}) and len(trials) == 3, runs
    assert all(r["status"] == "FINISHED" and "model" in r["artifacts"] and r["val_accuracy"] is not None for r in trials), trials
    assert all(r["status"] == "FINISHED" and "model" in r["artifacts"] for r in live if r["role"] == "harvest")
    (parent,) = [r for r in live if r["role"] == "search"]
    assert parent["status"] == "FINISHED" and "pareto.json" in parent["artifacts"]
    assert not [r for r in runs if r["status"] == "RUNNING"]


def test_disk_full_is_recognised_in_every_form_a_full_disk_takes():
    import errno

    from hgq_automl.diskfull import is_disk_full

    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full("OSError: [Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device")
    assert is_disk_full("(sqlite3.OperationalError) database or disk is full")
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(None)


def test_the_reserve_takes_at_most_a_tenth_of_the_free_space_and_is_given_back(tmp_path):
    import shutil

    from hgq_automl.diskfull import RESERVE_FILE, release, reserve

    free = shutil.disk_usage(tmp_path).free
    size = reserve(tmp_path, size=1 << 20)
    assert size == min(1 << 20, free // 10) and (tmp_path / RESERVE_FILE).stat().st_size == size
    assert release(tmp_path) and not (tmp_path / RESERVE_FILE).exists()
    assert not release(tmp_path)
    assert reserve("s3://bucket/x") == 0 and reserve(tmp_path / "missing") == 0
