"""Cost rules on models a user may bring: QConv1D, QBatchNormalization, pooling, branches
(Add, Concatenate), nested models, layers no rule covers, and models da4ml cannot trace."""

import math
import warnings

import numpy as np
import pytest

from hgq_automl.estimates import (
    DA4ML_METRICS,
    EstimateWarning,
    da4ml_estimate,
    da4ml_metrics,
    estimate,
    layer_bram,
    layer_costs,
    weight_layers,
    weight_width,
)

RNG = np.random.default_rng(0)


def _scopes():
    """The quantizer and layer configuration of `hgq_automl.models.build_model`."""
    from hgq_automl.quantizers import hgq_scopes

    return hgq_scopes(1e-5)


def _traced(model, x):
    from hgq.utils import trace_minmax

    trace_minmax(model, x, batch_size=len(x))
    return model


def _collect(fn, *args, **kwargs):
    """fn's result and the EstimateWarnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [w for w in caught if issubclass(w.category, EstimateWarning)]


@pytest.fixture(scope="module")
def branchy():
    """Input(16, 2) -> QConv1D(4, 3, relu, pf 2) -> QBatchNormalization -> {QMaxPool1D(2),
    QAvgPool1D(2)} -> QAdd -> Concatenate with the max branch -> Flatten -> Dropout -> QDense(3).
    The conv's weights and the BN's scale are set to 9-bit values, so both use DSPs."""
    import keras
    from hgq.config import QuantizerConfig
    from hgq.layers import QAdd, QAveragePooling1D, QBatchNormalization, QConv1D, QDense, QMaxPooling1D

    with _scopes():
        wide = QuantizerConfig("kbi", "weight", b0=12, i0=2, overflow_mode="SAT_SYM")
        inp = keras.Input((16, 2), name="features")
        h = QConv1D(4, 3, activation="relu", parallelization_factor=2, kq_conf=wide, name="c1")(inp)  # 14 x 4
        h = QBatchNormalization(name="bn")(h)
        a = QMaxPooling1D(2, name="mp")(h)  # 7 x 4
        b = QAveragePooling1D(2, name="ap")(h)  # 7 x 4
        s = QAdd(name="add")([a, b])
        c = keras.layers.Concatenate(name="cat")([s, a])  # 7 x 8
        f = keras.layers.Dropout(0.1, name="drop")(keras.layers.Flatten(name="flat")(c))
        model = keras.Model(inp, QDense(3, name="out")(f), name="branchy")
    k = np.arange(1, 25, dtype=np.float32)
    model.get_layer("c1").kernel.assign(((-1.0) ** k * (10 * k + 1) / 256).reshape(3, 2, 4))  # in (-1, 1), odd / 256: sign + 8 bits
    bn = model.get_layer("bn")
    bn.bn_gamma.assign(np.array([2.015625, -1.5, 0.5, 1.0], dtype=np.float32))  # 2.015625: sign + 2 + 6 bits
    bn.bn_beta.assign(np.array([0.25, -0.5, 0.0, 1.0], dtype=np.float32))
    bn.moving_variance.assign(np.full(4, 1.0 - bn.epsilon, dtype=np.float32))
    x = RNG.normal(size=(64, 16, 2)).astype(np.float32)
    return _traced(model, x), x


def test_flops_and_params_of_every_layer(branchy):
    model, _ = branchy
    costs = {c.name: c for c in layer_costs(model)}
    assert [(n, c.flops, c.params) for n, c in costs.items()] == [
        ("features", 0, 0),
        ("c1", 2 * 6 * 14 * 4, 3 * 2 * 4 + 4),  # fan-in 3 x 2, 14 x 4 outputs
        ("bn", 2 * 14 * 4, 4 + 4),  # a multiply and an add per element; scale + offset per channel
        ("mp", 0, 0),  # comparisons only
        ("ap", 2 * 7 * 4, 0),  # 1 add + 1 division per output
        ("add", 7 * 4, 0),
        ("cat", 0, 0),
        ("flat", 0, 0),
        ("drop", 0, 0),
        ("out", 2 * 56 * 3, 56 * 3 + 3),
    ]
    assert not any(c.uncovered for c in costs.values())
    est, caught = _collect(estimate, model, da4ml=False)
    assert est["flops"] == 672 + 112 + 56 + 28 + 336 and est["params"] == 28 + 8 + 171
    assert caught == []


def test_dsps_and_bram_follow_hls4ml(branchy):
    model, _ = branchy
    c1, out = weight_layers(model)
    assert (c1.name, c1.parallel_pixels, c1.macs_per_output, c1.outputs) == ("c1", 2, 6, 56)
    assert weight_width(c1.kernel) == 9 and c1.nonzero_weights == 24
    scale = next(c.scale for c in layer_costs(model) if c.name == "bn")
    assert weight_width(scale) == 9 and weight_width(out.kernel) < 9
    # c1: 24 multipliers per pixel x 2 pixels; bn: one per element (56); out: narrow, 0
    assert estimate(model, 1, da4ml=False)["dsps"] == 48 + 56
    assert estimate(model, 4, da4ml=False)["dsps"] == 6 * 2 + 14  # ceil(24 / 4) x 2 + ceil(56 / 4)
    # hls4ml's DA pass rewrites the conv and the dense layer, not the batch normalization
    assert estimate(model, 1, "distributed_arithmetic", da4ml=False)["dsps"] == 56
    # BRAM: the weights of dense/conv layers under resource, RF > 1; BN and pooling none
    assert estimate(model, 4, "latency", da4ml=False)["bram"] == 0
    assert layer_bram(c1, 4, "resource") == 2  # ceil(9 bits x 24 / (4 x 36))
    out_bram = layer_bram(out, 4, "resource")
    assert out_bram > 0 and estimate(model, 4, "resource", da4ml=False)["bram"] == 2 + out_bram


def test_da4ml_traces_qconv1d_batchnorm_pooling_and_branches(branchy):
    model, x = branchy
    notes = {}
    est, caught = _collect(estimate, model, notes=notes)
    assert set(notes) <= {"reuse_factors", "parallelization_factors"} and caught == []
    assert est["luts"] > 0 and est["latency_cycles"] >= 1 and est["ffs"] > 0
    comb = da4ml_estimate(model).comb
    da_out = np.asarray(comb.predict(x.reshape(len(x), -1))).reshape(len(x), 3)
    assert np.count_nonzero(da_out != model.predict(x, verbose=0)) == 0


def test_nested_models_and_batchnorm_fused_dense_are_walked():
    import keras
    from hgq.layers import QBatchNormDense, QDense

    with _scopes():
        block = keras.Sequential([keras.Input((6,)), QDense(5, activation="relu", name="inner")], name="block")
        inp = keras.Input((6,), name="features")
        h = block(inp)
        out = QBatchNormDense(2, name="fused")(keras.layers.ReLU(name="relu")(h))
        model = keras.Model(inp, out, name="nested")
    _traced(model, RNG.normal(size=(32, 6)).astype(np.float32))
    assert [layer.name for layer in weight_layers(model)] == ["inner", "fused"]
    est, caught = _collect(estimate, model, da4ml=False)
    assert est["flops"] == 2 * 6 * 5 + 2 * 5 * 2 and est["params"] == 30 + 5 + 10 + 2 and caught == []


@pytest.fixture(scope="module")
def uncovered():
    """QDense(8) -> a custom layer with a weight -> LeakyReLU -> QDense(3)
    (QEinsumDense, uncovered before, has its rule now: tests/test_estimates_zoo.py)."""
    import keras
    from hgq.layers import QDense

    class _Scale(keras.layers.Layer):
        """A custom layer with a weight of its own: no rule knows it."""

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    with _scopes():
        inp = keras.Input((6,), name="features")
        h = QDense(8, name="d1")(inp)
        h = _Scale(name="scale")(h)
        h = keras.layers.LeakyReLU(name="leaky")(h)
        model = keras.Model(inp, QDense(3, name="out")(h), name="uncovered")
    return _traced(model, RNG.normal(size=(32, 6)).astype(np.float32))


def test_uncovered_layers_make_their_metrics_nan_with_one_warning(uncovered):
    notes = {}
    est, caught = _collect(estimate, uncovered, da4ml=False, notes=notes)
    assert all(math.isnan(est[m]) for m in ("flops", "params", "dsps", "bram"))
    assert notes["uncovered_layers"] == "scale (_Scale), leaky (LeakyReLU)"
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "scale (_Scale): flops, params, dsps, bram" in message
    assert "leaky (LeakyReLU): flops, dsps, bram" in message and "'uncovered'" in message


def test_a_weightless_uncovered_layer_keeps_params():
    import keras
    from hgq.layers import QDense

    with _scopes():
        inp = keras.Input((6,), name="features")
        h = QDense(8, name="d1")(keras.layers.LeakyReLU(name="leaky")(inp))
        model = keras.Model(inp, QDense(3, activation="softmax", name="out")(h), name="soft")
    _traced(model, RNG.normal(size=(32, 6)).astype(np.float32))
    notes = {}
    est, caught = _collect(estimate, model, da4ml=False, notes=notes)
    assert est["params"] == 6 * 8 + 8 + 8 * 3 + 3  # LeakyReLU has no weights; softmax none either
    assert all(math.isnan(est[m]) for m in ("flops", "dsps", "bram"))
    assert notes["uncovered_layers"] == "leaky (LeakyReLU), out (QDense, activation softmax)"
    assert len(caught) == 1


def _float_pool_first():
    """A plain MaxPooling2D on the float input before any quantizer: da4ml's trace fails."""
    import keras
    from hgq.layers import QDense

    with _scopes():
        inp = keras.Input((8, 8, 1), name="features")
        h = keras.layers.Flatten(name="flat")(keras.layers.MaxPooling2D(2, name="pool")(inp))
        return keras.Model(inp, QDense(3, name="out")(h), name="pool_first"), (32, 8, 8, 1)


