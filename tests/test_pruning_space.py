"""Pruning as search-space dimensions: validation at load time, conditional sampling, resolve."""

import optuna
import pytest

from hgq_automl.errors import SpaceError
from hgq_automl.space import PRUNING_PARAMS, load_space, parse_space

from .conftest import REPO, run_cli, write


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"final_sparsity": 1.0}, "parameters.final_sparsity: must be in [0, 1); got 1.0"),
        ({"final_sparsity": -0.1}, "parameters.final_sparsity: must be >= 0; got -0.1"),
        ({"final_sparsity": {"type": "uniform", "low": 0.5, "high": 1.2}}, "parameters.final_sparsity.high: must be in [0, 1); got 1.2"),
        ({"pruning_steps": 0}, "parameters.pruning_steps: must be >= 1; got 0"),
        ({"pruning_steps": {"type": "int", "low": 0, "high": 4}}, "parameters.pruning_steps.low: must be >= 1; got 0"),
        ({"pruning_objective": "uram"}, "parameters.pruning_objective: must be one of params, flops, dsps, bram, ebops; got 'uram'"),
        ({"pruning_structure": {"type": "choice", "values": ["unstructured", "block"]}}, "parameters.pruning_structure.values: must be one of unstructured, structured, pattern; got 'block'"),
        ({"pruning_schedule": "cosine"}, "parameters.pruning_schedule: must be one of none, constant, polynomial, binary; got 'cosine'"),
        ({"pruning_importance": "l2"}, "parameters.pruning_importance: must be one of magnitude, saliency; got 'l2'"),
        ({"pruning_rtol": 1.5}, "parameters.pruning_rtol: must be <= 1; got 1.5"),
        ({"pruning_epochs": 0}, "parameters.pruning_epochs: must be >= 1; got 0"),
    ],
)
def test_bad_pruning_parameters_are_one_line_load_errors(parameters, message):
    with pytest.raises(SpaceError) as info:
        parse_space({"parameters": parameters}, "bad.yaml")
    assert str(info.value) == f"bad.yaml: {message}"


def test_cli_reports_a_bad_schedule_in_one_line(tmp_path):
    write(tmp_path / "bad.yaml", "parameters:\n  pruning_schedule: polynomial\n  final_sparsity: 1.5\n")
    result = run_cli(["search", "--space", "bad.yaml"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml: parameters.final_sparsity: must be in [0, 1); got 1.5" in lines[0]


def test_shipped_pruned_space_samples_pruning_only_when_scheduled():
    # by path: with this checkout on PYTHONPATH, built-in names may resolve to an installed copy
    space = load_space(REPO / "search_spaces" / "digits_cnn_pruned.yaml")
    assert {"pruning_schedule", "final_sparsity", "pruning_structure", "pruning_objective"} <= set(space.parameters)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        config = space.suggest(study.ask())
        params = space.resolve(config)
        seen.add(config["pruning_schedule"])
        if config["pruning_schedule"] == "none":
            assert not set(config) & (set(PRUNING_PARAMS) - {"pruning_schedule"})
            assert not set(params) & (set(PRUNING_PARAMS) - {"pruning_schedule"})
        else:
            assert 0.3 <= params["final_sparsity"] <= 0.9
            assert params["pruning_structure"] in ("unstructured", "structured", "pattern")
            assert params["pruning_steps"] == 4 and params["pruning_rtol"] == 0.98
    assert seen == {"none", "polynomial", "binary"}


def test_defaults_do_not_prune():
    params = parse_space({}).resolve({})
    assert params["pruning_schedule"] == "none" and "final_sparsity" not in params
