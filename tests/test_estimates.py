"""Cost rules on a tiny trained model (real HGQ2, real da4ml) and on hand-made kernels."""

import numpy as np
import pytest

from hgq_automl.data import load_dataset
from hgq_automl.estimates import (
    WeightLayer,
    count_flops,
    count_params,
    da4ml_estimate,
    bram_consecutive_patterns,
    bram_estimate,
    dsp_estimate,
    estimate,
    layer_bram,
    weight_layers,
    weight_width,
)
from hgq_automl.quantizers import effective_parallelization
from hgq_automl.space import parse_space
from hgq_automl.trial import run_trial


@pytest.fixture(scope="module")
def trained():
    """The quick-start digits CNN with 2 filters, trained 2 epochs on 300 samples."""
    space = parse_space({"dataset": {"max_samples": 300}, "parameters": {"filters_1": 2, "epochs": 2, "parallelization_factor": 4}})
    data = load_dataset(space.dataset)
    final, model = run_trial(space, {}, data, threads=1)
    return space, data, final, model


def test_flops_and_params_of_the_quick_start_cnn(trained):
    _, _, final, model = trained
    layers = weight_layers(model)
    assert [layer.name for layer in layers] == ["conv1", "output"]
    # conv1: 3x3x1x2 kernel + 2 biases, 6x6x2 outputs of 9 MACs; output: 18x10 + 10
    assert count_params(layers) == 18 + 2 + 180 + 10
    assert count_flops(layers) == 2 * (6 * 6 * 2 * 9 + 18 * 10)
    assert final["params"] == 210 and final["flops"] == 1656
    assert layers[0].parallel_pixels == 4 and layers[1].parallel_pixels == 1


def test_da4ml_luts_latency_and_bit_exactness(trained):
    _, data, final, model = trained
    da = da4ml_estimate(model)
    assert da.luts > 0 and da.luts == final["luts"]
    assert da.latency_cycles >= 1 and da.latency_ns == 5.0 * da.latency_cycles
    keras_out = model.predict(data.x_test, verbose=0)
    da_out = np.asarray(da.comb.predict(data.x_test.reshape(len(data.x_test), -1))).reshape(keras_out.shape)
    assert np.count_nonzero(da_out != keras_out) == 0


def test_estimate_uses_the_metric_vocabulary(trained):
    _, _, _, model = trained
    est = estimate(model, reuse_factor=1)
    assert set(est) == {"flops", "params", "dsps", "bram", "luts", "ffs", "latency_cycles", "latency_ns"}
    assert est["bram"] == 0  # latency strategy: weights in registers, not BRAM
    assert est["ffs"] > 0
    assert estimate(model, reuse_factor=1, strategy="distributed_arithmetic")["dsps"] == 0
    # a slower clock lets da4ml put more logic in each stage: never more stages
    slow = estimate(model, reuse_factor=1, clock_period_ns=10.0)
    assert slow["latency_cycles"] <= est["latency_cycles"] and slow["latency_ns"] == 10.0 * slow["latency_cycles"]


@pytest.mark.parametrize(
    "values, width",
    [
        ([0.5, -0.25], 3),  # sign + 2 fractional bits
        ([0.0, 0.0], 0),  # all pruned
        (list(range(256)), 8),  # unsigned 8-bit integers
        (list(range(257)), 9),
        ([1 / 256, -1.0], 9),  # sign + 8 fractional bits: -1 fits in [-1, 1)
        ([-1 / 256, 1.0], 10),  # signed, and +1 needs an integer bit
    ],
)
def test_weight_width(values, width):
    assert weight_width(np.array(values, dtype=np.float32)) == width


def _layer(kernel, pixels=1):
    return WeightLayer("l", np.asarray(kernel, dtype=np.float32), 0, kernel.shape[0], kernel.shape[1], pixels)


def test_dsp_rule_follows_hls4ml():
    wide = np.full((16, 8), 1 / 256, dtype=np.float32)
    wide[0, 0] = 1.0  # 9+ bits: one DSP per multiplication
    assert dsp_estimate([_layer(wide)], reuse_factor=1) == 128
    assert dsp_estimate([_layer(wide)], reuse_factor=4) == 32
    assert dsp_estimate([_layer(wide)], reuse_factor=3) == 43  # ceil(128 / 3)
    assert dsp_estimate([_layer(wide, pixels=4)], reuse_factor=4) == 128  # 4 output pixels in parallel
    pruned = wide.copy()
    pruned[:8] = 0
    pruned[0, 0] = 1.0
    assert dsp_estimate([_layer(pruned)], reuse_factor=1) == 65  # zeros are constant-folded away
    narrow = np.full((16, 8), 0.25, dtype=np.float32)  # 3 bits: multiplies in LUTs
    assert dsp_estimate([_layer(narrow)], reuse_factor=1) == 0
    assert dsp_estimate([_layer(wide)], reuse_factor=1, strategy="distributed_arithmetic") == 0
    # latency folds zeros away per reuse group: ceil(128 / 4) - 63 // 4 = 32 - 15
    assert dsp_estimate([_layer(pruned)], reuse_factor=4) == 17
    # resource keeps the weights in a ROM: zeros still take their multiplier slot
    assert dsp_estimate([_layer(pruned)], reuse_factor=1, strategy="resource") == 128
    assert dsp_estimate([_layer(wide)], reuse_factor=3, strategy="resource") == 43  # the rule at RF 3 as given
    assert dsp_estimate([_layer(wide, pixels=2)], reuse_factor=4, strategy="resource") == 64
    assert dsp_estimate([_layer(narrow)], reuse_factor=1, strategy="resource") == 0


