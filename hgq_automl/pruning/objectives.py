"""Pruning objectives: what one weight costs, in the unit of the resource being reduced.

The target sparsity of a step is a fraction of the objective's total over the prunable
layers (as in hls4ml: resources <= (1 - sparsity) x baseline). Costs follow the rules of
`hgq_automl.estimates`, per weight, so that they sum to the layer's estimate:
- params: 1 per weight;
- flops: 2 per multiply-accumulate, i.e. 2 x the output pixels the weight is used at;
- dsps: hls4ml's Latency rule (`estimates.dsp_estimate`): 0 if the layer's weights are
  narrower than 9 bits (or the strategy is distributed_arithmetic), else
  parallel pixels / reuse_factor per non-zero weight;
- bram: hls4ml's BRAM rule (`estimates.layer_bram`): under the resource strategy with
  reuse_factor > 1, weight bits / (reuse_factor x 36) per weight (36-bit-wide BRAM
  blocks), else 0. A BRAM word is freed only when all its weights are zero, so pair it
  with the pattern structure: the loop then groups `bram_consecutive_patterns` patterns,
  one BRAM word, as hls4ml's `VivadoMultiObjectiveEstimator` does;
- ebops: HGQ's EBOPs, weight bits x bits of the input it multiplies, per output pixel
  computed in parallel (given by the caller, who can read HGQ's quantizers).
"""

from __future__ import annotations

import numpy as np

from ..estimates import BRAM_WIDTH_BITS, DSP_MIN_WEIGHT_BITS, WeightLayer, weight_width
from ..space.vocabulary import PRUNING_OBJECTIVES as OBJECTIVES


def weight_costs(
    layer: WeightLayer,
    objective: str,
    reuse_factor: int = 1,
    strategy: str = "latency",
    ebops: np.ndarray | None = None,
) -> np.ndarray:
    """Cost of each weight of `layer` (an array of the kernel's shape) under `objective`."""
    shape = layer.kernel.shape
    if objective == "params":
        return np.ones(shape)
    if objective == "flops":
        pixels = layer.outputs // shape[-1]  # output positions each weight is used at
        return np.full(shape, 2.0 * pixels)
    if objective == "dsps":
        if strategy == "distributed_arithmetic" or weight_width(layer.kernel) < DSP_MIN_WEIGHT_BITS:
            return np.zeros(shape)
        return np.full(shape, layer.parallel_pixels / reuse_factor)
    if objective == "bram":
        if strategy != "resource" or reuse_factor <= 1:
            return np.zeros(shape)
        return np.full(shape, weight_width(layer.kernel) / (reuse_factor * BRAM_WIDTH_BITS))
    if objective == "ebops":
        if ebops is None:
            raise ValueError("the ebops objective needs the per-weight EBOPs of the layer")
        if ebops.shape != shape:
            raise ValueError(f"per-weight EBOPs of {layer.name} have shape {ebops.shape}, the kernel {shape}")
        return np.asarray(ebops, dtype=float)
    raise ValueError(f"The 'objective' parameter must be one of {', '.join(OBJECTIVES)}; got {objective!r}.")


def pattern_dsps(layer: WeightLayer, reuse_factor: int) -> int:
    """DSPs of a layer under hls4ml's Resource strategy (`VivadoDSPEstimator` with pattern
    structures): one multiplier per pattern (see `structures`) that holds a non-zero
    weight, per output pixel computed in parallel; 0 below 9-bit weights. Unlike the
    Latency rule of `estimates.dsp_estimate`, scattered zeros save nothing here: only a
    whole zero pattern frees its DSP."""
    from .structures import group_ids

    if weight_width(layer.kernel) < DSP_MIN_WEIGHT_BITS:
        return 0
    groups = group_ids(layer.kernel.shape, "pattern", reuse_factor)
    used = np.unique(groups[layer.kernel != 0])
    return int(used.size * layer.parallel_pixels)
