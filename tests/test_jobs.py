"""Ray Jobs: a real head node (`ray start --head --block`, on loopback in a private network
namespace, stopped by the PID we started), a tiny search submitted with `hgq_automl submit`."""

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .conftest import can_unshare, tiny_space, write

TWO_TRIALS = tiny_space("two", trials=2)

SCRIPT = """\
set -u
ip link set lo up
export RAY_AUTH_MODE=disabled PATH={bin}:$PATH
ray start --head --port=6380 --dashboard-host=127.0.0.1 --num-cpus=2 --block > head.log 2>&1 &
HEAD=$!
for i in $(seq 1 90); do
  python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8265/api/version', timeout=2)" 2>/dev/null && break
  sleep 1
done
python -m hgq_automl submit --address http://127.0.0.1:8265 --space two.yaml --name job --seed 3
echo "submit-exit-code=$?"
python -m hgq_automl submit --address http://127.0.0.1:8265 --space bad.yaml
echo "bad-submit-exit-code=$?"
kill $HEAD
wait $HEAD
"""


def test_submit_runs_the_search_as_a_ray_job(tmp_path):
    if not can_unshare():
        pytest.fail("this test needs `unshare -n` (root) to keep Ray on loopback")
    write(tmp_path / "two.yaml", TWO_TRIALS)
    write(tmp_path / "bad.yaml", "parameters:\n  gamma: 1\n")
    write(tmp_path / "job.sh", SCRIPT.format(bin=Path(sys.executable).parent))
    result = subprocess.run(["unshare", "-n", "bash", "job.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out, err = result.stdout, result.stderr
    assert "submit-exit-code=0" in out, out[-3000:] + err[-3000:]
    assert "submitted Ray Job raysubmit_" in err
    assert "Ray Job raysubmit_" in err and ": SUCCEEDED" in err
    assert "Pareto set of job:" in out  # the job's own output, streamed back
    assert "bad-submit-exit-code=2" in out and "bad.yaml: parameters.gamma: unknown parameter" in err

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("job")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags.get("hgq_automl.role") for r in runs) == ["search", "trial", "trial"]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert (tmp_path / "hgq_automl_results" / "job" / "hgq_automl.json").is_file()
