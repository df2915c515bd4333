"""Hardware cost estimates of a trained HGQ2 model (after `trace_minmax`).

Every function here is a documented rule with its source; none needs Ray, MLflow or a
vendor tool. Units are in the names: `flops` (operations per inference), `dsps` (DSP
slices), `bram` (36-bit-wide block-RAM columns, hls4ml's unit, see `layer_bram`), `luts`
(6-input LUTs), `ffs` (flip-flops), `latency_cycles` (clock cycles), `latency_ns`.

Every layer call of the model's graph has a rule for each metric (`layer_costs`) or makes
that metric NaN, with one `EstimateWarning` naming the layer: never a silent 0. A model
da4ml cannot trace gets NaN da4ml metrics and the reason (`da4ml_metrics`), not an error.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

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
    latency_only: bool = False  # hls4ml implements it with the latency (or DA) kernel whatever the strategy

    @property
    def nonzero_weights(self) -> int:
        return int(np.count_nonzero(self.kernel))


def graph_calls(model) -> list[tuple[object, object]]:
    """Every layer call of a Keras model's graph as (layer, node), nested models (functional
    or Sequential) flattened into their layers, inputs first; a layer called twice appears
    twice. Branches (Add, Concatenate) are all walked: this is the graph da4ml traces
    (`hgq._dais_tracer.main.parse_model`), not `model.layers`, which hides nested layers.
    A model without a graph (subclassed, never called symbolically) is returned as one
    call `(model, None)`, which no rule covers."""
    import keras

    from ._compat import nodes_by_depth

    by_depth = nodes_by_depth(model)
    if not by_depth:
        return [(model, None)]
    calls = []
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if isinstance(node.operation, keras.Model):
                calls.extend(graph_calls(node.operation))
            else:
                calls.append((node.operation, node))
    return calls


def _shape(tensor) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape[1:])


def _bias_size(layer) -> int:
    bias = getattr(layer, "qbias", None)
    return 0 if bias is None else int(np.prod(bias.shape))


def einsum_dense_dims(equation: str, in_shape: tuple[int, ...], kernel_shape: tuple[int, ...]) -> dict[str, list[str]]:
    """The indices of an EinsumDense equation (batch axis stripped, `...` spelled out) in
    hls4ml's four kinds (`hls4ml/utils/einsum_utils.py`, nnet_einsum_dense.h): `free_data`
    (input and output only), `free_kernel` (kernel and output only), `contract` (input and
    kernel, summed over), `inplace` (all three); plus `sizes`, each index's length, and
    `kernel`, the kernel's own index string."""
    lhs, out = equation.replace(" ", "").split("->")
    inp, ker = lhs.split(",")
    if inp.startswith("..."):
        spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
        n = len(in_shape) - (len(inp) - 3)
        inp, out = "".join(spare[:n]) + inp[3:], "".join(spare[:n]) + out[3:]
    else:
        inp, out = inp[1:], out[1:]
    sizes = dict(zip(inp, in_shape)) | dict(zip(ker, kernel_shape))
    return {
        "free_data": [c for c in inp if c in out and c not in ker],
        "free_kernel": [c for c in ker if c in out and c not in inp],
        "contract": [c for c in inp if c in ker and c not in out],
        "inplace": [c for c in inp if c in ker and c in out],
        "sizes": sizes,  # type: ignore[dict-item]
        "kernel": list(ker),
    }


def _einsum_weight_layer(layer, node, kernel: np.ndarray) -> WeightLayer:
    """QEinsumDense / QEinsumDenseBatchnorm as hls4ml builds it: for every in-place index
    value, a dense kernel of n_contract x n_free_kernel (its `dense_config`), applied to each
    of the n_free_data input positions, `parallelization_factor` of them at once."""
    dims = einsum_dense_dims(layer.equation, _shape(node.input_tensors[0]), tuple(kernel.shape))
    size = dims["sizes"]
    prod = lambda axes: int(np.prod([size[c] for c in axes])) if axes else 1  # noqa: E731
    order = [dims["kernel"].index(c) for c in dims["inplace"] + dims["contract"] + dims["free_kernel"]]
    n_inplace, n_contract, n_out = prod(dims["inplace"]), prod(dims["contract"]), prod(dims["free_kernel"])
    dense = np.transpose(kernel, order).reshape(n_inplace * n_contract, n_out)
    n_data = prod(dims["free_data"])
    pf = int(layer.parallelization_factor)
    pixels = pf if 0 < pf <= n_data else n_data
    return WeightLayer(layer.name, dense, _bias_size(layer), n_contract, n_data * n_out * n_inplace, pixels, latency_only=True)


