"""`export RUN_ID`: a trial's (or harvested checkpoint's) model read back from MLflow
(`model/data/model.keras`, the search's `search_space.yaml`, the run's parameters), the
search's data split rebuilt (or the API's `data=`, checked against its fingerprint), and
the firmware written and checked on the held-out test split."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import SpaceError, UsageError, first_line
from ..tags import PARENT_RUN, ROLE, SEARCH_RUN
from .checks import check_hls_options, check_request
from .firmware import check_synth_tool, write_firmware
from .requests import ExportOutcome, ExportRequest
from .settings import _check_against_model, _configured


def _typed_params(space, params: dict[str, str]) -> dict[str, Any]:
    """The run's logged params (text) as the values the space's rules describe."""
    from ..tracking import param_value

    rules = space.rules()
    return space.resolve({name: param_value(text, rules[name].kind) for name, text in params.items() if name in rules})


def _load_run(client, run_id: str):
    from mlflow.exceptions import MlflowException

    from ..redact import redact

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


def run_export(request: ExportRequest, say=print, data=None, space=None) -> ExportOutcome:
    """Export the model of trial run `request.run_id`; `say` prints progress and figures.

    `data` (a `data.Splits`): the search's data, needed for a search given its data in
    memory (the Python API; checked against the search's `data_fingerprint`); else the
    space's dataset is loaded again. `space`: the search's space when the caller has it
    (the API's result; a model given as a Python object), else read from the search's run."""
    check_request(request)
    file_config = check_hls_options(request)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep stderr to our own lines
    from ..tracking import connect

    client = connect(request.tracking_uri)
    run = _load_run(client, request.run_id)
    role = run.data.tags.get(ROLE)
    if role not in ("trial", "harvest"):
        raise UsageError(f"run {request.run_id} is not a trial run or harvested checkpoint of an hgq_automl search (tag hgq_automl.role is {role!r})")
    # a harvested checkpoint's run is nested under its trial's run; the space is on the search's
    parent = run.data.tags.get(SEARCH_RUN) or run.data.tags.get(PARENT_RUN)
    if not parent:
        raise UsageError(f"run {request.run_id} has no parent search run (tag mlflow.parentRunId)")

    from ..yaml_limits import safe_load

    from ..data import fingerprint, load_dataset
    from ..layout import KERAS_ARTIFACT, SPACE_ARTIFACT
    from ..space import parse_space

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
        check_synth_tool(request, hardware)

        from ..mlflow_model import load_keras

        model = load_keras(model_path, f"MLflow run {request.run_id}")
    _check_against_model(request, model, hardware)

    from ..estimates import estimate

    if data is None:
        data = load_dataset(space.dataset, space.task.kind)
    metrics: dict[str, float] = dict(estimate(model, int(params["reuse_factor"]), str(params["strategy"]), hardware.clock_period_ns))
    out, checked = write_firmware(request, model, hardware, params, data.x_test, metrics, say)
    return ExportOutcome(out, metrics, checked)
