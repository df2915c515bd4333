"""`hgq_automl export RUN_ID` (or `export MODEL.keras`): a trial's model from MLflow, or a
trained model file, out as an hls4ml project or Verilog.

Wires the MLflow adapter (the run, its `model/data/model.keras`, the parent run's
`search_space.yaml`) to the hardware adapters: the same data split is rebuilt from the
space, the firmware is written, its bit-exactness re-checked on the held-out test split
(hls4ml C simulation, or iverilog RTL simulation of `hardware.sim_samples` samples), and
the estimates (plus synthesis figures with `--synth`) are returned.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import SpaceError, UsageError, first_line
from .tags import PARENT_RUN, ROLE, SEARCH_RUN

TARGETS = ("hls4ml", "verilog")


@dataclass(frozen=True)
class HlsOptions:
    """How the hls4ml project is configured, as an hls4ml user chooses it (None: the run's
    own, or for a model file the defaults: Vitis, io_parallel, 5 ns, latency, reuse factor 1)."""

    backend: str | None = None
    io_type: str | None = None
    clock_period: float | None = None  # ns; verilog too (the da4ml pipeline's cutoff)
    strategy: str | None = None
    reuse_factor: int | None = None
    hls_config: str | None = None  # a YAML/JSON file laid out as config_from_keras_model(granularity='name') gives it

    def hls_only(self) -> list[str]:
        """The options set that only an hls4ml project takes."""
        return [name for name in ("backend", "io_type", "strategy", "reuse_factor", "hls_config") if getattr(self, name) is not None]


@dataclass(frozen=True)
class ExportRequest:
    run_id: str
    to: str
    out: str
    part: str | None = None
    tracking_uri: str | None = None
    synth: bool = False  # verilog: yosys; hls4ml: the vendor build (tool on PATH)
    api: bool = False  # made by the Python API: messages name its arguments (to=, out=), not the flags
    hls: HlsOptions = HlsOptions()

    def opt(self, name: str) -> str:
        return f"{name.replace('-', '_')}=" if self.api else f"--{name}"


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
        raise UsageError(f"run {run_id}: cannot read the {what} artifact ({path}): {first_line(exc)}") from None


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
    check_hls_options(request)


#: in an export's --out while it writes there: the exporting process's pid
EXPORT_LOCK = ".hgq_automl_export.lock"


@contextmanager
def claimed_out(request) -> Iterator[Path]:
    """`request.out`, made this export's for as long as it writes there.

    The folder is created, then its lock file taken (`O_EXCL`: of two exports started at
    once into one folder, from the CLI, the API or the MCP server, one gets it, the other
    stops with one line), then checked to be empty apart from the lock. The lock is removed
    when the export ends; a killed export's lock names a dead process and is taken over."""
    out = Path(request.out).resolve()
    shown = f"{request.opt('out')}{'' if request.api else ' '}{request.out}"
    out.mkdir(parents=True, exist_ok=True)
    lock = out / EXPORT_LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        holder = _lock_holder(lock)
        if holder is not None:
            raise UsageError(f"{shown}: another export (pid {holder}) is writing there; wait for it to end or choose another folder") from None
        lock.unlink(missing_ok=True)  # left by a killed export
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    try:
        if any(p.name != EXPORT_LOCK for p in out.iterdir()):
            raise UsageError(f"{shown} exists and is not an empty folder")
        yield out
    finally:
        lock.unlink(missing_ok=True)


def _lock_holder(lock: Path) -> int | None:
    """The pid in an export lock when that process still runs, else None."""
    try:
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        return pid
    return pid


def _flag(request, name: str, value) -> str:
    """`--name VALUE` (CLI) or `name=VALUE` (API), for messages."""
    return f"{request.opt(name)}{value!r}" if request.api else f"{request.opt(name)} {value}"


