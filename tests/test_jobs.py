"""Ray Jobs: a real head node (`ray start --head --block`, on loopback in a private network
namespace, stopped by the PID we started), a tiny search submitted with `hgq_automl submit`."""

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .conftest import can_unshare, tiny_space, write

TWO_TRIALS = tiny_space("two", trials=2)
#: a builder-based space whose module sits next to it, away from the working directory:
#: the module must travel with the job to the Ray workers
OWN = """\
name: own
task: {type: classification, chance_margin: 0}  # few-epoch trials can sit near chance: no floor
dataset: {name: digits, max_samples: 300}
model: {builder: "job_models:build"}
search: {trials: 2, concurrency: 2, sampler: random, seed: 1}
parameters:
  width: {type: choice, values: [5, 7]}
  epochs: 2
"""
OWN_MODULE = """\
def build(params, input_shape, n_outputs):
    import keras

    inputs = keras.Input(input_shape, name="features")
    h = keras.layers.Dense(params["width"], activation="relu", name="hidden")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_outputs, name="logits")(h))
"""

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
python -m hgq_automl submit --address http://127.0.0.1:8265 --space two.yaml --name job --seed 3 --tracking-uri "sqlite:///$PWD/mlflow.db?auth_token=s3cr3t-T0KEN"
echo "submit-exit-code=$?"
python -m hgq_automl submit --address http://127.0.0.1:8265 --space bad.yaml
echo "bad-submit-exit-code=$?"
python -m hgq_automl submit --address http://127.0.0.1:8265 --space spaces/own.yaml --name ownjob
echo "own-submit-exit-code=$?"
kill $HEAD
wait $HEAD
"""


def test_submit_runs_the_search_as_a_ray_job(tmp_path):
    if not can_unshare():
        pytest.fail("this test needs `unshare -n` (root) to keep Ray on loopback")
    write(tmp_path / "two.yaml", TWO_TRIALS)
    write(tmp_path / "bad.yaml", "parameters:\n  gamma: 1\n")
    (tmp_path / "spaces").mkdir()
    write(tmp_path / "spaces" / "own.yaml", OWN)
    write(tmp_path / "spaces" / "job_models.py", OWN_MODULE)
    write(tmp_path / "job.sh", SCRIPT.format(bin=Path(sys.executable).parent))
    result = subprocess.run(["unshare", "-n", "bash", "job.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out, err = result.stdout, result.stderr
    assert "submit-exit-code=0" in out, out[-3000:] + err[-3000:]
    assert "submitted Ray Job raysubmit_" in err
    assert "plain http" not in err  # 127.0.0.1: no warning
    assert "Ray Job raysubmit_" in err and ": SUCCEEDED" in err
    assert "Pareto set of job:" in out  # the job's own output, streamed back
    # the tracking URI's credential reached the job in its environment, never in clear
    assert "s3cr3t-T0KEN" not in out + err and "(MLFLOW_TRACKING_URI=sqlite:///" in err and "auth_token=***" in err
    assert "--tracking-uri" not in err.split("submitted Ray Job")[1].splitlines()[0]
    assert "s3cr3t" not in (tmp_path / "hgq_automl_results" / "job" / "hgq_automl.json").read_text()
    assert "bad-submit-exit-code=2" in out and "bad.yaml: parameters.gamma: unknown parameter" in err

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("job")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags.get("hgq_automl.role") for r in runs) == ["search", "trial", "trial"]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert (tmp_path / "hgq_automl_results" / "job" / "hgq_automl.json").is_file()

    # the builder-based search: its module reached the workers, its own parameter was sampled
    assert "own-submit-exit-code=0" in out, out[-3000:] + err[-3000:]
    own = client.search_runs([client.get_experiment_by_name("ownjob").experiment_id])
    trials = [r for r in own if r.data.tags.get("hgq_automl.role") == "trial"]
    assert len(trials) == 2 and all(r.info.status == "FINISHED" for r in trials)
    assert {r.data.params["width"] for r in trials} <= {"5", "7"}


@pytest.mark.parametrize(("address", "warned"), [
    ("http://10.77.0.5:8265", True),
    ("head.example.org:8265", True),  # no scheme: Ray uses http
    ("http://user:pw@head:8265", True),
    ("https://head.example.org:8265", False),
    ("http://127.0.0.1:8265", False),
    ("http://localhost:8265", False),
    ("http://[::1]:8265", False),
])
def test_cleartext_warning_for_plain_http_off_loopback(address, warned):
    from hgq_automl.jobs import cleartext_warning

    warning = cleartext_warning(address)
    assert (warning is not None) == warned
    if warning:
        assert "\n" not in warning and "plain http" in warning and "pw" not in warning


def test_submit_warns_before_contacting_a_plain_http_cluster(tmp_path):
    """Through the CLI: one warning line on stderr, then the unreachable cluster's usage error."""
    if not can_unshare():
        pytest.skip("needs `unshare -n` (root): 10.77.0.5 must be unreachable at once")
    write(tmp_path / "two.yaml", TWO_TRIALS)
    cmd = f"ip link set lo up; exec '{sys.executable}' -m hgq_automl submit --address http://10.77.0.5:8265 --space two.yaml --name j"
    result = subprocess.run(["unshare", "-n", "bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [ln for ln in result.stderr.splitlines() if "plain http" in ln]
    assert len(lines) == 1 and "10.77.0.5" in lines[0], result.stderr[-2000:]
    assert "unreachable" in result.stderr
