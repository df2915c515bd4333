"""Warm starts (`search.warm_start`): once trials have finished, new trials start from a
checkpoint on the front so far (a trial's model or a harvested epoch), inherit its model
parameters and fine-tune along a newly sampled beta ramp. The space's one-line errors, the
searcher's choice (no Ray), and a real search (Ray in a private network namespace, MLflow
SQLite): warm-started trials begin where their source ended, not from scratch."""

import pytest

from hgq_automl.errors import SpaceError
from hgq_automl.events import TrialRecord
from hgq_automl.space import parse_space

from .conftest import assert_one_line_error, logged_search, run_cli, tiny_space, write

PARAMS = {
    "filters_1": {"type": "int", "low": 2, "high": 8},
    "learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 1e-2},
    "beta": {"type": "log_uniform", "low": 1e-7, "high": 1e-5},
    "beta_final": {"type": "log_uniform", "low": 1e-4, "high": 1e-2},
}


@pytest.mark.parametrize(
    ("search", "key", "fragment"),
    [
        ({"warm_start": "yes"}, "search.warm_start", "must be true, false or a mapping (share)"),
        ({"warm_start": {"share": 0}}, "search.warm_start.share", "must be in (0, 1]"),
        ({"warm_start": {"share": 1.5}}, "search.warm_start.share", "must be in (0, 1]"),
        ({"warm_start": {"from": "front"}}, "search.warm_start.from", "unknown key; allowed keys are share"),
        ({"warm_start": True, "sampler": "grid"}, "search.warm_start", "the grid sampler visits only its grid"),
    ],
)
def test_bad_warm_start_settings_are_one_line_space_errors(search, key, fragment):
    params = {"filters_1": {"type": "choice", "values": [2, 4]}}
    with pytest.raises(SpaceError) as err:
        parse_space({"search": search, "parameters": params})
    assert f"{key}: " in str(err.value) and fragment in str(err.value) and "\n" not in str(err.value)


def test_warm_start_settings_parse_and_are_logged():
    assert parse_space({"search": {"warm_start": True}}).search.warm_start.share == 0.5
    space = parse_space({"search": {"warm_start": {"share": "0.75"}}})
    assert space.search.warm_start.share == 0.75
    assert space.to_dict()["search"]["warm_start"] == {"share": 0.75}
    assert "warm_start" not in parse_space({"search": {"warm_start": False}}).to_dict()["search"]


def test_the_searcher_warm_starts_from_the_front_inheriting_the_model_parameters(tmp_path):
    from hgq_automl.raytune import _WARM_POOL, make_searcher

    space = parse_space({"search": {"sampler": "random", "warm_start": {"share": 1.0}, "start_points": [{"filters_1": 3}]}, "harvest": True, "parameters": PARAMS})
    searcher = make_searcher(space, seed=0)
    _WARM_POOL.clear()
    try:
        first = searcher.suggest("a")  # nothing finished: sampled (the start point)
        assert first["filters_1"] == 3 and "warm_start_from" not in first
        # a finished trial and its harvested epochs: the epoch-3 point is dominated, never picked
        trial = TrialRecord("a", dict(first), {"val_accuracy": 0.9, "ebops": 900.0}, model_dir=tmp_path / "a")
        trial.harvested = [
            TrialRecord("a-e5", dict(first), {"val_accuracy": 0.8, "ebops": 300.0}, model_dir=tmp_path / "a" / "e5", harvested_from="a"),
            TrialRecord("a-e3", dict(first), {"val_accuracy": 0.7, "ebops": 400.0}, model_dir=tmp_path / "a" / "e3", harvested_from="a"),
        ]
        _WARM_POOL.append(trial)
        picked = set()
        for i in range(12):
            config = searcher.suggest(f"t{i}")
            picked.add(config["warm_start_from"])
            assert config["warm_start_model"] == str({"a": tmp_path / "a", "a-e5": tmp_path / "a" / "e5"}[config["warm_start_from"]] / "model.keras")
            assert config["filters_1"] == 3  # inherited
            assert (config["beta"], config["beta_final"], config["learning_rate"]) != (first["beta"], first["beta_final"], first["learning_rate"])  # sampled
        assert picked == {"a", "a-e5"}
        # Optuna knows the inherited value as the trial's own
        assert searcher._ot_study.get_trials()[-1].params["filters_1"] == 3
    finally:
        _WARM_POOL.clear()


