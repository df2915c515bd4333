"""Every private internal of a third-party library the package relies on, in one place.

HGQ2, Keras and Ray Tune have no public API for these; each function names what it reaches
into, and tests/test_compat.py pins the behaviour relied on, so that a version bump that
changes one fails there first. Nothing is imported at module level (the core imports this
module; none of these libraries may load with it).
"""

from __future__ import annotations

from typing import Any

# --------------------------------------------------------------------------- HGQ2


def reset_minmax(model) -> None:
    """Forget the activation ranges HGQ's `kif` quantizers traced (`hgq.utils.minmax_trace._reset_minmax`),
    so that the next tracing pass sets them from its samples alone (as `trace_minmax` does)."""
    from hgq.utils.minmax_trace import _reset_minmax

    _reset_minmax(model)


def tracing_flag():
    """The `training=` value that makes HGQ layers record activation ranges in a forward pass
    (`hgq.utils.minmax_trace.TrainingFlagWrapper("tracing")`); usable inside a `tf.function`."""
    from hgq.utils.minmax_trace import TrainingFlagWrapper

    return TrainingFlagWrapper("tracing")


def layer_beta(layer):
    """An HGQ layer's resource-penalty variable (`layer._beta`), or None for a layer without one."""
    return getattr(layer, "_beta", None)


def set_layer_beta(layer, value: float) -> None:
    """Set an HGQ layer's beta for the following training steps (`layer._beta.assign`)."""
    layer._beta.assign(float(value))


def float_kernel(layer):
    """The trained (float) kernel variable of an HGQ layer (`layer._kernel`; `kernel` is the
    quantized one there), or `layer.kernel` for a plain Keras layer."""
    return layer._kernel if hasattr(layer, "_kernel") else layer.kernel


def flatten_layers(layer, include_self: bool = True) -> list:
    """The layer and every layer tracked inside it, nested models and HGQ's quantizers
    included (Keras's `_flatten_layers`)."""
    return list(layer._flatten_layers(include_self=include_self))


def layer_ebops(layer, *shapes) -> int:
    """An HGQ layer's EBOPs from its quantizers' present state, as its call in a training or
    tracing pass stores them (`QLayerBase._compute_ebops(*shapes) * ebops_factor`, cast to
    uint32 as `layer._ebops.assign` does; `shapes` the input shapes with batch 1). A
    QSoftmax adds its two tables' (`exp_table`, `inv_table`: QUnaryFunctionLUT sublayers
    called on the inputs and on the row sums), as its `ebops` property does."""
    from keras import ops

    def own(sub, *sub_shapes) -> int:
        if not getattr(sub, "enable_ebops", False):
            return 0
        value = sub._compute_ebops(*sub_shapes) * sub.ebops_factor
        return int(ops.convert_to_numpy(ops.cast(value, "uint32")))

    total = own(layer, *shapes)
    if type(layer).__name__ == "QSoftmax":
        shape = tuple(shapes[0])
        axes = [a % len(shape) for a in layer.axes]
        accum = tuple(1 if i in axes else s for i, s in enumerate(shape))
        total += own(layer.exp_table, shape) + own(layer.inv_table, accum)
    return total


# --------------------------------------------------------------------------- Keras


def set_random_seed(seed: int) -> None:
    """`keras.utils.set_random_seed` without importing TensorFlow under another backend:
    Keras' own imports TensorFlow whenever it is installed (to seed `tf.random` for tf.data
    pipelines, which the JAX path has none of), seconds of start-up and memory for nothing.
    Sets Keras' global seed and resets its global `SeedGenerator` (`keras.src.backend.common.global_state`),
    seeds Python's and NumPy's generators."""
    import random

    import keras
    import numpy as np

    if keras.backend.backend() != "jax":
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def tensorflow_out_of_keras() -> None:
    """Keep Keras (on JAX) from importing TensorFlow on its own: it does so whenever TensorFlow
    is installed, to recognise tf.data and TensorShape objects (in `model.save`, in data
    adapters; `keras.src.utils.module_utils.tensorflow`, a lazy module whose `available` it
    asks). A JAX trial hands Keras numpy arrays only, so the answer is known: not available.
    TensorFlow stays importable (hls4ml imports it itself); only Keras' question is answered."""
    import sys

    if "tensorflow" in sys.modules:
        return
    from keras.src.utils import module_utils

    module_utils.tensorflow._available = False


def producing_layer(tensor):
    """The layer (operation) whose call produced a symbolic tensor (`tensor._keras_history.operation`)."""
    return tensor._keras_history.operation


def nodes_by_depth(model) -> dict[int, list] | None:
    """A functional model's graph as {depth: [nodes]} (`model._nodes_by_depth`), inputs at the
    largest depth; for a Sequential model its inner functional model's; None without a graph."""
    import keras

    graph = getattr(model, "_functional", None) if isinstance(model, keras.Sequential) else model
    return getattr(graph, "_nodes_by_depth", None)


# --------------------------------------------------------------------------- Ray Tune


def optuna_trial(searcher, trial_id: str) -> Any | None:
    """The Optuna trial an `OptunaSearch` asked for a Tune trial (`searcher._ot_trials`), or None."""
    return searcher._ot_trials.get(trial_id)


def optuna_study(searcher):
    """The Optuna study an `OptunaSearch` asks its trials from (`searcher._ot_study`): a warm
    start enqueues its inherited parameters there, as `points_to_evaluate` does."""
    return searcher._ot_study


def set_restored_callbacks(tuner, callbacks: list) -> None:
    """Replace the callbacks of a restored `tune.Tuner`'s run config (Tune pickles the old
    RunConfig with the experiment and offers no way to pass new ones: `tuner._local_tuner`)."""
    tuner._local_tuner.get_run_config().callbacks = list(callbacks)
