"""Pruning structures: which weights of a kernel are removed together (a "group").

After hls4ml's `dsp_aware_pruning/config.py` and `keras/masking.py`:
- unstructured: every weight is its own group;
- structured: a whole output neuron (QDense column) or filter (QConv2D last axis);
- pattern: the weights that share one multiplier (DSP) under a reuse factor. hls4ml
  transposes the kernel to (outputs, ...inputs) as its Resource strategy stores it,
  flattens it, and the multiplier m processes the `reuse_factor` consecutive weights
  m*RF .. m*RF+RF-1 (pattern_offset = n_weights // reuse_factor multipliers). Zeroing a
  whole pattern frees its DSP. With reuse_factor 1 a pattern is a single weight.
  `consecutive_patterns` > 1 groups that many consecutive patterns (hls4ml's
  `consecutive_patterns`): the weights that fill one BRAM word (`estimates.layer_bram`).
"""

from __future__ import annotations

import numpy as np

from ..space.vocabulary import PRUNING_STRUCTURES as STRUCTURES


def group_ids(shape: tuple[int, ...], structure: str, reuse_factor: int = 1, consecutive_patterns: int = 1) -> np.ndarray:
    """An int array of `shape` (a kernel's) giving each weight's group number, 0..groups-1."""
    shape = tuple(int(s) for s in shape)
    n = int(np.prod(shape))
    if structure == "unstructured":
        return np.arange(n).reshape(shape)
    if structure == "structured":
        return np.broadcast_to(np.arange(shape[-1]), shape).copy()
    if structure == "pattern":
        if reuse_factor < 1:
            raise ValueError(f"The 'reuse_factor' parameter must be an int >= 1; got {reuse_factor!r}.")
        if consecutive_patterns < 1:
            raise ValueError(f"The 'consecutive_patterns' parameter must be an int >= 1; got {consecutive_patterns!r}.")
        # hls4ml's transposed order: the output axis first, the input axes after it
        order = (len(shape) - 1, *range(len(shape) - 1))
        transposed_ids = np.arange(n) // (reuse_factor * consecutive_patterns)
        transposed_shape = tuple(shape[a] for a in order)
        return np.transpose(transposed_ids.reshape(transposed_shape), np.argsort(order))
    raise ValueError(f"The 'structure' parameter must be one of {', '.join(STRUCTURES)}; got {structure!r}.")