def check_hls_options(request) -> dict | None:
    """Check the hls4ml options of an export request (one line naming the flag); the
    --hls-config file's content (checked for shape; its layer names against the model later)."""
    from .space import HLS_BACKENDS, IO_TYPES, OTHER_HLS4ML_BACKENDS, STRATEGIES

    hls = request.hls
    if request.to != "hls4ml" and hls.hls_only():
        name = hls.hls_only()[0].replace("_", "-")
        raise UsageError(f"{request.opt(name)} goes with {request.opt('to')}{'' if request.api else ' '}hls4ml; da4ml Verilog has no hls4ml configuration")
    if hls.backend is not None and hls.backend not in HLS_BACKENDS:
        if hls.backend in OTHER_HLS4ML_BACKENDS:
            raise UsageError(f"{_flag(request, 'backend', hls.backend)}: {OTHER_HLS4ML_BACKENDS[hls.backend]}; use {' or '.join(HLS_BACKENDS)}")
        raise UsageError(f"{request.opt('backend')} must be one of {', '.join(HLS_BACKENDS)}; got {hls.backend!r}")
    if hls.io_type is not None and hls.io_type not in IO_TYPES:
        raise UsageError(f"{request.opt('io-type')} must be one of {', '.join(IO_TYPES)}; got {hls.io_type!r}")
    if hls.strategy is not None and hls.strategy not in STRATEGIES:
        raise UsageError(f"{request.opt('strategy')} must be one of {', '.join(STRATEGIES)}; got {hls.strategy!r}")
    if hls.reuse_factor is not None and (isinstance(hls.reuse_factor, bool) or not isinstance(hls.reuse_factor, int) or hls.reuse_factor < 1):
        raise UsageError(f"{request.opt('reuse-factor')} must be an integer >= 1; got {hls.reuse_factor!r}")
    if hls.clock_period is not None and (isinstance(hls.clock_period, bool) or not isinstance(hls.clock_period, (int, float)) or not hls.clock_period > 0):
        raise UsageError(f"{request.opt('clock-period')} must be a number of ns > 0; got {hls.clock_period!r}")
    if hls.strategy == "distributed_arithmetic" and hls.reuse_factor not in (None, 1):
        raise UsageError(f"{request.opt('reuse-factor')} must be 1 with {request.opt('strategy')} distributed_arithmetic (hls4ml's DA is fully parallel); got {hls.reuse_factor}")
    return read_hls_config(hls.hls_config, request.opt("hls-config").rstrip("=")) if hls.hls_config is not None else None


def read_hls_config(path: str, flag: str = "--hls-config") -> dict:
    """An hls4ml config from a YAML or JSON file (one line naming the file and the problem)."""
    import json

    import yaml

    from .space import hls_config_problem

    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f"{flag} {path}: no such file")
    try:
        text = file.read_text()
        config = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{flag} {path}: not a readable {'JSON' if file.suffix.lower() == '.json' else 'YAML'} file: {first_line(exc, 160)}") from None
    problem = hls_config_problem(config)
    if problem:
        raise UsageError(f"{flag} {path}: {problem}")
    return config


def _configured(request, hardware, params: dict[str, Any], file_config: dict | None):
    """The hardware section and params the export uses: the run's (or the defaults), the
    --hls-config file merged over the section's `hls_config`, and the flags over both (a
    flag's strategy or reuse factor is the model-wide one; the file's per-layer entries
    still win for their layers). The file's model-wide Strategy/ReuseFactor, when no flag
    says otherwise, become the export's params (its estimates use them)."""
    from .hardware.hls import HLS_STRATEGY, _merge

    hls = request.hls
    if hls.backend is not None:
        hardware = replace(hardware, backend=hls.backend, synthesis="csim" if hardware.synthesis in ("vivado", "vitis") else hardware.synthesis)
    if hls.io_type is not None:
        hardware = replace(hardware, io_type=hls.io_type)
    if hls.clock_period is not None:
        hardware = replace(hardware, clock_period_ns=float(hls.clock_period))
    config = _merge(dict(hardware.hls_config or {}), file_config or {})
    model = dict(config.get("Model") or {})
    params = dict(params)
    if hls.strategy is not None:
        params["strategy"] = hls.strategy
    elif "Strategy" in model:
        ours = {v.lower(): k for k, v in HLS_STRATEGY.items()}
        if str(model["Strategy"]).lower() not in ours:
            raise UsageError(f"{request.opt('hls-config').rstrip('=')} {hls.hls_config}: Model.Strategy must be one of {', '.join(HLS_STRATEGY.values())}; got {model['Strategy']!r}")
        params["strategy"] = ours[str(model["Strategy"]).lower()]
    if hls.reuse_factor is not None:
        params["reuse_factor"] = hls.reuse_factor
    elif "ReuseFactor" in model:
        params["reuse_factor"] = int(model["ReuseFactor"])
    model.pop("Strategy", None)
    model.pop("ReuseFactor", None)
    config = {**config, "Model": model} if model else {k: v for k, v in config.items() if k != "Model"}
    return replace(hardware, hls_config=config or None), params


def _check_against_model(request, model, hardware) -> None:
    """What needs the model: io_stream's homogeneous quantizers, the config's layer names."""
    from .hardware.hls import NotConvertible, check_layer_names, stream_blocker

    if request.to != "hls4ml":
        return
    if hardware.io_type == "io_stream":
        reason = stream_blocker(model)
        if reason:
            what = _flag(request, "io-type", "io_stream") if request.hls.io_type else "the run's hardware.io_type io_stream"
            raise UsageError(f"{what}: {reason}")
    where = f"{request.opt('hls-config').rstrip('=')} {request.hls.hls_config}" if request.hls.hls_config else "the run's hardware.hls_config"
    try:
        check_layer_names(model, hardware.hls_config, where)
    except NotConvertible as exc:
        raise UsageError(str(exc)) from None


