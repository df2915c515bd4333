"""A model's tracing and inference passes, compiled once per model.

A trial measures its model many times (each harvested epoch, the final model, each pruning
step): HGQ's `trace_minmax` (reset the activation ranges, forward passes in its 'tracing'
mode, the layers' EBOPs summed) and inference on the validation and test splits. Called
eagerly, layer by layer, each costs more than an epoch of training on small data, and under
JAX far more (every operation is dispatched and compiled on its own). Here each pass is one
compiled function: `jax.jit` of Keras' stateless call under JAX (the traced ranges written
back to the model's variables, as an eager call would), `tf.function` under TensorFlow.

Inputs go through in chunks of one fixed size, the last one filled up by repeating samples
of the array (a tracing pass records minima and maxima: repeated samples leave them as they
are; inference drops the filled-up rows): one shape, one compilation per pass and model.
The numbers are `trace_minmax`'s and the model's own (tests/test_harvest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .task import top1_accuracy

CHUNK = 1024


@dataclass
class ModelCalls:
    """`trace(x) -> ebops` and `infer(x) -> outputs` of one model, compiled (`compile_calls`)."""

    model: object
    trace_chunk: Callable
    infer_chunk: Callable
    chunk: int = CHUNK

    def trace(self, x: np.ndarray) -> float:
        """HGQ's `trace_minmax(model, x)`: the activation ranges of `x` alone; the model's EBOPs."""
        from ._compat import reset_minmax

        reset_minmax(self.model)
        for part, _ in _chunks(x, self.chunk):
            self.trace_chunk(part)
        return float(sum(int(layer.ebops) for layer in self.model.layers if getattr(layer, "enable_ebops", False)))

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The model's outputs on `x` (inference mode)."""
        outs = [np.asarray(self.infer_chunk(part))[:n] for part, n in _chunks(x, self.chunk)]
        return np.concatenate(outs) if outs else np.zeros((0,))


def compile_calls(model, chunk: int = CHUNK) -> ModelCalls:
    """The model's tracing and inference passes, each compiled once (see the module's text)."""
    import keras

    from ._compat import tracing_flag

    tracing = tracing_flag()
    if keras.backend.backend() == "jax":
        import jax

        @jax.jit
        def traced(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x, training=tracing)[1]

        @jax.jit
        def inferred(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x, training=False)[0]

        def state():
            return [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables]

        def trace_chunk(x):
            for variable, value in zip(model.non_trainable_variables, traced(*state(), x)):
                variable.assign(value)

        def infer_chunk(x):
            return inferred(*state(), x)

        return ModelCalls(model, trace_chunk, infer_chunk, chunk)
    import tensorflow as tf

    trace_chunk = tf.function(lambda x: model(x, training=tracing))
    infer_tf = tf.function(lambda x: model(x, training=False))
    return ModelCalls(model, trace_chunk, lambda x: infer_tf(x).numpy(), chunk)


def _chunks(x: np.ndarray, size: int) -> Iterator[tuple[np.ndarray, int]]:
    """(chunk of `size` rows, its real rows) over `x`; a short last chunk is filled up with
    the array's first rows, repeated (`np.resize`)."""
    for i in range(0, len(x), size):
        part = x[i : i + size]
        n = len(part)
        if n < size:
            part = np.concatenate([part, np.resize(x, (size - n, *x.shape[1:]))])
        yield part, n


def compiled_check(
    model, quality: Callable[[np.ndarray, np.ndarray], float] | None = None, chunk: int = CHUNK
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, float]]:
    """`check(calibration, x, y) -> (ebops, quality)`: the model traced on the calibration
    samples, then `quality(outputs, y)` of the traced model on (x, y) (default: top-1
    accuracy): a harvested epoch's measurement."""
    calls = compile_calls(model, chunk)
    quality = quality or top1_accuracy

    def check(calibration: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        ebops = calls.trace(calibration)
        return ebops, quality(calls.infer(x), y)

    return check
