"""`hgq_automl export RUN_ID` (or `export MODEL.keras`): a trial's model from MLflow, or a
trained model file, out as an hls4ml project or Verilog.

Wires the MLflow adapter (the run, its `model/data/model.keras`, the parent run's
`search_space.yaml`) to the hardware adapters: the same data split is rebuilt from the
space, the firmware is written, its bit-exactness re-checked on the held-out test split
(hls4ml C simulation, or iverilog RTL simulation of `hardware.sim_samples` samples), and
the estimates (plus synthesis figures with `--synth`) are returned.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import SpaceError, UsageError
from .tags import PARENT_RUN, ROLE, SEARCH_RUN

TARGETS = ("hls4ml", "verilog")


@dataclass(frozen=True)
class ExportRequest:
    run_id: str
    to: str
    out: str
    part: str | None = None
    tracking_uri: str | None = None
    synth: bool = False  # verilog: yosys; hls4ml: the vendor build (tool on PATH)
    api: bool = False  # made by the Python API: messages name its arguments (to=, out=), not the flags

    def opt(self, name: str) -> str:
        return f"{name}=" if self.api else f"--{name}"


@dataclass
class ExportOutcome:
    out: Path
    metrics: dict[str, float] = field(default_factory=dict)
    checked_samples: int = 0
    checked_on: str = ""  # what the samples were, when not the search's held-out test split

    @property
    def bit_exact(self) -> bool:
        return self.metrics.get("bit_mismatches", 0) == 0


def _typed_params(space, params: dict[str, str]) -> dict[str, Any]:
    """The run's logged params (text) as the values the space's rules describe."""
    from .tracking import param_value

    rules = space.rules()
    return space.resolve({name: param_value(text, rules[name].kind) for name, text in params.items() if name in rules})


def _load_run(client, run_id: str):
    from mlflow.exceptions import MlflowException

    from .redact import redact

    try:
        return client.get_run(run_id)
    except MlflowException:
        raise UsageError(f"no MLflow run {run_id!r} at {redact(client.tracking_uri)}") from None


def _download(client, run_id: str, path: str, dst: str, what: str) -> Path:
    from mlflow.exceptions import MlflowException

    try:
        names = {a.path for a in client.list_artifacts(run_id, str(Path(path).parent) if "/" in path else None)}
        if path not in names:
            raise UsageError(f"run {run_id} has no {what} artifact ({path})")
        return Path(client.download_artifacts(run_id, path, dst))
    except MlflowException as exc:
        raise UsageError(f"run {run_id}: cannot read the {what} artifact ({path}): {str(exc).splitlines()[0][:200]}") from None


def check_request(request: ExportRequest) -> None:
    """What can be checked before MLflow is touched: target, part, output folder, tools."""
    from .parts import UnknownPart, part_family

    if request.to not in TARGETS:
        raise UsageError(f"{request.opt('to')} must be one of {', '.join(TARGETS)}; got {request.to!r}")
    if request.part is not None:
        try:
            part_family(request.part)
        except UnknownPart as exc:
            raise UsageError(f"{request.opt('part')}: {exc}") from None
    out = Path(request.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{request.opt('out')}{'' if request.api else ' '}{request.out} exists and is not an empty folder")


def run_export(request: ExportRequest, say=print, data=None, space=None) -> ExportOutcome:
    """Export the model of trial run `request.run_id`; `say` prints progress and figures.

    `data` (a `data.Splits`): the search's data, needed for a search given its data in
    memory (the Python API; checked against the search's `data_fingerprint`); else the
    space's dataset is loaded again. `space`: the search's space when the caller has it
    (the API's result; a model given as a Python object), else read from the search's run."""
    check_request(request)
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep stderr to our own lines
    from .tracking import connect

    client = connect(request.tracking_uri)
    run = _load_run(client, request.run_id)
    role = run.data.tags.get(ROLE)
    if role not in ("trial", "harvest"):
        raise UsageError(f"run {request.run_id} is not a trial run or harvested checkpoint of an hgq_automl search (tag hgq_automl.role is {role!r})")
    # a harvested checkpoint's run is nested under its trial's run; the space is on the search's
    parent = run.data.tags.get(SEARCH_RUN) or run.data.tags.get(PARENT_RUN)
    if not parent:
        raise UsageError(f"run {request.run_id} has no parent search run (tag mlflow.parentRunId)")

    from .yaml_limits import safe_load

    from .data import fingerprint, load_dataset
    from .layout import KERAS_ARTIFACT, SPACE_ARTIFACT
    from .space import parse_space

    expected_fp = client.get_run(parent).data.params.get("data_fingerprint")
    if expected_fp and data is None:
        raise UsageError(
            f"run {request.run_id}: its search was given its data in memory (Python API); export it from Python with that data: "
            "SearchResult.export(..., data=...)"
        )
    if data is not None and expected_fp and fingerprint(data) != expected_fp:
        raise UsageError(f"run {request.run_id}: data= is not the data its search was run on (sha256 {fingerprint(data)[:12]}... instead of {expected_fp[:12]}...)")

    with tempfile.TemporaryDirectory(prefix="hgq_automl_export_") as tmp:
        model_path = _download(client, request.run_id, KERAS_ARTIFACT, tmp, "model")
        if space is None:
            space_path = _download(client, parent, SPACE_ARTIFACT, tmp, "search space")
            try:
                space = parse_space(safe_load(space_path.read_text()), f"search_space.yaml of run {parent}", data_in_memory=bool(expected_fp))
            except SpaceError as exc:
                raise UsageError(str(exc)) from None
        hardware = replace(space.hardware, part=request.part) if request.part else space.hardware
        if request.synth and request.to == "hls4ml":
            from .hardware.hls import check_vendor_tool
            from .hardware.rtl import ToolMissing

            try:
                check_vendor_tool(hardware.hls_backend.lower())
            except ToolMissing as exc:
                raise UsageError(f"{request.opt('synth')}: {exc}") from None
        params = _typed_params(space, run.data.params)

        from .mlflow_model import load_keras

        model = load_keras(model_path, f"MLflow run {request.run_id}")

    from .estimates import estimate

    if data is None:
        data = load_dataset(space.dataset, space.task.kind)
    out = Path(request.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, float] = dict(estimate(model, int(params["reuse_factor"]), str(params["strategy"]), hardware.clock_period_ns))
    # the trial's own synthesis steps, with the project written to `out` itself
    from .hardware.synthesis import hls_step, rtl_step, simulated_samples

    if request.to == "hls4ml":
        say(f"writing the hls4ml project ({hardware.hls_backend}, {params['strategy']}, reuse_factor {params['reuse_factor']}, part {hardware.part}) to {out}")
        checked = len(data.x_test)
        metrics.update(hls_step(model, hardware, params, data.x_test, out, hardware.hls_backend.lower() if request.synth else None))
    else:
        say(f"writing da4ml Verilog (top module `model`, part {hardware.part}, clock {hardware.clock_period_ns:g} ns) to {out}")
        checked = simulated_samples(hardware, len(data.x_test))
        metrics.update(rtl_step(model, hardware, data.x_test, out, synth=request.synth))
    return ExportOutcome(out, metrics, checked)


def describe(outcome: ExportOutcome) -> list[str]:
    """Lines for the console: every metric with its unit, and the bit-exactness verdict."""
    from .metrics import FINAL_METRICS
    from .report import format_value

    lines = []
    for name, value in outcome.metrics.items():
        unit = FINAL_METRICS[name].unit if name in FINAL_METRICS else ""
        lines.append(f"  {name:<22} {format_value(value):>12} {unit}")
    n = int(outcome.metrics.get("bit_mismatches", 0))
    verdict = "bit-exact" if n == 0 else f"NOT bit-exact: {n} outputs differ"
    what = outcome.checked_on or f"{outcome.checked_samples} held-out test samples"
    lines.append(f"firmware vs Keras on {what}: {verdict}")
    return lines


@dataclass(frozen=True)
class FileExportRequest:
    """`export MODEL.keras`: a trained model file, no search behind it."""

    model: str
    to: str
    out: str
    data: str | None = None  # input samples for the bit-exactness check (and the tracing of a float model)
    part: str | None = None
    synth: bool = False
    api: bool = False

    def opt(self, name: str) -> str:
        return f"{name}=" if self.api else f"--{name}"


def run_file_export(request: FileExportRequest, say=print) -> ExportOutcome:
    """Export a model file (`model_file.load`: an HGQ2 model as saved, a float one converted
    and traced on `request.data`) by the trial's own steps, at hls4ml's default strategy
    (latency) and reuse factor 1, and the default hardware section (`--part` aside).
    Bit-exactness is checked on `request.data`'s samples, else on samples drawn over the
    input quantizer's range (`model_file.drawn_inputs`), and `say` tells which."""
    from .space.schema import HardwareSpec

    check_request(ExportRequest("", request.to, request.out, part=request.part, api=request.api))
    hardware = HardwareSpec(part=request.part) if request.part else HardwareSpec()
    if request.synth and request.to == "hls4ml":
        from .hardware.hls import check_vendor_tool
        from .hardware.rtl import ToolMissing

        try:
            check_vendor_tool(hardware.hls_backend.lower())
        except ToolMissing as exc:
            raise UsageError(f"{request.opt('synth')}: {exc}") from None
    from . import model_file

    if request.data is None and model_file.is_float_model(model_file.model_config_text(request.model)):
        raise UsageError(f"{request.model}: a float Keras model; its HGQ2 conversion needs {request.opt('data')}{'' if request.api else ' '}FILE to trace its activation ranges")
    if request.data is not None and not Path(request.data).expanduser().is_file():
        raise UsageError(f"{request.opt('data').rstrip('=')} {request.data}: no such file")
    loaded = model_file.load(request.model)
    shape = model_file.input_shape(loaded.model)
    if request.data is not None:
        x = model_file.read_inputs(request.data, shape, flag=request.opt("data").rstrip("="))
        source = f"{len(x)} samples of {request.data}"
    else:
        x, source = model_file.drawn_inputs(loaded.model)
        say(f"no {request.opt('data').rstrip('=')} given: checking bit-exactness on {source}")
    for note in loaded.notes:
        say(f"{request.model}: {note}")
    if loaded.converted:
        from hgq.utils import trace_minmax

        trace_minmax(loaded.model, x, batch_size=4096)
        say(f"activation ranges traced on {source}")

    from .estimates import estimate
    from .hardware.synthesis import hls_step, rtl_step, simulated_samples

    out = Path(request.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    params = {"strategy": "latency", "reuse_factor": 1}
    metrics: dict[str, float] = dict(estimate(loaded.model, 1, "latency", hardware.clock_period_ns))
    if request.to == "hls4ml":
        say(f"writing the hls4ml project ({hardware.hls_backend}, latency, reuse_factor 1, part {hardware.part}) to {out}")
        checked = len(x)
        metrics.update(hls_step(loaded.model, hardware, params, x, out, hardware.hls_backend.lower() if request.synth else None))
    else:
        say(f"writing da4ml Verilog (top module `model`, part {hardware.part}, clock {hardware.clock_period_ns:g} ns) to {out}")
        checked = simulated_samples(hardware, len(x))
        metrics.update(rtl_step(loaded.model, hardware, x, out, synth=request.synth))
    return ExportOutcome(out, metrics, checked, source if checked == len(x) else f"the first {checked} of {source}")
