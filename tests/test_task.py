"""The task (classification / regression): parsing, default objectives, and the numbers."""

import math

import numpy as np
import pytest

from hgq_automl.errors import SpaceError
from hgq_automl.space import parse_space
from hgq_automl.task import TaskSpec


def test_classification_is_the_default_and_regression_changes_the_objectives():
    assert parse_space({}).task == TaskSpec()
    assert parse_space({}).objectives == (("val_accuracy", "max"), ("ebops", "min"))
    space = parse_space({"task": "regression", "model": {"family": "mlp", "input_shape": [10]}})
    assert space.task == TaskSpec("regression", "mse")
    assert space.objectives == (("val_mse", "min"), ("ebops", "min"))
    huber = parse_space({"task": {"type": "regression", "loss": "huber"}})
    assert huber.task.loss == "huber"
    # the state file of a resumed search holds to_dict(): it reads back the same
    assert parse_space(huber.to_dict()).task == huber.task


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"task": "ranking"}, "<space>: task.type: unknown task 'ranking'; known tasks are classification, regression"),
        ({"task": {"type": "regression", "loss": "l3"}}, "<space>: task.loss: must be one of mse, mae, huber; got 'l3'"),
        ({"task": {"type": "classification", "loss": "mse"}}, "<space>: task.loss: classification trains with cross_entropy; got 'mse'"),
        ({"task": {"kind": "regression"}}, "<space>: task.kind: unknown key; allowed keys are type, loss, chance_margin"),
        ({"task": "regression", "objectives": {"val_accuracy": "max", "ebops": "min"}},
         "<space>: objectives.val_accuracy: val_accuracy is a classification metric; this space's task is regression"),
        ({"objectives": {"val_mse": "min", "ebops": "min"}}, "<space>: objectives.val_mse: val_mse is a regression metric; this space's task is classification"),
        ({"task": "regression", "constraints": ["test_auc >= 0.9"]}, "<space>: constraints[0]: test_auc is a classification metric; this space's task is regression"),
        ({"task": "regression", "parameters": {"pruning_schedule": {"type": "choice", "values": ["none", "constant"]}}},
         "<space>: parameters.pruning_schedule: pruning needs task: classification"),
    ],
)
def test_bad_tasks_are_one_line_errors(raw, message):
    with pytest.raises(SpaceError) as err:
        parse_space(raw)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_classification_metrics_by_hand():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0]])
    y = np.array([0, 1, 1, 1])
    m = TaskSpec().metrics(logits, y, "val")
    assert m["val_accuracy"] == 0.75
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert m["val_loss"] == pytest.approx(-np.mean(log_softmax[np.arange(4), y]))
    # AUC on class 1's probability: positives score 0.73, 0.27, 0.95; the negative 0.12 -> every pair ranked right
    assert m["val_auc"] == 1.0
    # a split missing a class has no AUC
    assert math.isnan(TaskSpec().metrics(logits[:1], y[:1], "test")["test_auc"])
    # more classes: one-vs-rest macro AUC
    three = TaskSpec().metrics(np.eye(3)[[0, 1, 2, 0]] * 5, np.array([0, 1, 2, 1]), "val")
    assert 0.5 < three["val_auc"] < 1 and three["val_accuracy"] == 0.75


def test_regression_metrics_by_hand():
    out = np.array([[1.0, 0.0], [3.0, 2.0]])
    y = np.array([[1.0, 2.0], [1.0, 2.0]])  # errors 0, -2, 2, 0
    m = TaskSpec("regression", "huber").metrics(out, y, "test")
    assert m["test_mse"] == 2.0 and m["test_mae"] == 1.0
    assert m["test_loss"] == pytest.approx((0 + 1.5 + 1.5 + 0) / 4)  # huber, delta 1: |e| - 0.5 beyond it
    assert "test_accuracy" not in m
    # harvesting keeps the checkpoint with the higher quality: minus the mse
    assert TaskSpec("regression").harvest_quality()(out, y) == -2.0
    assert TaskSpec().harvest_quality()(np.array([[0.0, 1.0]]), np.array([1])) == 1.0


