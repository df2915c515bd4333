"""The Tune trainable (`hgq_trial`): one trial in a Ray worker, `trial.run_trial` with
Tune's report and the synthesis step, its model, firmware and harvested checkpoints saved
as the trial's checkpoint."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ..data import Splits
from ..diskfull import DISK_FULL_KEY, is_disk_full
from ..layout import FIRMWARE_DIR, HARVEST_DIR, MODEL_FILE
from ..space import SearchSpace


def hgq_trial(config: dict[str, Any], space: SearchSpace, data: Splits, seed: int, threads: int, deadline: float | None = None) -> None:
    """The Tune trainable: one trial, reporting every epoch and then the final metrics;
    training ends early at the search's `deadline` (the trial is still measured and kept)."""
    from ray import tune

    from ..hardware.synthesis import run_synthesis
    from ..trial import run_trial

    es = space.early_stopping
    last: dict[str, Any] = {}

    def report(metrics: dict[str, Any]) -> None:
        last.update(metrics)
        tune.report({**metrics, "score": es.score_of(metrics)} if es else metrics)

    with tempfile.TemporaryDirectory() as folder:
        # the checkpoint holds model.keras, the synthesis step's project (firmware/) and
        # the harvested checkpoints (harvest/epoch_NNNN/)
        final, model = run_trial(
            space, config, data, report=report, seed=seed, threads=threads,
            firmware_dir=Path(folder) / FIRMWARE_DIR, harvest_dir=Path(folder) / HARVEST_DIR, deadline=deadline,
            synthesize=run_synthesis,
        )
        final["epoch"] = int(final["epochs_trained"])
        if es:  # the scheduler needs its metric in every report; the final values take precedence
            final["score"] = es.score_of({**last, **final})
        model.save(os.path.join(folder, MODEL_FILE))
        try:
            tune.report(final, checkpoint=tune.Checkpoint.from_directory(folder))
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            _wait_for_the_stop(exc)


def _wait_for_the_stop(exc: OSError) -> None:
    """The storage's disk is full: this trial's checkpoint could not be saved. Say so to
    the driver (a report it stops the search on, `diskfull`) and wait to be stopped, so
    that the trial is left unfinished (a resume runs it again) rather than failed. If no
    stop comes (a driver that cannot interrupt Tune), fail after all."""
    from ray import tune

    tune.report({DISK_FULL_KEY: 1.0})
    time.sleep(300)
    raise exc
