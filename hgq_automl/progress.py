"""Console progress of a search: a line per trial start and end, and a periodic heartbeat.

Plain lines on stderr (readable in a terminal, a log file or a Ray Job's logs): trials
done / running / failed, the trial that just ended, and the best points so far.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .events import TrialRecord, budget_ending, with_harvest
from .pareto import pareto_front
from .report import format_value
from .space import SearchSpace


class ConsoleProgress:
    """Implements `events.TrialListener`."""

    def __init__(self, space: SearchSpace, stream: TextIO | None = None, heartbeat_seconds: float = 30.0):
        self.space = space
        self.stream = stream or sys.stderr
        self.heartbeat_seconds = heartbeat_seconds
        self.start = time.monotonic()
        self.last_beat = self.start
        self.running: dict[str, dict[str, Any]] = {}  # trial_id -> last epoch metrics
        self.done: list[TrialRecord] = []
        #: the per-epoch curve the heartbeat shows
        self.curve = "val_mse" if space.task.regression else "val_accuracy"

    def _say(self, text: str) -> None:
        elapsed = int(time.monotonic() - self.start)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", file=self.stream, flush=True)

    def _counts(self) -> str:
        failed = sum(r.status == "failed" for r in self.done)
        return f"{len(self.done)}/{self.space.search.trials} done, {len(self.running)} running, {failed} failed"

    def _metrics(self, metrics: dict[str, Any]) -> str:
        return " ".join(f"{m}={format_value(metrics[m])}" for m in self.space.objective_names() if m in metrics)

    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None:
        params = self.space.resolve(config)
        self.running[trial_id] = {"epochs": int(params["epochs"]), "params": params}
        self._say(f"trial {trial_id} started ({self._counts()})")

    def trial_reported(self, trial_id: str, metrics: dict[str, Any]) -> None:
        if trial_id in self.running and "epoch" in metrics:
            self.running[trial_id].update(epoch=metrics["epoch"], quality=metrics.get(self.curve, float("nan")))
        now = time.monotonic()
        if now - self.last_beat < self.heartbeat_seconds:
            return
        self.last_beat = now
        parts = [
            f"{tid} epoch {m['epoch']}/{m['epochs']} {self.curve}={format_value(m['quality'])}"
            for tid, m in self.running.items()
            if "epoch" in m
        ]
        if parts:
            self._say("running: " + "; ".join(parts))

    def trial_finished(self, record: TrialRecord) -> None:
        started = self.running.pop(record.trial_id, {})
        epochs = started.get("epochs")
        self.done.append(record)
        if record.ok:
            outcome = self._metrics(record.metrics)
            ending = budget_ending(started["params"], record.metrics) if started else None
            if ending:
                trained = int(record.metrics["epochs_trained"])
                outcome += (f" (beta ramp paced by the time budget: {trained} of {epochs} epochs)" if ending == "paced"
                            else f" (training cut at epoch {trained}/{epochs} by the time budget)")
            if record.harvested:
                outcome += f" (+{len(record.harvested)} harvested epochs)"
            if record.metrics.get("bit_mismatches"):
                outcome += f" UNTRUSTED: {int(record.metrics['bit_mismatches'])} outputs differ from Keras"
        elif record.status == "stopped":
            outcome = f"stopped early at epoch {int(record.metrics.get('epoch', 0))}"
        else:
            outcome = f"FAILED: {record.error}"
        front = pareto_front(with_harvest(r for r in self.done if r.ok), self.space.objectives, lambda r: r.metrics, self.space.constraints)
        best = "; ".join(self._metrics(r.metrics) for r in front[:3])
        more = f" (+{len(front) - 3} more)" if len(front) > 3 else ""
        self._say(f"trial {record.trial_id} {outcome} | {self._counts()} | front: {best}{more}")


class BarProgress:
    """A live progress bar of the trials (tqdm): a widget in a notebook when ipywidgets is
    installed, else a text bar redrawn in place. Implements `events.TrialListener`; `close`
    ends the bar."""

    def __init__(self, space: SearchSpace, stream: TextIO | None = None):
        self.space = space
        self.running: set[str] = set()
        self.done: list[TrialRecord] = []
        self.bar = _tqdm_class()(total=space.search.trials, desc="trials", unit="trial", file=stream or sys.stderr, dynamic_ncols=True)

    def _metrics(self, metrics: dict[str, Any]) -> str:
        return " ".join(f"{m}={format_value(metrics[m])}" for m in self.space.objective_names() if m in metrics)

    def _postfix(self) -> None:
        failed = sum(r.status == "failed" for r in self.done)
        front = pareto_front(with_harvest(r for r in self.done if r.ok), self.space.objectives, lambda r: r.metrics, self.space.constraints)
        best = "; ".join(self._metrics(r.metrics) for r in front[:2]) + (f" (+{len(front) - 2})" if len(front) > 2 else "")
        self.bar.set_postfix_str(f"{len(self.running)} running, {failed} failed" + (f" | front: {best}" if best else ""), refresh=True)

    def trial_started(self, trial_id: str, config: dict[str, Any]) -> None:
        self.running.add(trial_id)
        self._postfix()

    def trial_reported(self, trial_id: str, metrics: dict[str, Any]) -> None:
        pass

    def trial_finished(self, record: TrialRecord) -> None:
        self.running.discard(record.trial_id)
        self.done.append(record)
        self.bar.update(1)
        self._postfix()

    def close(self) -> None:
        self.bar.close()


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython's kernel app is configured)."""
    if "IPython" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _tqdm_class():
    """tqdm's notebook widget when it can be drawn (a kernel with ipywidgets), else its text bar."""
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm

            return tqdm
        except ImportError:
            pass
    from tqdm import tqdm

    return tqdm