def test_an_mlp_space_reads_back_from_its_dict():
    # the state file of a resume and the search_space.yaml export reads hold to_dict()
    space = parse_space({"task": "regression", "model": {"family": "mlp", "input_shape": [10], "dense_layers": 2}})
    assert parse_space(space.to_dict()) == space


def test_the_chance_floor_sits_a_margin_above_the_best_constant_prediction():
    # 60 % of the validation labels are class 2: a model that always says 2 scores 0.6
    y_val = np.array([2] * 6 + [0, 1, 1, 3])
    constraint, line = TaskSpec().floor(np.arange(8) % 4, y_val)
    assert (constraint.metric, constraint.op, constraint.bound) == ("val_accuracy", ">=", 0.64)
    assert "val_accuracy >= 0.64" in line and "chance" in line and "0.6" in line and "task.chance_margin" in line
    assert TaskSpec(chance_margin=0.5).floor(np.arange(8) % 4, y_val)[0].bound == 0.8
    # a constant prediction of the training mean (2.0) has val_mse 1.0 on targets 1 and 3
    reg = TaskSpec("regression", "mse", 0.25).floor(np.array([[1.0], [3.0]]), np.array([[1.0], [3.0]]))[0]
    assert (reg.metric, reg.op, reg.bound) == ("val_mse", "<=", 0.75)
    # off, or nothing to stand above
    assert TaskSpec(chance_margin=0).floor(np.arange(8) % 4, y_val) is None
    assert TaskSpec().floor(np.zeros(4, int), np.zeros(4, int)) is None
    # the bound reads back equal from its text (a resumed search finds it among its constraints)
    from hgq_automl.constraints import parse_constraint

    odd = TaskSpec().floor(np.arange(7) % 7, np.arange(7) % 7)[0]
    assert parse_constraint(str(odd)) == odd


def test_the_harvest_floor_is_the_tightest_bound_on_the_harvests_metric():
    from hgq_automl.constraints import Constraint

    cs = (Constraint("val_accuracy", ">=", 0.2), Constraint("val_accuracy", ">=", 0.3), Constraint("dsps", "<=", 0.0),
          Constraint("val_mse", "<=", 0.5), Constraint("val_mse", "<=", 0.4), Constraint("val_accuracy", "<=", 0.9))
    assert TaskSpec().harvest_floor(cs) == 0.3
    assert TaskSpec("regression", "mse").harvest_floor(cs) == -0.4  # the harvest keeps minus the mse
    assert TaskSpec().harvest_floor(cs[2:4]) is None and TaskSpec().harvest_floor(()) is None


def test_chance_margin_is_checked_and_reads_back():
    space = parse_space({"task": {"type": "classification", "chance_margin": 0.2}})
    assert space.task.chance_margin == 0.2 and parse_space(space.to_dict()).task == space.task
    assert "chance_margin" not in parse_space({}).to_dict()["task"]
    for bad in (1, -0.1, "high", True):
        with pytest.raises(SpaceError) as err:
            parse_space({"task": {"chance_margin": bad}})
        assert str(err.value).startswith("<space>: task.chance_margin: must be a number from 0 (no floor) to below 1; got")


def test_a_search_adds_the_floor_to_its_constraints_once(capsys):
    from hgq_automl.data import load_dataset
    from hgq_automl.driver import _with_floor
    from hgq_automl.space import load_space

    space = load_space("digits_cnn")
    data = load_dataset(space.dataset, "classification")
    notes: list[str] = []
    started = _with_floor(space, data, notes)
    (floor,) = started.constraints
    assert floor.metric == "val_accuracy" and 0.18 < floor.bound < 0.2  # 10 classes, ~0.1 each
    assert len(notes) == 1 and notes[0].startswith("the front keeps points with val_accuracy >= ")
    assert capsys.readouterr().err == ""  # said in the search's summary, after the checks
    # a resumed search reads its constraints back from its state (to_dict): no second floor
    resumed = _with_floor(parse_space(started.to_dict()), data, [])
    assert resumed.constraints == (floor,)
    off = parse_space({**space.to_dict(), "task": {"type": "classification", "chance_margin": 0}})
    assert _with_floor(off, data, []).constraints == ()
