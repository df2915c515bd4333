"""Models are loaded with safe_mode=True: one holding a Lambda layer (arbitrary Python,
run when loaded) is refused in one line by `export`, `SearchResult.load_model` and the
MLflow pyfunc loader. A real MLflow SQLite store and a real .keras file."""

from __future__ import annotations

import pytest
import yaml

from .conftest import run_cli


@pytest.fixture(scope="module")
def lambda_run(tmp_path_factory):
    """A trial run (as a search logs it) whose model holds a Lambda layer."""
    import keras
    from mlflow.tracking import MlflowClient

    from hgq_automl.space import load_space

    folder = tmp_path_factory.mktemp("trust")
    inp = keras.Input((64,))
    keras.Model(inp, keras.layers.Dense(10)(keras.layers.Lambda(lambda t: t * 2)(inp))).save(folder / "model.keras")
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.create_experiment("trust", artifact_location=(folder / "mlruns").as_uri())
    parent = client.create_run(experiment, tags={"hgq_automl.role": "search"}).info.run_id
    client.log_text(parent, yaml.safe_dump(load_space("digits_cnn").to_dict()), "search_space.yaml")
    child = client.create_run(experiment, tags={"hgq_automl.role": "trial", "mlflow.parentRunId": parent}).info.run_id
    client.log_artifact(child, str(folder / "model.keras"), "model/data")
    return folder, child


def test_export_refuses_a_lambda_layer_in_one_line(lambda_run):
    folder, run_id = lambda_run
    result = run_cli(["export", run_id, "--to", "verilog", "--out", "out", "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"], cwd=folder)
    assert result.returncode == 2, result.stderr[-2000:]
    # (TensorFlow's own start-up lines may come before it: they are not ours to silence)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"hgq_automl: error: MLflow run {run_id}: the model holds a Lambda layer (arbitrary Python code), which is not loaded"
    assert not (folder / "out").exists()


def test_the_pyfunc_loader_refuses_a_lambda_layer(lambda_run):
    from hgq_automl.errors import UsageError
    from hgq_automl.mlflow_model import _load_pyfunc

    folder, _ = lambda_run
    with pytest.raises(UsageError, match="holds a Lambda layer"):
        _load_pyfunc(str(folder / "model.keras"))
