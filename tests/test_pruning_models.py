"""Pruning real HGQ2 models: masks through training and save/load, the loop, conversion, the trial."""

import numpy as np
import pytest

from hgq_automl.data import load_dataset
from hgq_automl.metrics import LOGGED_METRICS, NOTE_PREFIX, PRUNING_METRICS
from hgq_automl.pruning import (
    PruningConfig,
    apply_masks,
    compute_masks,
    current_masks,
    layer_sparsity,
    masks_from_zeros,
    prune,
    total_sparsity,
)
from hgq_automl.space import parse_space
from hgq_automl.trial import run_trial


def _qkernel(layer):
    from keras import ops

    return np.asarray(ops.convert_to_numpy(layer.qkernel))


def _bits(layer):
    return np.asarray(layer.kq.quantizer._b.numpy())


@pytest.fixture(scope="module")
def trained():
    """A digits CNN with a hidden dense layer (conv1, dense1, output), 3 epochs on 400 samples
    (learning rate 0.01: well above chance, so that pruning 95 % of it shows)."""
    space = parse_space(
        {"dataset": {"max_samples": 400}, "model": {"dense_layers": 1}, "parameters": {"filters_1": 4, "units_1": 8, "epochs": 3, "beta": 1e-6, "learning_rate": 0.01}}
    )
    data = load_dataset(space.dataset)
    _, model = run_trial(space, {}, data, seed=0, threads=1)
    return space, data, model, model.get_weights()


@pytest.fixture
def model(trained):
    from hgq_automl.pruning import clear_masks

    _, _, model, weights = trained
    clear_masks(model)
    model.set_weights(weights)
    return model


def _fit(model, data, epochs=2):
    import keras

    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)


def test_masks_zero_value_and_bits_and_survive_training_and_save_load(trained, model, tmp_path):
    import keras

    _, data, _, _ = trained
    masks = compute_masks(model, PruningConfig(objective="params"), 0.6)
    apply_masks(model, masks)
    _fit(model, data)  # Adam with lr 0.01 would move every weight that is not held at zero
    for layer in (model.get_layer(n) for n in ("conv1", "dense1", "output")):
        pruned = masks[layer.name] == 0
        assert np.all(_qkernel(layer)[pruned] == 0) and np.all(_bits(layer)[pruned] == 0)
        assert np.count_nonzero(_qkernel(layer)[~pruned]) > 0.5 * np.count_nonzero(~pruned)
    assert total_sparsity(model) >= 0.6
    path = tmp_path / "pruned.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)  # no custom object needed
    x = data.x_val[:64]
    assert np.array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    read_back = masks_from_zeros(loaded)
    for name, mask in masks.items():
        assert np.all(read_back[name][mask == 0] == 0)  # every pruned weight is still zero
    # re-enforce the read-back masks on the loaded model and train on: zeros stay zero
    apply_masks(loaded, read_back)
    _fit(loaded, data, epochs=1)
    for name, mask in read_back.items():
        assert np.all(_qkernel(loaded.get_layer(name))[mask == 0] == 0)


def test_prune_reaches_the_requested_sparsity_and_keeps_masks(trained, model):
    _, data, _, _ = trained
    config = PruningConfig("polynomial", final_sparsity=0.7, steps=2, structure="unstructured", objective="params", epochs=1, rtol=0.01)
    result = prune(model, data, config, learning_rate=3e-3, batch_size=32)
    assert [round(h["sparsity"], 6) for h in result.history] == [round(0.7 * (1 - 0.5**3), 6), 0.7]
    assert result.kept_sparsity == pytest.approx(0.7)
    assert total_sparsity(model) >= 0.7
    assert set(current_masks(model)) == {"conv1", "dense1", "output"}  # still enforced


def test_structured_pruning_removes_whole_filters_and_neurons(trained, model):
    _, data, _, _ = trained
    config = PruningConfig("constant", final_sparsity=0.5, steps=1, structure="structured", objective="params", epochs=1, rtol=0.01)
    prune(model, data, config)
    conv, dense = _qkernel(model.get_layer("conv1")), _qkernel(model.get_layer("dense1"))
    dead_filters = [f for f in range(conv.shape[-1]) if not conv[..., f].any()]
    dead_neurons = [u for u in range(dense.shape[-1]) if not dense[:, u].any()]
    assert dead_filters and dead_neurons
    # a removed filter's weights are all masked; the output layer keeps its 10 classes
    masks = current_masks(model)
    assert all(not masks["conv1"][..., f].any() for f in dead_filters)
    assert "output" not in masks


def test_weights_hgq_quantized_to_zero_bits_count_as_pruned_and_go_first(trained, model):
    layer = model.get_layer("dense1")
    bits = layer.kq.quantizer._b
    b = bits.numpy()
    b[:5, :] = 0  # HGQ's own bit-level pruning: 0 bits for the weights of 5 inputs
    bits.assign(b)
    assert np.all(_qkernel(layer)[:5] == 0)
    assert layer_sparsity(model)["dense1"] >= 5 / layer.kernel.shape[0]
    # asked to remove exactly as many weights as are already zero, the knapsack takes those
    n_zero = sum(int(np.count_nonzero(_qkernel(x) == 0)) for x in (model.get_layer(n) for n in ("conv1", "dense1", "output")))
    n_all = sum(int(np.prod(model.get_layer(n).kernel.shape)) for n in ("conv1", "dense1", "output"))
    masks = compute_masks(model, PruningConfig(objective="params"), n_zero / n_all)
    assert np.all(masks["dense1"][:5] == 0)


