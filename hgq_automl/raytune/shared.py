"""The running search's state that Tune's searcher reads live: the deadline of its time
budget and the warm-start pool of finished trials. Module-level (a list each, changed in
place, never rebound), so that a searcher Tune restores from its pickle (a resumed search)
reads the live values, not copies; `run.run_trials` sets and clears them."""

from __future__ import annotations

from ..events import TrialRecord


#: A `time.time()` after which the running search starts no trial (its time budget).
_DEADLINE: list[float | None] = [None]


def search_deadline() -> float | None:
    """The running search's deadline. A module-level function, so that a searcher Tune
    restores from its pickle (a resumed search) reads the live value, not a copy."""
    return _DEADLINE[0]


#: The finished trials (their models and harvested checkpoints) of the running search: the
#: points a warm-started trial may start from (`search.warm_start`). Module-level, like the
#: deadline: a searcher restored from its pickle reads the live list.
_WARM_POOL: list[TrialRecord] = []


def warm_pool() -> list[TrialRecord]:
    return _WARM_POOL


class WarmPool:
    """A `TrialListener` that adds every completed trial (with its harvested checkpoints)
    to the warm-start pool."""

    def trial_started(self, trial_id, config) -> None:
        pass

    def trial_reported(self, trial_id, metrics) -> None:
        pass

    def trial_finished(self, record: TrialRecord | None) -> None:
        if record is not None and record.ok and record.model_dir is not None:
            _WARM_POOL.append(record)
