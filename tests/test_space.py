from pathlib import Path

import optuna
import yaml
import pytest

from hgq_automl.errors import SpaceError
from hgq_automl.space.geometry import quantized_layers
from hgq_automl.samplers import make_sampler
from hgq_automl.space import builtin_spaces, load_space, parse_space

from .conftest import SHARED_MNIST, write


def test_builtin_spaces_load():
    assert {"digits_cnn", "mnist_cnn", "tabular_mlp"} <= set(builtin_spaces())
    space = load_space("digits_cnn")
    assert space.name == "digits_cnn"
    # the default: HGQ's recipe and a ramp over the low-EBOPs end, side by side, paced by the budget
    assert space.search.trials == space.search.concurrency == 2 and space.search.sampler == "nsga2"
    assert [(p["beta"], p["beta_final"], p["filters_1"]) for p in space.search.start_points] == [(1e-7, 1e-3, 8), (1e-5, 3e-3, 8)]
    assert space.search.time_budget_s == 135 and space.harvest is not None
    assert space.objectives == (("val_accuracy", "max"), ("ebops", "min"))
    assert quantized_layers(space.model) == ["conv1", "output"]
    assert space.parameters["beta"].kind == "log_uniform"


def test_load_by_path_is_the_same_as_by_name():
    repo = Path(__file__).resolve().parents[1]
    assert load_space(repo / "search_spaces" / "digits_cnn.yaml").to_dict() == load_space("digits_cnn").to_dict()


def test_mnist_space_needs_data_and_accepts_it():
    with pytest.raises(SpaceError, match="search_spaces/mnist_cnn.yaml: dataset.path: the mnist dataset needs a data file; give dataset.path or --data"):
        load_space("mnist_cnn")
    with pytest.raises(SpaceError, match="dataset.path: no such file or directory: /nonexistent"):
        load_space("mnist_cnn", data="/nonexistent")
    space = load_space("mnist_cnn", data=str(SHARED_MNIST))
    assert space.dataset.path == str(SHARED_MNIST)


