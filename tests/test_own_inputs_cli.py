"""A user's own data, model and task given wrong: one line naming the file or key, exit
code 2, before any trial (no MLflow store is even created)."""

import numpy as np
import pytest

from .conftest import assert_one_line_error, run_cli, write

BUILDER = "def build(params, input_shape, n_outputs):\n    import keras\n    i = keras.Input(input_shape)\n    return keras.Model(i, keras.layers.Dense(3)(keras.layers.Flatten()(i)))\n"


def _files(folder):
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", np.arange(60) % 3)
    np.save(folder / "y_short.npy", np.arange(50) % 3)
    nan = x.copy()
    nan[7, 2] = np.nan
    np.save(folder / "x_nan.npy", nan)
    np.save(folder / "y_real.npy", np.linspace(0, 1, 60))
    (folder / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip file")
    (folder / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n garbage")
    write(folder / "models_ok.py", BUILDER)


CASES = [
    ("dataset: {name: digits}\n", ["--data", "x.npy"], ["bad.yaml: dataset.path: --data given, but the digits dataset ships with scikit-learn and reads no file"]),
    ("dataset: {name: arrays, path: corrupt.npz}\nmodel: {family: mlp}\n", [], ["corrupt.npz"]),
    ("dataset: {name: arrays, path: corrupt.h5}\nmodel: {family: mlp}\n", [], ["corrupt.h5"]),
    ("dataset: {name: arrays, x: x.npy, y: y_short.npy}\nmodel: {family: mlp}\n", [], ["60", "50"]),
    ("dataset: {name: arrays, x: x_nan.npy, y: y.npy}\nmodel: {family: mlp}\n", [], ["x_nan.npy", "NaN"]),
    ("dataset: {name: arrays, x: x.npy, y: y_real.npy}\nmodel: {family: mlp}\n", [], ["y_real.npy", "task: regression"]),
    ("dataset: {name: arrays, x: x.npy, y: y.npy}\nmodel: {family: mlp, input_shape: [5]}\n", [], ["model.input_shape [5] does not match the data's [4]"]),
    ("dataset: {name: arrays, x: x.npy, y: y.npy}\nmodel: {builder: 'absent_module:build'}\n", [], ["bad.yaml: model.builder"]),
    ("dataset: {name: arrays, x: x.npy, y: y.npy}\nmodel: {builder: 'models_ok:missing'}\n", [], ["bad.yaml: model.builder", "missing"]),
    ("task: regression\ndataset: {name: arrays, x: x.npy, y: y.npy}\nmodel: {family: mlp}\nobjectives: {val_accuracy: max, ebops: min}\n", [],
     ["bad.yaml: objectives.val_accuracy: val_accuracy is a classification metric; this space's task is regression"]),
]


@pytest.mark.parametrize(("space", "flags", "fragments"), CASES)
def test_own_input_mistakes_are_one_line(tmp_path, space, flags, fragments):
    _files(tmp_path)
    write(tmp_path / "bad.yaml", space)
    result = run_cli(["search", "--space", "bad.yaml", *flags], cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlflow.db").exists()  # refused before the tracking store was touched