def _hls(model, hardware, params, x, out, build, say) -> dict[str, float]:
    """The trial's hls4ml step; what hls4ml 1.3 refuses to convert as asked is one line."""
    from .hardware.hls import NotConvertible
    from .hardware.synthesis import hls_step

    try:
        return hls_step(model, hardware, params, x, out, build, say=say)
    except NotConvertible as exc:
        raise UsageError(str(exc)) from None


def _say_config(say, hardware, params, out) -> None:
    say(
        f"writing the hls4ml project ({hardware.hls_backend}, {hardware.io_type}, {params['strategy']}, reuse_factor {params['reuse_factor']}, "
        f"clock {hardware.clock_period_ns:g} ns, part {hardware.part}"
        + (", with the layer settings of the hls_config" if hardware.hls_config else "")
        + f") to {out}"
    )


def run_export(request: ExportRequest, say=print, data=None, space=None) -> ExportOutcome:
    """Export the model of trial run `request.run_id`; `say` prints progress and figures.

    `data` (a `data.Splits`): the search's data, needed for a search given its data in
    memory (the Python API; checked against the search's `data_fingerprint`); else the
    space's dataset is loaded again. `space`: the search's space when the caller has it
    (the API's result; a model given as a Python object), else read from the search's run."""
    check_request(request)
    file_config = check_hls_options(request)
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
        params = _typed_params(space, run.data.params)
        hardware, params = _configured(request, hardware, params, file_config)
        if request.synth and request.to == "hls4ml":
            from .hardware.hls import check_vendor_tool
            from .hardware.rtl import ToolMissing

            try:
                check_vendor_tool(hardware.hls_backend.lower())
            except ToolMissing as exc:
                raise UsageError(f"{request.opt('synth')}: {exc}") from None

        from .mlflow_model import load_keras

        model = load_keras(model_path, f"MLflow run {request.run_id}")
    _check_against_model(request, model, hardware)

    from .estimates import estimate

    if data is None:
        data = load_dataset(space.dataset, space.task.kind)
    metrics: dict[str, float] = dict(estimate(model, int(params["reuse_factor"]), str(params["strategy"]), hardware.clock_period_ns))
    # the trial's own synthesis steps, with the project written to `out` itself
    from .hardware.synthesis import rtl_step, simulated_samples

    with claimed_out(request) as out:
        if request.to == "hls4ml":
            _say_config(say, hardware, params, out)
            checked = len(data.x_test)
            metrics.update(_hls(model, hardware, params, data.x_test, out, hardware.hls_backend.lower() if request.synth else None, say))
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
    hls: HlsOptions = HlsOptions()

    def opt(self, name: str) -> str:
        return f"{name.replace('-', '_')}=" if self.api else f"--{name}"


def run_file_export(request: FileExportRequest, say=print) -> ExportOutcome:
    """Export a model file (`model_file.load`: an HGQ2 model as saved, a float one converted
    and traced on `request.data`) by the trial's own steps, at hls4ml's default strategy
    (latency) and reuse factor 1, and the default hardware section, unless `--part` and
    the hls4ml options (`request.hls`) say otherwise.
    Bit-exactness is checked on `request.data`'s samples, else on samples drawn over the
    input quantizer's range (`model_file.drawn_inputs`), and `say` tells which."""
    from .space.schema import HardwareSpec

    check_request(ExportRequest("", request.to, request.out, part=request.part, api=request.api, hls=request.hls))
    file_config = check_hls_options(request)
    hardware = HardwareSpec(part=request.part) if request.part else HardwareSpec()
    hardware, params = _configured(request, hardware, {"strategy": "latency", "reuse_factor": 1}, file_config)
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
    if not loaded.converted:
        _check_against_model(request, loaded.model, hardware)
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
        _check_against_model(request, loaded.model, hardware)

    from .estimates import estimate
    from .hardware.synthesis import rtl_step, simulated_samples

    metrics: dict[str, float] = dict(estimate(loaded.model, int(params["reuse_factor"]), str(params["strategy"]), hardware.clock_period_ns))
    with claimed_out(request) as out:
        if request.to == "hls4ml":
            _say_config(say, hardware, params, out)
            checked = len(x)
            metrics.update(_hls(loaded.model, hardware, params, x, out, hardware.hls_backend.lower() if request.synth else None, say))
        else:
            say(f"writing da4ml Verilog (top module `model`, part {hardware.part}, clock {hardware.clock_period_ns:g} ns) to {out}")
            checked = simulated_samples(hardware, len(x))
            metrics.update(rtl_step(loaded.model, hardware, x, out, synth=request.synth))
    return ExportOutcome(out, metrics, checked, source if checked == len(x) else f"the first {checked} of {source}")