def test_yaml_one_point_one_numbers_are_read():
    space = parse_space({"parameters": {"beta": {"type": "log_uniform", "low": "1e-7", "high": "1e-4"}}})
    assert space.parameters["beta"].low == pytest.approx(1e-7)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"colour": 1}, "colour: unknown key"),
        ({"dataset": {"name": "cifar"}}, "dataset.name: unknown dataset 'cifar'"),
        ({"dataset": {"name": "tabular", "path": "/nonexistent/jets.csv"}}, "dataset.path: no such file or directory: /nonexistent/jets.csv"),
        ({"parameters": {"gamma": 1}}, "parameters.gamma: unknown parameter; known parameters are"),
        ({"parameters": {"filters_2": 4}}, "parameters.filters_2: unknown parameter: this model has no such layer"),
        ({"parameters": {"beta": {"type": "log_uniform", "low": 1e-3, "high": 1e-5}}}, "parameters.beta: empty or inverted range: low (0.001) must be < high (1e-05)"),
        ({"parameters": {"beta": {"type": "uniform", "low": 1e-5, "high": 1e-5}}}, "parameters.beta: empty or inverted range"),
        ({"parameters": {"beta": {"type": "log_uniform", "low": -1, "high": 1}}}, "parameters.beta.low: must be >= 0; got -1"),
        ({"parameters": {"batch_size": {"type": "log_uniform", "low": 8, "high": 64}}}, "batch_size is an integer: use type int or choice"),
        ({"parameters": {"epochs": "ten"}}, "parameters.epochs: must be a number; got 'ten'"),
        ({"parameters": {"epochs": 2.5}}, "parameters.epochs: must be an integer; got 2.5"),
        ({"parameters": {"beta_schedule": "cosine"}}, "parameters.beta_schedule: must be one of constant, ramp; got 'cosine'"),
        ({"parameters": {"reuse_factor": {"type": "choice", "values": []}}}, "parameters.reuse_factor.values: must be a non-empty list"),
        ({"parameters": {"learning_rate": {"type": "normal", "low": 1, "high": 2}}}, "parameters.learning_rate.type: must be one of"),
        ({"objectives": {"energy": "min"}}, "objectives.energy: unknown metric"),
        ({"objectives": {"ebops": "lowest"}}, "objectives.ebops: must be max or min"),
        ({"search": {"sampler": "cmaes"}}, "search.sampler: unknown sampler 'cmaes'"),
        ({"search": {"trials": 0}}, "search.trials: must be an integer >= 1"),
        ({"model": {"family": "transformer"}}, "model.family: unknown model family"),
        ({"model": {"input_shape": [8, 8], "conv_layers": 3}}, "model: conv3 gets an input smaller than its 3x3 kernel"),
        ({"model": {"family": "mlp", "input_shape": [16], "conv_layers": 1}}, "model.conv_layers: only applies to the cnn family"),
        ({"dataset": {"val_fraction": 0.6, "test_fraction": 0.5}}, "val_fraction + test_fraction must leave data"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_invalid_spaces_name_file_key_and_problem(raw, message):
    with pytest.raises(SpaceError) as info:
        parse_space(raw, "bad.yaml")
    text = str(info.value)
    assert text.startswith("bad.yaml: ")
    assert message in text
    assert "\n" not in text


def test_malformed_yaml_and_missing_file(tmp_path):
    bad = write(tmp_path / "broken.yaml", "parameters:\n  beta: {type: log_uniform, low: 1\n")
    with pytest.raises(SpaceError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_space(bad)
    with pytest.raises(SpaceError, match="no such search-space file"):
        load_space(tmp_path / "absent.yaml")
    with pytest.raises(SpaceError, match="no such search space; built-in ones are diabetes_mlp, digits_builder, digits_cnn"):
        load_space("no_such_space")


def _searched_schedule():
    """digits_cnn searched the old way: 12 trials of 50 epochs, no harvesting, a searched
    beta_schedule (so no start points: theirs ramp)."""
    raw = load_space("digits_cnn").to_dict()
    del raw["harvest"], raw["search"]["start_points"]
    raw["search"]["trials"], raw["parameters"]["epochs"] = 12, 50
    raw["parameters"]["beta_schedule"] = {"type": "choice", "values": ["constant", "ramp"]}
    return parse_space(raw)


def test_the_family_spaces_harvest_and_without_harvesting_still_ramp():
    for name in ("digits_cnn", "mnist_cnn", "tabular_mlp"):
        raw = yaml.safe_load((Path(__file__).parents[1] / "search_spaces" / f"{name}.yaml").read_text())
        assert raw["harvest"] is True and "beta_schedule" not in raw["parameters"] and "beta_final" in raw["parameters"]
    space = load_space("digits_cnn").with_overrides(harvest=False)
    # beta_final stays meaningful: each trial ramps to it and reports its last epoch
    assert space.harvest is None and space.first_params()["beta_schedule"] == "ramp" and "beta_final" in space.first_params()


def test_suggest_samples_inside_the_ranges_and_ramp_is_conditional():
    space = _searched_schedule()
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=3))
    schedules = set()
    for _ in range(30):
        config = space.suggest(study.ask())
        assert 1e-7 <= config["beta"] <= 1e-4
        assert 2 <= config["filters_1"] <= 8 and isinstance(config["filters_1"], int)
        assert config["reuse_factor"] in (1, 2, 4)
        assert config["epochs"] == 50
        assert ("beta_final" in config) == (config["beta_schedule"] == "ramp")
        schedules.add(config["beta_schedule"])
    assert schedules == {"constant", "ramp"}


def test_resolve_fills_defaults_and_drops_unused_beta_final():
    space = _searched_schedule()
    full = space.resolve({"beta": 1e-5, "beta_schedule": "constant", "filters_1": 3})
    assert full["filters_1"] == 3 and full["learning_rate"] == 3e-3 and full["beta_scale_conv1"] == 1.0
    assert "beta_final" not in full
    assert space.resolve({"beta_schedule": "ramp", "beta_final": 2e-4})["beta_final"] == 2e-4


