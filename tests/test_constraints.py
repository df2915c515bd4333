import math

import pytest

from hgq_automl.constraints import Constraint, feasible, parse_constraint, violations


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dsps <= 0", Constraint("dsps", "<=", 0.0)),
        ("luts<=20000", Constraint("luts", "<=", 20000.0)),
        ("  val_accuracy >= 0.9 ", Constraint("val_accuracy", ">=", 0.9)),
        ("latency_ns <= 1.5e2", Constraint("latency_ns", "<=", 150.0)),
    ],
)
def test_parse(text, expected):
    assert parse_constraint(text) == expected


@pytest.mark.parametrize("text", ["dsps < 1", "dsps == 0", "<= 3", "dsps <= many", 5, None])
def test_parse_refuses_other_forms(text):
    with pytest.raises(ValueError, match="must read METRIC <= NUMBER or METRIC >= NUMBER"):
        parse_constraint(text)


def test_violations_follow_optunas_sign_convention():
    cs = [parse_constraint("luts <= 1000"), parse_constraint("val_accuracy >= 0.9")]
    assert violations(cs, {"luts": 800, "val_accuracy": 0.95}) == pytest.approx([-200, -0.05])
    assert feasible(cs, {"luts": 800, "val_accuracy": 0.95})
    assert violations(cs, {"luts": 1200, "val_accuracy": 0.85}) == pytest.approx([200, 0.05])
    assert not feasible(cs, {"luts": 1000.5, "val_accuracy": 0.95})
    assert feasible(cs, {"luts": 1000, "val_accuracy": 0.9})  # bounds are inclusive
    assert violations(cs, {"val_accuracy": math.nan}) == [math.inf, math.inf]
    assert feasible([], {})
    assert str(cs[0]) == "luts <= 1000"
