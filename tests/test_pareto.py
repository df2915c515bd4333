import math

import numpy as np

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
