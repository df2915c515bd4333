"""Exporting a model for the MCP server (`export_in_subprocess`): `export.run_export` runs
in a subprocess of its own (`export_child`), so that TensorFlow, hls4ml and da4ml never
load in the server and nothing they print reaches the stdio protocol stream. Its output
folder and --hls-config file are confined to the workspace; the outcome comes back as
JSON in a file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .confine import FILES, inside
from .processes import ERROR_PREFIX
from .results import _finite


def export_in_subprocess(root: Path, tracking_uri: str, run_id: str, to: str, out: str, timeout: float = 3600.0, **hls_options: Any) -> dict[str, Any]:
    """`Workspace.export_model` in the workspace `root` whose MLflow store is `tracking_uri`:
    the request checked here (one line), then run by `export_child` in a subprocess."""
    from dataclasses import asdict

    from ..export import ExportRequest, HlsOptions, check_request

    if not isinstance(run_id, str) or not re.fullmatch(r"[0-9a-fA-F]{8,64}", run_id):
        raise UsageError(f"run_id must be an MLflow run id (hex); got {run_id!r}")
    folder = inside(root, out, "out")
    given = {k: v for k, v in hls_options.items() if v is not None}
    if given.get("hls_config") is not None:
        given["hls_config"] = str(inside(root, given["hls_config"], "hls_config"))
    hls = HlsOptions(**given)
    check_request(ExportRequest(run_id, to, str(folder), api=True, hls=hls))
    result = root / FILES / "exports" / f"{run_id}-{time.time_ns()}.json"
    result.parent.mkdir(parents=True, exist_ok=True)
    code = "import sys; from hgq_automl.mcp_workspace import export_child; sys.exit(export_child(sys.argv[1:]))"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, run_id, to, str(folder), tracking_uri, str(result), json.dumps(asdict(hls))],
        cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=env, start_new_session=True,
    )
    if done.returncode != 0 or not result.is_file():
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        errors = [line[len(ERROR_PREFIX):] for line in lines if line.startswith(ERROR_PREFIX)]
        raise UsageError(errors[-1] if errors else f"export of run {run_id} failed (exit code {done.returncode}): {lines[-1] if lines else ''}")
    outcome = json.loads(result.read_text())
    result.unlink()
    return _finite(outcome)


def export_child(argv: list[str]) -> int:
    """The export subprocess: `run_export` (TensorFlow, hls4ml, da4ml load here, not in the
    server), its result as JSON in a file; a UsageError is the CLI's one line, exit 2."""
    from ..export import ExportRequest, HlsOptions, run_export

    run_id, to, out, uri, result, *options = argv
    hls = HlsOptions(**json.loads(options[0])) if options else HlsOptions()
    try:
        outcome = run_export(ExportRequest(run_id, to, out, tracking_uri=uri, api=True, hls=hls), say=lambda text: print(text, file=sys.stderr, flush=True))
    except UsageError as exc:
        print(f"{ERROR_PREFIX}{exc}", file=sys.stderr)
        return 2
    metrics = dict(outcome.metrics)
    mismatches = int(metrics.pop("bit_mismatches", 0))
    Path(result).write_text(json.dumps({
        "run_id": run_id, "to": to, "out": str(outcome.out),
        "paths": sorted(str(p.relative_to(outcome.out)) for p in outcome.out.rglob("*") if p.is_file()),
        "estimates": metrics, "bit_mismatches": mismatches, "checked_samples": outcome.checked_samples, "bit_exact": mismatches == 0,
    }, default=float))
    return 0