def test_without_warm_start_no_trial_is_warm_started(tmp_path):
    from hgq_automl.raytune import _WARM_POOL, make_searcher

    searcher = make_searcher(parse_space({"search": {"sampler": "random"}, "harvest": True, "parameters": PARAMS}), seed=0)
    _WARM_POOL.append(TrialRecord("a", {"filters_1": 3}, {"val_accuracy": 0.9, "ebops": 900.0}, model_dir=tmp_path))
    try:
        assert not any("warm_start_from" in searcher.suggest(f"t{i}") for i in range(5))
    finally:
        _WARM_POOL.clear()


SPACE = tiny_space(
    "warm",
    trials=2,
    concurrency=1,
    epochs=4,
    extra="harvest: {max_points: 2}\n",
    params=(
        "  filters_1: {type: int, low: 2, high: 4}\n"
        "  learning_rate: 1.0e-2\n"
        "  batch_size: 16\n"
        "  beta: {type: log_uniform, low: 1.0e-7, high: 1.0e-6}\n"
        "  beta_final: {type: log_uniform, low: 1.0e-5, high: 1.0e-4}\n"
    ),
).replace("sampler: random}", "sampler: random, warm_start: {share: 1.0}}").replace("max_samples: 300", "max_samples: 600")


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    return logged_search(tmp_path_factory, "warm", SPACE, "--seed", "1")


def test_warm_started_trials_begin_where_their_source_ended(search):
    folder, result, client, runs = search
    trials = sorted((r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"), key=lambda r: r.info.start_time)
    points = {r.data.tags["hgq_automl.trial_id"]: r for r in runs if r.data.tags.get("hgq_automl.role") in ("trial", "harvest")}
    assert len(trials) == 2 and all(r.info.status == "FINISHED" for r in runs)
    fresh, *warm = trials
    assert "warm_start_from" not in fresh.data.params

    def first_epoch(run):
        return next(m.value for m in client.get_metric_history(run.info.run_id, "val_accuracy") if m.step == 1)

    for i, run in enumerate(warm):
        source = points[run.data.params["warm_start_from"]]  # a point logged before this trial started
        assert source.info.end_time <= run.info.start_time or source.data.tags.get("hgq_automl.role") == "harvest"
        assert source.data.tags["hgq_automl.trial_id"].split("-e")[0] in {t.data.tags["hgq_automl.trial_id"] for t in trials[: i + 1]}
        assert run.data.params["warm_start_model"].endswith("model.keras")
        assert run.data.params["filters_1"] == source.data.params["filters_1"]  # inherited
        assert run.data.params["beta"] != source.data.params["beta"]  # sampled again
        # it continues from the source's weights: its first epoch is about as accurate as the
        # source, far above a fresh model's first epoch
        learnt = source.data.metrics["val_accuracy"]
        assert learnt >= first_epoch(fresh) + 0.2  # (the source learnt enough to tell)
        assert abs(first_epoch(run) - learnt) < abs(first_epoch(run) - first_epoch(fresh))
        assert first_epoch(run) >= first_epoch(fresh) + 0.15
        # and it harvests like any trial
        assert run.data.metrics["harvest_points"] == sum(
            p.data.tags.get("mlflow.parentRunId") == run.info.run_id for p in points.values() if p.data.tags.get("hgq_automl.role") == "harvest"
        )


def test_a_grid_sampler_from_the_command_line_is_refused_with_warm_start(tmp_path):
    write(tmp_path / "w.yaml", tiny_space("w", trials=2, params="  filters_1: {type: choice, values: [2, 4]}\n").replace("sampler: random}", "sampler: random, warm_start: true}"))
    result = run_cli(["search", "--space", "w.yaml", "--sampler", "grid", "--trials", "2"], cwd=tmp_path)
    assert_one_line_error(result, "search.warm_start", "the grid sampler visits only its grid")


def test_the_pool_takes_completed_trials_only(tmp_path):
    from hgq_automl.raytune import _WARM_POOL, WarmPool

    _WARM_POOL.clear()
    pool = WarmPool()
    try:
        pool.trial_finished(TrialRecord("ok", {}, {"val_accuracy": 0.9}, model_dir=tmp_path))
        pool.trial_finished(TrialRecord("failed", {}, status="failed", error="boom"))
        pool.trial_finished(TrialRecord("stopped", {}, {"val_accuracy": 0.5}, status="stopped"))
        assert [r.trial_id for r in _WARM_POOL] == ["ok"]
    finally:
        _WARM_POOL.clear()
