"""A cost for every layer call of the model's graph (`layer_costs`): FLOPs, parameters,
DSPs and BRAM of every HGQ2 layer hls4ml converts, NaN with one `EstimateWarning` for a
layer no rule covers, never a silent 0; their totals (`cost_totals`) and HGQ's EBOPs."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np

from .graph import WeightLayer, _is_weight_layer, _shape, _weight_layer, count_flops, count_params, graph_calls
from .hls4ml_rules import DSP_MIN_WEIGHT_BITS, batchnorm_dsps, layer_bram, layer_dsps, layer_reuse_factor


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

    from .._compat import flatten_layers

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
    from .._compat import layer_ebops

    total, seen = 0, set()
    for layer, node in graph_calls(model):
        if node is None or id(layer) in seen or not getattr(layer, "enable_ebops", False):
            continue
        seen.add(id(layer))
        total += layer_ebops(layer, *[(1, *_shape(t)) for t in node.input_tensors])
    return float(total)
