"""What `hgq_automl._compat` relies on in HGQ2, Keras and Ray Tune's private internals: a
version bump that changes one of them fails here, by name, before a search misbehaves."""

import numpy as np
import pytest

from hgq_automl import _compat


@pytest.fixture(scope="module")
def model():
    """features (4) -> Reshape -> QDense(3, "d") -> Dense(2, "plain"), in the tool's HGQ scopes."""
    import keras
    from hgq.layers import QDense

    from hgq_automl.quantizers import hgq_scopes

    keras.utils.set_random_seed(0)
    with hgq_scopes(1e-5):
        inputs = keras.Input((4,), name="features")
        hidden = QDense(3, name="d")(keras.layers.Reshape((4,), name="reshape")(inputs))
        outputs = keras.layers.Dense(2, name="plain")(hidden)
    return keras.Model(inputs, outputs)


def test_minmax_reset_and_tracing_flag_set_the_ranges_from_the_last_pass_alone(model):
    """Tracing only widens the traced ranges; after `reset_minmax` they come from the next
    pass alone (smaller inputs: fewer bits, fewer EBOPs). Equals HGQ's public trace_minmax."""
    from hgq.utils import trace_minmax

    layer = model.get_layer("d")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    flag = _compat.tracing_flag()
    _compat.reset_minmax(model)
    model(x * 10, training=flag)
    wide = float(layer.ebops)
    model(x, training=flag)
    assert float(layer.ebops) == wide  # without a reset the wide ranges stay
    _compat.reset_minmax(model)
    model(x, training=flag)
    narrow = float(layer.ebops)
    assert 0 < narrow < wide
    assert float(trace_minmax(model, x, batch_size=64)) == narrow


def test_layer_beta_is_a_variable_of_hgq_layers_only(model):
    layer = model.get_layer("d")
    assert float(_compat.layer_beta(layer).numpy()) == pytest.approx(1e-5)  # the scope's beta0
    _compat.set_layer_beta(layer, 3e-4)
    assert float(_compat.layer_beta(layer).numpy()) == pytest.approx(3e-4)
    _compat.set_layer_beta(layer, 1e-5)
    assert _compat.layer_beta(model.get_layer("plain")) is None


def test_float_kernel_is_the_trained_variable_and_qkernel_its_quantized_value(model):
    from keras import ops

    layer = model.get_layer("d")
    kernel = _compat.float_kernel(layer)
    assert any(kernel is v for v in layer.trainable_variables)
    assert tuple(kernel.shape) == tuple(layer.qkernel.shape) == (4, 3)
    assert not np.array_equal(np.asarray(kernel.numpy()), np.asarray(ops.convert_to_numpy(layer.qkernel)))
    plain = model.get_layer("plain")
    assert _compat.float_kernel(plain) is plain.kernel


def test_flatten_layers_reaches_nested_models_and_quantizers(model):
    import keras
    from hgq.layers import Quantizer

    outer_in = keras.Input((4,))
    outer = keras.Model(outer_in, model(outer_in))
    names = [type(layer).__name__ for layer in _compat.flatten_layers(outer)]
    assert names[0] == "Functional" and "QDense" in names and "Dense" in names
    assert sum(isinstance(layer, Quantizer) for layer in _compat.flatten_layers(model.get_layer("d"))) == 3  # input, kernel, bias
    assert model not in _compat.flatten_layers(model, include_self=False)


def test_graph_internals_give_the_producing_layer_and_the_nodes_by_depth(model):
    import keras

    assert _compat.producing_layer(model.outputs[0]) is model.get_layer("plain")
    by_depth = _compat.nodes_by_depth(model)
    assert [node.operation.name for node in by_depth[max(by_depth)]] == ["features"]  # inputs deepest
    assert [node.operation.name for node in by_depth[0]] == ["plain"]
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="s")])
    assert [node.operation.name for node in _compat.nodes_by_depth(seq)[0]] == ["s"]

    class Sub(keras.Model):
        def call(self, x):
            return x

    assert _compat.nodes_by_depth(Sub()) is None


def test_optuna_search_keeps_the_optuna_trial_of_each_tune_trial():
    from ray.tune.search.optuna import OptunaSearch

    searcher = OptunaSearch(space=lambda t: {"x": t.suggest_float("x", 0, 1)}, metric="y", mode="max", seed=0)
    config = searcher.suggest("t1")
    trial = _compat.optuna_trial(searcher, "t1")
    assert trial.params == config
    assert _compat.optuna_trial(searcher, "t2") is None
    trial.set_constraint("luts <= 10", 1.0)  # what the search's constrained searcher calls
    # a warm start enqueues its parameters in the searcher's study: the next suggest asks them
    _compat.optuna_study(searcher).enqueue_trial({"x": 0.25})
    assert searcher.suggest("t3") == {"x": 0.25}


def test_a_tuners_run_config_is_the_live_one_its_fit_uses(tmp_path):
    from ray import tune

    class Listener(tune.Callback):
        pass

    old, new = Listener(), Listener()
    tuner = tune.Tuner(lambda config: None, run_config=tune.RunConfig(storage_path=str(tmp_path), name="s", callbacks=[old]))
    assert tuner._local_tuner.get_run_config().callbacks == [old]
    _compat.set_restored_callbacks(tuner, [new])
    assert tuner._local_tuner.get_run_config().callbacks == [new]
    assert tuner._local_tuner._run_config.callbacks == [new]  # fit() builds its run from this object


def test_layer_ebops_is_what_a_tracing_pass_stores(model):
    from hgq.utils import trace_minmax

    trace_minmax(model, np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32))
    layer = model.get_layer("d")
    assert _compat.layer_ebops(layer, (1, 4)) == int(layer.ebops) > 0


def test_keras_asks_a_lazy_module_whether_tensorflow_is_available():
    """`_compat.tensorflow_out_of_keras` answers that question for Keras (on JAX)."""
    from keras.src.utils import module_utils

    assert isinstance(module_utils.tensorflow, module_utils.LazyModule)
    assert "_available" in vars(module_utils.tensorflow)
