"""How the splits reach `model.fit`, per Keras backend: the arrays themselves under JAX,
a tf.data pipeline of batches under TensorFlow (`batches`), built so that a trial keeps to
its one core. Keras and TensorFlow are imported only when called."""

from __future__ import annotations

import numpy as np


def fit_arguments(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0, validation: tuple[np.ndarray, np.ndarray] | None = None
) -> dict:
    """The data arguments of `model.fit` for Keras' active backend: (x, y), batched, shuffled
    each epoch when `shuffle`, and `validation` data if given.

    Under JAX, the arrays themselves: Keras' numpy adapter slices them by index in the
    training thread (no TensorFlow, no tf.data; its shuffle draws from NumPy's seeded
    generator). Under TensorFlow, `batches`' tf.data pipelines."""
    import keras

    if keras.backend.backend() == "jax":
        out = {"x": x, "y": y, "batch_size": batch_size, "shuffle": shuffle}
        if validation is not None:
            out.update(validation_data=validation, validation_batch_size=batch_size)
        return out
    out = {"x": batches(x, y, batch_size, shuffle=shuffle, seed=seed)}
    if validation is not None:
        out["validation_data"] = batches(*validation, batch_size)
    return out


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0):
    """`x`, `y` as a tf.data pipeline of batches for `model.fit` (TensorFlow backend).

    The same batches as Keras' own adapter for numpy arrays (every sample once per epoch,
    reshuffled each epoch when `shuffle`, the last batch partial), built so that a trial
    keeps to its one core: no autotuned parallel map or prefetch, a private pool of one
    thread. Keras' adapter autotunes those: it costs more CPU per epoch, and the training
    thread waits on its threads (with two trials side by side neither keeps its core busy;
    the epoch times of both are in the speed section of docs/benchmarks.md).
    Each batch is gathered from the arrays by index, so a shuffle holds indices, not samples.
    """
    import tensorflow as tf

    x, y = tf.constant(x), tf.constant(y)
    order = tf.data.Dataset.range(len(x))
    if shuffle:
        order = order.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = order.batch(batch_size).map(lambda i: (tf.gather(x, i), tf.gather(y, i)))
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.with_options(options)
