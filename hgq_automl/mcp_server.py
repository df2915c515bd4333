"""`python -m hgq_automl mcp`: searches as Model Context Protocol tools, for agents.

The MCP wiring only: the tools and resources, defined over a `mcp_workspace.Workspace`
(which holds the logic: confinement to `--root`, search subprocesses, reading results
back), and the server's transports (stdio, or streamable HTTP on 127.0.0.1 behind a bearer
token, `require_bearer`). A
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

    from . import __version__

    app = MCPServer(
        "hgq_automl", version=__version__, log_level="WARNING",
        instructions=(
            "Hardware-aware AutoML for FPGA neural networks (HGQ2 models, Ray Tune + Optuna, MLflow). "
            "validate_space, then start_search (runs in the background), poll search_status until finished, "
            f"get_front, export_model a front member. Paths are inside the workspace {workspace.root}."
        ),
    )
    _add_tools(app, workspace)
    _add_resources(app, workspace)
    return app


def _one_line_errors(fn, error: type[Exception]):
    """`fn`, a UsageError it raises becoming `error` (the SDK's ToolError or ResourceError)
    with the CLI's one-line message."""
    import functools

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            raise error(str(exc)) from None

    return wrapped


def _add_tools(app, workspace: Workspace) -> None:
    """The tools, each a `Workspace` method; its docstring is what the agent reads."""
    from mcp.server.mcpserver.exceptions import ToolError

    def tool(fn):
        """Register `fn` as a tool; bad input (UsageError) becomes a tool error with its one-line message."""
        wrapped = _one_line_errors(fn, ToolError)
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
    def export_model(
        run_id: str, to: str, out: str, backend: str | None = None, io_type: str | None = None, clock_period: float | None = None,
        strategy: str | None = None, reuse_factor: int | None = None, hls_config: str | None = None,
    ) -> dict[str, Any]:
        """Write a trial's model (by MLflow run id) as an hls4ml project (to='hls4ml') or da4ml
        Verilog (to='verilog') into the folder `out` (new or empty, inside the workspace), and
        re-check it bit-exact against Keras: the files, estimates and bit_mismatches. The hls4ml
        project's configuration, as `export`'s flags (None: the run's own): backend ('Vivado' or
        'Vitis'), io_type ('io_parallel' or 'io_stream'), clock_period (ns), strategy,
        reuse_factor, hls_config (a YAML/JSON file in the workspace laid out as hls4ml's
        config_from_keras_model(granularity='name') gives it)."""
        return workspace.export_model(
            run_id, to, out, backend=backend, io_type=io_type, clock_period=clock_period, strategy=strategy, reuse_factor=reuse_factor, hls_config=hls_config,
        )

    @tool
    def stop_search(name: str) -> dict[str, Any]:
        """Stop a running search cleanly (its Ctrl-C, once its first trial has started): finished
        trials are kept, and resume_search continues it. Returns its status."""
        return workspace.stop_search(name)

    @tool
    def resume_search(name: str) -> dict[str, Any]:
        """Continue a stopped (or killed) search in the background, as it was started."""
        return workspace.resume_search(name)


def _add_resources(app, workspace: Workspace) -> None:
    """The resources: a search's pareto.json and pareto.png."""
    from mcp.server.mcpserver.exceptions import ResourceError

    app.resource("hgq-automl://searches/{name}/pareto.json", name="pareto.json", mime_type="application/json",
                 description="A search's Pareto set (the logged pareto.json; while it runs, its front so far)")(_one_line_errors(workspace.pareto_json, ResourceError))
    app.resource("hgq-automl://searches/{name}/pareto.png", name="pareto.png", mime_type="image/png",
                 description="A search's Pareto plot (the logged pareto.png; while it runs, its points so far)")(_one_line_errors(workspace.pareto_png, ResourceError))


#: the environment variable a bearer token for `mcp --http` may come from
TOKEN_ENV = "HGQ_AUTOML_MCP_TOKEN"


def http_token(token_file: str | None) -> tuple[str, bool]:
    """The bearer token `mcp --http` requires: the first line of `token_file`, else
    $HGQ_AUTOML_MCP_TOKEN, else a new random one. Returns (token, generated)."""
    import secrets

    if token_file is not None:
        from pathlib import Path

        try:
            token = Path(token_file).expanduser().read_text(encoding="utf-8").strip().splitlines()
        except FileNotFoundError:
            raise UsageError(f"--token-file {token_file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--token-file {token_file}: cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
        return _checked_token(token[0].strip() if token else "", f"--token-file {token_file}"), False
    if os.environ.get(TOKEN_ENV) is not None:
        return _checked_token(os.environ[TOKEN_ENV].strip(), f"${TOKEN_ENV}"), False
    return secrets.token_urlsafe(32), True


def _checked_token(token: str, where: str) -> str:
    if len(token) < 16:
        raise UsageError(f"{where}: a bearer token of at least 16 characters is needed; got {len(token)}")
    if not token.isascii() or not token.isprintable() or " " in token:
        raise UsageError(f"{where}: the token must be printable ASCII without spaces")
    return token


def require_bearer(app, token: str):
    """ASGI middleware: every HTTP request needs `Authorization: Bearer <token>`, else 401
    (compared in constant time). Lifespan events pass through."""
    import hmac

    expected = f"Bearer {token}".encode()

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        given = dict(scope.get("headers") or ()).get(b"authorization", b"")
        if hmac.compare_digest(given, expected):
            return await app(scope, receive, send)
        body = b'{"error": "unauthorized: send Authorization: Bearer <token>"}'
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"www-authenticate", b'Bearer realm="hgq_automl"'),
        ]})
        await send({"type": "http.response.body", "body": body})

    return guarded


def _check_port(port: int) -> None:
    """--http PORT can be listened on at 127.0.0.1 (else a one-line UsageError)."""
    import socket

    if not 1 <= port <= 65535:
        raise UsageError(f"--http {port}: must be a port from 1 to 65535")
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UsageError(f"--http {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})") from None


def serve(root: str | None, http: int | None = None, max_searches: int = 1, ray_network: str = "private", token_file: str | None = None) -> int:
    """Run the server: stdio, or streamable HTTP on 127.0.0.1:`http`, where every request
    needs the bearer token (`http_token`; a generated one is printed once, on stderr).
    Searches still running when it ends are stopped (resumable)."""
    if http is None and token_file is not None:
        raise UsageError("--token-file goes with --http; stdio needs no token")
    token, generated = http_token(token_file) if http is not None else (None, False)
    if http is not None:
        _check_port(http)
    workspace = Workspace(root or os.getcwd(), max_searches=max_searches, ray_network=ray_network)
    os.chdir(workspace.root)  # a space's relative paths are the workspace's
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # the resources download artifacts
    os.environ.pop(TOKEN_ENV, None)  # the searches it starts have no use for it
    app = build_server(workspace)
    try:
        if http is None:
            app.run("stdio")
        else:
            import anyio
            import uvicorn

            print(f"hgq_automl MCP server on http://127.0.0.1:{http}/mcp (workspace {workspace.root})", file=sys.stderr, flush=True)
            if generated:
                print(f"hgq_automl MCP bearer token (send Authorization: Bearer TOKEN): {token}", file=sys.stderr, flush=True)
            asgi = require_bearer(app.streamable_http_app(host="127.0.0.1"), token)
            server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=http, log_level="warning"))
            anyio.run(server.serve)
    except KeyboardInterrupt:
        pass
    finally:
        workspace.close()
    return 0
