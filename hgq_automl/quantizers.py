"""The tool's quantizer configuration and per-layer settings, for built-in and user models
alike: the scopes every model is built in (HGQ's `kbi` weights, saturating; `kif`
activations, wrapping, ranges set by `trace_minmax`: the configuration measured bit-exact
through hls4ml and da4ml) and a conv layer's parallelization factor."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any


def effective_parallelization(requested: int, out_pixels: int) -> int:
    """The largest divisor of a conv layer's output pixels not above the requested factor.

    hls4ml's io_parallel conv needs a parallelization factor dividing height x width.
    """
    requested = max(1, min(requested, out_pixels))
    return max(d for d in range(1, requested + 1) if out_pixels % d == 0)


@contextmanager
def hgq_scopes(beta: float):
    """The quantizer and layer configuration every model of the tool is built in: HGQ2
    layers created inside get these quantizers and EBOPs with `beta`."""
    from hgq.config import LayerConfigScope, QuantizerConfigScope

    with (
        QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM"),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP"),
        LayerConfigScope(enable_ebops=True, beta0=float(beta)),
    ):
        yield


def requested_parallelization(params: dict[str, Any], layer: str) -> int | None:
    """The parallelization factor asked for conv layer `layer`: its own
    `parallelization_factor_<layer>`, else `parallelization_factor` (None: not set)."""
    value = params.get(f"parallelization_factor_{layer}", params.get("parallelization_factor"))
    return None if value is None else int(value)


def apply_layer_params(model, params: dict[str, Any]) -> None:
    """Set the per-layer parameters on a user's built model: each conv layer's
    parallelization factor (when asked for; the largest divisor of its output pixels not
    above it). Raises ValueError when a `parallelization_factor_<layer>` or a
    `beta_scale_<layer>` names no such layer of the model."""
    from hgq.layers import QConv1D, QConv2D

    from ._compat import flatten_layers, layer_beta

    layers = flatten_layers(model, include_self=False)
    convs = {layer.name: layer for layer in layers if isinstance(layer, (QConv1D, QConv2D))}
    scaled = sorted(layer.name for layer in layers if layer_beta(layer) is not None)
    for name in params:
        if name.startswith("parallelization_factor_") and name[len("parallelization_factor_"):] not in convs:
            raise ValueError(f"parameters.{name}: the model has no conv layer {name[len('parallelization_factor_'):]!r}; its conv layers are {', '.join(convs) or 'none'}")
        if name.startswith("beta_scale_") and name[len("beta_scale_"):] not in scaled:
            raise ValueError(f"parameters.{name}: the model has no HGQ layer {name[len('beta_scale_'):]!r}; its layers with a beta are {', '.join(scaled) or 'none'}")
    for name, layer in convs.items():
        requested = requested_parallelization(params, name)
        if requested is not None and getattr(layer, "n_parallel", None):
            layer.parallelization_factor = effective_parallelization(requested, int(layer.n_parallel))
