import math

import numpy as np

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