@pytest.mark.parametrize("sampler", ["nsga2", "tpe", "random"])
def test_seed_makes_sampled_configs_reproducible(sampler):
    space = load_space("digits_cnn").with_overrides(sampler=sampler)

    def configs(seed):
        study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(space, seed))
        return [space.suggest(study.ask()) for _ in range(6)]

    assert configs(7) == configs(7)
    assert configs(7) != configs(8)


def test_command_line_overrides_are_validated():
    space = load_space("digits_cnn").with_overrides(trials=3, concurrency=1, sampler="tpe", seed=5)
    assert (space.search.trials, space.search.concurrency, space.search.sampler, space.search.seed) == (3, 1, "tpe", 5)
    with pytest.raises(SpaceError, match="search.trials: must be an integer >= 1"):
        load_space("digits_cnn").with_overrides(trials=0)


def test_hardware_section_and_constraints():
    space = parse_space(
        {
            "hardware": {"synthesis": "rtl", "part": "xc7a100t-csg324-1", "clock_period_ns": 4, "sim_samples": 50},
            "objectives": {"val_accuracy": "max", "synth_luts": "min", "latency_ns": "min"},
            "constraints": ["dsps <= 0", "luts <= 20000"],
        }
    )
    assert space.hardware.synthesis == "rtl" and space.hardware.family == "xc7" and space.hardware.clock_period_ns == 4.0
    assert [str(c) for c in space.constraints] == ["dsps <= 0", "luts <= 20000"]
    d = space.to_dict()
    assert d["hardware"]["part"] == "xc7a100t-csg324-1" and d["constraints"] == ["dsps <= 0", "luts <= 20000"]
    assert parse_space(d).to_dict() == d  # what a search logs loads back (export relies on it)
    default = parse_space({})
    assert default.hardware.synthesis == "none" and default.hardware.part == "xcvu9p-flga2104-2L-e" and default.constraints == ()
    assert (default.hardware.io_type, default.hardware.hls_config) == ("io_parallel", None)


def test_hardware_io_type_and_hls_config_round_trip():
    layers = {"LayerName": {"d1": {"ReuseFactor": 2, "Strategy": "Resource"}}, "Model": {"Precision": "fixed<16,6>"}}
    space = parse_space({"hardware": {"synthesis": "csim", "io_type": "io_parallel", "backend": "Vivado", "hls_config": layers}})
    assert (space.hardware.io_type, space.hardware.hls_config, space.hardware.hls_backend) == ("io_parallel", layers, "Vivado")
    d = space.to_dict()
    assert d["hardware"]["hls_config"] == layers and parse_space(d).to_dict() == d


@pytest.mark.parametrize(
    "raw, key, problem",
    [
        ({"hardware": {"part": "xcvu9p"}}, "hardware.part", "unknown FPGA part 'xcvu9p'"),
        ({"hardware": {"clock_period_ns": 0}}, "hardware.clock_period_ns", "must be > 0"),
        ({"hardware": {"backend": "Quartus"}}, "hardware.backend", "must be one of Vitis, Vivado"),
        ({"hardware": {"fpga": "x"}}, "hardware.fpga", "unknown key"),
        ({"hardware": {"io_type": "io_serial"}}, "hardware.io_type", "must be one of io_parallel, io_stream; got 'io_serial'"),
        ({"hardware": {"io_type": "io_stream"}}, "hardware.io_type", "io_stream needs homogeneous activation quantizers (hls4ml 1.3); the built-in cnn models"),
        ({"hardware": {"hls_config": {"Layers": {}}}}, "hardware.hls_config", "unknown key 'Layers'; an hls4ml config has Model, LayerName, LayerType"),
        ({"hardware": {"hls_config": {"LayerName": {"dense_1": 4}}}}, "hardware.hls_config", "LayerName.dense_1 must be a mapping"),
        ({"hardware": {"hls_config": {"Model": {"ReuseFactor": 4}}}}, "hardware.hls_config.Model.ReuseFactor", "set parameters.reuse_factor"),
        ({"constraints": "luts <= 5"}, None, None),  # one string is accepted
        ({"constraints": {"luts": 5}}, "constraints", "must be a list"),
        ({"constraints": ["area <= 5"]}, "constraints[0]", "unknown metric 'area'"),
        ({"constraints": ["bit_mismatches <= 0"]}, "constraints[0]", "bit_mismatches needs hardware.synthesis csim, rtl, vivado, vitis; the synthesis step is none"),
        ({"objectives": {"synth_carry": "min"}, "hardware": {"synthesis": "vitis"}}, "objectives.synth_carry", "synth_carry needs hardware.synthesis rtl"),
        ({"parameters": {"strategy": "dataflow"}}, "parameters.strategy", "must be one of latency, resource, distributed_arithmetic"),
    ],
)
def test_bad_hardware_and_constraints(raw, key, problem):
    if key is None:
        assert len(parse_space(raw).constraints) == 1
        return
    with pytest.raises(SpaceError) as err:
        parse_space(raw, "s.yaml")
    assert err.value.key == key and problem in err.value.problem