def _activation_layer():
    """A Keras Activation layer (a plain Keras model converted layer by layer keeps it): no
    cost, but da4ml 0.6's HGQ2 tracer has no handler for it."""
    import keras
    from hgq.layers import QDense

    with _scopes():
        inp = keras.Input((6,), name="features")
        h = keras.layers.Activation("relu", name="act")(QDense(4, name="d1")(inp))
        return keras.Model(inp, QDense(2, name="out")(h), name="act_layer"), (32, 6)


@pytest.mark.parametrize(
    "build, reason, flops",
    [
        (_float_pool_first, "ValueError: math domain error", 2 * 16 * 3),
        (_activation_layer, "KeyError: <class 'keras.src.layers.activations.activation.Activation'>", 2 * (6 * 4 + 4 * 2)),
    ],
)
def test_a_model_da4ml_cannot_trace_gets_nan_and_the_reason(build, reason, flops):
    model, shape = build()
    _traced(model, RNG.normal(size=shape).astype(np.float32))
    notes = {}
    est, caught = _collect(estimate, model, notes=notes)
    assert notes["da4ml_error"] == reason and "uncovered_layers" not in notes
    assert all(math.isnan(est[m]) for m in DA4ML_METRICS)
    assert est["flops"] == flops and est["dsps"] == 0 and est["bram"] == 0  # the other rules still apply
    assert len(caught) == 1 and reason in str(caught[0].message)
    # without notes: the same NaNs, the reason in the warning only
    bare, caught = _collect(da4ml_metrics, model)
    assert all(math.isnan(bare[m]) for m in DA4ML_METRICS) and len(caught) == 1


