"""The Keras callbacks of a trial, one class each: the beta schedule (paced by a time
budget), the per-epoch report, the deadline that ends training in time, and the harvester
that offers each epoch's model to a `harvest.Harvest`. Imported by the trial only (it
imports Keras, which the driver never loads)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import keras

from ._compat import flatten_layers, layer_beta, set_layer_beta
from .beta import beta_at
from .errors import TrialFailed
from .metrics import EPOCH_METRICS


class BetaSchedule(keras.callbacks.Callback):
    """Set each HGQ layer's beta: the global schedule (`beta_at`) times the layer's
    beta_scale_<layer>; `betas` receives the beta of every epoch (1-based). With a
    `deadline` (as `Deadline`'s) a ramp keeps pace with the time left: the epoch that the
    deadline will make the last gets beta_final.

    Not HGQ2's `BetaScheduler`: it gives every layer the one beta of `beta_fn(epoch)` (no
    per-layer scale) and calls it again at the epoch's end (the time pacing would move)."""

    def __init__(self, params: Mapping[str, Any], betas: dict[int, float], deadline: float | None = None):
        super().__init__()
        self.schedule, self.betas, self.deadline = params, betas, deadline

    def on_train_begin(self, logs=None):
        self.start = self.began = time.time()
        self.progress = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        now = time.time()
        if self.deadline is not None and epoch > 1 and self.deadline > self.start:
            # The Deadline callback stops after the epoch that ends within one epoch's
            # duration of the deadline: that last epoch begins at the latest 2 durations
            # before it. Durations from the second epoch on (the first one compiles);
            # the ramp never steps back.
            last = self.deadline - 2 * (now - self.began)
            share = (now - self.start) / (last - self.start) if last > now else 1.0
            self.progress = max(self.progress, share)
        self.began = now
        beta = self.betas[epoch + 1] = beta_at(self.schedule, epoch, self.progress)
        for layer in flatten_layers(self.model):
            if layer_beta(layer) is not None:
                set_layer_beta(layer, beta * float(self.schedule.get(f"beta_scale_{layer.name}", 1.0)))

    def on_epoch_end(self, epoch, logs=None):
        logs["beta"] = self.betas[epoch + 1]


class Report(keras.callbacks.Callback):
    """Each epoch's metrics to `report` (`EPOCH_METRICS`); the first epoch's duration into
    `timer["first_epoch_seconds"]`; a non-finite loss fails the trial (`TrialFailed`)."""

    def __init__(self, report: Callable[[dict], None], timer: dict | None = None):
        super().__init__()
        self.report, self.timer = report, timer

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0 and self.timer is not None:
            self.timer["first_epoch_seconds"] = time.perf_counter() - self.start
        if not math.isfinite(logs.get("loss", math.nan)):
            raise TrialFailed(f"loss became {logs.get('loss')} at epoch {epoch + 1}")
        metrics = {k: float(v) for k, v in logs.items() if k in EPOCH_METRICS}
        self.report({"epoch": epoch + 1, **metrics})


class Deadline(keras.callbacks.Callback):
    """End training when the next epoch would end past `deadline` (a `time.time()` value),
    judged by the last epoch's duration (harvesting included: it runs after the other
    callbacks). The first epoch also compiles Keras' train step and its validation step
    (seconds for an HGQ model, more than many epochs on small data), so its duration is
    judged from its training steps after the first, scaled up by its batch count. At least
    one epoch is trained."""

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = deadline

    def on_train_begin(self, logs=None):
        self.first = None  # [time the first epoch's first batch ended, time its last one ended, batches seen]

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.first is None:
            now = time.time()
            self.first = [now, now, 1]
        elif self.first[2]:
            self.first[1] = time.time()
            self.first[2] += 1

    def on_epoch_end(self, epoch, logs=None):
        now = time.time()
        duration = now - self.began
        if self.first is not None and self.first[2]:
            ended, last, steps = self.first
            if steps > 1:
                duration = (last - ended) * steps / (steps - 1)
            self.first[2] = 0  # later epochs: their whole duration
        if now + duration > self.deadline:
            self.model.stop_training = True


class Harvester(keras.callbacks.Callback):
    """Offer the model of every `harvest.every`-th epoch (and the last) to `harvest` (a
    `harvest.Harvest`): activation ranges traced on the first `calibration_samples`
    training samples, the validation quality (accuracy, or minus the mse for regression:
    `TaskSpec.harvest_quality`) and EBOPs measured, weights (with the traced ranges) as
    payload; training then continues from the untraced weights. Its time goes to
    `timer["harvest_seconds"]`."""

    def __init__(self, space, data, harvest, timer: dict[str, float]):
        super().__init__()
        self.space, self.data, self.harvest, self.timer = space, data, harvest, timer
        self.spec = space.harvest
        self.calibration = data.x_train[: self.spec.calibration_samples]

    def on_train_begin(self, logs=None):
        # compiled here (~1 s), not in the first epoch: the deadline judges epochs by their duration
        start = time.perf_counter()
        from .compiled import compiled_check

        self.check = compiled_check(self.model, self.space.task.harvest_quality())
        self.traced()
        self.timer["harvest_seconds"] += time.perf_counter() - start

    def traced(self):
        """(validation quality, ebops, traced weights); training goes on from the untraced weights."""
        weights = self.model.get_weights()
        ebops, quality = self.check(self.calibration, self.data.x_val, self.data.y_val)
        traced = self.model.get_weights()
        self.model.set_weights(weights)  # the trace changed the activation quantizers
        return quality, ebops, traced

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.spec.every and not last:
            return
        start = time.perf_counter()
        quality, ebops, traced = self.traced()
        self.harvest.offer(epoch + 1, quality, ebops, traced)
        self.timer["harvest_seconds"] += time.perf_counter() - start