def _weight_layer(layer, node) -> WeightLayer:
    from hgq.layers import QEinsumDense
    from keras import ops

    kernel = np.asarray(ops.convert_to_numpy(layer.qkernel))
    if isinstance(layer, QEinsumDense):
        return _einsum_weight_layer(layer, node, kernel)
    out_shape = _shape(node.outputs[0])
    n_pixels = int(getattr(layer, "n_parallel", None) or 1)
    pf = int(layer.parallelization_factor)
    pixels = pf if pf > 0 else n_pixels
    return WeightLayer(layer.name, kernel, _bias_size(layer), int(np.prod(kernel.shape[:-1])), int(np.prod(out_shape)), pixels)


def _is_weight_layer(layer) -> bool:
    from hgq.layers import QConv1D, QConv2D, QDense, QEinsumDense

    return isinstance(layer, (QDense, QConv1D, QConv2D, QEinsumDense))


def weight_layers(model) -> list[WeightLayer]:
    """The QDense (and its BN-fused form QBatchNormDense) / QConv1D / QConv2D / QEinsumDense
    (and QEinsumDenseBatchnorm, its BN folded into kernel and bias) layers of a model,
    nested ones included, each once, with their quantized kernels (an einsum's as its
    dense kernel, `_einsum_weight_layer`).

    Outputs: the elements of one call; parallel pixels: the layer's parallelization_factor
    (HGQ sets it to all output pixels, hence 1 for a dense layer on a flat input, when not
    given): the output positions computed at once, as in HGQ's EBOPs and hls4ml's conv.
    """
    layers, seen = [], set()
    for layer, node in graph_calls(model):
        if node is not None and _is_weight_layer(layer) and id(layer) not in seen:
            seen.add(id(layer))
            layers.append(_weight_layer(layer, node))
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
    from .pruning.structures import group_ids

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


#: The metrics `estimate` sums over the layers of the model (`layer_costs`).
LAYER_METRICS = ("flops", "params", "dsps", "bram")
#: Activations that cost nothing here: a comparison per element at most (see `layer_costs`).
FREE_ACTIVATIONS = ("linear", "relu")


class EstimateWarning(UserWarning):
    """An estimate is NaN: a layer no cost rule covers, or a model da4ml cannot trace."""


@dataclass(frozen=True)
class LayerCost:
    """One layer call and its cost under the rules of `layer_costs`. A metric named in
    `uncovered` has no rule for this layer: the model's total of it is NaN."""

    name: str
    class_name: str
    flops: int = 0
    params: int = 0
    weights: WeightLayer | None = None  # dense/conv: dsps and bram by layer_dsps / layer_bram
    scale: np.ndarray | None = None  # standalone batch normalization: its quantized scale
    elements: int = 0  # batch normalization: elements scaled per call
    products: int = 0  # data x data multipliers hls4ml instantiates at reuse factor 1 (merges, einsum, softmax)
    product_width: int = 0  # bits of the narrower operand of those products
    product_reuse: bool = False  # whether the reuse factor shares those multipliers
    uncovered: tuple[str, ...] = ()
    why: str = ""  # what is uncovered, when not the layer class itself

    def dsps(self, reuse_factor: int, strategy: str = "latency") -> int:
        """At the reuse factor hls4ml gives this layer when asked for `reuse_factor`."""
        if self.weights is not None:
            return layer_dsps(self.weights, layer_reuse_factor(self.weights, reuse_factor, strategy), strategy)
        if self.scale is not None:
            return batchnorm_dsps(self.scale, self.elements, reuse_factor)
        if self.products and self.product_width >= DSP_MIN_WEIGHT_BITS:
            return math.ceil(self.products / reuse_factor) if self.product_reuse else self.products
        return 0

    def bram(self, reuse_factor: int, strategy: str = "latency") -> int:
        """At the reuse factor hls4ml gives this layer when asked for `reuse_factor`."""
        return layer_bram(self.weights, layer_reuse_factor(self.weights, reuse_factor, strategy), strategy) if self.weights is not None else 0

    @property
    def label(self) -> str:
        return f"{self.name} ({self.class_name}{', ' + self.why if self.why else ''})"


def _activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    return "linear" if act is None else str(getattr(act, "__name__", type(act).__name__))


