"""The built-in families' geometry, computed from a `ModelSpec` alone (no Keras): layer
names and conv output sizes. What the space checks (a conv layer's input at least its
kernel, per-layer parameter names) and what the builders build agree through it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model_spec import ModelSpec


def conv_layer_names(spec: ModelSpec) -> list[str]:
    """Names of the conv layers the built-in cnn builder creates, in order ([] otherwise)."""
    return [f"conv{i}" for i in range(1, spec.conv_layers + 1)] if spec.family == "cnn" else []


def quantized_layers(spec: ModelSpec) -> list[str]:
    """Names of the HGQ layers the built-in builder creates, in order ([] for a user's model)."""
    if spec.is_user:
        return []
    return conv_layer_names(spec) + [f"dense{i}" for i in range(1, spec.dense_layers + 1)] + ["output"]


def conv_plan(spec: ModelSpec, input_shape: Sequence[int] | None = None) -> list[tuple[int, int, bool]]:
    """(output height, output width, followed by a max-pool) of each conv layer; [] for an MLP.

    `input_shape` defaults to the spec's. Raises ValueError naming the first conv layer
    whose input is smaller than its kernel (or when no input shape is known).
    A max-pool follows a conv layer when its output is at least pool_size wide.
    """
    if spec.family != "cnn":
        return []
    shape = input_shape if input_shape is not None else spec.input_shape
    if shape is None:
        raise ValueError("no input shape yet (it comes from the data)")
    h, w = shape[0] // spec.input_pool, shape[1] // spec.input_pool
    plan = []
    for i in range(1, spec.conv_layers + 1):
        h, w = h - spec.kernel_size + 1, w - spec.kernel_size + 1
        if h < 1 or w < 1:
            raise ValueError(f"conv{i} gets an input smaller than its {spec.kernel_size}x{spec.kernel_size} kernel")
        pooled = spec.pool_size > 1 and h >= spec.pool_size and w >= spec.pool_size
        plan.append((h, w, pooled))
        if pooled:
            h, w = h // spec.pool_size, w // spec.pool_size
    return plan
