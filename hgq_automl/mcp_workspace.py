"""The MCP server's workspace: the logic behind its tools, plain Python, no MCP.

`Workspace` confines every path a client gives (a space file, `out=`, a space's dataset
files, model file and builder module) to the workspace folder (`--root`); built-in
spaces are trusted as shipped. It launches each search as `python -m hgq_automl search ...`
in a subprocess of its own (its own process group, by default in a private network
namespace so that Ray listens on loopback only), with its MLflow store and Ray Tune
folder inside the workspace, and reads status, fronts and artifacts back from that
MLflow store. `stop_search` sends the CLI's Ctrl-C (SIGINT), which leaves the search
resumable; an export runs `export.run_export` in a subprocess too (`export_child`), so
TensorFlow and Ray never load in the server and nothing they print reaches the stdio
protocol stream. Bad input raises UsageError with the CLI's one-line message.

`mcp_server` wraps it in the MCP SDK's tools and resources.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpaceError, UsageError
from .layout import DRIVER_FILE, STATE_FILE

#: The workspace's sub-folders: the searches' Ray Tune folders, and this server's files per search.
STORAGE = "hgq_automl_results"
FILES = "hgq_automl_mcp"
TARGETS = ("hls4ml", "verilog")
ERROR_PREFIX = "hgq_automl: error: "


@dataclass
class Launched:
    """A search process this server started."""

    name: str
    process: subprocess.Popen
    log: Path
    started: float
    offset: int = 0  # where this run's output starts in the log (a resumed search appends)

    def output(self) -> str:
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _driver_pid(path: Path) -> int | None:
    """The pid in a search's DRIVER_FILE, or None while there is none (or it is being written)."""
    try:
        return int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _last_error(log: Path) -> str | None:
    """The CLI's one-line error in a search's log (without its prefix), else its last line."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return None
    errors = [line[len(ERROR_PREFIX):] for line in lines if line.startswith(ERROR_PREFIX)]
    return errors[-1] if errors else (lines[-1] if lines else None)


class Workspace:
    """What the MCP tools do, on a workspace folder: searches started, watched, stopped, exported.

    Args:
        root: the workspace folder; every path a client gives must resolve inside it.
        max_searches: searches this server runs at once.
        ray_network: "private" (each search in its own network namespace, `unshare -n`,
            so Ray listens on loopback only; needs root) or "host".
        start_timeout: seconds `start_search` waits for the search to pass its checks.
    """

    def __init__(self, root: str | Path, max_searches: int = 1, ray_network: str = "private", start_timeout: float = 180.0):
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise UsageError(f"--root {root}: no such folder")
        self.max_searches = max_searches
        self.ray_network = ray_network
        self.start_timeout = start_timeout
        self.tracking_uri = f"sqlite:///{self.root / 'mlflow.db'}"
        self.storage = self.root / STORAGE
        self._launched: dict[str, Launched] = {}
        self._lock = threading.Lock()
        self._unshare_ok: bool | None = None

    # ------------------------------------------------------------------ confinement

    def inside(self, path: str | os.PathLike, what: str) -> Path:
        """`path` (relative: to the workspace) resolved, symlinks followed; UsageError outside the workspace."""
        p = Path(path).expanduser()
        resolved = (p if p.is_absolute() else self.root / p).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise UsageError(f"{what}: {path} is outside the workspace {self.root}")
        return resolved

    def _check_builder_text(self, raw: Any, source: str, base_dir: Path | None = None) -> None:
        """model.builder's module must be a file of the workspace (next to the space file,
        `base_dir`, or at its top); checked before the space loader looks for it, so a
        module name is never looked up on sys.path."""
        model = raw.get("model") if isinstance(raw, dict) else None
        text = model.get("builder") if isinstance(model, dict) else None
        if not isinstance(text, str) or ":" not in text:
            return  # the space loader gives the message
        module = text.rsplit(":", 1)[0]
        if module.endswith(".py") or "/" in module or "\\" in module:
            try:
                self.inside(module, "model.builder")
            except UsageError as exc:
                raise SpaceError(source, "model.builder", f"{module} is outside the workspace {self.root} (builder modules are read only from there)") from exc
            return
        rel = Path(*[p for p in module.split(".") if p]) if all(p.isidentifier() for p in module.split(".")) else None
        dirs = [d for d in (base_dir, self.root) if d is not None]
        if rel is None or not any((d / c).is_file() for d in dirs for c in (rel.with_suffix(".py"), rel / "__init__.py")):
            raise SpaceError(source, "model.builder", f"no module {module!r} in the workspace {self.root} (builder modules are read only from there)")

    def _check_paths(self, space) -> None:
        """Every file a loaded space names lies inside the workspace."""
        named: list[tuple[str, Any]] = []
        model = space.model
        if model.family == "builder" and isinstance(model.builder, str) and model.builder_file:
            named.append(("model.builder", model.builder_file))
        if model.family == "file" and isinstance(model.path, str):
            named.append(("model.path", model.path))
        d = space.dataset
        named += [(f"dataset.{k}", getattr(d, k)) for k in ("path", "x", "y")]
        for split in ("train", "val", "test"):
            src = getattr(d, split)
            if src is not None:
                named += [(f"dataset.{split}.{k}", getattr(src, k)) for k in ("path", "x", "y")]
        for key, value in named:
            if value is None:
                continue
            try:
                self.inside(value, key)
            except UsageError:
                raise SpaceError(space.source, key, f"{value} is outside the workspace {self.root}") from None

    # ------------------------------------------------------------------ spaces

    def list_spaces(self) -> list[dict[str, Any]]:
        from importlib import resources

        from .yaml_limits import safe_load

        from .space import builtin_spaces

        out = []
        for name in builtin_spaces():
            raw = safe_load((resources.files("hgq_automl.search_spaces") / f"{name}.yaml").read_text()) or {}
            dataset = raw.get("dataset") or {}
            out.append({
                "name": name,
                "description": " ".join(str(raw.get("description", "")).split()),
                "dataset": dataset.get("name", "digits") if isinstance(dataset, dict) else None,
                "trials": (raw.get("search") or {}).get("trials"),
            })
        return out

    def _parse_text(self, text: str, source: str = "<space>"):
        """A space given as YAML text, validated as the CLI validates a file, and confined."""
        import yaml

        from .space import parse_space
        from .yaml_limits import describe_error, safe_load

        try:
            raw = safe_load(text)
        except yaml.YAMLError as exc:  # the same message as the CLI's for a file
            raise SpaceError(source, *describe_error(exc)) from None
        self._check_builder_text(raw, source)
        space = parse_space(raw, source, base_dir=self.root)
        self._check_paths(space)
        return space

    def load(self, space: str) -> tuple[Any, str | None, str | None]:
        """(the validated SearchSpace, the built-in name or file to give the CLI, else None; the YAML text, else None)."""
        from .space import builtin_spaces, load_space

        if not isinstance(space, str) or not space.strip():
            raise UsageError("space: give a built-in name (list_spaces), a .yaml file in the workspace, or YAML text")
        one_line = space.strip()
        if "\n" not in one_line and one_line in builtin_spaces():
            return load_space(one_line), one_line, None
        if "\n" not in one_line and re.fullmatch(r"[\w.-]+", one_line) and not one_line.endswith((".yaml", ".yml")):
            raise SpaceError(one_line, "", f"no such search space; built-in ones are {', '.join(builtin_spaces())}, or give YAML text or a .yaml file in the workspace")
        if "\n" not in one_line and one_line.endswith((".yaml", ".yml")):
            path = self.inside(one_line, "space")
            raw_text = path.read_text() if path.is_file() else None
            if raw_text is None:
                raise SpaceError(one_line, "", "no such search-space file")
            import yaml

            from .yaml_limits import safe_load

            try:
                self._check_builder_text(safe_load(raw_text), one_line, path.parent)
            except yaml.YAMLError:
                pass  # load_space gives the message
            loaded = load_space(path)
            self._check_paths(loaded)
            return loaded, str(path), None
        return self._parse_text(space), None, space

    def validate_space(self, text: str) -> dict[str, Any]:
        """The space checked and summarized as `python -m hgq_automl validate` summarizes it
        (`validate.space_summary`). Only the space: the data and the model are checked by
        the search's own start (`start_search`), so that the server loads neither Keras nor
        the data."""
        from .validate import space_summary

        space, _, _ = self.load(text)
        return space_summary(space)

    # ------------------------------------------------------------------ searches

    def _running(self) -> list[str]:
        return [n for n, launched in self._launched.items() if launched.process.poll() is None]

    def _can_unshare(self) -> bool:
        if self._unshare_ok is None:
            try:
                self._unshare_ok = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                self._unshare_ok = False
        return self._unshare_ok

    def _launch(self, name: str, args: list[str], fresh: bool = True) -> Launched:
        """Start `python -m hgq_automl ARGS` in the workspace, in its own process group (and
        network namespace), its output to the search's log; wait until it has passed its
        checks (it prints its settings line, `search NAME: ...`, after them), or raise its
        one-line error if it exits first."""
        running = self._running()
        if len(running) >= self.max_searches:
            raise UsageError(
                f"{len(running)} search(es) already running ({', '.join(running)}); stop one with stop_search, "
                "or start the server with a larger --max-searches"
            )
        cmd = [sys.executable, "-m", "hgq_automl", *args]
        if self.ray_network == "private":
            if not self._can_unshare():
                raise UsageError(
                    "searches run in a private network namespace (unshare -n, which needs root) so that Ray listens on "
                    "loopback only, and it is unavailable here; start the server with --ray-network host to run them on this machine's network"
                )
            cmd = ["unshare", "-n", "bash", "-c", 'ip link set lo up && exec "$@"', "bash", *cmd]
        folder = self.root / FILES / name
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "search.log"
        offset = log.stat().st_size if log.exists() else 0  # a resumed search appends to its log
        env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")}
        env["PYTHONUNBUFFERED"] = "1"
        with open(log, "ab") as out:
            process = subprocess.Popen(cmd, cwd=self.root, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        launched = Launched(name, process, log, time.time(), offset)
        self._launched[name] = launched
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                if code != 0:
                    message = _last_error(log) or f"the search {name} exited with code {code}"
                    if fresh:  # it never started: its name stays free
                        import shutil

                        del self._launched[name]
                        shutil.rmtree(folder, ignore_errors=True)
                    raise UsageError(message)
                break
            if _driver_pid(self.storage / name / DRIVER_FILE) == process.pid:  # its set-up is done
                break
            time.sleep(0.25)
        return launched

    def start_search(
        self, space: str, name: str | None = None, trials: int | None = None, concurrency: int | None = None, sampler: str | None = None,
        seed: int | None = None, harvest: bool | None = None, time_budget_s: float | None = None, time_budget: float | None = None,
    ) -> dict[str, Any]:
        note = None
        if time_budget is not None:  # the old name
            if time_budget_s is not None:
                raise UsageError("time_budget is the old name of time_budget_s; give time_budget_s only")
            time_budget_s, note = time_budget, "time_budget is deprecated; use time_budget_s (seconds)"
        with self._lock:
            loaded, cli_space, text = self.load(space)
            loaded = loaded.with_overrides(
                trials=trials, concurrency=concurrency, sampler=sampler, seed=seed, harvest=harvest, time_budget_s=time_budget_s,
                origin="start_search arguments",
            )
            name = name or f"{loaded.name}-{time.strftime('%Y%m%d-%H%M%S')}"
            if not re.fullmatch(r"[\w.-]+", name):
                raise UsageError(f"name must be letters, digits, '_', '-' or '.'; got {name!r}")
            if (self.storage / name).exists() or (self.root / FILES / name).exists():
                raise UsageError(f"a search named {name!r} already exists in {self.root}; continue it with resume_search, or choose another name")
            if text is not None:
                folder = self.root / FILES / name
                folder.mkdir(parents=True)
                # named space.yaml: a space without `name:` gets the name validate_space showed
                (folder / "space.yaml").write_text(text)
                cli_space = str(folder / "space.yaml")
            args = ["search", "--space", cli_space, "--name", name, "--tracking-uri", self.tracking_uri, "--storage", str(self.storage)]
            for flag, value in (("--trials", trials), ("--concurrency", concurrency), ("--sampler", sampler), ("--seed", seed), ("--time-budget-s", time_budget_s)):
                if value is not None:
                    args += [flag, str(value)]
            if harvest is not None:
                args.append("--harvest" if harvest else "--no-harvest")
            launched = self._launch(name, args)
        return {
            "name": name, "trials": loaded.search.trials, "concurrency": loaded.search.concurrency,
            "running": launched.process.poll() is None, "log": str(launched.log), **({"note": note} if note else {}),
        }

    def resume_search(self, name: str) -> dict[str, Any]:
        with self._lock:
            self._check_name(name)
            if name in self._running():
                raise UsageError(f"the search {name!r} is running")
            if not (self.storage / name / STATE_FILE).is_file():
                raise UsageError(f"no search named {name!r} to resume in {self.storage}")
            launched = self._launch(name, ["search", "--resume", name, "--tracking-uri", self.tracking_uri, "--storage", str(self.storage)], fresh=False)
        return {"name": name, "running": launched.process.poll() is None, "log": str(launched.log)}

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", name):
            raise UsageError(f"name must be letters, digits, '_', '-' or '.'; got {name!r}")

    def _logged(self, name: str):
        """(MLflow client, LoggedSearch, parent run) of the search `name`; UsageError if there is none."""
        from .tracking import connect, read_search

        client = connect(self.tracking_uri)
        logged = read_search(client, name)
        return client, logged, client.get_run(logged.parent_run_id)

    def search_status(self, name: str) -> dict[str, Any]:
        from .pareto import pareto_front

        self._check_name(name)
        launched = self._launched.get(name)
        code = launched.process.poll() if launched else None
        alive = launched is not None and code is None
        try:
            _, logged, parent = self._logged(name)
        except UsageError:
            if launched is None:
                raise
            # started here, not yet in MLflow: still checking its input, or failed doing so
            return {
                "name": name, "state": "starting" if alive else "failed", "finished": not alive, "exit_code": code,
                "error": None if alive else _last_error(launched.log), "log": str(launched.log),
            }
        trials = [r for r in logged.records if not r.harvested_from]
        completed = [r for r in logged.records if r.ok]
        front = pareto_front(completed, logged.objectives, lambda r: r.metrics, logged.constraints)
        status = parent.info.status
        if alive:
            state = "running"
        elif launched is not None:
            state = {0: "finished", 130: "stopped"}.get(code, "failed")
            if state == "finished" and status == "KILLED":
                state = "stopped"
        else:
            state = {"RUNNING": "running", "FINISHED": "finished", "KILLED": "stopped"}.get(status, "failed")
        unfinished = sum(r.status == "unfinished" for r in trials)
        planned = parent.data.params.get("trials")
        return _finite({
            "name": name,
            "state": state,
            "finished": state != "running",
            "trials": int(planned) if planned and planned.isdigit() else None,
            "done": sum(r.ok for r in trials),
            "running": unfinished if state == "running" else 0,
            "failed": sum(r.status == "failed" for r in trials),
            "stopped_early": sum(r.status == "stopped" for r in trials),
            "unfinished": 0 if state == "running" else unfinished,
            "harvested_points": sum(1 for r in completed if r.harvested_from),
            "objectives": [f"{m}:{d}" for m, d in logged.objectives],
            "front": [
                {"run_id": logged.run_ids.get(r.trial_id), "trial_id": r.trial_id, **{m: r.metrics.get(m) for m, _ in logged.objectives}}
                for r in front
            ],
            "exit_code": code,
            "error": _last_error(launched.log) if state == "failed" and launched else None,
            "resumable": state == "stopped",
            "log": str(launched.log) if launched else None,
        })

    def get_front(self, name: str) -> dict[str, Any]:
        from .api import open_search

        self._check_name(name)
        result = open_search(name, self.tracking_uri)
        rows = [
            {"run_id": p.run_id, "trial_id": p.trial_id, "harvest_epoch": p.harvest_epoch, "params": p.params, "metrics": p.metrics}
            for p in result.front
        ]
        return _finite({"name": name, "objectives": [f"{m}:{d}" for m, d in result.objectives], "points": len(result.points), "front": rows})

    def stop_search(self, name: str, timeout: float = 600.0) -> dict[str, Any]:
        self._check_name(name)
        launched = self._launched.get(name)
        if launched is None:
            raise UsageError(f"the search {name!r} was not started by this server; stop it where it runs (Ctrl-C)")
        code = launched.process.poll()
        if code is not None:
            raise UsageError(f"the search {name!r} is not running (it exited with code {code})")
        # Ray Tune handles the interrupt once its loop runs (an interrupt while Ray starts
        # can be lost): wait for this run's first trial to start
        deadline = time.monotonic() + timeout / 2
        while launched.process.poll() is None and time.monotonic() < deadline and not re.search(r"^\[[\d:]+\] trial \S+ started", launched.output(), re.M):
            time.sleep(0.5)
        if launched.process.poll() is None:
            os.killpg(launched.process.pid, signal.SIGINT)  # the CLI's Ctrl-C: Ray Tune saves its state, MLflow runs end KILLED
        try:
            code = launched.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(launched.process.pid, signal.SIGKILL)  # still resumable from Ray Tune's last saved state
            code = launched.process.wait()
        status = self.search_status(name)
        status["exit_code"] = code
        return status

    # ------------------------------------------------------------------ export and resources

    def export_model(self, run_id: str, to: str, out: str, timeout: float = 3600.0, **hls_options: Any) -> dict[str, Any]:
        """`hls_options`: the hls4ml project's configuration (backend, io_type, clock_period,
        strategy, reuse_factor, hls_config: a file inside the workspace), as `export`'s flags."""
        from dataclasses import asdict

        from .export import ExportRequest, HlsOptions, check_request

        if not isinstance(run_id, str) or not re.fullmatch(r"[0-9a-fA-F]{8,64}", run_id):
            raise UsageError(f"run_id must be an MLflow run id (hex); got {run_id!r}")
        folder = self.inside(out, "out")
        given = {k: v for k, v in hls_options.items() if v is not None}
        if given.get("hls_config") is not None:
            given["hls_config"] = str(self.inside(given["hls_config"], "hls_config"))
        hls = HlsOptions(**given)
        check_request(ExportRequest(run_id, to, str(folder), api=True, hls=hls))
        result = self.root / FILES / "exports" / f"{run_id}-{time.time_ns()}.json"
        result.parent.mkdir(parents=True, exist_ok=True)
        code = "import sys; from hgq_automl.mcp_workspace import export_child; sys.exit(export_child(sys.argv[1:]))"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        done = subprocess.run(
            [sys.executable, "-c", code, run_id, to, str(folder), self.tracking_uri, str(result), json.dumps(asdict(hls))],
            cwd=self.root, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=env, start_new_session=True,
        )
        if done.returncode != 0 or not result.is_file():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            errors = [line[len(ERROR_PREFIX):] for line in lines if line.startswith(ERROR_PREFIX)]
            raise UsageError(errors[-1] if errors else f"export of run {run_id} failed (exit code {done.returncode}): {lines[-1] if lines else ''}")
        outcome = json.loads(result.read_text())
        result.unlink()
        return _finite(outcome)

    def pareto_json(self, name: str) -> str:
        """The search's logged pareto.json; while it runs (none logged yet), its front so far in the same form."""
        from .pareto import pareto_front
        from .report import front_rows

        self._check_name(name)
        client, logged, parent = self._logged(name)
        if any(a.path == "pareto.json" for a in client.list_artifacts(parent.info.run_id)):
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                return Path(client.download_artifacts(parent.info.run_id, "pareto.json", tmp)).read_text()
        completed = [r for r in logged.records if r.ok]
        front = pareto_front(completed, logged.objectives, lambda r: r.metrics, logged.constraints)
        return json.dumps(_finite(front_rows(front, [m for m, _ in logged.objectives], logged.run_ids)), indent=2, default=str)

    def pareto_png(self, name: str) -> bytes:
        """The search's logged pareto.png; while it runs, the same plot of its points so far."""
        import io

        self._check_name(name)
        client, logged, parent = self._logged(name)
        if any(a.path == "pareto.png" for a in client.list_artifacts(parent.info.run_id)):
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                return Path(client.download_artifacts(parent.info.run_id, "pareto.png", tmp)).read_bytes()
        from .api import open_search

        buffer = io.BytesIO()
        open_search(name, self.tracking_uri).plot().savefig(buffer, format="png")
        return buffer.getvalue()

    def close(self) -> None:
        """Stop the searches still running (SIGINT: they stay resumable), at server exit."""
        for launched in self._launched.values():
            if launched.process.poll() is None:
                os.killpg(launched.process.pid, signal.SIGINT)
        for launched in self._launched.values():
            try:
                launched.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(launched.process.pid, signal.SIGKILL)


def export_child(argv: list[str]) -> int:
    """The export subprocess: `run_export` (TensorFlow, hls4ml, da4ml load here, not in the
    server), its result as JSON in a file; a UsageError is the CLI's one line, exit 2."""
    from .export import ExportRequest, HlsOptions, run_export

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
