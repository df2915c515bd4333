"""A user's own model and data through the real CLI (Ray in a private network namespace,
MLflow SQLite): a builder module with its own parameters on an .npy pair, a float Keras
model file converted to HGQ2 on an HDF5 file, and a pretrained HGQ2 model file on a CSV
file. Each search logs a non-empty front, and a front member exports bit-exactly
(hls4ml C simulation of every held-out test sample)."""

import shutil

import numpy as np
import pytest

from .conftest import REPO, can_unshare, run_cli, write

BUILDER = """\
def build(params, input_shape, n_outputs):
    import keras

    inputs = keras.Input(input_shape, name="features")
    h = keras.layers.Flatten(name="flatten")(inputs)
    for i in range(params["n_hidden"]):
        h = keras.layers.Dense(params["width"], activation="relu", name=f"hidden{i + 1}")(h)
    return keras.Model(inputs, keras.layers.Dense(n_outputs, name="logits")(h))
"""

SPACES = {
    "builder": """\
name: builder
task: {type: classification, chance_margin: 0}  # few-epoch trials can sit near chance: no floor
dataset: {name: arrays, x: x.npy, y: y.npy, max_samples: 400}
model: {builder: "my_models:build"}
search: {trials: 2, concurrency: 2, sampler: random, seed: 2}
parameters:
  width: {type: choice, values: [6, 10]}
  n_hidden: 1
  beta: 1.0e-6
  epochs: 3
""",
    "float": """\
name: float
task: {type: classification, chance_margin: 0}  # few-epoch trials can sit near chance: no floor
dataset: {name: arrays, path: digits.h5, x_key: images, y_key: labels, max_samples: 400}
model: {path: float_cnn.keras, init: pretrained}
search: {trials: 2, concurrency: 2, sampler: random, seed: 0}
parameters:
  beta: {type: log_uniform, low: 1.0e-7, high: 1.0e-5}
  parallelization_factor_conv: 36
  learning_rate: 1.0e-3
  epochs: 2
""",
    "hgq": """\
name: hgq
task: {type: classification, chance_margin: 0}  # few-epoch trials can sit near chance: no floor
dataset: {name: arrays, path: digits.csv, label_column: digit, max_samples: 400}
model: {path: hgq_mlp.keras}
search: {trials: 2, concurrency: 2, sampler: random, seed: 0}
parameters:
  beta: {type: log_uniform, low: 1.0e-7, high: 1.0e-5}
  epochs: 2
""",
}


def _write_data(folder):
    import h5py
    import pandas as pd
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.images / 16.0).astype(np.float32), d.target
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    with h5py.File(folder / "digits.h5", "w") as f:
        f["images"], f["labels"] = x, y
    frame = pd.DataFrame(x.reshape(len(x), -1), columns=[f"p{i}" for i in range(64)])
    frame["digit"] = y
    frame.to_csv(folder / "digits.csv", index=False)
    write(folder / "my_models.py", BUILDER)
    shutil.copy(REPO / "search_spaces" / "digits_float_cnn.keras", folder / "float_cnn.keras")
    # a trained HGQ2 model of the user's, on 64 flat features
    import keras
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense

    with QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM"), QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP"):
        inputs = keras.Input((64,), name="pixels")
        model = keras.Model(inputs, QDense(10, name="out")(QDense(12, activation="relu", name="h")(inputs)))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x.reshape(len(x), -1), y, epochs=2, verbose=0)
    model.save(folder / "hgq_mlp.keras")


@pytest.fixture(scope="module")
def searches(tmp_path_factory):
    from mlflow.tracking import MlflowClient

    if not can_unshare():
        pytest.fail("the end-to-end test needs `unshare -n` (root) to keep Ray on loopback")
    folder = tmp_path_factory.mktemp("own")
    _write_data(folder)
    out = {}
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    for name, text in SPACES.items():
        write(folder / f"{name}.yaml", text)
        result = run_cli(["search", "--space", f"{name}.yaml", "--name", name], cwd=folder, isolated=True)
        assert result.returncode == 0, result.stderr[-3000:]
        runs = client.search_runs([client.get_experiment_by_name(name).experiment_id], max_results=500)
        out[name] = (result, runs)
    return folder, out


@pytest.mark.parametrize("name", list(SPACES))
def test_own_model_search_logs_a_front_that_exports_bit_exactly(searches, name):
    folder, out = searches
    result, runs = out[name]
    trials = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    assert len(trials) == 2 and all(t.info.status == "FINISHED" for t in trials), result.stderr[-2000:]
    assert all(0 < t.data.metrics["val_accuracy"] <= 1 and t.data.metrics["ebops"] > 0 for t in trials)
    front = [r for r in runs if r.data.tags.get("pareto") == "true"]
    assert front
    export = run_cli(["export", front[0].info.run_id, "--to", "hls4ml", "--out", f"fw_{name}", "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"], cwd=folder)
    assert export.returncode == 0, export.stderr[-3000:]
    assert "held-out test samples: bit-exact" in export.stdout


def test_builder_parameters_reach_mlflow_and_the_model(searches):
    _, out = searches
    result, runs = out["builder"]
    trials = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    assert sorted(int(t.data.params["width"]) for t in trials) in ([6, 10], [6, 6], [10, 10])
    assert all(t.data.params["n_hidden"] == "1" for t in trials)


def test_float_file_is_converted_and_says_so(searches):
    _, out = searches
    result, runs = out["float"]
    assert "softmax" in result.stderr  # the note: the file's final softmax is dropped
    trials = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    # fine-tuned from the file's trained weights: far above chance after 2 epochs
    assert max(t.data.metrics["val_accuracy"] for t in trials) > 0.5
