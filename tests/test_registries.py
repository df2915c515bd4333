"""One owner per closed set of names: each vocabulary's names and the table that acts on
them agree, so that a name added to the vocabulary (and so accepted by the space parser,
the CLI's choices and the docs) cannot be missing from what runs it, and the other way."""

from hgq_automl.metrics import SYNTHESIS_STEPS
from hgq_automl.space.vocabulary import SAMPLERS


def test_every_sampler_name_has_a_factory_and_every_factory_a_name():
    from hgq_automl.samplers import _SAMPLERS

    assert tuple(_SAMPLERS) == SAMPLERS


def test_every_synthesis_step_name_has_a_step_and_every_step_a_name():
    from hgq_automl.hardware.synthesis import STEPS

    assert tuple(STEPS) == SYNTHESIS_STEPS


def test_each_sampler_is_what_its_name_says(tmp_path):
    import optuna

    from hgq_automl.samplers import GridSampler, make_sampler
    from hgq_automl.space import parse_space

    expected = {"nsga2": optuna.samplers.NSGAIISampler, "tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler, "grid": GridSampler}
    for name in SAMPLERS:
        space = parse_space({
            "name": "s", "dataset": {"name": "digits"}, "model": {"family": "cnn", "input_shape": [8, 8], "conv_layers": 1},
            "search": {"trials": 4, "sampler": name}, "parameters": {"filters_1": {"type": "choice", "values": [2, 4]}},
        })
        assert type(make_sampler(space, 0)) is expected[name]


def test_the_none_step_measures_nothing_and_writes_nothing(tmp_path):
    from hgq_automl.hardware.synthesis import STEPS

    assert STEPS["none"](None, None, {}, None, tmp_path) == {} and list(tmp_path.iterdir()) == []
