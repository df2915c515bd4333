import math

import pytest

from hgq_automl.data import load_dataset
from hgq_automl.metrics import EPOCH_METRICS, FINAL_METRICS, produced_by
from hgq_automl.space import parse_space
from hgq_automl.beta import beta_at
from hgq_automl.errors import TrialFailed
from hgq_automl.trial import run_trial


def test_beta_schedules():
    constant = {"beta": 1e-5, "beta_schedule": "constant", "epochs": 10}
    assert [beta_at(constant, e) for e in (0, 5, 9)] == [1e-5] * 3
    ramp = {"beta": 1e-6, "beta_final": 1e-4, "beta_schedule": "ramp", "epochs": 3}
    assert [beta_at(ramp, e) for e in (0, 1, 2, 7)] == pytest.approx([1e-6, 1e-5, 1e-4, 1e-4])
    linear = {"beta": 0.0, "beta_final": 1e-4, "beta_schedule": "ramp", "epochs": 5}
    assert beta_at(linear, 2) == pytest.approx(5e-5)
    # a time budget that will cut the trial moves the ramp on: the larger share wins, capped at the end
    long = {"beta": 1e-6, "beta_final": 1e-2, "beta_schedule": "ramp", "epochs": 101}
    assert beta_at(long, 10, progress=0.5) == pytest.approx(1e-4)
    assert beta_at(long, 50, progress=0.25) == pytest.approx(1e-4)
    assert beta_at(long, 3, progress=1.7) == pytest.approx(1e-2)
    assert beta_at(constant, 3, progress=0.9) == 1e-5


@pytest.fixture(scope="module")
def small():
    space = parse_space({"dataset": {"max_samples": 300}, "parameters": {"filters_1": 2, "epochs": 3, "beta_scale_output": 2.0}})
    return space, load_dataset(space.dataset)


def test_trial_reports_every_epoch_and_final_metrics(small):
    space, data = small
    reports = []
    config = {"beta": 1e-6, "beta_schedule": "ramp", "beta_final": 1e-4}
    final, model = run_trial(space, config, data, report=reports.append, seed=1, threads=1)
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    assert set(reports[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "ebops", "beta"} and set(reports[0]) <= {"epoch", *EPOCH_METRICS}
    assert [r["beta"] for r in reports] == pytest.approx([1e-6, 1e-5, 1e-4])
    assert {m for m in FINAL_METRICS if produced_by(m, 'none')} <= set(final)
    assert not any(m.startswith('synth_') or m == 'bit_mismatches' for m in final)  # no synthesis step
    assert 0 <= final["val_accuracy"] <= 1 and 0 <= final["test_accuracy"] <= 1
    assert final["ebops"] > 0 and final["luts"] > 0
    # beta_scale_output doubles the output layer's beta: the schedule's last value x 2
    assert float(model.get_layer("output")._beta.numpy()) == pytest.approx(2e-4)
    assert float(model.get_layer("conv1")._beta.numpy()) == pytest.approx(1e-4)


def test_same_seed_same_numbers(small):
    space, data = small
    a, _ = run_trial(space, {"beta": 1e-5}, data, seed=3, threads=1)
    b, _ = run_trial(space, {"beta": 1e-5}, data, seed=3, threads=1)
    assert a["val_accuracy"] == b["val_accuracy"] and a["ebops"] == b["ebops"]


def test_nan_loss_fails_the_trial(small):
    space, data = small
    with pytest.raises(TrialFailed, match="loss became nan at epoch 1"):
        run_trial(space, {"beta": 1e38}, data, threads=1)


def test_shipped_mnist_space_trains_on_the_shared_idx_files():
    from hgq_automl.space import load_space

    from .conftest import SHARED_MNIST

    space = load_space("mnist_cnn", data=str(SHARED_MNIST))
    data = load_dataset(space.dataset.__class__(**{**vars(space.dataset), "max_samples": 600}))
    assert data.input_shape == (28, 28)
    final, model = run_trial(space, {"epochs": 1, "filters_1": 2}, data, threads=1)
    assert [layer.name for layer in model.layers if layer.name.startswith(("input_pool", "conv", "pool", "output"))] == ["input_pool", "conv1", "pool1", "output"]
    # 28x28 -> pool 14x14 -> conv 12x12x2 -> pool 6x6x2 = 72 -> 10
    assert final["params"] == 18 + 2 + 72 * 10 + 10
    # the quantized input pool keeps the design bit-exact in da4ml
    import numpy as np

    from hgq_automl.estimates import da4ml_estimate

    keras_out = model.predict(data.x_test, verbose=0)
    da_out = np.asarray(da4ml_estimate(model).comb.predict(data.x_test.reshape(len(data.x_test), -1))).reshape(keras_out.shape)
    assert np.count_nonzero(da_out != keras_out) == 0


def test_shipped_tabular_space_trains_an_mlp(tmp_path):
    import numpy as np

    from hgq_automl.space import load_space

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 16)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0).astype(int)
    np.savez(tmp_path / "jets.npz", x=x, y=y)
    space = load_space("tabular_mlp", data=str(tmp_path / "jets.npz"))
    data = load_dataset(space.dataset)
    final, model = run_trial(space, {"epochs": 3, "units_1": 16, "units_2": 8, "units_3": 8}, data, threads=1)
    assert final["params"] == (16 * 16 + 16) + (16 * 8 + 8) + (8 * 8 + 8) + (8 * 4 + 4)
    assert final["val_accuracy"] > 0.25