def _own_variables(layer) -> list:
    """The layer's variables but HGQ's quantizer state (bit widths, traced ranges)."""
    from hgq.layers import Quantizer

    from ._compat import flatten_layers

    quantizer_vars = {id(v) for sub in flatten_layers(layer) if isinstance(sub, Quantizer) for v in sub.variables}
    return [v for v in layer.variables if id(v) not in quantizer_vars]


def quantizer_width(quantizer) -> int | None:
    """Bits of the one fixed-point type hls4ml gives a tensor an HGQ quantizer feeds: the
    largest sign, integer and fraction bits over its elements added (hls4ml's
    `extract_fixed_quantizer_config` / `fixed_quantizer_to_hls4ml_t(take_max=True)`);
    None for a quantizer without fixed-point `kif` (a float quantizer)."""
    from keras import ops

    kif = getattr(getattr(quantizer, "quantizer", quantizer), "kif", None)
    if kif is None:
        return None
    k, i, f = (np.asarray(ops.convert_to_numpy(x)) for x in kif)
    return max(1, int(k.max() + i.max() + f.max()))


def _input_widths(layer) -> list[int | None] | None:
    """The widths (`quantizer_width`) of a multi-input HGQ layer's inputs, or None without input quantizers."""
    if not getattr(layer, "enable_iq", False):
        return None
    return [quantizer_width(q) for q in layer.iq]


def _product_cost(name: str, cls: str, flops: int, products: int, widths, reuse: bool) -> LayerCost:
    """A layer multiplying data by data: dsps by the width rule of `layer_dsps` applied to the
    narrower operand; uncovered dsps when a width is unknown."""
    if not widths or any(w is None for w in widths):
        return LayerCost(name, cls, flops, uncovered=("dsps",), why="inputs without fixed-point quantizers")
    return LayerCost(name, cls, flops, products=products, product_width=min(widths), product_reuse=reuse)


def _einsum_size(equation: str, shapes: list[tuple[int, ...]]) -> int:
    """Multiplications of one batch element of a two-input einsum (HGQ's QEinsum spells out
    `...` and keeps the batch index at build): the product of every index's length, the
    batch index's aside (hls4ml's n_free0 x n_free1 x n_contract x n_inplace)."""
    inputs = equation.replace(" ", "").split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for idx, shape in zip(inputs, shapes):
        sizes.update(zip(idx[1:], shape))
    return int(np.prod(list(sizes.values()))) if sizes else 1


def _softmax_cost(layer, node) -> LayerCost:
    """hls4ml's `softmax_latency` / `softmax_stable` (nnet_activation.h) on each slice of
    n elements along the softmax axes: a table lookup of exp per element, an adder tree
    (n - 1 adds), one lookup of the inverse of the sum, n products exp x inverse; stable
    also subtracts each element from the slice's maximum (n subtractions, comparisons not
    counted). `parallelization_factor` slices at once (all by default), each with its own
    n multipliers (`softmax_multidim`'s ALLOCATION limit), narrower operand the exp or the
    inverse table's output type."""
    name, cls = layer.name, type(layer).__name__
    shape = _shape(node.input_tensors[0])
    axes = sorted(a % (len(shape) + 1) - 1 for a in layer.axes)  # without the batch axis
    n = int(np.prod([shape[a] for a in axes]))
    slices = int(np.prod(shape)) // n
    flops = slices * ((n - 1) + n + (n if layer.stable else 0))
    pf = int(layer.parallelization_factor)
    parallel = pf if 0 < pf <= slices else slices
    widths = [quantizer_width(layer.exp_table.oq), quantizer_width(layer.inv_table.oq)]
    return _product_cost(name, cls, flops, n * parallel, widths, reuse=False)