def test_command_line_overrides_of_synthesis_and_part():
    space = parse_space({"objectives": {"val_accuracy": "max", "synth_luts": "min"}, "hardware": {"synthesis": "rtl"}}, "s.yaml")
    assert space.with_overrides(part="xczu9eg-ffvb1156-2-e").hardware.family == "xcup"
    with pytest.raises(SpaceError, match=r"s.yaml \(command line\): objectives.synth_luts: synth_luts needs"):
        space.with_overrides(synthesis="csim")
    with pytest.raises(SpaceError, match="hardware.part: unknown FPGA part"):
        space.with_overrides(part="nope")
    assert parse_space({}).with_overrides(synthesis="csim").hardware.synthesis == "csim"


def test_shipped_rtl_space_loads():
    space = load_space(Path(__file__).resolve().parents[1] / "search_spaces" / "digits_cnn_rtl.yaml")
    assert space.hardware.synthesis == "rtl" and space.objective_names() == ["val_accuracy", "synth_luts"]
    assert [str(c) for c in space.constraints] == ["synth_dsps <= 0", "bit_mismatches <= 0"]
    # the rtl step builds da4ml's design: nothing of hls4ml's (strategy, its dsps rule) is searched
    assert "strategy" not in space.to_dict()["parameters"]


def test_grid_sampler_enumerates_choices_and_refuses_ranges():
    space = parse_space({
        "search": {"sampler": "grid", "trials": 8},
        "parameters": {"beta": {"type": "choice", "values": [1e-6, 1e-5, 1e-4]}, "filters_1": {"type": "choice", "values": [2, 4]}, "epochs": 3},
    })
    assert space.grid() == {"beta": [1e-6, 1e-5, 1e-4], "filters_1": [2, 4]}
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(space, 0))
    seen = []
    for _ in range(8):  # past the 6 grid points: Ray Tune tells results outside optimize()
        trial = study.ask()
        config = space.suggest(trial)
        seen.append((config["beta"], config["filters_1"]))
        study.tell(trial, [0.5, 1.0])
    assert len(set(seen[:6])) == 6 and set(seen[6:]) <= set(seen[:6])
    with pytest.raises(SpaceError, match="parameters.beta: search.sampler grid needs every searched parameter as type choice"):
        parse_space({"search": {"sampler": "grid"}, "parameters": {"beta": {"type": "log_uniform", "low": 1e-6, "high": 1e-4}}})
    with pytest.raises(SpaceError, match="sampler grid needs"):
        load_space("digits_cnn").with_overrides(sampler="grid")


def _with_points(points, **search):
    return {
        "search": {"sampler": "tpe", **search, "start_points": points},
        "parameters": {
            "beta": {"type": "log_uniform", "low": "1e-7", "high": "1e-4"},
            "beta_schedule": {"type": "choice", "values": ["constant", "ramp"]},
            "beta_final": {"type": "log_uniform", "low": 1e-5, "high": 1e-2},
            "filters_1": {"type": "int", "low": 2, "high": 8, "step": 2},
            "epochs": 10,
        },
    }


