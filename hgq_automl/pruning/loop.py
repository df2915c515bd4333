"""The pruning loop: prune in steps, fine-tune between steps, keep the last model that met rtol.

After hls4ml's `optimize_model` (dsp_aware_pruning/keras/__init__.py): the scheduler gives
a target sparsity (of the objective's resources); the knapsack chooses the groups to
keep; the model is fine-tuned with the masks enforced (a fresh optimizer each step, so
Adam's moments cannot move pruned weights); if the validation accuracy is still at least
`rtol` x the unpruned model's, the step is kept and the scheduler moves up, otherwise it
repairs (binary) or moves on (constant, polynomial) until `cutoff_bad_steps` failures in
a row. At the end the last model that met `rtol` is restored, with its masks enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._compat import float_kernel
from ..space.rules import COMMON_PARAMS, PRUNING_PARAMS
from ..space.vocabulary import PRUNING_SCHEDULERS
from ..task import top1_accuracy
from .knapsack import PrunableLayer, select_masks
from .masks import apply_masks, clear_masks, masked_layers, weight_ebops
from .objectives import weight_costs
from .schedulers import make_scheduler
from .structures import group_ids

#: each field's rule: the search space's parameter of the same meaning (one range for both)
_FIELD_RULES = {
    "final_sparsity": PRUNING_PARAMS["final_sparsity"],
    "steps": PRUNING_PARAMS["pruning_steps"],
    "structure": PRUNING_PARAMS["pruning_structure"],
    "objective": PRUNING_PARAMS["pruning_objective"],
    "importance": PRUNING_PARAMS["pruning_importance"],
    "epochs": PRUNING_PARAMS["pruning_epochs"],
    "rtol": PRUNING_PARAMS["pruning_rtol"],
    "reuse_factor": COMMON_PARAMS["reuse_factor"],
}


@dataclass(frozen=True)
class PruningConfig:
    """What a search space can set for pruning (`space.PRUNING_PARAMS`: the names and ranges)."""

    schedule: str = "polynomial"  # constant | polynomial | binary
    final_sparsity: float = 0.5  # fraction of the objective's resources to remove, [0, 1)
    steps: int = 4
    structure: str = "unstructured"  # unstructured | structured | pattern
    objective: str = "params"  # params | flops | dsps | bram | ebops
    importance: str = "magnitude"  # magnitude | saliency (|w x dL/dw|)
    epochs: int = 2  # fine-tuning epochs after each step
    rtol: float = 0.98  # keep a step while val_accuracy >= rtol x the unpruned model's
    reuse_factor: int = 1
    strategy: str = "latency"
    cutoff_bad_steps: int = 1  # stop after more failed steps than this in a row

    def __post_init__(self):
        if self.schedule not in PRUNING_SCHEDULERS:  # the space's pruning_schedule also takes none
            raise ValueError(f"The 'schedule' parameter must be one of {', '.join(PRUNING_SCHEDULERS)}; got {self.schedule!r}.")
        for name, rule in _FIELD_RULES.items():
            problem = rule.check(getattr(self, name))
            if problem:
                raise ValueError(f"The '{name}' parameter {problem}.")


@dataclass
class PruningResult:
    baseline_accuracy: float  # validation accuracy before pruning
    kept_sparsity: float  # the target sparsity of the kept model (0: no step met rtol)
    kept_accuracy: float
    history: list[dict] = field(default_factory=list)  # per step: sparsity, val_accuracy, met


def _accuracy(model, x, y) -> float:
    pred = model.predict(x, batch_size=1024, verbose=0)
    return top1_accuracy(pred, y)


def _gradients(model, x, y, n: int = 1024) -> dict[str, np.ndarray]:
    """dLoss/dkernel of each masked layer over (up to) n training samples (a gradient
    tape under TensorFlow; under JAX, `jax.grad` of Keras' stateless call)."""
    import keras

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    layers = masked_layers(model)
    kernels = [float_kernel(layer) for layer in layers]
    x, y = x[:n], y[:n]
    if keras.backend.backend() == "jax":
        import jax

        trainable = model.trainable_variables
        wanted = [next(i for i, v in enumerate(trainable) if v is k) for k in kernels]

        def loss(values, non_trainable):
            out, _ = model.stateless_call(values, non_trainable, x, training=False)
            return loss_fn(y, out)

        all_grads = jax.grad(loss)([v.value for v in trainable], [v.value for v in model.non_trainable_variables])
        grads = [all_grads[i] for i in wanted]
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=False))
        grads = tape.gradient(loss, kernels)
    return {layer.name: np.zeros(k.shape) if g is None else np.asarray(g) for layer, k, g in zip(layers, kernels, grads)}