def _layer_cost(layer, node) -> LayerCost:
    import keras
    from hgq.layers import QBatchNormalization, QDot, QEinsum, QMultiply, QSoftmax, Quantizer, QUnaryFunctionLUT
    from keras import layers as kl
    from keras import ops

    name, cls = layer.name, type(layer).__name__
    free = LayerCost(name, cls)
    unknown_metrics = ("flops", "dsps", "bram")
    if node is None:  # a model without a graph
        return LayerCost(name, cls, uncovered=LAYER_METRICS, why="no layer graph")
    out_elements = int(np.prod(_shape(node.outputs[0])))
    if _is_weight_layer(layer):
        weights = _weight_layer(layer, node)
        cost = LayerCost(name, cls, count_flops([weights]), count_params([weights]), weights=weights)
        act = _activation_name(layer)
        if act not in FREE_ACTIVATIONS:
            return replace(cost, uncovered=unknown_metrics, why=f"activation {act}")
        return cost
    if isinstance(layer, QBatchNormalization):
        scale, offset = (np.asarray(ops.convert_to_numpy(v)) for v in layer.qscaler_and_qoffset)
        return LayerCost(name, cls, 2 * out_elements, int(scale.size + offset.size), scale=scale, elements=out_elements)
    if isinstance(layer, QUnaryFunctionLUT):  # a table lookup per element: no arithmetic, no weights
        return free
    if isinstance(layer, QSoftmax):
        return _softmax_cost(layer, node)
    if isinstance(layer, Quantizer):
        return free
    in_shapes = [_shape(t) for t in node.input_tensors]
    if isinstance(layer, QMultiply):  # nnet::multiply: one multiplier per output element, no reuse
        return _product_cost(name, cls, (len(in_shapes) - 1) * out_elements, (len(in_shapes) - 1) * out_elements, _input_widths(layer), reuse=False)
    if isinstance(layer, QDot):  # nnet::dot1d: n products, n - 1 adds, ceil(n / RF) multipliers
        n = int(np.prod(in_shapes[0]))
        return _product_cost(name, cls, 2 * n - 1, n, _input_widths(layer), reuse=True)
    if isinstance(layer, QEinsum):  # nnet::einsum: ceil(multiplications / RF) multipliers
        mults = _einsum_size(layer.equation, in_shapes)
        return _product_cost(name, cls, 2 * mults, mults, _input_widths(layer), reuse=True)
    max_pools = (kl.MaxPooling1D, kl.MaxPooling2D, kl.MaxPooling3D, kl.GlobalMaxPooling1D, kl.GlobalMaxPooling2D, kl.GlobalMaxPooling3D)
    avg_pools = (kl.AveragePooling1D, kl.AveragePooling2D, kl.AveragePooling3D)
    global_avg_pools = (kl.GlobalAveragePooling1D, kl.GlobalAveragePooling2D, kl.GlobalAveragePooling3D)
    if isinstance(layer, max_pools):
        return free
    if isinstance(layer, avg_pools):
        return LayerCost(name, cls, int(np.prod(layer.pool_size)) * out_elements)
    if isinstance(layer, global_avg_pools):
        in_shape = _shape(node.input_tensors[0])
        spatial = in_shape[:-1] if layer.data_format == "channels_last" else in_shape[1:]
        return LayerCost(name, cls, int(np.prod(spatial)) * out_elements)
    n_inputs = len(node.input_tensors)
    if isinstance(layer, kl.Average):  # before Add: HGQ's QAveragePow2 is both
        return LayerCost(name, cls, n_inputs * out_elements)
    if isinstance(layer, (kl.Add, kl.Subtract)):
        return LayerCost(name, cls, (n_inputs - 1) * out_elements)
    if isinstance(layer, (kl.Maximum, kl.Minimum, kl.Concatenate)):
        return free
    if isinstance(layer, kl.Activation):
        act = _activation_name(layer)
        return free if act in FREE_ACTIVATIONS else LayerCost(name, cls, uncovered=unknown_metrics, why=f"activation {act}")
    if isinstance(layer, kl.ReLU) and float(layer.negative_slope) == 0.0:
        return free
    structural = (
        kl.InputLayer, kl.Flatten, kl.Reshape, kl.Permute, kl.Identity, kl.RepeatVector,
        kl.ZeroPadding1D, kl.ZeroPadding2D, kl.ZeroPadding3D, kl.Cropping1D, kl.Cropping2D, kl.Cropping3D,
        kl.Dropout, kl.SpatialDropout1D, kl.SpatialDropout2D, kl.SpatialDropout3D,
        kl.GaussianDropout, kl.GaussianNoise, kl.AlphaDropout, kl.ActivityRegularization,
    )  # fmt: skip
    if isinstance(layer, structural):
        return free
    has_weights = isinstance(layer, keras.Layer) and bool(_own_variables(layer))  # else a keras.ops operation
    return LayerCost(name, cls, uncovered=("flops", "params", "dsps", "bram") if has_weights else unknown_metrics)


