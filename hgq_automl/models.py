"""HGQ2 model builders for the families a search space can name.

`cnn` is the HGQ quick-start family: [QMaxPool] -> (QConv2D(relu) -> MaxPool) x N -> Flatten
-> QDense(relu) x M -> QDense(classes). `mlp` is QDense(relu) x M -> QDense(classes).
Weights use HGQ's `kbi` quantizers (saturating), activations `kif` (wrapping, ranges set
by `trace_minmax`): the configuration measured bit-exact through hls4ml and da4ml.
"""

from __future__ import annotations

from typing import Any

from .space import ModelSpec
from .task import TaskSpec


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


def build_model(spec: ModelSpec, params: dict[str, Any], n_classes: int):
    """Build (uncompiled) the HGQ2 Keras model of `spec` with the sampled `params`."""
    import keras
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QConv2D, QDense, QMaxPooling2D

    with (
        QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM"),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP"),
        LayerConfigScope(enable_ebops=True, beta0=float(params["beta"])),
    ):
        inputs = keras.Input(spec.input_shape, name="features")  # hls4ml reserves the name "input"
        h = inputs
        if spec.family == "cnn":
            if len(spec.input_shape) == 2:
                h = keras.layers.Reshape((*spec.input_shape, 1), name="reshape")(h)
            if spec.input_pool > 1:  # a quantized pool: the input must be fixed-point before it
                h = QMaxPooling2D(spec.input_pool, name="input_pool")(h)
            for i, (out_h, out_w, pooled) in enumerate(spec.conv_plan(), start=1):
                pf = effective_parallelization(int(params.get("parallelization_factor", 1)), out_h * out_w)
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
