"""HGQ2 model builders for the families a search space can name.

A user's own model (a builder function, a model file) is built by `user_models`.
`cnn` is the HGQ quick-start family: [QMaxPool] -> (QConv2D(relu) -> MaxPool) x N -> Flatten
-> QDense(relu) x M -> QDense(classes). `mlp` is QDense(relu) x M -> QDense(classes).
Weights use HGQ's `kbi` quantizers (saturating), activations `kif` (wrapping, ranges set
by `trace_minmax`): the configuration measured bit-exact through hls4ml and da4ml.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .task import TaskSpec

if TYPE_CHECKING:
    from .space import ModelSpec


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


def effective_parallelization(requested: int, out_pixels: int) -> int:
    """The largest divisor of a conv layer's output pixels not above the requested factor.

    hls4ml's io_parallel conv needs a parallelization factor dividing height x width.
    """
    requested = max(1, min(requested, out_pixels))
    return max(d for d in range(1, requested + 1) if out_pixels % d == 0)


def compile_model(model, learning_rate: float, task: TaskSpec = TaskSpec()) -> None:
    """Compile for training as every trial does: Adam and the task's loss and metrics
    (classification: cross-entropy on the logits, accuracy; regression: its loss, mse and mae)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(float(learning_rate)), loss=task.keras_loss(), metrics=task.keras_metrics())


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


def build_model(spec: ModelSpec, params: dict[str, Any], input_shape: Sequence[int], n_outputs: int):
    """Build (uncompiled) the HGQ2 Keras model of `spec` with the resolved `params`, for
    inputs of `input_shape` (a sample's, no batch axis) and `n_outputs` outputs (logits).
    A user's model (builder, file) raises UsageError on one line when it cannot be built."""
    if spec.is_user:
        from .user_models import build_user_model

        return build_user_model(spec, params, input_shape, n_outputs)
    return _build_builtin(spec, params, tuple(input_shape), n_outputs)


def check_model(spec: ModelSpec, params: dict[str, Any], input_shape: Sequence[int], n_outputs: int) -> list[str]:
    """Build a user's model once (in the driver, before any trial) with `params` (the
    space's first ones): raises UsageError on one line for an unsupported layer, a builder
    that fails, a wrong input or output size, or a per-layer parameter naming no layer.
    Returns notes on what the tool changed (e.g. a dropped final softmax)."""
    if not spec.is_user:
        return []
    from .user_models import build_user_model

    notes: list[str] = []
    build_user_model(spec, params, input_shape, n_outputs, notes)
    return notes


def _build_builtin(spec: ModelSpec, params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
    import keras
    from hgq.layers import QConv2D, QDense, QMaxPooling2D

    with hgq_scopes(params["beta"]):
        inputs = keras.Input(input_shape, name="features")  # hls4ml reserves the name "input"
        h = inputs
        if spec.family == "cnn":
            if len(input_shape) == 2:
                h = keras.layers.Reshape((*input_shape, 1), name="reshape")(h)
            if spec.input_pool > 1:  # a quantized pool: the input must be fixed-point before it
                h = QMaxPooling2D(spec.input_pool, name="input_pool")(h)
            for i, (out_h, out_w, pooled) in enumerate(conv_plan(spec, input_shape), start=1):
                pf = effective_parallelization(requested_parallelization(params, f"conv{i}") or 1, out_h * out_w)
                h = QConv2D(
                    int(params[f"filters_{i}"]),
                    spec.kernel_size,
                    activation="relu",
                    parallelization_factor=pf,
                    name=f"conv{i}",
                )(h)
                if pooled:
                    h = keras.layers.MaxPooling2D(spec.pool_size, name=f"pool{i}")(h)
            h = keras.layers.Flatten(name="flatten")(h)
        for i in range(1, spec.dense_layers + 1):
            h = QDense(int(params[f"units_{i}"]), activation="relu", name=f"dense{i}")(h)
        outputs = QDense(n_classes, name="output")(h)
    return keras.Model(inputs, outputs, name=f"hgq_{spec.family}")