def _tanh_builder(folder):
    (folder / "tanh_models.py").write_text(
        "def build(params, input_shape, n_outputs):\n"
        "    import keras\n    from hgq.layers import QDense\n"
        "    i = keras.Input(input_shape, name='features')\n"
        "    h = QDense(8, activation='tanh', name='hidden')(keras.layers.Flatten()(i))\n"
        "    return keras.Model(i, QDense(n_outputs, name='out')(h))\n"
    )


def test_a_model_no_rule_covers_gets_nan_and_notes_and_fails_only_when_needed(tmp_path):
    """A tanh QDense: no cost rule covers it and da4ml cannot trace it. The trial finishes
    with NaN in those metrics and says why in notes (logged as run tags); with flops as an
    objective it fails, naming the metric and the reason."""
    import math

    _tanh_builder(tmp_path)
    raw = {"dataset": {"max_samples": 200}, "model": {"builder": "tanh_models:build"}, "parameters": {"epochs": 1}}
    space = parse_space(raw, "<t>", base_dir=tmp_path)
    data = load_dataset(space.dataset)
    final, _ = run_trial(space, {}, data, threads=1)
    assert math.isnan(final["flops"]) and math.isnan(final["dsps"]) and math.isnan(final["luts"]) and final["params"] == 8 * 64 + 8 + 10 * 8 + 10
    assert final["note_uncovered_layers"] == "hidden (QDense, activation tanh)"
    assert final["note_da4ml_error"].startswith("NotImplementedError: Activation")
    needs = parse_space({**raw, "objectives": {"val_accuracy": "max", "flops": "min"}}, "<t>", base_dir=tmp_path)
    with pytest.raises(TrialFailed, match=r"flops is NaN, and the space's objectives or constraints need it \(uncovered_layers: hidden \(QDense, activation tanh\)"):
        run_trial(needs, {}, data, threads=1)


def test_notes_become_run_tags(tmp_path):
    from mlflow.tracking import MlflowClient

    from hgq_automl.events import TrialRecord
    from hgq_automl.tracking import SearchTracker

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    tracker = SearchTracker.start(client, "notes", "notes", parse_space({}), {})
    tracker.trial_started("t1", {})
    final = {"val_accuracy": 0.5, "trial_seconds": 1.0, "luts": math.nan, "note_da4ml_error": "KeyError: x"}
    tracker.trial_reported("t1", final)  # the trial's last report, as Ray Tune passes it on
    tracker.trial_finished(TrialRecord("t1", {}, final))
    run = client.get_run(tracker.run_ids["t1"])
    assert run.data.tags["hgq_automl.da4ml_error"] == "KeyError: x"
    assert "luts" not in run.data.metrics and run.data.metrics["val_accuracy"] == 0.5 and run.info.status == "FINISHED"
