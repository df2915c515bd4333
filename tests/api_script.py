"""Run by tests/test_api_e2e.py inside `unshare -n` (Ray gets only a loopback network):
the Python API end to end on in-memory digits. Writes what it saw to OUT/seen.json.

Usage: python tests/api_script.py OUT
"""

import json
import sys
from pathlib import Path

import numpy as np


def digits(n=300):
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images[:n].astype(np.float32), d.target[:n]


def build(params, input_shape, n_outputs):
    """A builder given as a Python function (pickled to the trials by Ray)."""
    import keras

    inputs = keras.Input(input_shape)
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(int(params["width"]), activation="relu", name="hidden")(h)
    return keras.Model(inputs, keras.layers.Dense(n_outputs, name="logits")(h))


SPACE = {
    "name": "api",
    "task": {"type": "classification", "chance_margin": 0},  # 2-epoch trials can sit near chance: no floor
    "dataset": {"name": "arrays", "val_fraction": 0.2, "test_fraction": 0.2, "seed": 0},
    "model": {"family": "cnn", "conv_layers": 1},
    "search": {"trials": 3, "concurrency": 2, "sampler": "random"},
    "parameters": {"filters_1": {"type": "int", "low": 2, "high": 4}, "epochs": 2},
}


def main(out: Path) -> None:
    import hgq_automl

    x, y = digits()
    common = {"tracking_uri": f"sqlite:///{out / 'mlflow.db'}", "storage": str(out / "results")}
    seen: dict = {}
    result = hgq_automl.search(SPACE, data=(x, y), name="api", seed=1, **common)
    seen["repr"] = repr(result)
    seen["name"] = result.name
    seen["points"] = [p.trial_id for p in result.points]
    seen["front"] = [p.trial_id for p in result.front]
    seen["front_run_ids"] = [p.run_id for p in result.front]
    seen["failed"] = len(result.failed)
    seen["unfinished"] = result.unfinished
    seen["params"] = [p.params for p in result.points]
    seen["sizes"] = result.data.sizes()
    frame = result.to_dataframe()
    seen["columns"] = list(frame.columns)
    seen["dtypes"] = {c: str(t) for c, t in frame.dtypes.items()}
    seen["rows"] = json.loads(frame.to_json(orient="records"))

    # the model of each front member reproduces its logged val_accuracy on the val split
    seen["accuracy"] = []
    for point in result.front:
        model = result.load_model(point)
        predicted = np.argmax(np.asarray(model(result.data.x_val, training=False)), axis=1)
        seen["accuracy"].append([point.metrics["val_accuracy"], float(np.mean(predicted == result.data.y_val))])
    by_run_id = result.load_model(result.front[0].run_id)
    seen["load_by_run_id"] = by_run_id.count_params() == result.load_model(result.front[0]).count_params()

    exported = result.export(result.front[0], to="verilog", out=out / "fw")
    seen["export"] = {
        "bit_mismatches": exported.bit_mismatches, "bit_exact": exported.bit_exact, "checked": exported.checked_samples,
        "luts": exported.estimates.get("luts"), "paths": [str(p.relative_to(out / "fw")) for p in exported.paths],
    }
    fig = result.plot()
    fig.savefig(out / "front.png")
    seen["plot_axes"] = [fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()]

    # a second search in the same process, with a builder function and fixed splits
    import ray

    seen["ray_after_first"] = ray.is_initialized()
    n = len(x)
    splits = {"train": (x[: n // 2], y[: n // 2]), "val": (x[n // 2 : 3 * n // 4], y[n // 2 : 3 * n // 4]), "test": (x[3 * n // 4 :], y[3 * n // 4 :])}
    space = {
        "name": "api_builder",
        "task": {"type": "classification", "chance_margin": 0},
        "model": {"builder": build},
        "search": {"trials": 1, "concurrency": 1},
        "parameters": {"width": {"type": "choice", "values": [8]}, "epochs": 1},
    }
    second = hgq_automl.search(space, data=splits, name="api_builder", progress=False, **common)
    seen["second"] = {"points": len(second.points), "failed": [p.error for p in second.failed], "sizes": second.data.sizes(), "width": [p.params.get("width") for p in second.points]}
    seen["ray_after_second"] = ray.is_initialized()
    (out / "seen.json").write_text(json.dumps(seen, indent=1, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