def test_start_points_are_checked_and_converted_to_the_parameters_types():
    space = parse_space(_with_points([{"beta": "1e-7", "beta_schedule": "ramp", "beta_final": 1e-3, "filters_1": 8.0}, {"filters_1": 2}]))
    assert space.search.start_points == ({"beta": 1e-7, "beta_schedule": "ramp", "beta_final": 1e-3, "filters_1": 8}, {"filters_1": 2})
    assert isinstance(space.search.start_points[0]["filters_1"], int)
    # logged with the space, as YAML-able plain data, and read back the same
    assert space.to_dict()["search"]["start_points"][0] == {"beta": 1e-7, "beta_schedule": "ramp", "beta_final": 1e-3, "filters_1": 8}
    assert parse_space(space.to_dict()).search.start_points == space.search.start_points
    assert "start_points" not in parse_space({}).to_dict()["search"]
    # the command line's overrides keep them (and check them again)
    assert parse_space({}).with_overrides(trials=3).search.start_points == ()
    assert load_space("digits_cnn").with_overrides(trials=3, harvest=False).search.start_points == load_space("digits_cnn").search.start_points
    assert space.with_overrides(trials=3, sampler="random").search.start_points == space.search.start_points


@pytest.mark.parametrize(
    "points, search, message",
    [
        ({"beta": 1e-7}, {}, "search.start_points: must be a list of mappings of parameter: value"),
        ([{}], {}, "search.start_points: must be a list of mappings"),
        ([{"gamma": 1}], {}, "search.start_points[0].gamma: not a parameter of this space; a start point sets searched parameters (beta, beta_schedule, beta_final, filters_1)"),
        ([{"filters_1": 4}, {"epochs": 5}], {}, "search.start_points[1].epochs: fixed in parameters"),
        ([{"beta": 1e-3}], {}, "search.start_points[0].beta: outside the searched range [1e-07, 0.0001]; got 0.001"),
        ([{"filters_1": 5}], {}, "search.start_points[0].filters_1: not on the range's step (2 + k x 2); got 5"),
        ([{"filters_1": "eight"}], {}, "search.start_points[0].filters_1: must be a number; got 'eight'"),
        ([{"beta_schedule": "cosine"}], {}, "search.start_points[0].beta_schedule: must be one of the choices ['constant', 'ramp']; got 'cosine'"),
        ([{"beta_schedule": "constant", "beta_final": 1e-3}], {}, "search.start_points[0].beta_final: not used by this point's trial: beta_final needs beta_schedule: ramp in the point (or harvest)"),
        ([{"filters_1": 4}], {"sampler": "grid"}, "search.start_points: the grid sampler visits only its grid"),
    ],
)
def test_bad_start_points_name_the_point_and_the_problem(points, search, message):
    raw = _with_points(points, **search)
    if search.get("sampler") == "grid":
        raw["parameters"] = {"filters_1": {"type": "choice", "values": [2, 4]}}
    with pytest.raises(SpaceError) as info:
        parse_space(raw, "bad.yaml")
    text = str(info.value)
    assert text.startswith("bad.yaml: ") and message in text and "\n" not in text


def test_start_points_checked_again_when_harvest_is_switched_off():
    raw = _with_points([{"beta_final": 1e-3}])
    raw["parameters"].pop("beta_schedule")
    raw["harvest"] = True  # harvesting ramps every trial: beta_final is used
    space = parse_space(raw)
    assert space.search.start_points == ({"beta_final": 1e-3},)
    # without harvesting the trials still ramp (beta_schedule fixed to ramp): the point's beta_final stays used
    off = space.with_overrides(harvest=False)
    assert off.search.start_points == ({"beta_final": 1e-3},) and off.parameters["beta_schedule"].value == "ramp"
    # --harvest on a space whose point ramps: the point's schedule goes with the searched one
    ramped = parse_space(_with_points([{"beta_schedule": "ramp", "beta_final": 1e-3}])).with_overrides(harvest=True)
    assert ramped.search.start_points == ({"beta_final": 1e-3},) and "beta_schedule" not in ramped.parameters
    with pytest.raises(SpaceError, match=r"start_points\[0\].beta_schedule: harvest ramps beta in every trial; got 'constant'"):
        parse_space(_with_points([{"beta_schedule": "constant"}])).with_overrides(harvest=True)
