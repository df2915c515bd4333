"""The trained HGQ2 Keras model as an MLflow pyfunc model (loadable with `mlflow.pyfunc.load_model`).

Saving needs neither TensorFlow nor the model in memory: the `.keras` file is packed as
the model's data and loaded (with HGQ2's layers registered) only when the model is used,
through this module's `_load_pyfunc` (MLflow's `loader_module` convention).
"""

from __future__ import annotations

from pathlib import Path


#: What loading the model needs (the versions this project pins).
REQUIREMENTS = ["tensorflow-cpu==2.21.0", "keras==3.15.1", "hgq2==0.2.0", "numpy"]


class KerasPredictor:
    """What `mlflow.pyfunc.load_model` wraps: predict = the Keras model's logits."""

    def __init__(self, model):
        self.model = model

    def predict(self, model_input, params=None):
        import numpy as np

        return self.model.predict(np.asarray(model_input, dtype=np.float32), verbose=0)


def load_keras(path, where: str):
    """The Keras model saved at `path`, loaded with `safe_mode=True`: a model holding a
    Lambda layer (arbitrary Python code, run when loaded) is refused with one UsageError
    naming `where` (a run, a file), never loaded."""
    import hgq  # noqa: F401 - registers HGQ2's layers and quantizers with Keras
    import keras

    from .errors import UsageError

    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        if "Lambda" in str(exc) or "safe_mode" in str(exc):
            raise UsageError(f"{where}: the model holds a Lambda layer (arbitrary Python code), which is not loaded") from None
        raise


def _load_pyfunc(data_path: str) -> KerasPredictor:
    return KerasPredictor(load_keras(data_path, data_path))


def save_pyfunc(keras_file: Path, path: Path) -> Path:
    """Write an MLflow model folder at `path` wrapping `keras_file`."""
    import mlflow.pyfunc

    mlflow.pyfunc.save_model(
        path=str(path),
        loader_module="hgq_automl.mlflow_model",
        data_path=str(keras_file),
        pip_requirements=REQUIREMENTS,
    )
    return path