def test_a_shared_layer_costs_at_every_call_its_params_once_and_a_keras_op_is_uncovered():
    import keras
    from hgq.layers import QAdd, QDense

    with _scopes():
        inp = keras.Input((6,), name="features")
        shared = QDense(4, name="shared")
        s = QAdd(name="add")([shared(inp), shared(keras.layers.ReLU(name="relu")(inp))])
        h = keras.ops.multiply(s, s)  # a keras.ops operation: no layer, no weights, no rule
        model = keras.Model(inp, QDense(2, name="out")(h), name="shared")
    _traced(model, RNG.normal(size=(32, 6)).astype(np.float32))
    costs = sorted((c.name, c.class_name, c.flops, c.params, c.uncovered) for c in layer_costs(model))
    (op,) = [c for c in costs if c[1] == "Multiply"]  # the operation's name is keras's choice
    costs.remove(op)
    assert op[2:] == (0, 0, ("flops", "dsps", "bram"))
    assert costs == [
        ("add", "QAdd", 4, 0, ()),
        ("features", "InputLayer", 0, 0, ()),
        ("out", "QDense", 2 * 4 * 2, 4 * 2 + 2, ()),
        ("relu", "ReLU", 0, 0, ()),
        ("shared", "QDense", 2 * 6 * 4, 0, ()),  # one of the two calls: its weights are stored once
        ("shared", "QDense", 2 * 6 * 4, 6 * 4 + 4, ()),
    ]
    assert [layer.name for layer in weight_layers(model)] == ["shared", "out"]
    est, caught = _collect(estimate, model, da4ml=False)
    assert est["params"] == 28 + 10 and math.isnan(est["flops"]) and len(caught) == 1
