"""`hgq_automl report` and `hgq_automl ui`: browsing finished searches from MLflow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence

from .errors import UsageError
from .metrics import parse_objectives


def report(experiments: Sequence[str] | None, tracking_uri: str | None, fmt: str = "table", objectives: Sequence[str] | None = None, console=None) -> int:
    """Print the Pareto set of one search, or the combined set of several, read from MLflow
    through the Python API (`open_search`)."""
    from rich.console import Console

    from .api import open_search
    from .report import config_summary, front_rows, front_table, rows_to_csv

    from .tracking import existing_store

    chosen = parse_objectives(objectives) if objectives else None
    existing_store(tracking_uri)  # an empty folder: say so, create no store
    result = open_search(list(experiments) if experiments else None, tracking_uri, objectives=chosen)
    front = result.front_records
    names_only = [m for m, _ in result.objectives]
    run_ids = {p.trial_id: p.run_id for p in result.points + result.failed}
    rows = front_rows(front, names_only, run_ids)
    if fmt == "json":
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if fmt == "csv":
        print(rows_to_csv(rows), end="")
        return 0
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    completed = result.points
    harvested = sum(bool(p.harvested_from) for p in completed)
    candidates = (
        f"{len(completed)} points ({len(completed) - harvested} completed trials + {harvested} harvested epochs)" if harvested else f"{len(completed)} completed trials"
    )
    stopped = f", {result.stopped} stopped early" if result.stopped else ""
    title = (
        f"Pareto set of {result.name} ({', '.join(f'{m} {d}' for m, d in result.objectives)}): {len(front)} of {candidates} "
        f"({len(result.failed)} failed{stopped})"
    )
    console.print(front_table(front, names_only, title=title, ascii_only=not console.is_terminal))
    for record in front:
        console.print(f"  trial {record.trial_id} (MLflow run {run_ids.get(record.trial_id)}): {config_summary(record.config)}", soft_wrap=True)
    for point in result.failed:
        console.print(f"  failed trial {point.trial_id}: {point.error}", soft_wrap=True)
    return 0


def ui(tracking_uri: str | None, port: int = 5000, ready_timeout: float = 120.0) -> int:
    """Run the MLflow UI on 127.0.0.1 for the store, print its URL, stop it (and its workers) on Ctrl-C."""
    from .redact import redact
    from .tracking import existing_store

    uri = existing_store(tracking_uri)
    # Ctrl-C, SIGINT or SIGTERM stop the UI, even where a shell started us with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # the store through the environment (MLflow's own MLFLOW_BACKEND_STORE_URI), not the
    # command line, which every user of the machine can read (ps, /proc/PID/cmdline)
    cmd = [sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "MLFLOW_BACKEND_STORE_URI": uri}
    # its own process group, stopped with its workers; its log goes to stderr, the URL to stdout
    server = subprocess.Popen(cmd, start_new_session=True, stdout=sys.stderr, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while not _healthy(url):
            if server.poll() is not None:
                raise UsageError(f"the MLflow UI exited with code {server.returncode} (is port {port} taken? try --port)")
            if time.monotonic() > deadline:
                raise UsageError(f"the MLflow UI did not answer on {url} within {ready_timeout:.0f} s")
            time.sleep(0.5)
        print(f"MLflow UI for {redact(uri)}: {url}/#/experiments?workflowType=machine_learning  (Ctrl-C stops it)", flush=True)
        server.wait()
        return server.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