def prunable_layers(model, config: PruningConfig, x=None, y=None) -> list[PrunableLayer]:
    """The knapsack's view of a model: importance, cost and groups of every prunable layer.

    Importance is |quantized weight| (magnitude) or |w x dL/dw| (saliency), divided by its
    layer's mean so that layers of different scales compete fairly. A structured
    (neuron/filter) pruning leaves the output layer alone: removing a unit would remove a class.
    """
    from keras import ops

    from ..estimates import bram_consecutive_patterns, layer_reuse_factor, weight_layers, weight_width

    infos = {info.name: info for info in weight_layers(model)}
    layers = masked_layers(model)
    grads = _gradients(model, x, y) if config.importance == "saliency" else {}
    out = []
    for i, layer in enumerate(layers):
        if config.structure == "structured" and i == len(layers) - 1:
            continue
        info = infos[layer.name]
        w = np.abs(np.asarray(ops.convert_to_numpy(layer.qkernel), dtype=float))
        importance = w * np.abs(grads[layer.name]) if grads else w
        mean = importance[importance > 0].mean() if np.any(importance > 0) else 1.0
        ebops = weight_ebops(layer) if config.objective == "ebops" else None
        # the reuse factor hls4ml gives this layer (an invalid one is mapped, per layer), as
        # the estimates use it: patterns and costs follow the multipliers really built
        rf = layer_reuse_factor(info, config.reuse_factor, config.strategy)
        cost = weight_costs(info, config.objective, rf, config.strategy, ebops)
        # bram x pattern: one group per BRAM word (several multipliers' patterns), as hls4ml
        consecutive = bram_consecutive_patterns(weight_width(info.kernel)) if config.objective == "bram" else 1
        groups = group_ids(w.shape, config.structure, rf, consecutive)
        out.append(PrunableLayer(layer.name, importance / mean, cost, groups))
    return out


def compute_masks(model, config: PruningConfig, sparsity: float, x=None, y=None) -> dict[str, np.ndarray]:
    """Masks (1 = keep) removing `sparsity` of the objective's resources from the model."""
    layers = prunable_layers(model, config, x, y)
    if not layers:
        return {}
    return select_masks(layers, sparsity)


def prune(model, data, config: PruningConfig, learning_rate: float = 1e-3, batch_size: int = 64, log=lambda step: None) -> PruningResult:
    """Prune a trained (compiled or not) HGQ2 model in place; return what happened.

    `data` has x_train / y_train / x_val / y_val (a `hgq_automl.data.Splits`); `log` gets
    each step's record. The model ends with the weights and masks of the last step that
    met `rtol` (or its unpruned weights, if none did). Masks enforced before are replaced.
    """
    from ..data import fit_arguments
    from ..models import compile_model

    clear_masks(model)  # a new run chooses its own masks (earlier zeros rank lowest anyway)
    baseline = _accuracy(model, data.x_val, data.y_val)
    best_weights, best_masks, best_sparsity, best_acc = model.get_weights(), None, 0.0, baseline
    scheduler = make_scheduler(config.schedule, config.final_sparsity, config.steps)
    changed, target = scheduler.update_step()
    history, bad = [], 0
    while changed and target > 0:
        masks = compute_masks(model, config, target, data.x_train, data.y_train)
        apply_masks(model, masks)
        compile_model(model, learning_rate)  # a fresh optimizer each step
        model.fit(**fit_arguments(data.x_train, data.y_train, batch_size, shuffle=True, seed=len(history)), epochs=config.epochs, verbose=0)
        acc = _accuracy(model, data.x_val, data.y_val)
        met = acc >= config.rtol * baseline
        record = {"step": len(history) + 1, "sparsity": float(target), "val_accuracy": acc, "met": bool(met)}
        history.append(record)
        log(record)
        if met:
            best_weights, best_masks, best_sparsity, best_acc = model.get_weights(), masks, float(target), acc
            bad = 0
            changed, target = scheduler.update_step()
        else:
            bad += 1
            if bad > config.cutoff_bad_steps:
                break
            changed, target = scheduler.repair_step()
    model.set_weights(best_weights)
    clear_masks(model)
    if best_masks is not None:
        apply_masks(model, best_masks)
    return PruningResult(baseline, best_sparsity, best_acc, history)

