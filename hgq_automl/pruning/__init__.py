"""Pruning schedules for HGQ2 models: hls4ml's Optimization API, rebuilt for Keras 3.

Schedulers (constant / polynomial / binary) give a target sparsity per step; a structure
(unstructured / structured / pattern) groups the weights; an objective (params / flops /
dsps / bram / ebops) costs them; a knapsack (`scipy.optimize.milp`) keeps the most important
groups within the step's budget; masks keep pruned weights exactly zero (value and
HGQ bit-width) through training, saving and conversion. No Ray, no MLflow.
"""

from ..space.vocabulary import PRUNING_IMPORTANCES as IMPORTANCES
from .knapsack import PrunableLayer, select_masks, solve_knapsack
from .loop import PruningConfig, PruningResult, compute_masks, prune
from .masks import apply_masks, clear_masks, current_masks, layer_sparsity, masks_from_zeros, total_sparsity
from .objectives import OBJECTIVES, pattern_dsps, weight_costs
from .schedulers import SCHEDULES, BinaryScheduler, ConstantScheduler, PolynomialScheduler, Scheduler, make_scheduler
from .structures import STRUCTURES, group_ids

__all__ = [
    "BinaryScheduler",
    "ConstantScheduler",
    "IMPORTANCES",
    "OBJECTIVES",
    "PolynomialScheduler",
    "PrunableLayer",
    "PruningConfig",
    "PruningResult",
    "SCHEDULES",
    "STRUCTURES",
    "Scheduler",
    "apply_masks",
    "clear_masks",
    "compute_masks",
    "current_masks",
    "group_ids",
    "layer_sparsity",
    "make_scheduler",
    "pattern_dsps",
    "masks_from_zeros",
    "prune",
    "select_masks",
    "solve_knapsack",
    "total_sparsity",
    "weight_costs",
]