def layer_costs(model) -> list[LayerCost]:
    """The cost of every layer call of the model (`graph_calls`), by these rules:

    - QDense (and QBatchNormDense, BN fused into its kernel by HGQ), QConv1D, QConv2D,
      QEinsumDense (and QEinsumDenseBatchnorm, BN folded into kernel and bias): flops 2 per
      multiply-accumulate (`count_flops`; an einsum's are n_free_data x n_free_kernel x
      n_contract x n_inplace, `einsum_dense_dims`), params kernel + bias (the folded ones),
      dsps `layer_dsps`, bram `layer_bram` (an einsum: latency kernel, none). A relu or
      linear activation adds nothing; any other makes flops, dsps and bram uncovered.
    - QBatchNormalization: hls4ml 1.3 keeps it standalone after an HGQ layer (its input
      quantizer sits between; `FuseBatchNormalization` needs a Dense/Conv parent), a
      per-element `x * scale + offset`: flops 2 per element, params the quantized scale
      and offset (one each per channel: what the firmware holds; gamma, beta and the moving
      mean and variance fold into them), dsps `batchnorm_dsps`, bram 0 (hls4ml sets
      `store_weights_in_bram = false` and partitions the arrays into registers).
    - Pooling, quantized or not: params, dsps, bram 0 (no weights, no multiplier in
      nnet_pooling.h: max compares, average adds and divides by the constant window size).
      flops: max pooling 0 (comparisons are not counted, see below), average pooling
      window size per output (window - 1 adds and one division), padded cells included.
    - Add/QAdd, Subtract: (inputs - 1) adds per output; Average/QAveragePow2: inputs per
      output (adds and the scaling); Maximum, Minimum, Concatenate: 0.
    - Products of data by data (params and bram 0; dsps when the narrower operand's type,
      `quantizer_width` of the input quantizers, is 9 bits or wider, the width rule of
      `layer_dsps`): QMultiply (inputs - 1) products per output, one multiplier each
      (nnet::multiply, no reuse); QDot (hls4ml: two flat vectors of n) n products + n - 1
      adds, ceil(n / RF) multipliers (nnet::dot1d, `multiplier_limit`); QEinsum 2 per
      multiply-accumulate, ceil(multiplications / RF) multipliers (nnet::einsum); QSoftmax
      `_softmax_cost` (n products a slice, `parallelization_factor` slices at once).
    - QUnaryFunctionLUT (HGQ2's quantized activations, an exact table): a lookup per
      element: flops, params, dsps, bram 0 (the table is a function of the activation and
      the quantizers, not a trained weight; io_parallel reads it from every element at
      once, so it is logic, in da4ml's `luts`, not a block RAM).
    - No arithmetic: InputLayer, Flatten, Reshape, Permute, Identity, RepeatVector,
      ZeroPadding, Cropping, Dropout and noise layers (identities at inference), HGQ's
      standalone Quantizer (a rounding and an overflow rule: wiring and a clamp), and
      relu or linear activations (Activation, ReLU without a negative slope, or a layer's
      activation=): all 0. FLOPs count multiplications, additions and divisions, not the
      comparisons of relu and max (also why the built-in models' numbers count only their
      dense/conv arithmetic).
    - Anything else (layers hls4ml 1.3 does not convert from HGQ2: QConv3D, QSum,
      QMeanPow2, the table layers QDenseT/QConvT*, attention, RNN and SNN layers; and
      LeakyReLU, plain Keras Dense/Conv/BatchNormalization/Multiply, custom layers): flops,
      dsps and bram uncovered, and params too when the layer has variables of its own
      (HGQ's quantizer variables aside); a layer without any has 0 params.

    A layer called more than once costs flops, dsps and bram at every call, params once.
    """
    costs, seen = [], set()
    for layer, node in graph_calls(model):
        cost = _layer_cost(layer, node)
        if id(layer) in seen and cost.params:
            cost = replace(cost, params=0)
        seen.add(id(layer))
        costs.append(cost)
    return costs


