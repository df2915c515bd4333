"""Small trained models shared by the hardware tests (real HGQ2 training, 2 epochs)."""

import numpy as np
import pytest

from hgq_automl.data import load_dataset
from hgq_automl.space import parse_space
from hgq_automl.trial import run_trial


@pytest.fixture(scope="session")
def tiny_mlp(tmp_path_factory):
    """An 8-4-3 MLP on a synthetic tabular set: a design of a few hundred LUTs."""
    folder = tmp_path_factory.mktemp("tiny_mlp")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    np.savez(folder / "data.npz", x=x, y=y)
    space = parse_space(
        {
            "dataset": {"name": "tabular", "path": str(folder / "data.npz")},
            "model": {"family": "mlp", "input_shape": [8], "dense_layers": 1},
            "parameters": {"units_1": 4, "epochs": 2, "beta": 1e-4},
        }
    )
    data = load_dataset(space.dataset)
    final, model = run_trial(space, {}, data, threads=1)
    return space, data, final, model


@pytest.fixture(scope="session")
def tiny_cnn():
    """The digits quick-start CNN with 2 filters, 2 epochs on 300 samples."""
    space = parse_space({"dataset": {"max_samples": 300}, "parameters": {"filters_1": 2, "epochs": 2}})
    data = load_dataset(space.dataset)
    final, model = run_trial(space, {}, data, threads=1)
    return space, data, final, model
