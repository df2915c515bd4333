"""hls4ml's resource rules for the weight layers at a strategy and reuse factor: the reuse
factors hls4ml accepts, DSPs (`layer_dsps`) and BRAM (`layer_bram`), each with its source
in hls4ml 1.3."""

from __future__ import annotations

import math

import numpy as np

from .graph import WeightLayer, weight_width


#: hls4ml's DSP rule: weights narrower than this many bits multiply in LUTs.
DSP_MIN_WEIGHT_BITS = 9


#: hls4ml's BRAM rule counts the weight memory in blocks this many bits wide.
BRAM_WIDTH_BITS = 36


def valid_reuse_factors(n_in: int, n_out: int) -> list[int]:
    """The reuse factors hls4ml 1.3 accepts for a dense/conv layer of `n_in` x `n_out`
    multiplications under the `resource` strategy: hls4ml's own rule
    (`FPGABackend.get_valid_reuse_factors` / `_validate_reuse_factor`,
    hls4ml/backends/fpga/fpga_backend.py), over the divisors of n_in x n_out (the only
    candidates its last condition leaves)."""
    total = n_in * n_out
    small = [d for d in range(1, math.isqrt(total) + 1) if total % d == 0]
    out = []
    for rf in sorted(set(small + [total // d for d in small])):
        limit = math.ceil(total / min(n_in, rf))
        if ((limit % n_out == 0) or rf >= n_in) and ((rf % n_in == 0) or rf < n_in):
            out.append(rf)
    return out


def layer_reuse_factor(layer: WeightLayer, reuse_factor: int, strategy: str = "latency") -> int:
    """The reuse factor hls4ml really uses for `layer` when asked for `reuse_factor`: under
    the `resource` strategy an invalid one becomes the closest valid one, the smaller on a
    tie (`FPGABackend.set_closest_reuse_factor`, called by the Vivado/Vitis backends'
    `init_dense` / `init_conv1d` / `init_conv2d`); the other strategies use it as given."""
    if strategy != "resource" or layer.latency_only:
        return reuse_factor
    n_out = int(layer.kernel.shape[-1])
    valid = valid_reuse_factors(int(layer.kernel.size) // n_out, n_out)
    if reuse_factor in valid:
        return reuse_factor
    import bisect

    pos = bisect.bisect_left(valid, reuse_factor)
    if pos == 0:
        return valid[0]
    if pos == len(valid):
        return valid[-1]
    before, after = valid[pos - 1], valid[pos]
    return after if after - reuse_factor < reuse_factor - before else before


def layer_dsps(layer: WeightLayer, reuse_factor: int, strategy: str = "latency") -> int:
    """DSP slices of one dense/conv layer in hls4ml (io_parallel) at `reuse_factor`.

    Rules, after hls4ml 1.3:
    - a layer whose weight type is narrower than 9 bits multiplies in LUTs: 0 DSPs
      (`VivadoDSPEstimator`, hls4ml/optimization/dsp_aware_pruning/objectives/vivado_objectives.py);
    - `latency`: one multiplier per weight, shared by `reuse_factor` multiplications, minus
      the constant-folded zero weights: ceil(n_in x n_out / RF) - n_zeros // RF
      (`multiplier_limit`, hls4ml/backends/vivado/passes/convolution_templates.py and
      the `ALLOCATION ... limit=multiplier_limit` pragma in nnet_utils/nnet_dense_latency.h);
    - `resource`: the weights sit in a ROM read in a loop, so zeros are not folded:
      ceil(n_in x n_out / RF) (`block_factor`, nnet_utils/nnet_dense_resource.h);
    - both times the output pixels a conv layer computes in parallel (its
      parallelization factor, each with its own multipliers);
    - `distributed_arithmetic`: adder trees in LUTs, 0 DSPs;
    - an EinsumDense (`latency_only`) always gets hls4ml's latency kernel
      (einsum_dense.py: `dense_function = 'DenseLatency'`; its template refuses `resource`,
      so hls4ml cannot convert it under that strategy): the latency rule; with in-place
      indices, one kernel per in-place value (counted together here, zeros folded).
    This rule takes the reuse factor as given; a model's estimate (`estimate`,
    `LayerCost.dsps`) first turns an invalid one into the one hls4ml uses (`layer_reuse_factor`).
    """
    if strategy == "distributed_arithmetic" or weight_width(layer.kernel) < DSP_MIN_WEIGHT_BITS:
        return 0
    if layer.latency_only:  # EinsumDense: hls4ml's template always uses `DenseLatency`
        strategy = "latency"
    n = int(layer.kernel.size)
    per_pixel = math.ceil(n / reuse_factor)
    if strategy == "latency":
        per_pixel -= (n - layer.nonzero_weights) // reuse_factor
    return per_pixel * layer.parallel_pixels


def dsp_estimate(layers: list[WeightLayer], reuse_factor: int, strategy: str = "latency") -> int:
    """DSP slices of the network: the sum of `layer_dsps` over its dense/conv layers."""
    return sum(layer_dsps(layer, reuse_factor, strategy) for layer in layers)


def bram_consecutive_patterns(width: int) -> int:
    """Patterns (one multiplier's `reuse_factor` weights each) that share one BRAM word in
    hls4ml's rule for `width`-bit weights: 36 // width if width divides 36, else
    ceil(72 / width) (`VivadoMultiObjectiveEstimator.is_layer_optimizable`)."""
    if width <= 0:
        return 1
    if BRAM_WIDTH_BITS % width == 0:
        return BRAM_WIDTH_BITS // width
    return math.ceil(2 * BRAM_WIDTH_BITS / width)


def layer_bram(layer: WeightLayer, reuse_factor: int, strategy: str = "latency") -> int:
    """BRAM of one dense/conv layer's weights in hls4ml (io_parallel), in hls4ml's unit:
    blocks 36 bits wide (one RAMB18 in its 36-bit simple-dual-port mode, 512 deep, or one
    RAMB36 at 36 x 1024; not checked against a Vivado report).

    Rule, after hls4ml 1.3 (`VivadoMultiObjectiveEstimator`,
    hls4ml/optimization/dsp_aware_pruning/objectives/vivado_objectives.py):
    - only the `resource` strategy with reuse_factor > 1 keeps weights in BRAM
      (`RESOURCE core=ROM_nP_BRAM` and `ARRAY_RESHAPE block factor=n/RF` in
      nnet_utils/nnet_dense_resource.h): a ROM `reuse_factor` deep whose word holds the
      n_in x n_out / RF weights read per cycle, one w-bit column per multiplier,
      ceil(weight bits x n_in x n_out / (RF x 36)) blocks; `latency`, RF 1 and
      `distributed_arithmetic`: 0;
    - pruning: the weights of `bram_consecutive_patterns(bits)` consecutive patterns
      (`pruning.structures`, "pattern" with consecutive_patterns) fill one 36- or 72-bit
      BRAM word; a word whose weights are all zero is not stored. The layer needs
      ceil(bits x (weights in words holding a non-zero) / (RF x 36)) blocks, so scattered
      zeros save nothing. hls4ml's own savings table credits 1 BRAM per zero word only
      when the word is exactly 36 or 72 bits (and 1, not 2, for 72 bits; its code warns
      "not fully implemented"); here every zero word frees its bits, so that the
      per-weight costs of the `bram` pruning objective add up to this estimate;
    - one copy of the weights per layer, whatever the conv's parallelization factor
      (hls4ml's rule has a TODO there); biases are not counted (nor by hls4ml).
    """
    from ..pruning.structures import group_ids

    if strategy != "resource" or reuse_factor <= 1 or layer.latency_only:
        return 0
    bits = weight_width(layer.kernel)
    if bits == 0:
        return 0
    words = group_ids(layer.kernel.shape, "pattern", reuse_factor, bram_consecutive_patterns(bits))
    stored = np.count_nonzero(np.isin(words, words[layer.kernel != 0]))
    return math.ceil(bits * stored / (reuse_factor * BRAM_WIDTH_BITS))


def bram_estimate(layers: list[WeightLayer], reuse_factor: int, strategy: str = "latency") -> int:
    """BRAM (36-bit-wide blocks) of the network's weights: the sum of `layer_bram`."""
    return sum(layer_bram(layer, reuse_factor, strategy) for layer in layers)


def batchnorm_dsps(scale: np.ndarray, elements: int, reuse_factor: int) -> int:
    """DSP slices of a standalone batch normalization in hls4ml (io_parallel): a multiply
    and an add per element (`nnet::normalize`, nnet_utils/nnet_batchnorm.h), at most
    ceil(elements / RF) multipliers (`multiplier_limit = DIV_ROUNDUP(n_in, reuse_factor)`,
    vivado/passes/core_templates.py), whatever the strategy (hls4ml's distributed-arithmetic
    pass rewrites only Dense/Conv/EinsumDense); none when the quantized scale's type is
    narrower than 9 bits, the width rule of `layer_dsps`."""
    if weight_width(scale) < DSP_MIN_WEIGHT_BITS:
        return 0
    return math.ceil(elements / reuse_factor)
