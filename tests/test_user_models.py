"""A user's own model: a builder function (model.builder) or a model file (model.path),
converted to HGQ2; per-layer parallelization factors; the input shape from the data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hgq_automl.errors import SpaceError, UsageError
from hgq_automl.space import parse_space

from .conftest import write

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BUILDER = """\
import keras


def build(params, input_shape, n_outputs):
    inputs = keras.Input(input_shape, name="features")
    h = keras.layers.Flatten(name="flatten")(inputs)
    for i in range(int(params["n_hidden"])):
        h = keras.layers.Dense(int(params["width"]), activation="relu", name=f"hidden{i + 1}")(h)
    out = keras.layers.Dense(n_outputs, name="logits")(h)
    return keras.Model(inputs, out, name=f"{params['tag']}_w{params['width']}_h{params['n_hidden']}")
"""


def builder_space(folder: Path, builder: str = "my_models:build", **params) -> dict:
    return {
        "dataset": {"max_samples": 100},
        "model": {"builder": builder},
        "parameters": {"width": {"type": "int", "low": 3, "high": 9}, "n_hidden": 1, "tag": "t", "epochs": 1, **params},
    }


# --------------------------------------------------------------------------- builder resolution


def test_the_builder_module_is_found_next_to_the_space_then_in_the_cwd_then_on_sys_path(tmp_path, monkeypatch):
    spaces, cwd, elsewhere = (tmp_path / d for d in ("spaces", "cwd", "elsewhere"))
    for d in (spaces, cwd, elsewhere):
        d.mkdir()
        write(d / "my_models.py", BUILDER)
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(str(elsewhere))
    raw = builder_space(spaces)
    assert parse_space(raw, "s.yaml", base_dir=spaces).model.builder_file == str((spaces / "my_models.py").resolve())
    (spaces / "my_models.py").unlink()
    assert parse_space(raw, "s.yaml", base_dir=spaces).model.builder_file == str((cwd / "my_models.py").resolve())
    (cwd / "my_models.py").unlink()
    model = parse_space(raw, "s.yaml", base_dir=spaces).model
    assert model.builder_file == str((elsewhere / "my_models.py").resolve()) and model.builder_root == str(elsewhere.resolve())
    # a file path form, relative to the space's folder
    write(spaces / "sub.py", BUILDER)
    assert parse_space(builder_space(spaces, "sub.py:build"), "s.yaml", base_dir=spaces).model.builder_file == str((spaces / "sub.py").resolve())


@pytest.mark.parametrize(
    "builder, fragment",
    [
        ("nowhere_module_xyz:build", "model.builder: no module 'nowhere_module_xyz' next to the space file"),
        ("my_models:make", "model.builder: module my_models ("),
        ("my_models", "model.builder: must be module:function"),
        ("missing.py:build", "model.builder: no such module file missing.py"),
    ],
)
def test_a_missing_module_or_function_is_a_one_line_space_error(tmp_path, builder, fragment):
    write(tmp_path / "my_models.py", BUILDER)
    with pytest.raises(SpaceError) as err:
        parse_space(builder_space(tmp_path, builder), "s.yaml", base_dir=tmp_path)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    if builder == "my_models:make":
        assert "defines no 'make'; it defines build, keras" in str(err.value)


def test_own_parameters_only_with_a_builder(tmp_path):
    write(tmp_path / "m.keras", "")  # existence is all the loader checks
    with pytest.raises(SpaceError, match=r"parameters.width: unknown parameter; known parameters are .*needs model.builder"):
        parse_space({"model": {"family": "mlp"}, "parameters": {"width": 4}})
    with pytest.raises(SpaceError, match="parameters.width: unknown parameter.*a model file takes no parameters of its own"):
        parse_space({"model": {"path": str(tmp_path / "m.keras")}, "parameters": {"width": 4}})
    with pytest.raises(SpaceError, match="model.family: cnn conflicts with model.builder"):
        parse_space({"model": {"family": "cnn", "builder": "x:y"}})
    with pytest.raises(SpaceError, match="model.conv_layers: only applies to the cnn family"):
        parse_space({"model": {"path": str(tmp_path / "m.keras"), "conv_layers": 2}})


def test_the_builder_gets_its_own_parameters_sampled_resolved_and_passed_through(tmp_path):
    import optuna

    from hgq_automl.models import build_model

    write(tmp_path / "my_models.py", BUILDER)
    space = parse_space(
        {**builder_space(tmp_path), "search": {"start_points": [{"width": 7}]}},
        "s.yaml",
        base_dir=tmp_path,
    )
    assert space.user_parameters() == ["width", "n_hidden", "tag"]
    trial = optuna.create_study().ask()
    config = space.suggest(trial)
    assert 3 <= config["width"] <= 9 and isinstance(config["width"], int)
    params = space.resolve({"width": 5})
    assert params["width"] == 5 and params["n_hidden"] == 1 and params["tag"] == "t"
    assert "parallelization_factor" not in params  # a user's convs keep theirs unless asked
    assert space.search.start_points == ({"width": 7},)
    model = build_model(space.model, params, (8, 8), 10)
    assert model.name == "t_w5_h1"
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Flatten", "QDense", "QDense"]
    assert model.get_layer("hidden1").units == 5
    # to_dict keeps the builder by its resolved file: a resumed search re-parses it
    again = parse_space(space.to_dict(), "state")
    assert again.model.builder_file == space.model.builder_file and again.parameters == space.parameters


def test_a_failing_builder_is_one_line_at_check_time(tmp_path):
    from hgq_automl.models import check_model

    write(tmp_path / "bad.py", "def build(params, input_shape, n_outputs):\n    raise ValueError('width too large\\nsecond line')\n")
    space = parse_space(builder_space(tmp_path, "bad:build"), "s.yaml", base_dir=tmp_path)
    with pytest.raises(UsageError) as err:
        check_model(space.model, space.first_params(), (8, 8), 10)
    assert str(err.value) == "model.builder bad:build raised ValueError: width too large"


def test_check_model_refuses_a_wrong_output_size_and_unknown_layer_names(tmp_path):
    from hgq_automl.models import check_model

    write(tmp_path / "my_models.py", BUILDER)
    space = parse_space(builder_space(tmp_path), "s.yaml", base_dir=tmp_path)
    write(tmp_path / "ten.py", BUILDER.replace("Dense(n_outputs", "Dense(10"))
    ten = parse_space(builder_space(tmp_path, "ten:build"), "s.yaml", base_dir=tmp_path)
    with pytest.raises(UsageError, match=r"the model's output has shape \[10\]; the data needs \[3\]"):
        check_model(ten.model, ten.first_params(), (8, 8), 3)
    write(tmp_path / "fixed.py", BUILDER.replace("keras.Input(input_shape", "keras.Input((8, 8)"))
    fixed = parse_space(builder_space(tmp_path, "fixed:build"), "s.yaml", base_dir=tmp_path)
    with pytest.raises(UsageError, match=r"the model takes inputs of shape \[8, 8\], the data's are \[4, 16\]"):
        check_model(fixed.model, fixed.first_params(), (4, 16), 10)
    for name, fragment in (("beta_scale_conv9", "no HGQ layer 'conv9'; its layers with a beta are hidden1, logits"), ("parallelization_factor_conv9", "no conv layer 'conv9'; its conv layers are none")):
        bad = parse_space(builder_space(tmp_path, **{name: 2}), "s.yaml", base_dir=tmp_path)
        with pytest.raises(UsageError) as err:
            check_model(bad.model, bad.first_params(), (8, 8), 10)
        assert f"parameters.{name}: the model has {fragment}" in str(err.value) and "\n" not in str(err.value)
    assert check_model(space.model, space.first_params(), (8, 8), 10) == []


# --------------------------------------------------------------------------- model files and conversion


def _float_model():
    """One of each convertible plain layer, with non-trivial weights."""
    import keras

    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 1), name="input")  # a name hls4ml rejects: renamed to features
    h = keras.layers.Conv2D(3, 3, activation="relu", name="c1")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.AveragePooling2D(1, name="avg")(h)
    h = keras.layers.Reshape((9, 3), name="seq")(h)
    h = keras.layers.Conv1D(4, 2, name="c1d")(h)
    h = keras.layers.ReLU(name="relu_folded")(h)
    h = keras.layers.MaxPooling1D(2, name="pool1d")(h)
    h = keras.layers.AveragePooling1D(2, name="avg1d")(h)
    h = keras.layers.Flatten(name="flat")(h)
    h = keras.layers.Dropout(0.1, name="drop")(h)
    a = keras.layers.Dense(6, name="d1")(h)
    a = keras.layers.BatchNormalization(name="bn_d")(a)
    a = keras.layers.Activation("relu", name="relu_table")(a)  # after a BN: HGQ2's ReLU table
    b = keras.layers.Dense(6, activation="relu", name="d2")(h)
    s = keras.layers.Add(name="add")([a, b])
    c = keras.layers.Concatenate(name="cat")([s, b])
    out = keras.layers.Dense(10, activation="softmax", name="out")(c)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    for layer in (model.get_layer("bn"), model.get_layer("bn_d")):
        layer.moving_mean.assign(rng.normal(size=layer.moving_mean.shape) * 0.1)
        layer.moving_variance.assign(rng.uniform(0.5, 2, size=layer.moving_variance.shape))
        layer.gamma.assign(rng.uniform(0.5, 2, size=layer.gamma.shape))
    return model


def test_a_float_model_converts_layer_by_layer_keeping_its_weights(tmp_path):
    import keras
    from hgq.config import LayerConfigScope, QuantizerConfigScope

    from hgq_automl.convert import to_hgq

    model = _float_model()
    # quantizers of ~20 bits: the converted model computes what the float one does
    with (
        QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM", b0=20, i0=8, bc=None),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", i0=10, f0=14, ic=None, fc=None),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        hgq, notes = to_hgq(model)
    kinds = {layer.name: type(layer).__name__ for layer in hgq.layers}
    assert kinds == {
        "features": "InputLayer", "c1": "QConv2D", "bn": "QBatchNormalization", "pool": "QMaxPooling2D", "avg": "QAveragePooling2D",
        "seq": "Reshape", "c1d": "QConv1D", "pool1d": "QMaxPooling1D", "avg1d": "QAveragePooling1D", "flat": "Flatten", "drop": "Dropout",
        "d1": "QDense", "bn_d": "QBatchNormalization", "relu_table": "QUnaryFunctionLUT", "d2": "QDense", "add": "QAdd", "cat": "Concatenate", "out": "QDense",
    }
    assert hgq.get_layer("c1d").activation is keras.activations.relu  # the ReLU after it, folded
    assert notes == ["the final softmax of layer 'out' was dropped: trials train on logits (the argmax is unchanged)"]
    for name in ("c1", "c1d", "d1", "d2", "out"):
        np.testing.assert_array_equal(hgq.get_layer(name).kernel.numpy(), model.get_layer(name).kernel.numpy())
        np.testing.assert_array_equal(hgq.get_layer(name).bias.numpy(), model.get_layer(name).bias.numpy())
    for name in ("bn", "bn_d"):
        np.testing.assert_array_equal(hgq.get_layer(name).bn_gamma.numpy(), model.get_layer(name).gamma.numpy())
        np.testing.assert_array_equal(hgq.get_layer(name).moving_variance.numpy(), model.get_layer(name).moving_variance.numpy())
    x = np.random.default_rng(1).uniform(0, 1, size=(64, 8, 8, 1)).astype(np.float32)
    logits = keras.Model(model.inputs, model.get_layer("out").output)  # the float model without its softmax
    logits.get_layer("out").activation = keras.activations.linear
    want, got = np.asarray(logits(x)), np.asarray(hgq(x))
    assert np.abs(want - got).max() < 2e-3 * np.abs(want).max()
    assert (np.argmax(want, 1) == np.argmax(got, 1)).mean() > 0.95


def test_a_model_file_is_loaded_and_converted_per_trial(tmp_path):
    from hgq_automl.models import build_model, check_model

    _float_model().save(tmp_path / "float.keras")
    space = parse_space({"model": {"path": "float.keras"}, "parameters": {"parallelization_factor_c1": 5}}, "s.yaml", base_dir=tmp_path)
    assert space.model.path == str(tmp_path / "float.keras") and space.model.init == "pretrained"
    params = space.first_params()
    notes = check_model(space.model, params, (8, 8, 1), 10)
    assert notes == [f"model.path {tmp_path / 'float.keras'}: the final softmax of layer 'out' was dropped: trials train on logits (the argmax is unchanged)"]
    model = build_model(space.model, params, (8, 8, 1), 10)
    assert model.get_layer("c1").parallelization_factor == 4  # 36 output pixels: the largest divisor <= 5
    assert model.get_layer("c1d").parallelization_factor == 8  # not asked for: all 8 output positions (its own)
    np.testing.assert_array_equal(model.get_layer("d1").kernel.numpy(), _float_model().get_layer("d1").kernel.numpy())
    with pytest.raises(UsageError, match=r"the model's output has shape \[10\]; the data needs \[2\]"):
        check_model(space.model, params, (8, 8, 1), 2)
    with pytest.raises(UsageError, match=r"the model takes inputs of shape \[8, 8, 1\], the data's are \[8, 8\]"):
        check_model(space.model, params, (8, 8), 10)


@pytest.mark.parametrize(
    "layer, fragment",
    [
        ("lstm", "layer 'odd' (LSTM) has no HGQ2 equivalent; supported: Dense, Conv1D, Conv2D, BatchNormalization, MaxPooling1D"),
        ("tanh", "layer 'odd' (Dense) has activation 'tanh': only relu and linear are exact"),
        ("softmax_inside", "layer 'odd' (Softmax) is a softmax inside the model"),
    ],
)
def test_an_unsupported_layer_is_refused_on_one_line_naming_it(tmp_path, layer, fragment):
    import keras

    from hgq_automl.models import check_model

    inp = keras.Input((4, 4))
    if layer == "lstm":
        h = keras.layers.Flatten()(keras.layers.LSTM(2, return_sequences=True, name="odd")(inp))
    elif layer == "tanh":
        h = keras.layers.Dense(3, activation="tanh", name="odd")(keras.layers.Flatten()(inp))
    else:
        h = keras.layers.Softmax(name="odd")(keras.layers.Flatten()(inp))
    keras.Model(inp, keras.layers.Dense(2)(h)).save(tmp_path / "m.keras")
    space = parse_space({"model": {"path": str(tmp_path / "m.keras")}}, "s.yaml")
    with pytest.raises(UsageError) as err:
        check_model(space.model, space.first_params(), (4, 4), 2)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"model.path {tmp_path / 'm.keras'}: layer 'odd'")


def test_a_lambda_layer_is_refused(tmp_path):
    import keras

    from hgq_automl.models import check_model

    inp = keras.Input((4,))
    keras.Model(inp, keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2)(inp))).save(tmp_path / "lam.keras")
    space = parse_space({"model": {"path": str(tmp_path / "lam.keras")}}, "s.yaml")
    with pytest.raises(UsageError, match="it holds a Lambda layer") as err:
        check_model(space.model, space.first_params(), (4,), 2)
    assert "\n" not in str(err.value)


def test_an_hgq2_model_file_is_used_as_it_is_or_reinitialised(tmp_path):
    from hgq_automl.models import build_model

    cnn = parse_space({"model": {"input_shape": [8, 8]}, "parameters": {"filters_1": 3, "parallelization_factor": 4}})
    trained = build_model(cnn.model, cnn.first_params(), (8, 8), 10)
    rng = np.random.default_rng(0)
    trained.set_weights([w + rng.normal(size=w.shape).astype(w.dtype) * 0.01 for w in trained.get_weights()])
    trained.save(tmp_path / "hgq.keras")
    for init in ("pretrained", "random"):
        space = parse_space({"model": {"path": "hgq.keras", "init": init}}, "s.yaml", base_dir=tmp_path)
        model = build_model(space.model, space.first_params(), (8, 8), 10)
        assert [type(layer).__name__ for layer in model.layers] == [type(layer).__name__ for layer in trained.layers]
        assert model.get_layer("conv1").parallelization_factor == 4  # the file's own: parallelization_factor not set
        same = np.array_equal(model.get_layer("conv1").kernel.numpy(), trained.get_layer("conv1").kernel.numpy())
        assert same == (init == "pretrained")
        assert model.get_layer("conv1").kernel is not trained.get_layer("conv1").kernel


# --------------------------------------------------------------------------- per-layer parallelization, input shape


def test_per_layer_parallelization_factors_of_the_builtin_cnn():
    from hgq_automl.models import build_model

    # HGQ's quick-start MNIST CNN with two conv layers: 12x12 then 4x4 output pixels
    space = parse_space(
        {
            "model": {"family": "cnn", "input_pool": 2, "conv_layers": 2},
            "parameters": {"parallelization_factor_conv1": 100, "parallelization_factor_conv2": 16, "parallelization_factor": 2},
        }
    )
    model = build_model(space.model, space.first_params(), (28, 28), 10)
    assert model.get_layer("conv1").parallelization_factor == 72  # largest divisor of 144 <= 100
    assert model.get_layer("conv2").parallelization_factor == 16
    one = parse_space({"model": {"family": "cnn", "input_pool": 2, "conv_layers": 2}, "parameters": {"parallelization_factor_conv1": 144, "parallelization_factor": 2}})
    model = build_model(one.model, one.first_params(), (28, 28), 10)
    assert (model.get_layer("conv1").parallelization_factor, model.get_layer("conv2").parallelization_factor) == (144, 2)
    with pytest.raises(SpaceError, match="parameters.parallelization_factor_conv3: unknown parameter: this model has no such layer"):
        parse_space({"model": {"conv_layers": 2}, "parameters": {"parallelization_factor_conv3": 4}})


def test_the_input_shape_comes_from_the_data_when_the_space_gives_none(tmp_path):
    from hgq_automl.driver import SearchRequest, prepare

    write(tmp_path / "s.yaml", "dataset: {max_samples: 100}\nmodel: {family: cnn, conv_layers: 1}\n")
    space, *_ = prepare(SearchRequest(space=str(tmp_path / "s.yaml"), storage=str(tmp_path / "st")))
    assert space.model.input_shape == (8, 8)
    write(tmp_path / "deep.yaml", "dataset: {max_samples: 100}\nmodel: {family: cnn, conv_layers: 3}\n")
    with pytest.raises(SpaceError, match="model: conv3 gets an input smaller than its 3x3 kernel"):
        prepare(SearchRequest(space=str(tmp_path / "deep.yaml"), storage=str(tmp_path / "st")))
    write(tmp_path / "mlp.yaml", "dataset: {max_samples: 100}\nmodel: {family: mlp}\n")
    with pytest.raises(SpaceError, match=r"model.input_shape: an mlp takes \[features\]; got \[8, 8\]"):
        prepare(SearchRequest(space=str(tmp_path / "mlp.yaml"), storage=str(tmp_path / "st")))


def test_prepare_checks_a_builder_model_before_any_trial(tmp_path, capsys):
    from hgq_automl.driver import SearchRequest, prepare

    write(tmp_path / "my_models.py", BUILDER.replace('name="logits")(h)', 'name="logits", activation="softmax")(h)'))
    write(tmp_path / "s.yaml", "dataset: {max_samples: 100}\nmodel: {builder: my_models:build}\nparameters: {width: 4, n_hidden: 1, tag: x}\n")
    space, *_, notes = prepare(SearchRequest(space=str(tmp_path / "s.yaml"), storage=str(tmp_path / "st")))
    assert space.model.input_shape == (8, 8)
    # said in the search's summary, after every check: bad input found later stays one line
    assert any("model.builder my_models:build: the final softmax of layer 'logits' was dropped" in n for n in notes)
    assert "softmax" not in capsys.readouterr().err
    write(tmp_path / "bad.yaml", "dataset: {max_samples: 100}\nmodel: {builder: my_models:build}\nparameters: {width: 4, n_hidden: 1}\n")
    with pytest.raises(UsageError) as err:
        prepare(SearchRequest(space=str(tmp_path / "bad.yaml"), storage=str(tmp_path / "st")))
    assert str(err.value) == f"{tmp_path / 'bad.yaml'}: model.builder my_models:build raised KeyError: 'tag'"


def test_a_builder_trial_trains_and_logs_its_own_parameters(tmp_path):
    from hgq_automl.data import load_dataset
    from hgq_automl.trial import run_trial

    write(tmp_path / "my_models.py", BUILDER)
    space = parse_space(builder_space(tmp_path, batch_size=32), "s.yaml", base_dir=tmp_path)
    data = load_dataset(space.dataset)
    final, model = run_trial(space, {"width": 4}, data, threads=1)
    assert model.get_layer("hidden1").units == 4 and final["epochs_trained"] == 1.0 and final["ebops"] > 0


# --------------------------------------------------------------------------- Ray jobs


def test_a_job_folder_carries_the_builder_module_and_a_space_pointing_at_it(tmp_path, monkeypatch):
    from hgq_automl.jobs import _job_folder
    from hgq_automl.space import load_space

    models = tmp_path / "models"
    models.mkdir()
    write(models / "my_models.py", BUILDER)
    write(tmp_path / "s.yaml", "model: {builder: models/my_models.py:build}\nparameters: {width: 4, n_hidden: 1, tag: x}\n")
    folder, space = _job_folder(str(tmp_path / "s.yaml"))
    with folder:
        root = Path(folder.name)
        assert space == "s.yaml" and (root / "my_models.py").read_text() == BUILDER
        monkeypatch.chdir(root)  # the job's working dir
        shipped = load_space("s.yaml")
        assert shipped.model.builder == "my_models:build" and shipped.model.builder_file == str((root / "my_models.py").resolve())
        assert shipped.parameters == load_space(tmp_path / "s.yaml").parameters