def cost_totals(
    costs: list[LayerCost], reuse_factor: int = 1, strategy: str = "latency", notes: dict[str, str] | None = None, model_name: str = "model"
) -> dict[str, float]:
    """flops, params, dsps and bram of the network: the sums over `costs`; a metric some
    layer has no rule for is NaN, and then one `EstimateWarning` names those layers, their
    classes and the metrics made NaN, and `notes["uncovered_layers"]` lists them as
    "name (Class), ..."."""
    totals: dict[str, float] = {
        "flops": sum(c.flops for c in costs),
        "params": sum(c.params for c in costs),
        "dsps": sum(c.dsps(reuse_factor, strategy) for c in costs if "dsps" not in c.uncovered),
        "bram": sum(c.bram(reuse_factor, strategy) for c in costs if "bram" not in c.uncovered),
    }
    weighted = [c.weights for c in costs if c.weights is not None]
    if notes is not None and weighted:
        # what hls4ml is given per layer, not only what was asked for (MLflow tags of the trial)
        notes["reuse_factors"] = ", ".join(f"{w.name} {layer_reuse_factor(w, reuse_factor, strategy)}" for w in weighted) + f" (asked {reuse_factor}, {strategy})"
        pixels = [w for w in weighted if w.outputs > int(w.kernel.shape[-1])]
        if pixels:
            notes["parallelization_factors"] = ", ".join(f"{w.name} {w.parallel_pixels} of {w.outputs // int(w.kernel.shape[-1])} output pixels" for w in pixels)
    uncovered: dict[str, tuple[str, ...]] = {}
    for cost in costs:
        if cost.uncovered:
            uncovered.setdefault(cost.label, cost.uncovered)
            for metric in cost.uncovered:
                totals[metric] = math.nan
    if uncovered:
        if notes is not None:
            notes["uncovered_layers"] = ", ".join(uncovered)
        what = "; ".join(f"{label}: {', '.join(metrics)}" for label, metrics in uncovered.items())
        nan = ", ".join(m for m in LAYER_METRICS if math.isnan(totals[m]))
        warnings.warn(f"no cost rule covers these layers of {model_name!r}: {what}; so {nan} are NaN", EstimateWarning, stacklevel=3)
    return totals


def hgq_ebops(model) -> float:
    """HGQ's EBOPs of the model from its quantizers' present state, with no data: what
    `hgq.utils.trace_minmax` returns after its last pass (the sum of the layers' stored
    `ebops`), recomputed layer by layer (`_compat.layer_ebops`) at the input shapes of the
    model's graph. Each layer once (a shared layer's EBOPs are those of one call, as HGQ
    stores them); nested models' layers included."""
    from ._compat import layer_ebops

    total, seen = 0, set()
    for layer, node in graph_calls(model):
        if node is None or id(layer) in seen or not getattr(layer, "enable_ebops", False):
            continue
        seen.add(id(layer))
        total += layer_ebops(layer, *[(1, *_shape(t)) for t in node.input_tensors])
    return float(total)


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
      (da4ml/trace; how close it comes to yosys is in docs/benchmarks.md);
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
    model,
    reuse_factor: int = 1,
    strategy: str = "latency",
    clock_period_ns: float = CLOCK_PERIOD_NS,
    da4ml: bool = True,
    notes: dict[str, str] | None = None,
) -> dict[str, float]:
    """The estimates of a traced model, under the metric names of `hgq_automl.metrics`;
    without those of `DA4ML_METRICS` when `da4ml` is False. A metric is NaN when some
    layer has no rule for it (`layer_costs`) or, for da4ml's, when da4ml cannot trace the
    model (`da4ml_metrics`); `notes`, when given, receives why ("uncovered_layers",
    "da4ml_error")."""
    out = cost_totals(layer_costs(model), reuse_factor, strategy, notes, getattr(model, "name", "model"))
    if da4ml:
        out.update(da4ml_metrics(model, clock_period_ns, notes))
    return out


def da4ml_failure(error: BaseException) -> str:
    """"<ExceptionClass>: <first line of its message>" (the class alone if no message)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def da4ml_metrics(model, clock_period_ns: float = CLOCK_PERIOD_NS, notes: dict[str, str] | None = None) -> dict[str, float]:
    """`da4ml_estimate`'s numbers under the metric names of `DA4ML_METRICS`; all NaN when
    da4ml cannot trace the model (a layer its tracer does not know, such as a Keras
    `Activation` layer; a float input pooled before any quantizer, "math domain error"),
    the reason (`da4ml_failure`) in `notes["da4ml_error"]` and one `EstimateWarning`."""
    try:
        da = da4ml_estimate(model, clock_period_ns)
    except Exception as error:  # da4ml raises many kinds (KeyError, ValueError, AssertionError, ...)
        reason = da4ml_failure(error)
        if notes is not None:
            notes["da4ml_error"] = reason
        name = getattr(model, "name", "model")
        warnings.warn(f"da4ml cannot trace {name!r} ({reason}): {', '.join(DA4ML_METRICS)} are NaN", EstimateWarning, stacklevel=2)
        return dict.fromkeys(DA4ML_METRICS, math.nan)
    return {"luts": da.luts, "ffs": da.ffs, "latency_cycles": da.latency_cycles, "latency_ns": da.latency_ns}
