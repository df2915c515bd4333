"""Every layer kind hls4ml 1.3 converts from HGQ2, costed: a zoo of tiny models, one per kind
and a few mixed, each traced on a few random samples (no training). No estimate is NaN, no
layer is left uncovered, and `hgq_ebops` reproduces HGQ's own EBOPs from the quantizer state."""

import math
import warnings

import numpy as np
import pytest

from hgq_automl.estimates import DA4ML_METRICS, LAYER_METRICS, EstimateWarning, estimate, hgq_ebops, layer_costs

RNG = np.random.default_rng(0)


def _scopes():
    """The quantizer and layer configuration of `hgq_automl.models.build_model`."""
    from hgq_automl.quantizers import hgq_scopes

    return hgq_scopes(1e-5)


def _model(shape, body, name):
    import keras

    with _scopes():
        inp = keras.Input(shape, name="features")
        return keras.Model(inp, body(inp), name=name)


def dense(x):
    from hgq.layers import QDense

    return QDense(3, name="d2")(QDense(5, activation="relu", name="d1")(x))


def batchnorm_dense(x):
    from hgq.layers import QBatchNormDense

    return QBatchNormDense(3, name="bnd")(x)


def einsum_dense(x):  # (4, 6): the dense kernel applied at 4 positions
    from hgq.layers import QEinsumDense

    return QEinsumDense("bnc,cd->bnd", output_shape=(4, 3), bias_axes="d", name="ein")(x)


def einsum_dense_inplace(x):  # (4, 6): one kernel per position (an in-place index)
    from hgq.layers import QEinsumDense

    return QEinsumDense("bnc,ncd->bnd", output_shape=(4, 3), bias_axes="nd", name="ein")(x)


def einsum_dense_batchnorm(x):  # the jet-tagging MLP of HGQ2's authors
    from hgq.layers import QEinsumDenseBatchnorm

    h = QEinsumDenseBatchnorm("bc,cd->bd", output_shape=5, bias_axes="d", activation="relu", name="e1")(x)
    return QEinsumDenseBatchnorm("bc,cd->bd", output_shape=3, bias_axes="d", name="e2")(h)


def conv1d(x):  # (12, 2)
    from hgq.layers import QConv1D, QDense, QGlobalAveragePooling1D, QMaxPooling1D

    h = QMaxPooling1D(2, name="mp")(QConv1D(3, 3, activation="relu", name="c1")(x))
    return QDense(2, name="out")(QGlobalAveragePooling1D(name="gap")(h))


def conv2d(x):  # (6, 6, 1)
    import keras
    from hgq.layers import QAveragePooling2D, QConv2D, QDense

    h = QAveragePooling2D(2, name="ap")(QConv2D(2, 3, activation="relu", parallelization_factor=2, name="c1")(x))
    return QDense(3, name="out")(keras.layers.Flatten(name="flat")(h))


def conv2d_global_max(x):  # (6, 6, 1)
    from hgq.layers import QConv2D, QGlobalMaxPooling2D, QMaxPooling2D

    return QGlobalMaxPooling2D(name="gmp")(QMaxPooling2D(2, name="mp")(QConv2D(3, 3, name="c1")(x)))


def batchnorm(x):
    from hgq.layers import QBatchNormalization, QDense

    return QDense(3, name="out")(QBatchNormalization(name="bn")(QDense(5, name="d1")(x)))


def merges(x):
    """Every two-input merge HGQ2 0.2.0 has that hls4ml converts."""
    import keras
    from hgq.layers import QAdd, QAveragePow2, QDense, QMaximum, QMinimum, QMultiply, QSubtract

    a, b = QDense(4, name="a")(x), QDense(4, name="b")(x)
    outs = [cls(name=cls.__name__.lower())([a, b]) for cls in (QAdd, QSubtract, QMultiply, QAveragePow2, QMaximum, QMinimum)]
    return QDense(2, name="out")(keras.layers.Concatenate(name="cat")(outs))


