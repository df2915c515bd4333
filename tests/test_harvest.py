"""Intra-trial harvesting: the non-dominated bookkeeping (pure), the space's `harvest:`
section, and a real trial that keeps, measures and saves its checkpoints."""

import json
import math

import numpy as np
import pytest

from hgq_automl.errors import SpaceError
from hgq_automl.harvest import Harvest
from hgq_automl.space import HarvestSpec, load_space, parse_space


def kept(h: Harvest) -> list[int]:
    return [p.epoch for p in h.points]


def test_keeps_only_non_dominated_points_sorted_by_ebops():
    h = Harvest(max_points=10)
    assert h.offer(1, 0.50, 900.0)
    assert h.offer(2, 0.70, 800.0)  # dominates epoch 1
    assert kept(h) == [2]
    assert h.offer(3, 0.60, 500.0)  # cheaper, less accurate: a trade-off
    assert not h.offer(4, 0.55, 600.0)  # dominated by epoch 3
    assert not h.offer(5, 0.60, 500.0)  # an exact tie: the earlier epoch stands
    assert not h.offer(6, math.nan, 100.0) and not h.offer(7, 0.9, math.inf)
    assert h.offer(8, 0.80, 800.0)  # dominates epoch 2 only
    assert kept(h) == [3, 8]
    assert [p.ebops for p in h.points] == [500.0, 800.0]


def test_over_the_cap_drops_the_point_that_loses_least_area():
    h = Harvest(max_points=3)
    # a front in (accuracy, log2 EBOPs): epoch 2 sits just above epoch 1 -> least exclusive area
    for epoch, acc, ebops in [(1, 0.50, 2**10), (2, 0.51, 2**11), (3, 0.80, 2**14), (4, 0.90, 2**16)]:
        h.offer(epoch, acc, ebops, payload=f"w{epoch}")
    assert kept(h) == [1, 3, 4]  # both ends always stay
    assert [p.payload for p in h.points] == ["w1", "w3", "w4"]
    # exclusive area of epoch 3 now: (0.80 - 0.50) x (16 - 14) = 0.6 -> it is kept over a
    # new point with less: (0.52 - 0.50) x (14 - 10.5) = 0.07
    assert not h.offer(5, 0.52, 2**10.5)
    assert kept(h) == [1, 3, 4]
    with pytest.raises(ValueError):
        Harvest(max_points=0)


def test_the_band_keeps_the_cap_for_the_accuracies_users_deploy_at():
    # a ramp's front: a long low-accuracy tail, then the top few points
    front = [(1, 0.50, 2**8), (2, 0.60, 2**9), (3, 0.70, 2**10), (4, 0.80, 2**11), (5, 0.95, 2**13), (6, 0.96, 2**14), (7, 0.97, 2**16)]
    even, banded = Harvest(max_points=5), Harvest(max_points=5, band=0.05)
    for epoch, acc, ebops in front:
        even.offer(epoch, acc, ebops)
        banded.offer(epoch, acc, ebops)
    # spread evenly, the cap keeps the tail's area and drops a top point; with the band the
    # tail's interior goes first, and the ends stay
    assert kept(even) == [1, 3, 4, 5, 7]
    assert kept(banded) == [1, 4, 5, 6, 7]
    # inside the band, the hypervolume rule decides
    top = Harvest(max_points=3, band=0.05)
    for epoch, acc, ebops in [(1, 0.95, 2**10), (2, 0.951, 2**11), (3, 0.96, 2**14), (4, 0.97, 2**16)]:
        top.offer(epoch, acc, ebops)
    assert kept(top) == [1, 3, 4]


def test_points_below_the_floor_are_never_kept():
    h = Harvest(max_points=3, min_quality=0.5)
    assert not h.offer(1, 0.11, 18.0)  # a collapsed model: cheapest of all, and not kept
    assert h.offer(2, 0.50, 2**10) and h.offer(3, 0.90, 2**14)
    assert not h.offer(4, 0.49, 2**9)
    assert kept(h) == [2, 3]  # the low-EBOPs end is the cheapest point above the floor


