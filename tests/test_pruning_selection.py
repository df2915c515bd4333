"""Structures, objectives and the knapsack: pure numpy, no model."""

import itertools

import numpy as np
import pytest

from hgq_automl.estimates import WeightLayer, bram_estimate, count_flops, dsp_estimate
from hgq_automl.pruning import PrunableLayer, group_ids, pattern_dsps, select_masks, solve_knapsack, weight_costs


def _best_by_enumeration(values, costs, budget):
    best = -1.0
    for keep in itertools.product([0, 1], repeat=len(values)):
        keep = np.array(keep, dtype=bool)
        if costs[keep].sum() <= budget + 1e-9:
            best = max(best, values[keep].sum())
    return best


@pytest.mark.parametrize("seed", range(6))
def test_knapsack_is_optimal_and_respects_the_budget(seed):
    rng = np.random.default_rng(seed)
    values = rng.random(11)
    costs = rng.choice([0.25, 1.0, 2.0, 9.0], size=11)
    budget = float(rng.uniform(0.2, 0.7) * costs.sum())
    keep = solve_knapsack(values, costs, budget)
    assert costs[keep].sum() <= budget + 1e-9
    assert values[keep].sum() == pytest.approx(_best_by_enumeration(values, costs, budget), rel=1e-4)


def test_knapsack_keeps_free_items_and_one_of_each_required_set():
    values = np.array([0.0, 5.0, 1.0, 0.1, 0.2])
    costs = np.array([0.0, 10.0, 1.0, 1.0, 1.0])
    keep = solve_knapsack(values, costs, budget=2.0)
    assert keep.tolist() == [True, False, True, False, True]
    # items 3 and 4 form a "layer" that must keep one item even at a budget of 0
    keep = solve_knapsack(values, costs, budget=0.0, must_keep_one=[np.array([3, 4])])
    assert keep[0] and keep[3:].sum() == 1 and not keep[1] and not keep[2]


def test_knapsack_rejects_negative_values():
    with pytest.raises(ValueError, match="non-negative"):
        solve_knapsack(np.array([-1.0]), np.array([1.0]), 1.0)


def test_structures():
    dense = (4, 2)  # (inputs, outputs)
    assert group_ids(dense, "unstructured").tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert group_ids(dense, "structured").tolist() == [[0, 1]] * 4
    # hls4ml's pattern: in the transposed (outputs, inputs) order, RF consecutive weights
    # share a multiplier: RF=4 -> one pattern per output neuron, RF=2 -> two per neuron
    assert group_ids(dense, "pattern", 4).tolist() == [[0, 1]] * 4
    assert group_ids(dense, "pattern", 2).T.tolist() == [[0, 0, 1, 1], [2, 2, 3, 3]]
    conv = (3, 3, 2, 4)  # (kh, kw, in channels, filters)
    g = group_ids(conv, "structured")
    assert all(np.all(g[..., f] == f) for f in range(4))
    p = group_ids(conv, "pattern", 6)
    # 18 weights per filter, 3 patterns each; in (filter, kh, kw, channel) order a pattern
    # is 6 consecutive weights: one kernel row (3 columns x 2 channels) of one filter
    assert len(np.unique(p)) == 12 and all(set(np.unique(p[..., f])) == {3 * f, 3 * f + 1, 3 * f + 2} for f in range(4))
    assert all(np.all(p[row, :, :, f] == 3 * f + row) for row in range(3) for f in range(4))


def _layer(kernel, outputs, pixels=1):
    kernel = np.asarray(kernel, dtype=np.float32)
    return WeightLayer("l", kernel, 0, int(np.prod(kernel.shape[:-1])), outputs, pixels)


def test_objective_costs_add_up_to_the_estimates():
    rng = np.random.default_rng(0)
    wide = np.round(rng.normal(size=(3, 3, 2, 4)) * 256) / 256  # >= 9-bit weights
    conv = _layer(wide, outputs=6 * 6 * 4, pixels=4)
    assert weight_costs(conv, "params").sum() == wide.size
    assert weight_costs(conv, "flops").sum() == count_flops([conv])
    assert weight_costs(conv, "dsps", reuse_factor=2)[wide != 0].sum() == dsp_estimate([conv], 2)
    narrow = _layer(np.full((8, 4), 0.25), outputs=4)
    assert weight_costs(narrow, "dsps").sum() == 0  # < 9 bits: multiplied in LUTs
    assert weight_costs(conv, "dsps", strategy="distributed_arithmetic").sum() == 0
    with pytest.raises(ValueError, match="'objective' parameter must be one of params, flops, dsps, bram, ebops; got 'uram'"):
        weight_costs(conv, "uram")