def dot(x):
    from hgq.layers import QDense, QDot

    return QDot(name="dot")([QDense(4, name="a")(x), QDense(4, name="b")(x)])


def einsum(x):  # two data tensors: (2, 3) x (3, 4) per sample
    import keras
    from hgq.layers import QDense, QEinsum

    a = keras.layers.Reshape((2, 3), name="ra")(QDense(6, name="a")(x))
    b = keras.layers.Reshape((3, 4), name="rb")(QDense(12, name="b")(x))
    return QEinsum("bij,bjk->bik", name="mm")([a, b])


def unary_lut(x):
    from hgq.layers import QDense, QUnaryFunctionLUT

    h = QUnaryFunctionLUT("tanh", allow_heterogeneous_table=False, name="tanh")(QDense(5, name="d1")(x))
    return QDense(3, name="out")(h)


def softmax(x):
    from hgq.layers import QDense, QSoftmax

    return QSoftmax(name="sm")(QDense(4, name="d1")(x))


def quantizer_and_relu(x):
    import keras
    from hgq.layers import QDense
    from hgq.quantizer import Quantizer

    h = Quantizer(name="q")(keras.layers.ReLU(name="relu")(QDense(5, name="d1")(x)))
    return QDense(3, name="out")(h)


def mixed_cnn(x):  # (8, 8, 1): the built-in digits CNN's shape plus a residual
    import keras
    from hgq.layers import QAdd, QBatchNormalization, QConv2D, QDense, QMaxPooling2D

    h = QConv2D(2, 3, activation="relu", padding="same", name="c1")(x)
    h = QAdd(name="res")([h, QConv2D(2, 3, padding="same", name="c2")(QBatchNormalization(name="bn")(h))])
    h = keras.layers.Flatten(name="flat")(QMaxPooling2D(2, name="mp")(h))
    return QDense(3, name="out")(h)


def mixed_attention_like(x):  # (4, 6): a tiny self-attention block of einsums, a softmax and a LUT
    from hgq.layers import QEinsum, QEinsumDense, QSoftmax, QUnaryFunctionLUT

    q = QEinsumDense("bnc,cd->bnd", output_shape=(4, 3), name="q")(x)
    k = QEinsumDense("bnc,cd->bnd", output_shape=(4, 3), name="k")(x)
    v = QEinsumDense("bnc,cd->bnd", output_shape=(4, 3), name="v")(x)
    w = QSoftmax(name="sm")(QEinsum("bnd,bmd->bnm", name="qk")([q, k]))
    h = QEinsum("bnm,bmd->bnd", name="wv")([w, v])
    return QUnaryFunctionLUT("sigmoid", allow_heterogeneous_table=False, name="sig")(h)


ZOO = {
    "dense": ((6,), dense),
    "batchnorm_dense": ((6,), batchnorm_dense),
    "einsum_dense": ((4, 6), einsum_dense),
    "einsum_dense_inplace": ((4, 6), einsum_dense_inplace),
    "einsum_dense_batchnorm": ((6,), einsum_dense_batchnorm),
    "conv1d": ((12, 2), conv1d),
    "conv2d": ((6, 6, 1), conv2d),
    "conv2d_global_max": ((6, 6, 1), conv2d_global_max),
    "batchnorm": ((6,), batchnorm),
    "merges": ((6,), merges),
    "dot": ((6,), dot),
    "einsum": ((6,), einsum),
    "unary_lut": ((6,), unary_lut),
    "softmax": ((6,), softmax),
    "quantizer_and_relu": ((6,), quantizer_and_relu),
    "mixed_cnn": ((8, 8, 1), mixed_cnn),
    "mixed_attention_like": ((4, 6), mixed_attention_like),
}


def build(kind: str):
    """The zoo's model `kind`, traced (`trace_minmax`) on 32 random samples: (model, x, HGQ's EBOPs)."""
    from hgq.utils import trace_minmax

    shape, body = ZOO[kind]
    model = _model(shape, body, kind)
    x = RNG.normal(size=(32, *shape)).astype(np.float32)
    return model, x, float(trace_minmax(model, x, batch_size=len(x)))