@pytest.mark.parametrize("requested, pixels, expected", [(1, 36, 1), (4, 36, 4), (5, 36, 4), (36, 36, 36), (100, 36, 36), (4, 1, 1), (16, 144, 16)])
def test_effective_parallelization_divides_the_output_pixels(requested, pixels, expected):
    assert effective_parallelization(requested, pixels) == expected


@pytest.mark.parametrize("bits, patterns", [(12, 3), (9, 4), (18, 2), (8, 9), (24, 3), (10, 8), (16, 5), (13, 6)])
def test_bram_word_holds_hls4mls_consecutive_patterns(bits, patterns):
    # 36 // bits when bits divide 36, else ceil(72 / bits) (VivadoMultiObjectiveEstimator)
    assert bram_consecutive_patterns(bits) == patterns


def _twelve_bit_dense():
    """A 6-input, 8-output dense kernel of 12-bit integers (-2048 needs sign + 11 bits)."""
    kernel = np.ones((6, 8), dtype=np.float32)
    kernel[0, 7] = -2048.0
    assert weight_width(kernel) == 12
    return kernel


def test_bram_rule_on_hand_computed_layers():
    kernel = _twelve_bit_dense()
    layer = _layer(kernel)
    # resource, RF 4: ceil(12 bits x 48 weights / (4 x 36)) = 4 blocks
    assert layer_bram(layer, 4, "resource") == 4
    assert layer_bram(layer, 2, "resource") == 8  # ceil(576 / 72)
    assert layer_bram(layer, 5, "resource") == 4  # ceil(576 / 180) = ceil(3.2)
    # weights outside BRAM: latency, RF 1, distributed arithmetic
    assert layer_bram(layer, 4, "latency") == 0
    assert layer_bram(layer, 1, "resource") == 0
    assert layer_bram(layer, 4, "distributed_arithmetic") == 0
    assert bram_estimate([layer, layer], 4, "resource") == 8
    assert layer_bram(_layer(np.zeros((6, 8))), 4, "resource") == 0


def test_bram_drops_only_for_whole_zero_words():
    # 12 bits, RF 4: a word is 3 patterns of 4 weights = 12 consecutive weights of the
    # transposed (outputs, inputs) kernel = the 6 weights of 2 output neurons, 36 bits
    kernel = _twelve_bit_dense()
    transposed = kernel.T.copy()  # hls4ml's (outputs, inputs) order
    transposed.reshape(-1)[::4] = 0  # one zero in each of the 12 patterns: 25 % zeros
    scattered = transposed.T
    assert np.count_nonzero(scattered == 0) == 12
    assert layer_bram(_layer(scattered), 4, "resource") == 4  # nothing freed
    word = kernel.copy()
    word[:, 0:2] = 0  # outputs 0 and 1: the first word, also 25 % zeros
    assert layer_bram(_layer(word), 4, "resource") == 3  # ceil(12 x 36 / 144)
    word[:5, 2:4] = 0  # all but one weight of the second word: still stored
    assert layer_bram(_layer(word), 4, "resource") == 3


def test_bram_of_a_72_bit_word():
    # 8-bit weights: a word is ceil(72 / 8) = 9 patterns, 72 bits; with RF 2 that is 18
    # weights = the 9 inputs of 2 outputs. Zeroing it frees 72 bits = 2 blocks (hls4ml's
    # savings table credits 1; its resource rule, which this follows, charges 2)
    kernel = np.tile(np.arange(1, 10, dtype=np.float32)[:, None] * 28 + 1, (1, 8))  # odd, up to 253: 8 bits
    assert weight_width(kernel) == 8
    assert layer_bram(_layer(kernel), 2, "resource") == 8  # ceil(8 x 72 / 72)
    kernel[:, :2] = 0
    assert layer_bram(_layer(kernel), 2, "resource") == 6


def test_ebops_count_parallel_pixels_and_da4ml_the_fully_parallel_design(trained):
    """What the README says of the two: a conv layer's EBOPs are those of its
    parallelization_factor pixels in parallel; da4ml's LUTs are those of every pixel in
    parallel (the rtl path's design), whatever the factor."""
    from hgq.utils import trace_minmax

    from hgq_automl.models import build_model

    space, data, final, model = trained
    params = space.resolve({"parallelization_factor": 36})
    wide = build_model(space.model, params, data.input_shape, data.n_classes)
    wide.set_weights(model.get_weights())
    trace_minmax(wide, data.x_train, batch_size=4096)
    conv4, conv36 = float(model.get_layer("conv1").ebops), float(wide.get_layer("conv1").ebops)
    # the kernel's part 9x (36 pixels instead of 4); the biases' part is counted for every pixel in both
    assert 6 * conv4 < conv36 < 9 * conv4
    assert float(wide.get_layer("output").ebops) == float(model.get_layer("output").ebops)
    assert da4ml_estimate(wide).luts == final["luts"]


def test_the_effective_parallelization_factor_of_each_conv_layer_is_noted():
    """Asked 5 for a conv with 36 output pixels, HGQ/hls4ml use 4 (the largest divisor not
    above it): that is what the trial's notes (MLflow tags) say, not only the 5 asked."""
    from hgq_automl.estimates import estimate
    from hgq_automl.models import build_model
    from hgq_automl.space import parse_space

    space = parse_space({"parameters": {"filters_1": 2, "parallelization_factor": 5}})
    params = space.resolve(space.first_params())
    model = build_model(space.model, params, (8, 8), 10)
    notes = {}
    estimate(model, 1, "latency", da4ml=False, notes=notes)
    assert notes["parallelization_factors"] == "conv1 4 of 36 output pixels"
    assert notes["reuse_factors"] == "conv1 1, output 1 (asked 1, latency)"
