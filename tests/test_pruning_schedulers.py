"""Schedulers: the sparsity sequences, checked against hls4ml's own scheduler.py."""

import importlib.util
from pathlib import Path

import pytest

from hgq_automl.pruning import BinaryScheduler, ConstantScheduler, PolynomialScheduler, make_scheduler


def _hls4ml_schedulers():
    """hls4ml's scheduler module, loaded from its file (its package needs keras_tuner)."""
    import hls4ml

    path = Path(hls4ml.__file__).parent / "optimization" / "dsp_aware_pruning" / "scheduler.py"
    spec = importlib.util.spec_from_file_location("hls4ml_scheduler", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(scheduler, outcomes):
    """Drive a scheduler: True = the step met rtol (update), False = it did not (repair)."""
    seq = []
    for met in outcomes:
        changed, s = scheduler.update_step() if met else scheduler.repair_step()
        seq.append((changed, round(s, 10)))
    return seq


def test_polynomial_sequence():
    s = PolynomialScheduler(4, 0.0, 0.8)
    got = [s.update_step() for _ in range(5)]
    assert [c for c, _ in got] == [True, True, True, True, False]
    assert [v for _, v in got] == pytest.approx([0.8 * (1 - 0.75**3), 0.8 * (1 - 0.5**3), 0.8 * (1 - 0.25**3), 0.8, 0.8])


def test_constant_sequence_reaches_final_exactly():
    s = ConstantScheduler(0.1, 0.3, update_step=0.05)
    assert _run(s, [True] * 5) == [(True, 0.15), (True, 0.2), (True, 0.25), (True, 0.3), (False, 0.3)]


def test_binary_bisects_up_on_success_and_down_on_failure():
    s = BinaryScheduler(0.0, 1.0, threshold=0.1)
    assert _run(s, [True, True, False, True]) == [(True, 0.5), (True, 0.75), (True, 0.625), (True, 0.6875)]


@pytest.mark.parametrize(
    "ours, theirs_name, kwargs, outcomes",
    [
        (PolynomialScheduler, "PolynomialScheduler", dict(initial_sparsity=0.1, final_sparsity=0.9, decay_power=2), [True, False, True, True, True, True]),
        (ConstantScheduler, "ConstantScheduler", dict(initial_sparsity=0.0, final_sparsity=0.5, update_step=0.125), [True, True, False, True, True, True]),
        (BinaryScheduler, "BinaryScheduler", dict(initial_sparsity=0.0, final_sparsity=0.9, threshold=0.05), [True, True, False, False, True, True, True, False]),
    ],
)
def test_same_sequences_as_hls4ml(ours, theirs_name, kwargs, outcomes):
    theirs = getattr(_hls4ml_schedulers(), theirs_name)
    args = (5,) if ours is PolynomialScheduler else ()
    if ours is PolynomialScheduler:
        a, b = ours(*args, **kwargs), theirs(*args, **kwargs)
    else:
        a, b = ours(**kwargs), theirs(**kwargs)
    assert [(c, pytest.approx(v)) for c, v in _run(a, outcomes)] == _run(b, outcomes)


def test_make_scheduler_reaches_final_sparsity_in_steps():
    for kind in ("constant", "polynomial"):
        s = make_scheduler(kind, 0.6, 3)
        values = []
        while True:
            changed, v = s.update_step()
            if not changed:
                break
            values.append(v)
        assert len(values) == 3 and values[-1] == pytest.approx(0.6)
    binary = make_scheduler("binary", 0.8, 3)
    assert binary.update_step() == (True, 0.4)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: PolynomialScheduler(0, 0.0, 0.5), "'steps' parameter must be an int >= 1; got 0"),
        (lambda: PolynomialScheduler(3, 0.0, 1.5), "'final_sparsity' parameter must be a float in [0, 1]; got 1.5"),
        (lambda: ConstantScheduler(0.0, -0.1), "'final_sparsity' parameter must be a float in [0, 1]; got -0.1"),
        (lambda: ConstantScheduler(0.0, 0.5, update_step=0), "'update_step' parameter must be a float in (0, 1]"),
        (lambda: BinaryScheduler(0.6, 0.5), "'final_sparsity' parameter must be >= initial_sparsity"),
        (lambda: make_scheduler("cosine", 0.5, 3), "'kind' parameter must be one of constant, polynomial, binary; got 'cosine'"),
    ],
)
def test_bad_parameters_are_named(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value)
