"""The Ray Tune adapter's Optuna searcher hands the constraints to Optuna (no Ray cluster needed)."""

import math

import optuna

from hgq_automl.raytune import searcher_class
from hgq_automl.samplers import make_sampler
from hgq_automl.space import parse_space


def _space(sampler):
    return parse_space(
        {
            "objectives": {"val_accuracy": "max", "luts": "min"},
            "constraints": ["dsps <= 0", "luts <= 1000"],
            "search": {"sampler": sampler, "trials": 4},
            "parameters": {"filters_1": {"type": "int", "low": 2, "high": 4}},
        }
    )


def test_searcher_sets_optuna_constraints_from_the_final_result():
    space = _space("nsga2")
    searcher = searcher_class()(
        space=space.suggest, metric=space.objective_names(), mode=space.objective_modes(), sampler=make_sampler(space, 0), constraints=space.constraints
    )
    assert searcher.suggest("a")["filters_1"] in (2, 3, 4)
    for trial_id in "bcd":
        searcher.suggest(trial_id)
    # final results (the last report of a trial that finished) carry trial_seconds
    searcher.on_trial_complete("a", {"val_accuracy": 0.9, "test_accuracy": 0.9, "trial_seconds": 1.0, "luts": 800.0, "dsps": 0})
    searcher.on_trial_complete("b", {"val_accuracy": 0.95, "test_accuracy": 0.9, "trial_seconds": 1.0, "luts": 1500.0, "dsps": 3})
    searcher.on_trial_complete("c", {"val_accuracy": 0.5, "test_accuracy": 0.5, "trial_seconds": 1.0, "luts": 10.0})  # no dsps: infeasible
    searcher.on_trial_complete("d", None, error=True)
    trials = searcher._ot_study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3 + [optuna.trial.TrialState.FAIL]
    assert trials[0].constraints == {"dsps <= 0": 0.0, "luts <= 1000": -200.0}
    assert trials[1].constraints == {"dsps <= 0": 3.0, "luts <= 1000": 500.0}
    assert trials[2].constraints == {"dsps <= 0": math.inf, "luts <= 1000": -990.0}
    assert trials[3].constraints == {}
    # Optuna's own feasibility view (what NSGA-II and TPE rank by) agrees
    from optuna.study._constrained_optimization import _get_feasible_trials

    assert [t.number for t in _get_feasible_trials(trials[:3])] == [0]


def test_unconstrained_space_sets_no_constraints():
    space = parse_space({"search": {"sampler": "tpe"}})
    searcher = searcher_class()(space=space.suggest, metric=space.objective_names(), mode=space.objective_modes(), sampler=make_sampler(space, 0))
    searcher.suggest("a")
    searcher.on_trial_complete("a", {"val_accuracy": 0.9, "test_accuracy": 0.9, "trial_seconds": 1.0, "ebops": 100.0})
    assert searcher._ot_study.get_trials()[0].constraints == {}


def test_epoch_reports_without_the_objective_are_not_told_to_optuna():
    space = parse_space({"objectives": {"luts": "min"}, "search": {"sampler": "tpe"}})
    searcher = searcher_class()(space=space.suggest, metric="luts", mode="min", sampler=make_sampler(space, 0))
    searcher.suggest("a")
    searcher.on_trial_result("a", {"epoch": 1, "loss": 1.0, "val_accuracy": 0.5, "training_iteration": 1})  # no luts yet
    searcher.on_trial_result("a", {"epoch": 2, "luts": 900.0, "training_iteration": 2})
    searcher.on_trial_complete("a", {"luts": 800.0, "test_accuracy": 0.5, "trial_seconds": 1.0, "training_iteration": 3})
    trial = searcher._ot_study.get_trials()[0]
    assert trial.intermediate_values == {2: 900.0} and trial.values == [800.0]


def test_a_trial_stopped_before_its_final_report_is_pruned():
    space = parse_space({"search": {"sampler": "nsga2"}})
    searcher = searcher_class()(space=space.suggest, metric=space.objective_names(), mode=space.objective_modes(), sampler=make_sampler(space, 0))
    searcher.suggest("a")
    searcher.suggest("b")
    searcher.on_trial_complete("a", {"epoch": 3, "val_accuracy": 0.4, "ebops": 5000.0})  # an epoch report: stopped early
    searcher.on_trial_complete("b", {"epoch": 9, "val_accuracy": 0.9, "test_accuracy": 0.9, "trial_seconds": 1.0, "ebops": 9000.0})
    states = [t.state for t in searcher._ot_study.get_trials(deepcopy=False)]
    assert states == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.COMPLETE]


def test_start_points_are_suggested_first_and_the_rest_sampled():
    from hgq_automl.raytune import make_searcher

    space = parse_space(
        {
            "search": {"sampler": "nsga2", "start_points": [{"filters_1": 8, "beta_schedule": "ramp", "beta_final": 1e-3}, {"filters_1": 2}]},
            "parameters": {
                "filters_1": {"type": "int", "low": 2, "high": 8},
                "beta": {"type": "log_uniform", "low": 1e-7, "high": 1e-4},
                "beta_schedule": {"type": "choice", "values": ["constant", "ramp"]},
                "beta_final": {"type": "log_uniform", "low": 1e-5, "high": 1e-2},
            },
        }
    )
    searcher = make_searcher(space, seed=0)
    first, second, third = (searcher.suggest(t) for t in "abc")
    assert (first["filters_1"], first["beta_schedule"], first["beta_final"]) == (8, "ramp", 1e-3)
    assert 1e-7 <= first["beta"] <= 1e-4  # not given: sampled
    assert second["filters_1"] == 2
    assert 2 <= third["filters_1"] <= 8
    # told like any trial: Optuna learns from the start points' results
    searcher.on_trial_complete("a", {"val_accuracy": 0.9, "test_accuracy": 0.9, "trial_seconds": 1.0, "ebops": 100.0})
    assert searcher._ot_study.get_trials()[0].params["filters_1"] == 8
