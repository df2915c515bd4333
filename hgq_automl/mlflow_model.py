"""The trained HGQ2 Keras model as an MLflow pyfunc model (loadable with `mlflow.pyfunc.load_model`).

Saving needs neither TensorFlow nor the model in memory: the `.keras` file is packed as
an artifact and loaded (with HGQ2's layers registered) only when the model is used.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc

#: Where the `.keras` file lands inside a run's artifacts when the folder is logged as `model`.
KERAS_ARTIFACT = "model/artifacts/model.keras"

#: What loading the model needs (the versions this project pins).
REQUIREMENTS = ["tensorflow-cpu==2.21.0", "keras==3.15.1", "hgq2==0.2.0", "numpy"]


class HGQKerasModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        import hgq  # noqa: F401 - registers HGQ2's layers and quantizers with Keras
        import keras

        self.model = keras.models.load_model(context.artifacts["keras_model"], compile=False)

    def predict(self, context, model_input, params=None):
        import numpy as np

        return self.model.predict(np.asarray(model_input, dtype=np.float32), verbose=0)


def save_pyfunc(keras_file: Path, path: Path) -> Path:
    """Write an MLflow model folder at `path` wrapping `keras_file`."""
    mlflow.pyfunc.save_model(
        path=str(path),
        python_model=HGQKerasModel(),
        artifacts={"keras_model": str(keras_file)},
        pip_requirements=REQUIREMENTS,
    )
    return path