def test_bram_costs_add_up_to_the_bram_estimate():
    kernel = np.ones((6, 8), dtype=np.float32)
    kernel[0, 7] = -2048.0  # 12-bit weights
    dense = _layer(kernel, outputs=8)
    costs = weight_costs(dense, "bram", reuse_factor=4, strategy="resource")
    assert np.allclose(costs, 12 / (4 * 36))
    assert costs.sum() == pytest.approx(bram_estimate([dense], 4, "resource")) and costs.sum() == pytest.approx(4)
    # a word (3 patterns x 4 weights, 2 output neurons) costs one 36-bit block
    words = group_ids(kernel.shape, "pattern", 4, consecutive_patterns=3)
    assert words.tolist() == [[0, 0, 1, 1, 2, 2, 3, 3]] * 6
    assert np.bincount(words.ravel(), weights=costs.ravel()) == pytest.approx([1, 1, 1, 1])
    # no weights in BRAM: nothing to gain
    for rf, strategy in ((4, "latency"), (1, "resource"), (4, "distributed_arithmetic")):
        assert weight_costs(dense, "bram", reuse_factor=rf, strategy=strategy).sum() == 0


def test_knapsack_on_bram_words_frees_whole_words():
    rng = np.random.default_rng(3)
    kernel = np.round(rng.normal(size=(6, 8)) * 64)
    kernel[0, 0] = -2048.0  # 12 bits
    dense = _layer(kernel.astype(np.float32), outputs=8)
    words = group_ids(kernel.shape, "pattern", 4, consecutive_patterns=3)
    layer = PrunableLayer("l", np.abs(kernel), weight_costs(dense, "bram", 4, "resource"), words)
    mask = select_masks([layer], 0.5)["l"]
    assert all(len(np.unique(mask[words == w])) == 1 for w in range(4))  # whole words
    pruned = _layer((kernel * mask).astype(np.float32), outputs=8)
    assert bram_estimate([pruned], 4, "resource") == 2  # 4 blocks, half removed


def test_pattern_dsps_only_drop_for_whole_zero_patterns():
    kernel = np.full((4, 2), 1 / 256, dtype=np.float32)
    kernel[0, 0] = 1.0
    layer = _layer(kernel, outputs=2)
    assert pattern_dsps(layer, 2) == 4
    kernel[1, 0] = 0.0  # half of a pattern: no DSP saved
    assert pattern_dsps(_layer(kernel, 2), 2) == 4
    kernel[2:, 0] = 0.0  # a whole pattern (inputs 2, 3 of output 0)
    assert pattern_dsps(_layer(kernel, 2), 2) == 3


@pytest.mark.parametrize("structure", ["unstructured", "structured", "pattern"])
@pytest.mark.parametrize("sparsity", [0.3, 0.75])
def test_select_masks_reaches_the_requested_sparsity(structure, sparsity):
    rng = np.random.default_rng(1)
    shapes = [(3, 3, 1, 8), (72, 16)]
    layers = []
    for i, shape in enumerate(shapes):
        cost = np.full(shape, 2.0 * (36 if i == 0 else 1))  # flops-like: conv weights cost more
        layers.append(PrunableLayer(f"l{i}", rng.random(shape), cost, group_ids(shape, structure, 4)))
    masks = select_masks(layers, sparsity)
    total = sum(layer.cost.sum() for layer in layers)
    kept = sum((layer.cost * masks[layer.name]).sum() for layer in layers)
    assert kept <= (1 - sparsity) * total + 1e-6
    # the budget is nearly used: at most one group's cost is left over
    largest_group = max(np.bincount(layer.groups.ravel(), layer.cost.ravel()).max() for layer in layers)
    assert kept >= (1 - sparsity) * total - largest_group
    for layer in layers:  # groups are kept or dropped whole, and no layer is dropped whole
        m = masks[layer.name]
        for g in np.unique(layer.groups):
            assert len(np.unique(m[layer.groups == g])) == 1
        assert m.any()


def test_select_masks_prefers_important_weights():
    importance = np.array([[5.0, 0.1], [0.2, 4.0]])
    layer = PrunableLayer("l", importance, np.ones((2, 2)), group_ids((2, 2), "unstructured"))
    assert select_masks([layer], 0.5)["l"].tolist() == [[1, 0], [0, 1]]
