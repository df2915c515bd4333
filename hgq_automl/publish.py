"""MLflow adapter, the end of a search: publishing its Pareto front.

`FrontPublisher` writes what a search's front is made of, once the trials have ended:
on the parent run the Pareto set (JSON, CSV), the software versions, the front plots
(PNG, HTML) and Optuna's parameter plots; on the members' runs a `pareto=true` tag (the
tag taken off runs that left the front) and their synthesis step's project
(`firmware/hls4ml` or `firmware/verilog`); and in the model registry a version per member.

`tracking.SearchTracker` is the listener of trial events (the per-trial runs, their
parameters and metrics); it calls this at `finish`. Both write through the same
`outbox.Outbox`, so a store that does not answer delays these writes, never loses them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .events import TrialRecord, with_harvest
from .layout import FIRMWARE_DIR, PARAMETER_PLOTS, PARETO_CSV, PARETO_JSON, VERSIONS_ARTIFACT
from .report import front_rows, plot_front, plot_front_html, rows_to_csv, software_versions
from .space import SearchSpace
from .tags import PARETO


class FrontPublisher:
    """Publishes one search's Pareto front in MLflow, through `out` (an `outbox.Outbox`).

    `run_ids` (trial id -> child run id) is the tracker's own mapping, read at each call.
    """

    def __init__(self, out, experiment_id: str, parent_run_id: str, space: SearchSpace, run_ids: dict[str, str]):
        self.out = out
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.space = space
        self.run_ids = run_ids

    def publish(self, records: Sequence[TrialRecord], front: Sequence[TrialRecord], register: bool = True) -> None:
        """The front's files and plots on the parent run, its members tagged (and their
        firmware logged), and with `register` their models in the registry."""
        write = self.out.write
        objectives = self.space.objectives
        rows = front_rows(front, [m for m, _ in objectives], self.run_ids)
        run = self.parent_run_id
        write("log_text", run, json.dumps(rows, indent=2, default=str), PARETO_JSON)
        write("log_text", run, rows_to_csv(rows), PARETO_CSV)
        write("log_text", run, json.dumps(software_versions(), indent=2), VERSIONS_ARTIFACT)
        from .samplers import plot_parameters  # Optuna's plots (Optuna loads only here)

        with tempfile.TemporaryDirectory() as tmp:
            points = with_harvest(records)
            write("log_artifact", run, str(plot_front(points, front, objectives, Path(tmp) / "pareto.png")), None)
            write("log_artifact", run, str(plot_front_html(points, front, objectives, Path(tmp) / "pareto.html")), None)
            for path in plot_parameters(records, self.space, objectives, Path(tmp)):
                write("log_artifact", run, str(path), PARAMETER_PLOTS)
        write("untag_stale", self.experiment_id, sorted(self.run_ids[r.trial_id] for r in front if r.trial_id in self.run_ids))
        for record in front:
            if record.trial_id in self.run_ids:
                write("set_tag", self.run_ids[record.trial_id], PARETO, "true")
                firmware = record.model_dir / FIRMWARE_DIR if record.model_dir else None
                if firmware is not None and firmware.is_dir():
                    write("log_artifacts", self.run_ids[record.trial_id], str(firmware), FIRMWARE_DIR)
        if register:
            self.register(front)

    def register(self, front: Sequence[TrialRecord]) -> None:
        """Register each Pareto member's model in the MLflow model registry.

        The registered model is named after the search (the experiment); each member is
        a version tagged with its trial id and hardware estimates, so it can be found
        from the registry later (e.g. `tags.luts < 20000`). Versions of this search's
        runs that left the front (a front changed by a resume) are deleted.
        """
        from .metrics import FINAL_METRICS

        versions = [
            [self.run_ids[r.trial_id], {"trial_id": r.trial_id, **{m: str(r.metrics[m]) for m in FINAL_METRICS if m in r.metrics}}]
            for r in front
            if r.trial_id in self.run_ids and r.model_dir
        ]
        self.out.write("register", self.experiment_id, versions, sorted(self.run_ids.values()))
