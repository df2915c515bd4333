"""The model's weight layers, read from its graph: each call of a QDense, QConv or
QEinsumDense(Batchnorm) layer with its kernel, input and output sizes (`weight_layers`),
and the counts that follow from them (parameters, FLOPs, weight widths)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

    from .._compat import nodes_by_depth

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