@pytest.mark.parametrize("kind", list(ZOO))
def test_every_layer_kind_is_costed_and_ebops_is_hgqs_own(kind):
    model, x, ebops = build(kind)
    assert ebops > 0
    assert hgq_ebops(model) == ebops
    notes = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = estimate(model, notes=notes)
    assert [str(w.message) for w in caught if issubclass(w.category, EstimateWarning)] == []
    assert not any(c.uncovered for c in layer_costs(model))
    assert all(math.isfinite(est[m]) for m in LAYER_METRICS + DA4ML_METRICS), est
    assert est["flops"] > 0 and est["params"] > 0 and est["luts"] > 0
    for rf in (2, 4):
        for strategy in ("latency", "resource", "distributed_arithmetic"):
            again = estimate(model, rf, strategy, da4ml=False)
            assert all(math.isfinite(again[m]) for m in LAYER_METRICS)


def _costs(model):
    return {c.name: (c.flops, c.params, c.dsps(1)) for c in layer_costs(model) if c.flops or c.params}


def test_einsum_dense_counts_its_dense_kernel_at_every_position():
    from hgq.config import QuantizerConfig
    from hgq.layers import QEinsumDense

    def wide(x):  # a 12-bit kernel: multipliers in DSPs
        kq = QuantizerConfig("kbi", "weight", b0=12, i0=2, overflow_mode="SAT_SYM")
        return QEinsumDense("bnc,cd->bnd", output_shape=(4, 3), bias_axes="d", kq_conf=kq, parallelization_factor=2, name="ein")(x)

    from hgq.utils import trace_minmax

    model = _model((4, 6), wide, "wide_einsum")
    model.get_layer("ein").kernel.assign(((-1.0) ** np.arange(18) * (np.arange(18) * 37 + 301) / 1024).reshape(6, 3))
    trace_minmax(model, RNG.normal(size=(16, 4, 6)).astype(np.float32))
    # 4 positions x 3 outputs x 6 MACs; kernel 18 + bias 3; 18 multipliers x 2 positions at once
    assert _costs(model) == {"ein": (2 * 6 * 3 * 4, 18 + 3, 18 * 2)}
    assert estimate(model, 4, "latency", da4ml=False)["dsps"] == math.ceil(18 / 4) * 2
    # hls4ml implements EinsumDense with its latency kernel only: no BRAM, same DSPs
    assert estimate(model, 4, "resource", da4ml=False) == estimate(model, 4, "latency", da4ml=False)
    assert estimate(model, 1, "distributed_arithmetic", da4ml=False)["dsps"] == 0


def test_products_slices_and_tables_follow_their_hls4ml_kernels():
    counts = {kind: _costs(build(kind)[0]) for kind in ("merges", "dot", "einsum", "softmax", "unary_lut", "einsum_dense_inplace")}
    merges = counts["merges"]
    assert {k: merges[k][0] for k in ("qadd", "qsubtract", "qmultiply", "qaveragepow2")} == {"qadd": 4, "qsubtract": 4, "qmultiply": 4, "qaveragepow2": 8}
    assert counts["dot"]["dot"][:2] == (2 * 4 - 1, 0)
    assert counts["einsum"]["mm"][:2] == (2 * 2 * 3 * 4, 0)  # (2 x 3) @ (3 x 4): 24 multiply-accumulates
    assert counts["softmax"]["sm"][:2] == (3 + 4 + 4, 0)  # stable: 3 adds, 4 products, 4 subtractions
    assert "tanh" not in counts["unary_lut"]  # a table lookup: 0 everywhere
    assert counts["einsum_dense_inplace"]["ein"][:2] == (2 * 6 * 3 * 4, 4 * 6 * 3 + 4 * 3)  # a kernel per position