def test_space_harvest_section_ramps_beta_in_every_trial():
    import optuna

    space = parse_space({"harvest": {"every": 2, "max_points": 5}, "parameters": {"beta_final": {"type": "log_uniform", "low": 1e-4, "high": 1e-3}}})
    assert space.harvest == HarvestSpec(every=2, max_points=5, calibration_samples=2048, band=0.05)
    assert parse_space({"harvest": {"band": None}}).harvest.band is None
    assert parse_space({"harvest": {"band": 0.02}}).harvest == HarvestSpec(band=0.02)
    assert parse_space({"harvest": True}).harvest == HarvestSpec()
    assert parse_space({"harvest": False}).harvest is None
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    config = space.suggest(study.ask())
    assert 1e-4 <= config["beta_final"] <= 1e-3  # sampled although no beta_schedule is
    full = space.resolve(config)
    assert full["beta_schedule"] == "ramp" and full["beta_final"] == config["beta_final"]
    assert parse_space(space.to_dict(), "again").harvest == space.harvest


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"harvest": "yes"}, "harvest: must be true, false or a mapping"),
        ({"harvest": {"every": 0}}, "harvest.every: must be an integer >= 1; got 0"),
        ({"harvest": {"keep": 3}}, "harvest.keep: unknown key; allowed keys are every, max_points, calibration_samples, band"),
        ({"harvest": {"band": 5}}, "harvest.band: must be an accuracy difference in (0, 1] (0.05: five points), or null"),
        ({"harvest": {"band": True}}, "harvest.band: must be an accuracy difference in (0, 1]"),
        ({"harvest": True, "parameters": {"beta_schedule": {"type": "choice", "values": ["constant", "ramp"]}}}, "parameters.beta_schedule: harvest ramps beta"),
        ({"harvest": True, "parameters": {"beta_schedule": "constant"}}, "parameters.beta_schedule: harvest ramps beta"),
        ({"harvest": True, "parameters": {"pruning_schedule": "polynomial"}}, "harvest: cannot be combined with pruning"),
        ({"search": {"time_budget_s": 0}}, "search.time_budget_s: must be > 0 seconds"),
    ],
)
def test_bad_harvest_and_time_budget(raw, message):
    with pytest.raises(SpaceError) as info:
        parse_space(raw, "bad.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_harvest_flag_replaces_a_searched_schedule():
    raw = load_space("digits_cnn").to_dict()
    del raw["harvest"], raw["search"]["start_points"]  # theirs ramp: refused with a searched schedule
    raw["parameters"]["beta_schedule"] = {"type": "choice", "values": ["constant", "ramp"]}
    space = parse_space(raw)
    assert "beta_schedule" in space.parameters and space.harvest is None
    on = space.with_overrides(harvest=True, time_budget_s=60)
    assert on.harvest == HarvestSpec() and "beta_schedule" not in on.parameters
    assert on.search.time_budget_s == 60.0
    assert on.with_overrides(harvest=False).harvest is None
    with pytest.raises(SpaceError, match="cannot be combined with pruning"):
        load_space("digits_cnn_pruned").with_overrides(harvest=True)


def test_harvested_checkpoints_get_da4ml_estimates_only_when_the_space_uses_them():
    from hgq_automl.trial import harvest_needs_da4ml

    assert not harvest_needs_da4ml(parse_space({"harvest": True}))
    assert harvest_needs_da4ml(parse_space({"harvest": True, "objectives": {"val_accuracy": "max", "luts": "min"}}))
    assert harvest_needs_da4ml(parse_space({"harvest": True, "constraints": ["latency_ns <= 50"]}))
    assert not harvest_needs_da4ml(parse_space({"harvest": True, "constraints": ["dsps <= 4"]}))


def test_a_harvesting_trial_saves_honest_non_dominated_checkpoints(tmp_path):
    import keras

    from hgq_automl.data import load_dataset
    from hgq_automl.trial import accuracy, run_trial

    space = parse_space({
        "dataset": {"max_samples": 600},
        "harvest": {"max_points": 4},
        "parameters": {"filters_1": 3, "epochs": 12, "beta": 2e-6, "beta_final": 3e-3},
    })
    data = load_dataset(space.dataset)
    reports = []
    final, model = run_trial(space, {}, data, report=reports.append, seed=1, threads=2, harvest_dir=tmp_path)
    # beta ramps log-linearly over the 12 epochs
    assert reports[0]["beta"] == pytest.approx(2e-6) and reports[-1]["beta"] == pytest.approx(3e-3)
    folders = sorted(tmp_path.iterdir())
    assert final["harvest_points"] == len(folders) >= 1  # this seed keeps earlier epochs
    points = [json.loads((f / "metrics.json").read_text()) for f in folders]
    epochs = [int(p["harvest_epoch"]) for p in points]
    assert folders == [tmp_path / f"epoch_{e:04d}" for e in epochs] and all(1 <= e < 12 for e in epochs)
    for folder, point in zip(folders, points):
        # the logged numbers are the saved model's: reload it and measure again
        saved = keras.models.load_model(folder / "model.keras")
        assert accuracy(saved, data.x_test, data.y_test) == point["test_accuracy"]
        assert point["beta"] == pytest.approx(2e-6 * (3e-3 / 2e-6) ** ((point["harvest_epoch"] - 1) / 11))
        # the objectives (val_accuracy, ebops) need no da4ml: the cheap estimates only (the
        # search adds da4ml's to the points that make its front)
        assert point["ebops"] > 0 and point["params"] > 0 and "dsps" in point and "luts" not in point
    # no saved point dominates another (they were kept as a front)
    for a in points:
        for b in points:
            assert not (a["val_accuracy"] > b["val_accuracy"] and a["ebops"] < b["ebops"])
    # the returned model is the last epoch's, not the last harvested checkpoint's
    assert accuracy(model, data.x_val, data.y_val) == final["val_accuracy"]
    parts = ("setup_seconds", "train_seconds", "harvest_seconds", "estimate_seconds")
    assert all(final[p] > 0 for p in parts)
    assert sum(final[p] for p in parts) <= final["trial_seconds"]
    assert 0 < final["da4ml_seconds"] < final["estimate_seconds"]
    assert np.isfinite(final["val_accuracy"])


def test_a_harvesting_trial_keeps_no_checkpoint_below_the_floor(tmp_path):
    """The space's floor on the harvest's metric (here one no epoch reaches) keeps every
    checkpoint out; the trial's own model is still measured and returned."""
    from hgq_automl.data import load_dataset
    from hgq_automl.trial import run_trial

    space = parse_space({
        "dataset": {"max_samples": 300},
        "harvest": {"max_points": 4},
        "constraints": ["val_accuracy >= 1.01"],
        "parameters": {"filters_1": 2, "epochs": 4, "beta": 2e-6, "beta_final": 3e-3},
    })
    data = load_dataset(space.dataset)
    final, _ = run_trial(space, {}, data, report=lambda r: None, seed=1, threads=2, harvest_dir=tmp_path)
    assert final["harvest_points"] == 0 and not list(tmp_path.iterdir())
    assert 0 < final["val_accuracy"] <= 1


def test_a_deadline_ends_training_early_and_keeps_the_trial(tmp_path):
    import time

    from hgq_automl.data import load_dataset
    from hgq_automl.trial import run_trial

    space = parse_space({
        "dataset": {"max_samples": 600},
        "harvest": {"max_points": 4},
        "parameters": {"filters_1": 3, "epochs": 10000, "beta": 2e-6, "beta_final": 3e-3},
    })
    data = load_dataset(space.dataset)
    reports = []
    final, model = run_trial(space, {}, data, report=reports.append, seed=1, threads=2, harvest_dir=tmp_path, deadline=time.time() + 15)
    trained = int(final["epochs_trained"])
    # 15 s: the first epoch traces Keras' train step (up to ~8 s on a slow machine, which
    # the deadline does not take for an epoch's duration); the rest trains ~0.05 s epochs
    assert 3 <= trained < 10000 and [r["epoch"] for r in reports] == list(range(1, trained + 1))
    # measured like any trial; the ramp kept pace with the deadline: it rose every epoch and
    # its last epoch trained at (about) beta_final, not at a 10000-epoch ramp's start
    assert 0 < final["val_accuracy"] <= 1 and final["ebops"] > 0 and final["luts"] > 0
    betas = [r["beta"] for r in reports]
    assert betas == sorted(betas) and betas[0] == pytest.approx(2e-6) and 1e-3 < betas[-1] <= 3e-3
    harvested = [json.loads((f / "metrics.json").read_text()) for f in tmp_path.iterdir()]
    epochs = sorted(int(m["harvest_epoch"]) for m in harvested)
    assert final["harvest_points"] == len(epochs) and all(1 <= e < trained for e in epochs)
    # each harvested point carries the beta its epoch trained at
    assert all(m["beta"] == pytest.approx(betas[int(m["harvest_epoch"]) - 1]) for m in harvested)


def test_the_deadline_judges_the_first_epoch_without_its_tracing(monkeypatch):
    """A first epoch of 10 batches whose first batch traces for 8 s: its steady duration is
    ~1 s, so with the deadline 3.5 s after it training goes on, and stops at the epoch whose
    successor would end past the deadline."""
    from hgq_automl import callbacks

    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: clock[0])

    class Model:
        stop_training = False

    callback = callbacks.Deadline(deadline=12.5)
    callback.set_model(Model())
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for batch, t in enumerate([8.0] + [8.0 + 0.1 * i for i in range(1, 10)]):
        clock[0] = t
        callback.on_train_batch_end(batch)
    clock[0] = 9.0
    callback.on_epoch_end(0)
    assert not callback.model.stop_training  # judged 1 s, not 9 s
    ends = []
    for epoch in range(1, 10):
        callback.on_epoch_begin(epoch)
        for batch in range(10):
            clock[0] += 0.1
            callback.on_train_batch_end(batch)
        callback.on_epoch_end(epoch)
        ends.append(clock[0])
        if callback.model.stop_training:
            break
    # epochs end at 10, 11, 12: the next after 11 still ends before 12.5, the next after 12 would not
    assert ends == pytest.approx([10.0, 11.0, 12.0])


