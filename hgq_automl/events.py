"""What happens to trials during a search, in plain terms the adapters share.

The Ray Tune adapter turns Tune's callbacks into these calls; the MLflow adapter and
the console progress listen to them. Neither listener knows about Ray.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class TrialRecord:
    """A finished trial: its sampled config and final metrics, or its error."""

    trial_id: str
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    status: str = "completed"  # completed | failed | stopped (early, by the scheduler)
    error: str | None = None
    model_dir: Path | None = None  # folder holding model.keras, for completed trials

    @property
    def ok(self) -> bool:
        return self.status == "completed"


class TrialListener(Protocol):
    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None: ...

    def trial_reported(self, trial_id: str, metrics: dict[str, Any]) -> None: ...

    def trial_finished(self, record: TrialRecord) -> None: ...