def test_a_step_below_rtol_is_not_kept(trained, model):
    _, data, _, weights = trained
    # rtol 1.0 and 95 % of the weights gone: the step fails and the unpruned model comes back
    config = PruningConfig("constant", final_sparsity=0.95, steps=1, objective="params", epochs=1, rtol=1.0)
    result = prune(model, data, config)
    assert result.history and not result.history[-1]["met"] and result.kept_sparsity == 0.0
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))
    assert current_masks(model) == {}


def test_pruned_model_converts_bit_exactly_and_costs_drop(trained, model, tmp_path):
    import hls4ml
    from hgq.utils import trace_minmax

    from hgq_automl.estimates import da4ml_estimate

    _, data, _, weights = trained
    x = data.x_test[:300]
    ebops_before = trace_minmax(model, data.x_train)
    luts_before = da4ml_estimate(model).luts
    model.set_weights(weights)
    prune(model, data, PruningConfig("constant", 0.6, 1, "unstructured", "ebops", epochs=1, rtol=0.01))
    assert layer_sparsity(model)["dense1"] > 0.3
    ebops_after = trace_minmax(model, data.x_train)
    keras_out = model.predict(x, verbose=0)
    da = da4ml_estimate(model)
    assert ebops_after < 0.6 * ebops_before and da.luts < luts_before
    da_out = np.asarray(da.comb.predict(x.reshape(len(x), -1))).reshape(keras_out.shape)
    assert np.count_nonzero(da_out != keras_out) == 0
    hm = hls4ml.converters.convert_from_keras_model(model, output_dir=str(tmp_path / "hls"), backend="Vitis", io_type="io_parallel")
    hm.compile()
    hls_out = np.asarray(hm.predict(np.ascontiguousarray(x))).reshape(keras_out.shape)
    assert np.count_nonzero(hls_out != keras_out) == 0


def test_saliency_ranks_by_gradient(trained, model):
    _, data, _, _ = trained
    config = PruningConfig(importance="saliency", objective="flops", structure="pattern", reuse_factor=4)
    masks = compute_masks(model, config, 0.5, data.x_train, data.y_train)
    assert set(masks) == {"conv1", "dense1", "output"}
    assert 0 < np.mean(np.concatenate([m.ravel() for m in masks.values()])) < 1


def test_trial_with_pruning_reports_sparsity_and_reduction():
    space = parse_space(
        {
            "dataset": {"max_samples": 300},
            "parameters": {
                "filters_1": 3,
                "epochs": 2,
                "pruning_schedule": "polynomial",
                "final_sparsity": 0.6,
                "pruning_steps": 2,
                "pruning_epochs": 1,
                "pruning_rtol": 0.01,
                "pruning_objective": "ebops",
            },
        }
    )
    data = load_dataset(space.dataset)
    final, model = run_trial(space, {}, data, threads=1)
    assert set(PRUNING_METRICS) <= set(final)
    assert {"sparsity", "sparsity_conv1", "sparsity_output"} <= set(final)
    # MLflow logs every one of them: as a metric, or a note (the reuse factors used, ...) as a tag
    assert all(k in LOGGED_METRICS or k.startswith(NOTE_PREFIX) for k in final)
    assert final["pruning_sparsity_target"] == pytest.approx(0.6)
    assert final["ebops"] < final["ebops_unpruned"] and final["ebops_reduction"] > 0.3
    assert final["luts"] < final["luts_unpruned"]
    assert final["sparsity"] == pytest.approx(total_sparsity(model))
    unpruned, _ = run_trial(space, {"pruning_schedule": "none"}, data, threads=1)
    assert "ebops_unpruned" not in unpruned and "sparsity" in unpruned


def test_bram_objective_removes_whole_bram_words_and_bram_drops(trained, model):
    from hgq_automl.estimates import bram_consecutive_patterns, bram_estimate, weight_layers, weight_width
    from hgq_automl.pruning import group_ids

    _, data, _, _ = trained
    config = PruningConfig("constant", 0.5, 1, "pattern", "bram", epochs=1, rtol=0.01, reuse_factor=2, strategy="resource")
    layers = weight_layers(model)
    bram_before = bram_estimate(layers, 2, "resource")
    masks = compute_masks(model, config, 0.5)
    for info in layers:  # every BRAM word (hls4ml's consecutive patterns) is kept or removed whole
        words = group_ids(info.kernel.shape, "pattern", 2, bram_consecutive_patterns(weight_width(info.kernel)))
        assert all(np.ptp(masks[info.name][words == w]) == 0 for w in np.unique(words))
    result = prune(model, data, config)
    bram_after = bram_estimate(weight_layers(model), 2, "resource")
    assert result.kept_sparsity == 0.5
    assert bram_after <= 0.6 * bram_before  # 35 -> 18 blocks when written (6- and 7-bit weights)


def test_pruning_groups_follow_the_reuse_factor_hls4ml_uses(model):
    """Under `resource`, hls4ml maps an invalid reuse factor to a valid one per layer; the
    patterns pruned are those of the factor used (the one the estimates use), not the one asked."""
    from hgq_automl.estimates import layer_reuse_factor, weight_layers
    from hgq_automl.pruning import group_ids
    from hgq_automl.pruning.loop import prunable_layers

    layers = weight_layers(model)
    asked = next(rf for rf in range(2, 200) if any(layer_reuse_factor(i, rf, "resource") != rf for i in layers))
    config = PruningConfig("constant", 0.5, 1, "pattern", "dsps", epochs=1, reuse_factor=asked, strategy="resource")
    mapped = 0
    for info, prunable in zip(layers, prunable_layers(model, config), strict=True):
        used = layer_reuse_factor(info, asked, "resource")
        mapped += used != asked
        assert np.array_equal(prunable.groups, group_ids(info.kernel.shape, "pattern", used))
    assert mapped > 0
