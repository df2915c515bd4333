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


def test_constraints_that_mix_designs_are_said_once_naming_both(tmp_path, monkeypatch):
    from hgq_automl.constraints import mixed_designs
    from hgq_automl.driver import SearchRequest, prepare

    line = mixed_designs([parse_constraint("luts <= 5000"), parse_constraint("dsps <= 10"), parse_constraint("val_accuracy >= 0.5")])
    assert line == (
        "constraints mix designs: luts <= 5000 on da4ml's fully parallel distributed-arithmetic design; "
        "dsps <= 10 on hls4ml's design at the trial's strategy and reuse_factor (no one circuit need meet them all)"
    )
    # one design, or costs of no design, do not mix
    assert mixed_designs([parse_constraint("luts <= 5000"), parse_constraint("latency_ns <= 50"), parse_constraint("synth_dsps <= 0")]) is None
    assert mixed_designs([parse_constraint("dsps <= 0"), parse_constraint("bram <= 2"), parse_constraint("params <= 900")]) is None
    # a search says it once, among the notes its summary prints at the start
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text('dataset: {max_samples: 100}\nmodel: {family: cnn, conv_layers: 1}\nconstraints: ["luts <= 5000", "dsps <= 10"]\n')
    *_, notes = prepare(SearchRequest(space="s.yaml", storage=str(tmp_path / "st")))
    assert [n for n in notes if "mix designs" in n] == [line]
