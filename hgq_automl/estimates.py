"""Hardware cost estimates of a trained HGQ2 model (after `trace_minmax`).

Every function here is a documented rule with its source; none needs Ray, MLflow or a
vendor tool. Units are in the names: `flops` (operations per inference), `dsps` (DSP
slices), `bram` (36-bit-wide block-RAM columns, hls4ml's unit, see `layer_bram`), `luts`
(6-input LUTs), `ffs` (flip-flops), `latency_cycles` (clock cycles), `latency_ns`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Default clock period; da4ml cuts its pipeline every this many delay units
#: (da4ml's examples pair a cutoff of 5 with a 5 ns clock, 200 MHz).
CLOCK_PERIOD_NS = 5.0
#: hls4ml's DSP rule: weights narrower than this many bits multiply in LUTs.
DSP_MIN_WEIGHT_BITS = 9
#: hls4ml's BRAM rule counts the weight memory in blocks this many bits wide.
BRAM_WIDTH_BITS = 36


@dataclass(frozen=True)
class WeightLayer:
    """What the cost rules need to know about one HGQ layer with weights."""

    name: str
    kernel: np.ndarray  # quantized kernel values, as the firmware sees them
    bias_size: int
    macs_per_output: int  # multiply-accumulates per output element (fan-in)
    outputs: int  # output elements per inference
    parallel_pixels: int  # output pixels computed in parallel (1 for dense)

    @property
    def nonzero_weights(self) -> int:
        return int(np.count_nonzero(self.kernel))


def weight_layers(model) -> list[WeightLayer]:
    """The QDense / QConv layers of a model, with their quantized kernels."""
    from hgq.layers import QConv2D, QDense
    from keras import ops

    layers = []
    for layer in model.layers:
        if not isinstance(layer, (QDense, QConv2D)):
            continue
        kernel = np.asarray(ops.convert_to_numpy(layer.qkernel))
        bias_size = int(np.prod(layer.bias.shape)) if layer.use_bias else 0
        out_shape = tuple(layer.output.shape[1:])
        outputs = int(np.prod(out_shape))
        fan_in = int(np.prod(kernel.shape[:-1]))
        pixels = 1
        if isinstance(layer, QConv2D):
            n_pixels = int(np.prod(out_shape[:-1]))
            pf = int(layer.parallelization_factor)
            pixels = n_pixels if pf < 0 else pf
        layers.append(WeightLayer(layer.name, kernel, bias_size, fan_in, outputs, pixels))
    return layers


def count_params(layers: list[WeightLayer]) -> int:
    """Weights and biases of the network (HGQ's quantizer bit-width variables excluded)."""
    return sum(int(layer.kernel.size) + layer.bias_size for layer in layers)


def count_flops(layers: list[WeightLayer]) -> int:
    """Operations of one inference: 2 per multiply-accumulate of every dense/conv output."""
    return sum(2 * layer.macs_per_output * layer.outputs for layer in layers)


def weight_width(kernel: np.ndarray) -> int:
    """Bits of the narrowest fixed-point type holding every quantized weight of a layer.

    hls4ml receives HGQ2's quantized weight values and infers the layer's weight type
    from them (one type per layer); this is that type's width (sign + integer + fraction).
    """
    from da4ml.types import QInterval, minimal_kif

    values = kernel[kernel != 0].astype(np.float64)
    if values.size == 0:
        return 0
    step = 1.0
    while not np.all(np.mod(values / step, 1.0) == 0.0):
        step /= 2
    while np.all(np.mod(values / (step * 2), 1.0) == 0.0):
        step *= 2
    k, i, f = minimal_kif(QInterval(float(values.min()), float(values.max()), step))
    return int(k + i + f)


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
    - `distributed_arithmetic`: adder trees in LUTs, 0 DSPs.
    hls4ml may round an invalid reuse factor of the resource strategy to a valid one;
    this rule uses the factor as given.
    """
    if strategy == "distributed_arithmetic" or weight_width(layer.kernel) < DSP_MIN_WEIGHT_BITS:
        return 0
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
    from .pruning.structures import group_ids

    if strategy != "resource" or reuse_factor <= 1:
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


@dataclass(frozen=True)
class DA4MLEstimate:
    luts: float  # da4ml's LUT cost of the combinational design
    ffs: int  # register bits of the pipelined design
    latency_cycles: int  # pipeline stages
    latency_ns: float  # latency_cycles x clock period
    comb: object  # the da4ml CombLogic (for bit-exact prediction, Verilog generation)


def da4ml_estimate(model, clock_period_ns: float = CLOCK_PERIOD_NS) -> DA4MLEstimate:
    """LUTs, FFs and latency of the model as da4ml's distributed-arithmetic design.

    - LUTs: `comb_trace(...).cost`, da4ml's LUT estimate of the combinational logic
      (da4ml/trace; within ~10 % of yosys on the designs in FACTS.md and docs/benchmarks.md);
    - pipeline: `to_pipeline(comb, cutoff)` (da4ml/trace/pipeline.py) cuts the design
      every `cutoff` delay units; the cutoff is the clock period in ns, the pairing of
      da4ml's own examples (cutoff 5 for a 5 ns clock);
    - FFs: that pipeline's `reg_bits`, the bits held in the stage registers (what
      `RTLModel` prints as "Estimated cost: ... FFs");
    - latency: the number of stages (cycles), times the clock period (ns).
    """
    from da4ml.converter import trace_model
    from da4ml.trace import HWConfig, comb_trace, to_pipeline

    inp, out = trace_model(model, HWConfig(1, -1, -1))
    comb = comb_trace(inp, out)
    pipe = to_pipeline(comb, clock_period_ns, verbose=False)
    stages = len(pipe.solutions)
    return DA4MLEstimate(float(round(comb.cost)), int(pipe.reg_bits), stages, stages * clock_period_ns, comb)


#: The estimates that need da4ml's trace of the whole design: the bulk of the cost of
#: `estimate` (~0.5 s for the digits CNN, seconds for the MNIST one), against milliseconds
#: for the others.
DA4ML_METRICS = ("luts", "ffs", "latency_cycles", "latency_ns")


def estimate(
    model, reuse_factor: int = 1, strategy: str = "latency", clock_period_ns: float = CLOCK_PERIOD_NS, da4ml: bool = True
) -> dict[str, float]:
    """The estimates of a traced model, under the metric names of `hgq_automl.metrics`;
    without those of `DA4ML_METRICS` when `da4ml` is False."""
    layers = weight_layers(model)
    out: dict[str, float] = {
        "flops": count_flops(layers),
        "params": count_params(layers),
        "dsps": dsp_estimate(layers, reuse_factor, strategy),
        "bram": bram_estimate(layers, reuse_factor, strategy),
    }
    if da4ml:
        out.update(da4ml_metrics(model, clock_period_ns))
    return out


def da4ml_metrics(model, clock_period_ns: float = CLOCK_PERIOD_NS) -> dict[str, float]:
    """`da4ml_estimate`'s numbers under the metric names of `DA4ML_METRICS`."""
    da = da4ml_estimate(model, clock_period_ns)
    return {"luts": da.luts, "ffs": da.ffs, "latency_cycles": da.latency_cycles, "latency_ns": da.latency_ns}
