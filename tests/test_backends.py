"""Keras backends: a trial trains under JAX (the default) or TensorFlow, and the model it
saves is one model under either: it loads, predicts the same numbers and keeps its EBOPs
under the other backend. Each backend runs in its own process (Keras picks its backend once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hgq_automl.backend import BackendMismatch, process_env, use_backend
from hgq_automl.errors import SpaceError
from hgq_automl.space import parse_space

TRAIN = """
import json, sys
import numpy as np
from hgq_automl.data import load_dataset
from hgq_automl.space import parse_space
from hgq_automl.trial import run_trial
space = parse_space({"dataset": {"max_samples": 300}, "search": {"backend": sys.argv[1]},
                     "parameters": {"filters_1": 3, "epochs": 2, "beta": 1e-5, "parallelization_factor": 1}})
data = load_dataset(space.dataset)
final, model = run_trial(space, {}, data, seed=0, threads=1)
import keras
assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
model.save(sys.argv[2] + "/model.keras")
np.save(sys.argv[2] + "/x.npy", data.x_test)
np.save(sys.argv[2] + "/y.npy", np.asarray(model(data.x_test, training=False)))
print(json.dumps({"ebops": final["ebops"], "tensorflow_loaded": "tensorflow" in sys.modules}))
"""

LOAD = """
import json, sys
import numpy as np
import hgq, keras
model = keras.models.load_model(sys.argv[1] + "/model.keras", compile=False)
y = np.asarray(model(np.load(sys.argv[1] + "/x.npy"), training=False))
ebops = sum(int(l.ebops) for l in model.layers if getattr(l, "enable_ebops", False))
print(json.dumps({"backend": keras.backend.backend(), "same": bool(np.array_equal(y, np.load(sys.argv[1] + "/y.npy"))), "ebops": ebops}))
"""


def _run(code: str, backend: str, *args: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("trained, loaded", [("jax", "tensorflow"), ("tensorflow", "jax")])
def test_a_model_trained_under_one_backend_predicts_the_same_under_the_other(tmp_path: Path, trained: str, loaded: str):
    made = _run(TRAIN, trained, trained, str(tmp_path))
    # the JAX path trains without TensorFlow in the process
    assert made["tensorflow_loaded"] is (trained == "tensorflow")
    again = _run(LOAD, loaded, str(tmp_path))
    assert again["backend"] == loaded
    assert again["same"], f"outputs differ between the {trained}-trained model and its load under {loaded}"
    assert again["ebops"] == made["ebops"] > 0


def test_the_backend_is_a_search_setting_checked_like_the_others():
    assert parse_space({}).search.backend == "jax"
    assert parse_space({"search": {"backend": "tensorflow"}}).search.backend == "tensorflow"
    with pytest.raises(SpaceError, match=r"search\.backend.*unknown backend 'torch'; known backends are jax, tensorflow"):
        parse_space({"search": {"backend": "torch"}})
    assert parse_space({}).with_overrides(backend="tensorflow").search.backend == "tensorflow"


def test_a_process_with_keras_loaded_cannot_switch_backends():
    import keras

    other = "tensorflow" if keras.backend.backend() == "jax" else "jax"
    use_backend(keras.backend.backend())  # the loaded one: fine
    with pytest.raises(BackendMismatch, match=f"loaded in this process with the {keras.backend.backend()} backend, not {other}"):
        use_backend(other)


def test_each_backend_gets_its_thread_caps_and_jax_its_compilation_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    jax_env = process_env("jax", 1)
    assert jax_env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "hgq_automl" / "jax")
    assert "--xla_cpu_multi_thread_eigen=false" in jax_env["XLA_FLAGS"]
    tf_env = process_env("tensorflow", 2)
    assert tf_env["TF_NUM_INTRAOP_THREADS"] == "2" and "XLA_FLAGS" not in tf_env and "JAX_COMPILATION_CACHE_DIR" not in tf_env
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "mine"))
    assert process_env("jax", None)["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "mine")


@pytest.mark.skipif(Path("/proc/driver/nvidia/gpus").exists(), reason="this machine has a GPU")
def test_gpus_asked_for_on_a_machine_without_one_is_one_line_and_exit_2_before_anything(tmp_path):
    from conftest import run_cli

    out = run_cli(["search", "--gpus-per-trial", "0.5", "--trials", "1", "--tracking-uri", f"sqlite:///{tmp_path}/m.db", "--storage", str(tmp_path / "runs")], tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--gpus-per-trial 0.5: this machine has no GPU" in lines[0], out.stderr
    assert not (tmp_path / "m.db").exists() and not (tmp_path / "runs").exists()
    bad = run_cli(["search", "--gpus-per-trial", "-1"], tmp_path)
    assert bad.returncode == 2 and "--gpus-per-trial: must be a number >= 0; got '-1'" in bad.stderr
