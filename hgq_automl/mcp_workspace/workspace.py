"""`Workspace`: what the MCP tools do, on a workspace folder. Each tool is a method here;
the work is done by the package's other modules: paths confined (`confine`), spaces loaded
(`spaces`), search processes started, watched and stopped (`processes`), results read
back from MLflow (`results`), models exported (`exports`). Bad input raises UsageError
with the CLI's one-line message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..layout import DRIVER_FILE, STATE_FILE
from .confine import FILES, STORAGE, inside
from .exports import export_in_subprocess
from .processes import Launched, _last_error, interrupt, spawn, stop_all, wait_until_set_up
from .results import _logged, front_summary, pareto_json_text, pareto_png_bytes, search_state
from .spaces import builtin_space_list, load_space_arg


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
        return inside(self.root, path, what)

    # ------------------------------------------------------------------ spaces

    def list_spaces(self) -> list[dict[str, Any]]:
        return builtin_space_list()

    def load(self, space: str) -> tuple[Any, str | None, str | None]:
        """(the validated SearchSpace, the built-in name or file to give the CLI, else None; the YAML text, else None)."""
        return load_space_arg(self.root, space)

    def validate_space(self, text: str) -> dict[str, Any]:
        """The space checked and summarized as `python -m hgq_automl validate` summarizes it
        (`validate.space_summary`). Only the space: the data and the model are checked by
        the search's own start (`start_search`), so that the server loads neither Keras nor
        the data."""
        from ..validate import space_summary

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
        launched = spawn(self.root, name, cmd)
        self._launched[name] = launched
        code = wait_until_set_up(launched, self.storage / name / DRIVER_FILE, self.start_timeout)
        if code is not None:
            message = _last_error(launched.log) or f"the search {name} exited with code {code}"
            if fresh:  # it never started: its name stays free
                import shutil

                del self._launched[name]
                shutil.rmtree(launched.log.parent, ignore_errors=True)
            raise UsageError(message)
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

    def search_status(self, name: str) -> dict[str, Any]:
        self._check_name(name)
        launched = self._launched.get(name)
        code = launched.process.poll() if launched else None
        alive = launched is not None and code is None
        try:
            _, logged, parent = _logged(self.tracking_uri, name)
        except UsageError:
            if launched is None:
                raise
            # started here, not yet in MLflow: still checking its input, or failed doing so
            return {
                "name": name, "state": "starting" if alive else "failed", "finished": not alive, "exit_code": code,
                "error": None if alive else _last_error(launched.log), "log": str(launched.log),
            }
        return search_state(name, logged, parent, launched, code, alive)

    def get_front(self, name: str) -> dict[str, Any]:
        self._check_name(name)
        return front_summary(self.tracking_uri, name)

    def stop_search(self, name: str, timeout: float = 600.0) -> dict[str, Any]:
        self._check_name(name)
        launched = self._launched.get(name)
        if launched is None:
            raise UsageError(f"the search {name!r} was not started by this server; stop it where it runs (Ctrl-C)")
        code = launched.process.poll()
        if code is not None:
            raise UsageError(f"the search {name!r} is not running (it exited with code {code})")
        code = interrupt(launched, timeout)
        status = self.search_status(name)
        status["exit_code"] = code
        return status

    # ------------------------------------------------------------------ export and resources

    def export_model(self, run_id: str, to: str, out: str, timeout: float = 3600.0, **hls_options: Any) -> dict[str, Any]:
        """`hls_options`: the hls4ml project's configuration (backend, io_type, clock_period,
        strategy, reuse_factor, hls_config: a file inside the workspace), as `export`'s flags."""
        return export_in_subprocess(self.root, self.tracking_uri, run_id, to, out, timeout, **hls_options)

    def pareto_json(self, name: str) -> str:
        """The search's logged pareto.json; while it runs (none logged yet), its front so far in the same form."""
        self._check_name(name)
        return pareto_json_text(self.tracking_uri, name)

    def pareto_png(self, name: str) -> bytes:
        """The search's logged pareto.png; while it runs, the same plot of its points so far."""
        self._check_name(name)
        return pareto_png_bytes(self.tracking_uri, name)

    def close(self) -> None:
        """Stop the searches still running (SIGINT: they stay resumable), at server exit."""
        stop_all(list(self._launched.values()))
