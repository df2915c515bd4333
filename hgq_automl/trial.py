"""One trial: build the HGQ2 model of a sampled config, train it, trace it, estimate its
cost, optionally prune it, and run the space's synthesis step (`hardware.synthesis`).

Framework-free: the caller passes a `report` function (Ray Tune's, in a search) that
receives the per-epoch metrics; `run_trial` returns the final metrics and the model.
`run_trial` runs its steps in order (`_build`, `_fit`, `_prune_step`, `_final_metrics`,
`_harvest_step`, `_synthesize`); how a model is measured is `measurements`.
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backend import BackendMismatch, use_backend
from .data import Splits, fit_arguments
from .errors import TrialFailed, first_line
from .layout import METRICS_FILE, MODEL_FILE, harvest_point_dir
from .measurements import accuracy, measure, quality_metrics, sparsity_metrics  # noqa: F401 - accuracy, quality_metrics: imported from here too
from .metrics import NOTE_PREFIX
from .space import WARM_START_FROM, WARM_START_MODEL, HardwareSpec, SearchSpace


#: The synthesis step: (traced model, hardware spec, resolved params, x_test, project folder)
#: -> its metrics (`hgq_automl.hardware.synthesis.run_synthesis`; passed in, the core imports no adapter)
Synthesize = Callable[[Any, HardwareSpec, dict[str, Any], np.ndarray, Path], dict[str, float]]


def run_trial(
    space: SearchSpace,
    config: Mapping[str, Any],
    data: Splits,
    report: Callable[[dict], None] = lambda metrics: None,
    seed: int = 0,
    threads: int | None = None,
    firmware_dir: Path | None = None,
    harvest_dir: Path | None = None,
    deadline: float | None = None,
    synthesize: Synthesize | None = None,
):
    """Train one config; return (final metrics, trained model).

    The final metrics are measured on the model after `trace_minmax` on the training
    set, i.e. with the activation ranges the firmware will have. The synthesis step
    (`synthesize`, which the caller passes: `hgq_automl.hardware.synthesis.run_synthesis`
    in a search; needed when the space's `hardware.synthesis` is not none) leaves its
    project (hls4ml or Verilog) in `firmware_dir` (a temporary folder if None); if it
    raises, the trial fails. When the space asks for
    pruning (`pruning_schedule` not none), the trained model is pruned in steps
    (`hgq_automl.pruning.prune`) and the final metrics are those of the kept pruned model,
    with the unpruned model's as `<metric>_unpruned` and `<metric>_reduction`.

    A warm-started trial (`search.warm_start`: its config names `warm_start_model`, a saved
    model of an earlier trial whose model parameters it inherited) starts from that model's
    weights instead of fresh ones.

    When the space harvests (`harvest:`), beta ramps over the epochs and the trial keeps
    its non-dominated earlier checkpoints (see `hgq_automl.harvest`); each is measured like
    the final model (trace on the whole training set, both accuracies, the estimates; da4ml's
    only if the space's objectives or constraints use them, see `harvest_needs_da4ml`) and
    written to `harvest_dir/epoch_NNNN/` (model.keras + metrics.json; `harvest_points` in
    the final metrics counts them). What they lack (da4ml's estimates, the synthesis step)
    the search adds at its end to those that made its front (`finish_saved`).

    With a `deadline` (a `time.time()` value: a search's time budget), training ends early
    when the next epoch would end past it; a beta ramp keeps pace with the time left, so it
    still ends at beta_final. The model is then measured as usual and `epochs_trained` in
    the final metrics says how far it got.
    """
    if space.hardware.synthesis != "none" and synthesize is None:
        raise ValueError(f"hardware.synthesis is {space.hardware.synthesis}: pass synthesize= (hgq_automl.hardware.synthesis.run_synthesis)")
    begin = time.perf_counter()  # set-up includes the imports (seconds in a fresh worker)
    model, params = _build(space, config, data, seed, threads)
    timer = {"setup_seconds": time.perf_counter() - begin, "harvest_seconds": 0.0}
    fitted = _fit(model, space, data, params, report, seed, deadline, timer)

    from .compiled import compile_calls

    calls = compile_calls(model)  # the compiled passes of every measurement below
    timing = {"da4ml_seconds": 0.0}  # of the last measurement with da4ml
    measure_model = functools.partial(measure, model, calls, space, data, params, seconds=timing)

    pruning, prune_seconds = _prune_step(model, data, params, measure_model)

    start = time.perf_counter()
    final = _final_metrics(model, measure_model, pruning)
    final["train_seconds"] = fitted.train_seconds + prune_seconds  # pruning's fine-tuning is training too
    final["epochs_trained"] = float(fitted.epochs)
    final["estimate_seconds"] = time.perf_counter() - start
    final["da4ml_seconds"] = timing["da4ml_seconds"]
    if fitted.harvest is not None:
        final["harvest_points"] = _harvest_step(model, fitted, lambda: measure_model(harvest_needs_da4ml(space)), harvest_dir, timer)
    final.update(timer)
    if space.hardware.synthesis != "none":
        final.update(_synthesize(synthesize, model, space, params, data.x_test, firmware_dir))
    final["trial_seconds"] = time.perf_counter() - begin
    return final, model


def _build(space: SearchSpace, config: Mapping[str, Any], data: Splits, seed: int, threads: int | None):
    """The trial's first step: the Keras backend set, the model of the config built (from a
    warm start's weights if it has one) and compiled; (model, resolved parameters)."""
    try:
        use_backend(space.search.backend, threads)
    except BackendMismatch as exc:
        raise TrialFailed(str(exc)) from None
    import keras
    from hgq.utils import trace_minmax

    if keras.backend.backend() == "jax":
        from ._compat import tensorflow_out_of_keras

        tensorflow_out_of_keras()

    from .compiled import compile_calls  # noqa: F401 - loaded in the set-up (its time counts there); the measurements use it
    from .estimates import da4ml_metrics, estimate  # noqa: F401 - likewise
    from .models import build_model, compile_model

    from ._compat import set_random_seed

    keras.backend.clear_session()
    set_random_seed(seed)
    params = space.resolve(config)
    warm_start = params.pop(WARM_START_MODEL, None)  # a warm-started trial (`search.warm_start`)
    params.pop(WARM_START_FROM, None)
    model = build_model(space.model, params, data.input_shape, data.n_outputs)
    if warm_start:
        _load_weights(model, warm_start)
    if space.model.family == "file" and space.model.init == "pretrained":
        # the file's trained weights meet activation ranges never traced on this data: HGQ's
        # wrapping quantizers would start from garbage outputs; calibrate them first
        trace_minmax(model, data.x_train, batch_size=4096)
    compile_model(model, params["learning_rate"], space.task)
    return model, params


@dataclass
class _Fitted:
    """What training left besides the trained model."""

    #: the epochs trained (fewer than asked when the deadline ended training early)
    epochs: int
    #: the training's seconds, the harvest's excluded
    train_seconds: float
    #: epoch -> the beta it trained with (`callbacks.BetaSchedule`)
    betas: dict[int, float]
    #: the kept checkpoints (`harvest.Harvest`), None when the space does not harvest
    harvest: Any


def _fit(model, space: SearchSpace, data: Splits, params: Mapping[str, Any], report, seed: int, deadline, timer) -> _Fitted:
    """The trial's training: `model.fit` with the beta schedule, the per-epoch reports, the
    harvester (if the space harvests) and the deadline (if any) as callbacks."""
    betas: dict[int, float] = {}
    from hgq.utils.sugar import FreeEBOPs

    from .callbacks import BetaSchedule, Deadline, Harvester, Report

    callbacks = [BetaSchedule(params, betas, deadline), FreeEBOPs(), Report(report, timer)]
    harvest = None
    if space.harvest is not None:
        from .harvest import Harvest

        band = None if space.task.regression else space.harvest.band  # an accuracy difference
        harvest = Harvest(space.harvest.max_points, space.task.harvest_floor(space.constraints), band)
        callbacks.append(Harvester(space, data, harvest, timer))
    if deadline is not None:
        callbacks.append(Deadline(deadline))
    start = time.perf_counter()
    batch = int(params["batch_size"])
    history = model.fit(
        **fit_arguments(data.x_train, data.y_train, batch, shuffle=True, seed=seed, validation=(data.x_val, data.y_val)),
        epochs=int(params["epochs"]),
        callbacks=callbacks,
        verbose=0,
    )
    train_seconds = time.perf_counter() - start - timer["harvest_seconds"]
    return _Fitted(len(history.epoch), train_seconds, betas, harvest)




def _prune_step(model, data: Splits, params: Mapping[str, Any], measure_model: Callable[[], dict]) -> tuple[dict[str, float], float]:
    """The pruning step, when the space asks for it (`pruning_schedule` not none): the model
    pruned in place; (the unpruned model's metrics, the step's seconds), ({}, 0.0) without."""
    if params["pruning_schedule"] == "none":
        return {}, 0.0
    start = time.perf_counter()
    pruning = _prune(model, data, params, measure_model)
    return pruning, time.perf_counter() - start


def _harvest_step(model, fitted: _Fitted, measure_point: Callable[[], dict], folder: Path | None, timer: dict[str, float]) -> float:
    """The harvest step: the kept checkpoints measured and saved (`_save_harvest`); their
    count. Its time goes to `timer["harvest_seconds"]`."""
    start = time.perf_counter()
    count = _save_harvest(model, fitted.harvest, fitted.epochs, fitted.betas, measure_point, folder)
    timer["harvest_seconds"] += time.perf_counter() - start
    return float(count)


def _final_metrics(model, measure_model: Callable[[], dict], pruning: Mapping[str, float]) -> dict[str, Any]:
    """The trained (and pruned) model's measurement and sparsity; with pruning, the unpruned
    model's metrics and each cost's reduction."""
    final = measure_model()
    final.update(sparsity_metrics(model))
    if pruning:
        final.update(pruning)
        for m in ("ebops", "luts", "dsps", "bram"):
            before = final[f"{m}_unpruned"]
            final[f"{m}_reduction"] = 1.0 - final[m] / before if before > 0 else 0.0
    return final


def _synthesize(synthesize: Synthesize, model, space: SearchSpace, params, x_test: np.ndarray, firmware_dir: Path | None) -> dict[str, float]:
    """The space's synthesis step on the final model; its project in `firmware_dir` (a
    temporary folder if None)."""
    if firmware_dir is not None:
        return synthesize(model, space.hardware, params, x_test, Path(firmware_dir))
    with tempfile.TemporaryDirectory(prefix="hgq_automl_fw_") as folder:
        return synthesize(model, space.hardware, params, x_test, Path(folder))




def harvest_needs_da4ml(space: SearchSpace) -> bool:
    """Whether harvested checkpoints need da4ml's estimates (`estimates.DA4ML_METRICS`) in
    the trial: only when an objective or a constraint of the space names one. Otherwise the
    search measures them at its end for the checkpoints that made its front alone (da4ml's
    trace is the costliest measurement of a checkpoint: seconds per MNIST model)."""
    from .estimates import DA4ML_METRICS

    named = {m for m, _ in space.objectives} | {c.metric for c in space.constraints}
    return bool(named & set(DA4ML_METRICS))


def finish_saved(
    space: SearchSpace, config: Mapping[str, Any], model_file: Path, x_test: np.ndarray, folder: Path,
    synthesize: Synthesize, threads: int | None = None, da4ml: bool = True, synthesis: bool = True,
) -> dict[str, Any]:
    """What a saved, measured model (a harvested checkpoint: its activation ranges traced)
    lacks to be a finished product: da4ml's estimates (`da4ml`) and the space's synthesis
    step (`synthesis`; its project in `folder`), with the trial's resolved parameters
    (strategy, reuse factor). Its metrics (and notes). A search runs it at its end on the
    harvested checkpoints that made the front."""
    try:
        use_backend(space.search.backend, threads)
    except BackendMismatch as exc:
        raise TrialFailed(str(exc)) from None
    import hgq  # noqa: F401 - registers HGQ2's layers and quantizers with Keras
    import keras

    if keras.backend.backend() == "jax":
        from ._compat import tensorflow_out_of_keras

        tensorflow_out_of_keras()
    from .estimates import da4ml_metrics

    model = keras.models.load_model(model_file, compile=False, safe_mode=True)
    params = space.resolve(config)
    params.pop(WARM_START_MODEL, None)
    params.pop(WARM_START_FROM, None)
    out: dict[str, Any] = {}
    if da4ml:
        notes: dict[str, str] = {}
        out.update(da4ml_metrics(model, space.hardware.clock_period_ns, notes=notes))
        out.update({f"{NOTE_PREFIX}{name}": text for name, text in notes.items()})
    if synthesis and space.hardware.synthesis != "none":
        out.update(synthesize(model, space.hardware, params, x_test, Path(folder)))
    return out


def _save_harvest(model, harvest, epochs: int, betas: Mapping[int, float], measure: Callable[[], dict], folder: Path | None) -> int:
    """Measure the kept checkpoints before the last epoch (the last is the trial's own
    final model) and write each to folder/epoch_NNNN/; the model ends as it was. The count."""
    import json

    points = [p for p in harvest.points if p.epoch < epochs]
    if folder is None or not points:
        return len(points)
    final_weights = model.get_weights()
    try:
        for point in points:
            model.set_weights(point.payload)
            metrics = {**measure(), **sparsity_metrics(model), "harvest_epoch": float(point.epoch), "beta": betas[point.epoch]}
            where = harvest_point_dir(folder, point.epoch)
            where.mkdir(parents=True, exist_ok=True)
            model.save(where / MODEL_FILE)
            (where / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    finally:
        model.set_weights(final_weights)
    return len(points)


def _load_weights(model, path: str) -> None:
    """Start a warm-started trial from the weights (quantizers' bit widths and traced ranges
    included) of the saved model at `path`: a checkpoint of an earlier trial whose model
    parameters this trial inherited (`space.WarmStart`)."""
    import hgq  # noqa: F401 - registers HGQ2's layers and quantizers with Keras
    import keras

    source = keras.models.load_model(path, compile=False, safe_mode=True)
    try:
        model.set_weights(source.get_weights())
    except ValueError as exc:
        raise TrialFailed(f"warm start from {path}: its weights do not fit this trial's model ({first_line(exc)})") from None


def pruning_config(params: Mapping[str, Any]):
    """The `PruningConfig` of resolved trial parameters (pruning_schedule not none)."""
    from .pruning import PruningConfig

    return PruningConfig(
        schedule=str(params["pruning_schedule"]),
        final_sparsity=float(params["final_sparsity"]),
        steps=int(params["pruning_steps"]),
        structure=str(params["pruning_structure"]),
        objective=str(params["pruning_objective"]),
        importance=str(params["pruning_importance"]),
        epochs=int(params["pruning_epochs"]),
        rtol=float(params["pruning_rtol"]),
        reuse_factor=int(params["reuse_factor"]),
        strategy=str(params["strategy"]),
    )


def _prune(model, data: Splits, params: Mapping[str, Any], measure: Callable[[], dict]) -> dict[str, float]:
    """Measure the trained model, prune it in place (hgq_automl.pruning); the unpruned metrics."""
    from .pruning import prune

    weights = model.get_weights()
    unpruned = measure()  # trace_minmax changes the activation quantizers: undo it after
    model.set_weights(weights)
    result = prune(model, data, pruning_config(params), float(params["learning_rate"]), int(params["batch_size"]))
    out = {f"{m}_unpruned": float(unpruned[m]) for m in ("val_accuracy", "test_accuracy", "ebops", "luts", "dsps", "bram")}
    out["pruning_sparsity_target"] = result.kept_sparsity
    out["pruning_steps_run"] = float(len(result.history))
    return out