def test_the_compiled_harvest_check_gives_trace_minmax_numbers():
    import keras
    from hgq.utils import trace_minmax

    from hgq_automl.data import load_dataset
    from hgq_automl.models import build_model
    from hgq_automl.compiled import compiled_check
    from hgq_automl.trial import accuracy

    space = parse_space({"dataset": {"max_samples": 600}, "parameters": {"filters_1": 4, "beta": 1e-5}})
    data = load_dataset(space.dataset)
    keras.utils.set_random_seed(0)
    model = build_model(space.model, space.resolve({}), data.input_shape, data.n_classes)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    check = compiled_check(model, chunk=128)  # several chunks, the last one short (filled up)
    calibration = data.x_train[:300]
    for _ in range(2):  # after an epoch of training, twice: the compiled functions see the new weights
        model.fit(data.x_train, data.y_train, epochs=1, batch_size=32, verbose=0)
        ebops, val_accuracy = check(calibration, data.x_val, data.y_val)
        traced = model.get_weights()
        assert ebops == trace_minmax(model, calibration, batch_size=128) > 0
        assert val_accuracy == accuracy(model, data.x_val, data.y_val)
        # the same activation ranges as HGQ's own trace
        assert all(np.array_equal(a, b) for a, b in zip(traced, model.get_weights()))
