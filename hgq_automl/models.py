"""HGQ2 model builders for the families a search space can name.

A user's own model (a builder function, a model file) is built by `user_models`.
`cnn` is the HGQ quick-start family: [QMaxPool] -> (QConv2D(relu) -> MaxPool) x N -> Flatten
-> QDense(relu) x M -> QDense(classes). `mlp` is QDense(relu) x M -> QDense(classes).
Weights use HGQ's `kbi` quantizers (saturating), activations `kif` (wrapping, ranges set
by `trace_minmax`): the configuration measured bit-exact through hls4ml and da4ml.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .quantizers import effective_parallelization, hgq_scopes, requested_parallelization
from .space.geometry import conv_plan
from .task import TaskSpec

if TYPE_CHECKING:
    from .space import ModelSpec


def compile_model(model, learning_rate: float, task: TaskSpec = TaskSpec()) -> None:
    """Compile for training as every trial does: Adam and the task's loss and metrics
    (classification: cross-entropy on the logits, accuracy; regression: its loss, mse and mae)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(float(learning_rate)), loss=task.keras_loss(), metrics=task.keras_metrics())


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
