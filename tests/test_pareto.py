import math

import numpy as np
import pytest

from hgq_automl.constraints import parse_constraint
from hgq_automl.pareto import pareto_front, pareto_mask


def test_mask_max_min():
    # (accuracy: max, ebops: min)
    values = np.array([[0.9, 100], [0.8, 50], [0.85, 200], [0.95, 300], [0.8, 60]])
    assert pareto_mask(values, ["max", "min"]).tolist() == [True, True, False, True, False]


def test_ties_are_kept_and_nan_rows_excluded():
    values = np.array([[0.9, 100], [0.9, 100], [math.nan, 1], [0.5, 500]])
    assert pareto_mask(values, ["max", "min"]).tolist() == [True, True, False, False]


def test_front_sorted_by_first_objective_with_accessor():
    records = [{"id": i, "m": {"val_accuracy": a, "ebops": e}} for i, (a, e) in enumerate([(0.8, 50), (0.95, 300), (0.9, 100), (0.7, 400)])]
    front = pareto_front(records, [("val_accuracy", "max"), ("ebops", "min")], lambda r: r["m"])
    assert [r["id"] for r in front] == [1, 2, 0]
    assert pareto_front([], [("val_accuracy", "max")]) == []


def test_single_objective_front_is_the_best():
    records = [{"luts": 300.0}, {"luts": 100.0}, {"luts": 200.0}]
    assert pareto_front(records, [("luts", "min")]) == [{"luts": 100.0}]


def test_infeasible_trials_never_reach_the_front():
    records = [
        {"val_accuracy": 0.95, "ebops": 100.0, "dsps": 4},  # dominates all, but uses DSPs
        {"val_accuracy": 0.90, "ebops": 200.0, "dsps": 0},
        {"val_accuracy": 0.80, "ebops": 300.0, "dsps": 0},  # dominated by the second
        {"val_accuracy": 0.85, "ebops": 50.0},  # no dsps reported: violates the constraint
    ]
    objectives = [("val_accuracy", "max"), ("ebops", "min")]
    assert pareto_front(records, objectives) == [records[0], records[3]]
    assert pareto_front(records, objectives, constraints=[parse_constraint("dsps <= 0")]) == [records[1]]
    assert pareto_front(records, objectives, constraints=[parse_constraint("dsps >= 10")]) == []


def test_the_cheapest_model_at_each_deployable_level():
    from hgq_automl.pareto import cheapest_reaching, deploy_levels, log_cost_ratios

    tool = [{"test_accuracy": 0.97, "ebops": 900.0}, {"test_accuracy": 0.95, "ebops": 400.0}, {"test_accuracy": 0.90, "ebops": 100.0}]
    base = [{"test_accuracy": 0.97, "ebops": 1800.0}, {"test_accuracy": 0.96, "ebops": 800.0}, {"test_accuracy": 0.5, "ebops": 10.0}]
    assert deploy_levels(0.97, (0.01, 0.05)) == pytest.approx([0.96, 0.92])
    assert cheapest_reaching(tool, 0.96) == 900.0 and cheapest_reaching(tool, 0.95) == 400.0
    assert cheapest_reaching(tool, 0.99) == float("inf")
    assert cheapest_reaching([{"test_accuracy": 0.99, "luts": float("nan")}], 0.9, cost="luts") == float("inf")
    # 0.97: 1800 vs 900 (2x); 0.95: 800 vs 400 (2x); 0.92: 800 vs 400; 0.99: neither reaches it -> 0
    got = log_cost_ratios(tool, base, [0.97, 0.95, 0.92, 0.99], ceiling=5000.0)
    assert np.exp(got) == pytest.approx([2.0, 2.0, 2.0, 1.0])
    # a level only the baseline reaches charges the tool the ceiling
    assert np.exp(log_cost_ratios([{"test_accuracy": 0.5, "ebops": 1.0}], base, [0.96], ceiling=4000.0)) == pytest.approx([0.2])


def test_the_paired_bootstrap_geomean_and_its_interval():
    from hgq_automl.pareto import paired_bootstrap_geomean

    same = np.log(np.full((8, 5), 1.5))
    mean, low, high = paired_bootstrap_geomean(same)
    assert mean == pytest.approx(1.5) and low == pytest.approx(1.5) and high == pytest.approx(1.5)
    # seeds at 1x and 2x: the mean is their geometric mean, the interval spans it and stays inside [1, 2]
    mixed = np.log(np.array([[1.0] * 5, [2.0] * 5] * 4))
    mean, low, high = paired_bootstrap_geomean(mixed, seed=1)
    assert mean == pytest.approx(np.sqrt(2.0))
    assert 1.0 <= low < mean < high <= 2.0
    assert paired_bootstrap_geomean(mixed, seed=1) == (mean, low, high)  # reproducible
