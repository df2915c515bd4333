"""`python -m hgq_automl mcp`: searches as Model Context Protocol tools, for agents.

The MCP wiring only: the tools and resources, defined over a `mcp_workspace.Workspace`
(which holds the logic: confinement to `--root`, search subprocesses, reading results
back), and the server's transports (stdio, or streamable HTTP on 127.0.0.1). A
UsageError from the workspace becomes a tool (or resource) error carrying the CLI's
one-line message. The SDK's `MCPServer` is imported lazily: `--help` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .errors import UsageError
from .mcp_workspace import Workspace

def build_server(workspace: Workspace):
    """The MCP server (the SDK's `MCPServer`): the tools and resources over `workspace`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ToolError

    from . import __version__

    app = MCPServer(
        "hgq_automl", version=__version__, log_level="WARNING",
        instructions=(
            "Hardware-aware AutoML for FPGA neural networks (HGQ2 models, Ray Tune + Optuna, MLflow). "
            "validate_space, then start_search (runs in the background), poll search_status until finished, "
            f"get_front, export_model a front member. Paths are inside the workspace {workspace.root}."
        ),
    )

    def tool(fn):
        """Register `fn` as a tool; bad input (UsageError) becomes a tool error with its one-line message."""
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except UsageError as exc:
                raise ToolError(str(exc)) from None

        app.add_tool(wrapped)
        return wrapped

    @tool
    def list_spaces() -> list[dict[str, Any]]:
        """The built-in search spaces: name, description, dataset, trials."""
        return workspace.list_spaces()

    @tool
    def validate_space(text: str) -> dict[str, Any]:
        """Validate a search space given as YAML text (or a built-in name, or a .yaml file in the
        workspace): its name, trials, objectives and parameters, or the one-line error."""
        return workspace.validate_space(text)

    @tool
    def start_search(
        space: str, name: str | None = None, trials: int | None = None, concurrency: int | None = None, sampler: str | None = None,
        seed: int | None = None, harvest: bool | None = None, time_budget_s: float | None = None, time_budget: float | None = None,
    ) -> dict[str, Any]:
        """Start a search in the background and return its name once it has passed its checks.
        `space`: a built-in name, YAML text, or a .yaml file in the workspace. The other
        arguments override the space's `search:` settings (None: as the space says):
        sampler nsga2 | tpe | random | grid; harvest: keep non-dominated epochs; time_budget_s: seconds (time_budget: its deprecated old name)."""
        return workspace.start_search(space, name, trials, concurrency, sampler, seed, harvest, time_budget_s, time_budget)

    @tool
    def search_status(name: str) -> dict[str, Any]:
        """A search's progress: trials done / running / failed, the front so far (run ids and
        objectives), its state (starting, running, finished, stopped, failed) and whether it has finished."""
        return workspace.search_status(name)

    @tool
    def get_front(name: str) -> dict[str, Any]:
        """The search's Pareto front (so far): each member's MLflow run id, trial id, parameters and metrics."""
        return workspace.get_front(name)

    @tool
    def export_model(run_id: str, to: str, out: str) -> dict[str, Any]:
        """Write a trial's model (by MLflow run id) as an hls4ml project (to='hls4ml') or da4ml
        Verilog (to='verilog') into the folder `out` (new or empty, inside the workspace), and
        re-check it bit-exact against Keras: the files, estimates and bit_mismatches."""
        return workspace.export_model(run_id, to, out)

    @tool
    def stop_search(name: str) -> dict[str, Any]:
        """Stop a running search cleanly (its Ctrl-C, once its first trial has started): finished
        trials are kept, and resume_search continues it. Returns its status."""
        return workspace.stop_search(name)

    @tool
    def resume_search(name: str) -> dict[str, Any]:
        """Continue a stopped (or killed) search in the background, as it was started."""
        return workspace.resume_search(name)

    def resource(fn):
        import functools

        @functools.wraps(fn)
        def wrapped(name: str):
            try:
                return fn(name)
            except UsageError as exc:
                raise ResourceError(str(exc)) from None

        return wrapped

    app.resource("hgq-automl://searches/{name}/pareto.json", name="pareto.json", mime_type="application/json",
                 description="A search's Pareto set (the logged pareto.json; while it runs, its front so far)")(resource(workspace.pareto_json))
    app.resource("hgq-automl://searches/{name}/pareto.png", name="pareto.png", mime_type="image/png",
                 description="A search's Pareto plot (the logged pareto.png; while it runs, its points so far)")(resource(workspace.pareto_png))
    return app


def serve(root: str | None, http: int | None = None, max_searches: int = 1, ray_network: str = "private") -> int:
    """Run the server: stdio, or streamable HTTP on 127.0.0.1:`http`. Searches still
    running when it ends are stopped (resumable)."""
    workspace = Workspace(root or os.getcwd(), max_searches=max_searches, ray_network=ray_network)
    os.chdir(workspace.root)  # a space's relative paths are the workspace's
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # the resources download artifacts
    app = build_server(workspace)
    try:
        if http is None:
            app.run("stdio")
        else:
            print(f"hgq_automl MCP server on http://127.0.0.1:{http}/mcp (workspace {workspace.root})", file=sys.stderr, flush=True)
            app.run("streamable-http", host="127.0.0.1", port=http)
    except KeyboardInterrupt:
        pass
    finally:
        workspace.close()
    return 0
