"""Masks on HGQ2 layers (QDense / QConv2D kernels): applying, keeping, measuring.

A pruned weight is made exactly what HGQ's own bit-level pruning makes it: its float
value is 0 and its kernel quantizer's bit-width (`b` of a `kbi` quantizer) is 0. So the
quantized kernel is exactly 0 (hls4ml and da4ml constant-fold it away), HGQ's EBOPs
count it as free, and a weight HGQ has already quantized to 0 bits counts as pruned.
Masks survive training through the Keras hook for it: a variable constraint, which the
optimizer applies after every step (`MaskConstraint`, wrapping the variable's own
constraint). They survive `model.save` / `load_model` as the exact zeros themselves
(no custom object is needed to load the model); `masks_from_zeros` reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._compat import float_kernel


def masked_layers(model) -> list:
    """The QDense / QConv2D layers of a model, in order."""
    from hgq.layers import QConv2D, QDense

    return [layer for layer in model.layers if isinstance(layer, (QDense, QConv2D))]


def _bits_var(layer):
    """The per-weight bit-width variable of a kbi kernel quantizer, or None (other types)."""
    quantizer = getattr(getattr(layer, "kq", None), "quantizer", None)
    b = getattr(quantizer, "_b", None)
    kernel = float_kernel(layer)
    if b is None or tuple(b.shape) != tuple(kernel.shape):
        return None
    return b


class MaskConstraint:
    """A variable constraint: the variable's own constraint (if any), then x mask."""

    def __init__(self, mask: np.ndarray, inner=None):
        self.mask = np.asarray(mask, dtype=np.float32)
        self.inner = inner

    def __call__(self, w):
        from keras import ops

        if self.inner is not None:
            w = self.inner(w)
        return w * ops.cast(self.mask, w.dtype)


def _attach(variable, mask: np.ndarray) -> None:
    inner = variable.constraint
    if isinstance(inner, MaskConstraint):
        inner = inner.inner
    constraint = MaskConstraint(mask, inner)
    variable.assign(constraint(variable.value))
    variable.constraint = constraint


def apply_masks(model, masks: Mapping[str, np.ndarray]) -> None:
    """Zero the masked weights (value and bit-width) of the named layers and keep them zero."""
    for layer in masked_layers(model):
        if layer.name not in masks:
            continue
        mask = np.asarray(masks[layer.name], dtype=np.float32)
        kernel = float_kernel(layer)
        if mask.shape != tuple(kernel.shape):
            raise ValueError(f"mask for {layer.name} has shape {mask.shape}, its kernel {tuple(kernel.shape)}")
        _attach(kernel, mask)
        bits = _bits_var(layer)
        if bits is not None:
            _attach(bits, mask)


def clear_masks(model) -> None:
    """Stop enforcing masks (the pruned weights stay zero until training moves them)."""
    for layer in masked_layers(model):
        for variable in (float_kernel(layer), _bits_var(layer)):
            if variable is not None and isinstance(variable.constraint, MaskConstraint):
                variable.constraint = variable.constraint.inner


def current_masks(model) -> dict[str, np.ndarray]:
    """The masks being enforced (1 = kept), by layer; layers without one are left out."""
    out = {}
    for layer in masked_layers(model):
        constraint = float_kernel(layer).constraint
        if isinstance(constraint, MaskConstraint):
            out[layer.name] = constraint.mask.copy()
    return out


def masks_from_zeros(model) -> dict[str, np.ndarray]:
    """Masks read back from a (loaded) model: 1 where the quantized kernel is not zero."""
    from keras import ops

    return {layer.name: (np.asarray(ops.convert_to_numpy(layer.qkernel)) != 0).astype(np.float32) for layer in masked_layers(model)}


def layer_sparsity(model) -> dict[str, float]:
    """Fraction of each layer's quantized weights that are exactly 0 (pruned or 0-bit)."""
    from keras import ops

    return {layer.name: float(np.mean(np.asarray(ops.convert_to_numpy(layer.qkernel)) == 0)) for layer in masked_layers(model)}


def total_sparsity(model) -> float:
    """Fraction of all QDense / QConv2D kernel weights that are exactly 0 after quantization."""
    from keras import ops

    kernels = [np.asarray(ops.convert_to_numpy(layer.qkernel)) for layer in masked_layers(model)]
    n = sum(k.size for k in kernels)
    return float(sum(np.count_nonzero(k == 0) for k in kernels) / n) if n else 0.0


def weight_ebops(layer) -> np.ndarray:
    """HGQ's EBOPs attributed to each weight: its bits x the bits of the input it multiplies
    x the output pixels computed in parallel (HGQ scales a conv's EBOPs by
    parallelization_factor / output pixels). Kernel-shaped."""
    from keras import ops

    in_shape = (1, *tuple(layer.input.shape[1:]))
    bw_in = np.asarray(ops.convert_to_numpy(layer.iq.bits_(in_shape)), dtype=float)
    bw_in = bw_in.reshape(-1, in_shape[-1]).mean(axis=0)  # per input feature / channel
    kernel_shape = tuple(float_kernel(layer).shape)
    bw_ker = np.asarray(ops.convert_to_numpy(layer.kq.bits_(kernel_shape)), dtype=float)
    pf = float(getattr(layer, "parallelization_factor", 1) or 1)
    if len(kernel_shape) == 2:  # dense: (inputs, outputs)
        return bw_ker * bw_in[:, None]
    n_pixels = int(np.prod(layer.output.shape[1:-1]))
    pf = n_pixels if pf < 0 else pf
    return bw_ker * bw_in[None, None, :, None] * pf
