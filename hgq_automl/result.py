"""The result of a search, for Python callers: its points, its Pareto front, and what can be
done with a point (load its model, export it as firmware, plot the front, tabulate everything).

A `SearchResult` comes from `hgq_automl.search` (a search just run) or from
`hgq_automl.open_search` (a search read back from MLflow); both hold the same things, read
from the same MLflow runs. Heavy libraries (Keras, MLflow, pandas, matplotlib) load only in
the methods that need them.
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .events import TrialRecord, with_harvest
from .metrics import logged_values


@dataclass(frozen=True)
class Point:
    """One finished point of a search: a completed trial's final model, or (with `harvest:`)
    an earlier epoch's checkpoint that a trial kept.

    Attributes:
        run_id: its MLflow run (the key for `SearchResult.load_model` / `export`).
        trial_id: the Ray Tune trial id; a harvested checkpoint's is `<trial>-e<epoch>`.
        params: the trial's resolved parameters (sampled, fixed and default values).
        metrics: its final metrics (quality, EBOPs, resource estimates, timings).
        harvest_epoch: the epoch of a harvested checkpoint, None for a trial's final model.
        harvested_from: the trial a harvested checkpoint came from, else None.
        error: why a failed trial failed (only in `SearchResult.failed`).
    """

    run_id: str | None
    trial_id: str
    params: dict[str, Any]
    metrics: dict[str, float]
    harvest_epoch: int | None = None
    harvested_from: str | None = None
    error: str | None = None


@dataclass
class ExportResult:
    """What `SearchResult.export` wrote and measured.

    Attributes:
        out: the output folder.
        paths: every file written there.
        estimates: the resource and latency estimates (plus synthesis figures with synth=True).
        bit_mismatches: outputs of the firmware that differ from Keras on the checked samples.
        checked_samples: how many held-out test samples were simulated.
    """

    out: Path
    paths: list[Path]
    estimates: dict[str, float]
    bit_mismatches: int
    checked_samples: int

    @property
    def bit_exact(self) -> bool:
        return self.bit_mismatches == 0


def _point(record: TrialRecord, run_ids: dict[str, str], params: dict[str, Any]) -> Point:
    epoch = record.metrics.get("harvest_epoch") if record.harvested_from else None
    return Point(
        run_ids.get(record.trial_id), record.trial_id, params, logged_values(record.metrics),
        harvest_epoch=None if epoch is None or not math.isfinite(epoch) else int(epoch),
        harvested_from=record.harvested_from, error=record.error,
    )


class SearchResult:
    """A finished (or interrupted) search: its points, Pareto front and failures.

    Attributes:
        name: the search's name (= its MLflow experiment).
        front: the Pareto-optimal points (`Point`), in the search's objectives and constraints.
        points: every finished point: completed trials and harvested checkpoints.
        failed: the trials that failed (`Point` with `error`).
        objectives: ((metric, "max" | "min"), ...) of the search.
        unfinished: trials an interrupt left unfinished (0 for a complete search).
        stopped: trials the scheduler stopped early (not points, not failures).
        resume_command: what continues an interrupted search.
        stopped_by: why its trials stopped before they ended when the user did not stop them
            (the disk holding its folder filled: free space and resume), else None.
        tracking_uri, experiment_id, parent_run_id: where the search is in MLflow (None for
            a result over several searches).
        records, front_records: the underlying `TrialRecord`s (every trial; the front's).
        notes: what loading the data and checking the model noted.
    """

    def __init__(
        self,
        name: str,
        records: Sequence[TrialRecord],
        front: Sequence[TrialRecord],
        run_ids: dict[str, str],
        objectives: Sequence[tuple[str, str]],
        *,
        tracking_uri: str,
        parent_run_id: str | None,
        experiment_id: str | None = None,
        space=None,
        data=None,
        data_fingerprint: str | None = None,
        unfinished: int = 0,
        stopped: int = 0,
        resume_command: str | None = None,
        notes: Sequence[str] = (),
        params_of=None,
        stopped_by: str | None = None,
    ):
        params_of = params_of or (lambda r: dict(r.config))
        self.name = name
        self.objectives = tuple(tuple(o) for o in objectives)
        self.tracking_uri = tracking_uri
        self.parent_run_id = parent_run_id
        self.experiment_id = experiment_id
        self.unfinished = unfinished
        self.stopped = stopped
        self.resume_command = resume_command
        self.stopped_by = stopped_by
        self.notes = tuple(notes)
        self.data_fingerprint = data_fingerprint
        self._space = space
        self._data = data
        self._run_ids = dict(run_ids)
        self.records = list(records)  # every trial's TrialRecord, as the report prints them
        self._records = [r for r in records if r.ok]  # completed, harvested checkpoints included
        self.front_records = list(front)
        self._front = self.front_records
        self.points = [_point(r, run_ids, params_of(r)) for r in self._records]
        by_id = {p.trial_id: p for p in self.points}
        self.front = [by_id[r.trial_id] for r in self._front]
        self.failed = [_point(r, run_ids, params_of(r)) for r in records if r.status == "failed"]

    @classmethod
    def from_outcome(cls, outcome) -> SearchResult:
        """The result of `driver.run_search`'s outcome (a search run in this process)."""
        space = outcome.space
        records = with_harvest(outcome.records)
        return cls(
            outcome.name, records, outcome.front, outcome.run_ids, space.objectives,
            tracking_uri=outcome.tracking_uri, parent_run_id=outcome.parent_run_id, experiment_id=outcome.experiment_id,
            space=space, data=outcome.data, data_fingerprint=outcome.data_fingerprint, unfinished=outcome.unfinished,
            stopped=sum(r.status == "stopped" for r in records), resume_command=outcome.resume_command if outcome.unfinished else None, notes=outcome.notes,
            params_of=lambda r: space.resolve(r.config), stopped_by=outcome.stopped_by,
        )

    def __repr__(self) -> str:
        more = f", {self.unfinished} unfinished" if self.unfinished else ""
        return f"<SearchResult {self.name!r}: front of {len(self.front)} of {len(self.points)} points, {len(self.failed)} failed{more}>"

    # ------------------------------------------------------------------ the space and data

    @property
    def space(self):
        """The search's space (`SearchSpace`), as it ran (read from MLflow for an opened search)."""
        if self._space is None:
            if self.parent_run_id is None:
                raise UsageError(f"{self.name!r} combines several searches; open one of them for its space and data")
            from .layout import SPACE_ARTIFACT
            from .space import parse_space
            from .tracking import connect

            from .yaml_limits import safe_load

            client = connect(self.tracking_uri)
            with tempfile.TemporaryDirectory(prefix="hgq_automl_space_") as tmp:
                path = client.download_artifacts(self.parent_run_id, SPACE_ARTIFACT, tmp)
                raw = safe_load(Path(path).read_text())
            self._space = parse_space(raw, f"search_space.yaml of run {self.parent_run_id}", data_in_memory=bool(self.data_fingerprint))
        return self._space

    @property
    def data(self):
        """The search's data split (`data.Splits`: x_train, y_train, x_val, ... x_test, y_test).

        For an opened search it is loaded again from the space's dataset; a search given its
        data in memory has none to load (UsageError)."""
        if self._data is None:
            if self.data_fingerprint:
                raise UsageError(f"the search {self.name!r} was given its data in memory; it is not stored, pass it again where needed (export(..., data=...))")
            from .data import load_dataset

            self._data = load_dataset(self.space.dataset, self.space.task.kind)
        return self._data

    # ------------------------------------------------------------------ points

    def _run_id(self, point: Point | str) -> str:
        """The MLflow run id of a point of this search (given as a Point, run id or trial id)."""
        if isinstance(point, Point):
            run_id = point.run_id
        elif isinstance(point, str):
            run_id = point if point in self._run_ids.values() else self._run_ids.get(point)
        else:
            raise UsageError(f"point: must be a Point, an MLflow run id or a trial id; got {type(point).__name__}")
        known = {p.run_id for p in self.points}
        if run_id is None or run_id not in known:
            raise UsageError(f"{point if isinstance(point, str) else point.trial_id!r} is not a finished point of the search {self.name!r}")
        return run_id

    def to_dataframe(self):
        """A pandas DataFrame with a row per finished point (`points`).

        Returns:
            Columns `trial_id`, `run_id`, `harvested_from`, `harvest_epoch`, `pareto` (bool:
            on the front), then the metrics (objectives first), then the parameters (a
            parameter named like a metric gets the prefix `param_`).
        """
        import pandas as pd

        from .report import table_metrics

        objectives = [m for m, _ in self.objectives]
        seen = {m for p in self.points for m in p.metrics} - {"harvest_epoch"}
        first = [m for m in table_metrics(objectives, self._records) if m in seen]
        metrics = first + sorted(seen - set(first))
        params = list(dict.fromkeys(k for p in self.points for k in p.params))
        fixed = {"trial_id", "run_id", "harvested_from", "harvest_epoch", "pareto"}
        column = {k: f"param_{k}" if k in seen or k in fixed else k for k in params}
        on_front = {p.trial_id for p in self.front}
        rows = []
        for p in self.points:
            row: dict[str, Any] = {
                "trial_id": p.trial_id, "run_id": p.run_id, "harvested_from": p.harvested_from,
                "harvest_epoch": p.harvest_epoch, "pareto": p.trial_id in on_front,
            }
            row.update({m: p.metrics.get(m, math.nan) for m in metrics})
            row.update({column[k]: p.params.get(k) for k in params})
            rows.append(row)
        columns = ["trial_id", "run_id", "harvested_from", "harvest_epoch", "pareto", *metrics, *(column[k] for k in params)]
        frame = pd.DataFrame(rows, columns=columns)
        frame["pareto"] = frame["pareto"].astype(bool)
        frame["harvest_epoch"] = frame["harvest_epoch"].astype("Int64")
        return frame

    def load_model(self, point: Point | str):
        """The trained model of a point, from its MLflow run.

        Args:
            point: a `Point` of this result, or its MLflow run id (or trial id).

        Returns:
            The HGQ2 `keras.Model`, with the activation ranges its metrics were measured with.
        """
        run_id = self._run_id(point)
        import os

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        from .export import _download
        from .layout import KERAS_ARTIFACT
        from .tracking import connect

        client = connect(self.tracking_uri)
        from .mlflow_model import load_keras

        with tempfile.TemporaryDirectory(prefix="hgq_automl_model_") as tmp:
            path = _download(client, run_id, KERAS_ARTIFACT, tmp, "model")
            return load_keras(path, f"MLflow run {run_id}")

    def export(
        self, point: Point | str, to: str = "hls4ml", out: str | Path | None = None, synth: bool = False, part: str | None = None, data=None,
        *, backend: str | None = None, io_type: str | None = None, clock_period: float | None = None, strategy: str | None = None,
        reuse_factor: int | None = None, hls_config: str | Path | None = None,
    ) -> ExportResult:
        """Write a point's model as firmware and re-check it bit-exact against Keras
        (what `python -m hgq_automl export RUN_ID` does).

        Args:
            point: a `Point` of this result, or its MLflow run id (or trial id).
            to: "hls4ml" (an hls4ml project, checked by C simulation) or "verilog"
                (da4ml Verilog, checked by iverilog RTL simulation).
            out: the output folder (new or empty).
            synth: also synthesize (yosys for verilog; Vivado/Vitis HLS on PATH for hls4ml).
            part: FPGA part (default: the search's hardware.part).
            data: the search's data, needed only for an opened search that was given its
                data in memory (as `search(data=...)` took it; checked by fingerprint).
            backend, io_type, clock_period, strategy, reuse_factor, hls_config: the hls4ml
                project's configuration, as the `export` command's flags of the same names
                (`--backend Vivado|Vitis`, `--io-type`, `--clock-period NS`, ...; `hls_config`
                a YAML/JSON file laid out as `config_from_keras_model(granularity='name')`
                gives it); None: the run's own.

        Returns:
            An `ExportResult`: the paths written, the estimates and `bit_mismatches`.
        """
        from .export import ExportRequest, run_export

        run_id = self._run_id(point)
        if out is None:
            raise UsageError("out=: the output folder is required")
        splits = None
        if data is not None:
            from .data import from_memory

            splits = from_memory(data, self.space.dataset, self.space.task.kind)
        elif self._data is not None:
            splits = self._data
        from .export import HlsOptions

        hls = HlsOptions(backend, io_type, clock_period, strategy, reuse_factor, None if hls_config is None else str(hls_config))
        request = ExportRequest(run_id, to, str(out), part=part, tracking_uri=self.tracking_uri, synth=synth, api=True, hls=hls)
        outcome = run_export(request, say=lambda text: print(text, file=sys.stderr, flush=True), data=splits, space=self._space)
        metrics = dict(outcome.metrics)
        mismatches = int(metrics.pop("bit_mismatches", 0))
        paths = sorted(p for p in outcome.out.rglob("*") if p.is_file())
        return ExportResult(outcome.out, paths, metrics, mismatches, outcome.checked_samples)

    def plot(self):
        """The Pareto plot: every point, the front highlighted (first objective up, second across).

        Returns:
            A matplotlib `Figure` (shown by a notebook; `fig.savefig(path)` writes it).
        """
        from .progress import in_notebook
        from .report import front_figure

        if in_notebook():
            # importing pyplot sets up the kernel's inline backend, which registers how a
            # Figure is displayed (the Figure itself is made without pyplot: shown once)
            import matplotlib.pyplot  # noqa: F401
        return front_figure(self._records, self._front, self.objectives)


def open_result(name: str | Sequence[str] | None = None, tracking_uri: str | None = None, objectives: Sequence[tuple[str, str]] | None = None) -> SearchResult:
    """Searches read back from MLflow (`hgq_automl.open_search`, `python -m hgq_automl report`).

    One name gives that search; None the latest search in the store; several names one
    result over all their points (trial ids prefixed `NAME/`), its front computed over them
    with the first search's objectives and every search's constraints. `objectives`
    replaces the objectives the front is computed with.
    """
    from .pareto import pareto_front
    from .tracking import connect, existing_store, latest_search_experiment, read_search

    client = connect(existing_store(tracking_uri, "tracking_uri"))
    if name is None:
        names = [latest_search_experiment(client)]
    elif isinstance(name, str):
        names = [name]
    else:
        names = list(name)
        if not names or not all(isinstance(n, str) for n in names):
            raise UsageError(f"name: must be a search's name or a list of names; got {name!r}")
    searches = [read_search(client, n, prefix=f"{n}/" if len(names) > 1 else "") for n in names]
    chosen = tuple(tuple(o) for o in objectives) if objectives else searches[0].objectives
    records = [r for s in searches for r in s.records]
    run_ids = {k: v for s in searches for k, v in s.run_ids.items()}
    constraints = tuple({str(c): c for s in searches for c in s.constraints}.values())
    completed = [r for r in records if r.ok]
    front = pareto_front(completed, chosen, lambda r: r.metrics, constraints)
    parents = [client.get_run(s.parent_run_id) for s in searches]
    single = len(names) == 1
    return SearchResult(
        ", ".join(names), records, front, run_ids, chosen,
        tracking_uri=client.tracking_uri, parent_run_id=parents[0].info.run_id if single else None,
        experiment_id=parents[0].info.experiment_id if single else None,
        data_fingerprint=parents[0].data.params.get("data_fingerprint") if single else None,
        unfinished=sum(int(p.data.metrics.get("trials_unfinished", 0)) for p in parents),
        stopped=sum(r.status == "stopped" for r in records),
    )
