"""What happens to trials during a search, in plain terms the adapters share.

The Ray Tune adapter turns Tune's callbacks into these calls; the MLflow adapter and
the console progress listen to them. Neither listener knows about Ray.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .layout import HARVEST_DIR, METRICS_FILE


@dataclass
class TrialRecord:
    """A finished trial: its sampled config and final metrics, or its error."""

    trial_id: str
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    status: str = "completed"  # completed | failed | stopped (early, by the scheduler)
    error: str | None = None
    model_dir: Path | None = None  # folder holding model.keras, for completed trials
    #: Checkpoints this trial harvested (`harvest:`): completed records of their own, with
    #: trial_id `<trial>-e<epoch>` and `harvested_from` = this trial's id.
    harvested: list[TrialRecord] = field(default_factory=list)
    harvested_from: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"




def budget_ending(params: dict[str, Any], metrics: dict[str, Any]) -> str | None:
    """How a search's time budget ended a completed trial of resolved `params`: None when it
    trained all its epochs; "paced" for a beta ramp, which keeps pace with the time left and
    still reaches beta_final (not a fault); "cut" for any other trial stopped short."""
    trained = metrics.get("epochs_trained")
    if trained is None or trained >= int(params["epochs"]):
        return None
    return "paced" if params.get("beta_schedule") == "ramp" else "cut"


def harvested_records(trial: TrialRecord) -> list[TrialRecord]:
    """The harvested checkpoints saved in a completed trial's folder, oldest first."""
    folder = trial.model_dir / HARVEST_DIR if trial.model_dir else None
    if folder is None or not folder.is_dir():
        return []
    records = []
    for point in sorted(p for p in folder.iterdir() if (p / METRICS_FILE).is_file()):
        metrics = json.loads((point / METRICS_FILE).read_text())
        epoch = int(metrics["harvest_epoch"])
        records.append(TrialRecord(f"{trial.trial_id}-e{epoch}", dict(trial.config), metrics, model_dir=point, harvested_from=trial.trial_id))
    return records


def with_harvest(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """The records followed by the points each harvested: every candidate of the front."""
    return [point for record in records for point in (record, *record.harvested)]


class TrialListener(Protocol):
    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None: ...

    def trial_reported(self, trial_id: str, metrics: dict[str, Any]) -> None: ...

    def trial_finished(self, record: TrialRecord) -> None: ...
