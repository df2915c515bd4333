"""`python -m hgq_automl mcp` with the MCP SDK's own client: a stdio session that validates a
bad space, is refused paths outside the workspace, runs a 2-trial search (a real local Ray,
each search in its own network namespace, a real MLflow SQLite store), polls it to the end,
reads its front and resources and exports a member bit-exact; the streamable HTTP transport
on 127.0.0.1; and the confinement rules on `Workspace` directly."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time

import anyio
import pytest
import yaml

from .conftest import can_unshare, tiny_space

SPACE = tiny_space("mcp_tiny", trials=2, concurrency=2, epochs=2, extra="hardware: {sim_samples: 20}\n")
BAD = "parameters:\n  filterz_1: 3\n"


def _text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def _scenario(root, outside) -> dict:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    seen: dict = {}
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "hgq_automl", "mcp", "--root", str(root)], env=env, cwd=str(outside))
    with open(root.parent / "server_stderr.txt", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            seen["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
            seen["templates"] = sorted(t.uri_template for t in (await session.list_resource_templates()).resource_templates)
            spaces = await session.call_tool("list_spaces", {})
            seen["spaces"] = [s["name"] for s in spaces.structured_content["result"]]
            bad = await session.call_tool("validate_space", {"text": BAD})
            seen["bad"] = (bad.is_error, _text(bad))
            good = await session.call_tool("validate_space", {"text": SPACE})
            seen["good"] = (good.is_error, good.structured_content)
            data_outside = SPACE.replace("dataset: {name: digits, max_samples: 300}", f"dataset: {{name: arrays, path: {outside / 'd.npz'}}}")
            refused = await session.call_tool("validate_space", {"text": data_outside})
            seen["data_outside"] = (refused.is_error, _text(refused))
            refused = await session.call_tool("export_model", {"run_id": "0123456789abcdef", "to": "verilog", "out": "../fw"})
            seen["out_outside"] = (refused.is_error, _text(refused))

            # bad data the CLI finds (the server checks only that the file is in the workspace)
            (root / "broken.npz").write_bytes(b"not an npz file")
            broken = SPACE.replace("dataset: {name: digits, max_samples: 300}", "dataset: {name: arrays, path: broken.npz}")
            failed = await session.call_tool("start_search", {"space": broken, "name": "mcp"})
            seen["broken"] = (failed.is_error, _text(failed))

            started = await session.call_tool("start_search", {"space": SPACE, "name": "mcp", "seed": 0})
            seen["started"] = (started.is_error, started.structured_content, _text(started))
            # start_search returns once the search's set-up is done: its driver file names its process
            driver_file = root / "hgq_automl_results" / "mcp" / "driver.json"
            seen["driver_file"] = json.loads(driver_file.read_text()) if driver_file.exists() else None
            again = await session.call_tool("start_search", {"space": "digits_cnn", "name": "second"})
            seen["second"] = (again.is_error, _text(again))
            statuses = []
            deadline = time.monotonic() + 400
            while time.monotonic() < deadline:
                status = await session.call_tool("search_status", {"name": "mcp"})
                statuses.append(status.structured_content if not status.is_error else {"tool_error": _text(status)})
                if status.is_error or status.structured_content["finished"]:
                    break
                await anyio.sleep(2)
            seen["statuses"] = statuses
            front = await session.call_tool("get_front", {"name": "mcp"})
            seen["front"] = (front.is_error, front.structured_content, _text(front))
            if not front.is_error and front.structured_content["front"]:
                run_id = front.structured_content["front"][0]["run_id"]
                exported = await session.call_tool("export_model", {"run_id": run_id, "to": "verilog", "out": "fw"})
                seen["export"] = (exported.is_error, exported.structured_content, _text(exported))
            pareto = await session.read_resource("hgq-automl://searches/mcp/pareto.json")
            seen["pareto_json"] = json.loads(pareto.contents[0].text)
            png = await session.read_resource("hgq-automl://searches/mcp/pareto.png")
            seen["pareto_png"] = (png.contents[0].mime_type, base64.b64decode(png.contents[0].blob)[:8])
            stopped = await session.call_tool("stop_search", {"name": "mcp"})
            seen["stop_finished"] = (stopped.is_error, _text(stopped))

            # a second search, stopped while its first trial runs
            halt = await session.call_tool("start_search", {"space": SPACE, "name": "halt", "trials": 4, "concurrency": 1, "seed": 1})
            seen["halt_started"] = (halt.is_error, _text(halt))
            deadline = time.monotonic() + 300
            while not halt.is_error and time.monotonic() < deadline:
                status = await session.call_tool("search_status", {"name": "halt"})
                if status.is_error or status.structured_content["running"] >= 1 or status.structured_content["finished"]:
                    break
                await anyio.sleep(1)
            stopped = await session.call_tool("stop_search", {"name": "halt"})
            seen["halt"] = (stopped.is_error, stopped.structured_content, _text(stopped))
            resumed = await session.call_tool("resume_search", {"name": "halt"})
            seen["resumed"] = (resumed.is_error, resumed.structured_content, _text(resumed))
            if not resumed.is_error:
                status = await session.call_tool("search_status", {"name": "halt"})
                seen["resumed_status"] = status.structured_content
                stopped = await session.call_tool("stop_search", {"name": "halt"})
                seen["halt_again"] = (stopped.is_error, stopped.structured_content, _text(stopped))
            unknown = await session.call_tool("resume_search", {"name": "nope"})
            seen["resume_unknown"] = (unknown.is_error, _text(unknown))
    return seen


@pytest.fixture(scope="module")
def mcp_session(tmp_path_factory):
    """One stdio session of the real server on a fresh workspace, run to the end once."""
    if not can_unshare():
        pytest.fail("the MCP end-to-end test needs `unshare -n` (root): the server runs each search in a private network namespace")
    base = tmp_path_factory.mktemp("mcp")
    root, outside = base / "workspace", base / "elsewhere"
    root.mkdir()
    outside.mkdir()
    import numpy as np

    np.savez(outside / "d.npz", x=np.zeros((40, 4)), y=np.arange(40) % 2)
    seen = anyio.run(_scenario, root, outside)
    return root, seen


def test_tools_and_resources_are_listed(mcp_session):
    root, seen = mcp_session
    assert seen["tools"] == sorted(["list_spaces", "validate_space", "start_search", "search_status", "get_front", "export_model", "stop_search", "resume_search"])
    assert seen["templates"] == ["hgq-automl://searches/{name}/pareto.json", "hgq-automl://searches/{name}/pareto.png"]
    assert "digits_cnn" in seen["spaces"] and "mnist_cnn" in seen["spaces"]


def test_a_bad_space_is_a_tool_error_with_the_cli_message(mcp_session):
    import hgq_automl

    root, seen = mcp_session
    with pytest.raises(hgq_automl.SpaceError) as expected:
        hgq_automl.load_space(yaml.safe_load(BAD))
    is_error, text = seen["bad"]
    assert is_error and str(expected.value) in text and "\n" not in text
    assert seen["good"][0] is False
    # validate.space_summary: the same fields as `python -m hgq_automl validate` prints
    assert {"ok": True, "name": "mcp_tiny", "trials": 2, "concurrency": 2, "sampler": "random", "task": "classification",
            "objectives": ["val_accuracy:max", "ebops:min"], "parameters": ["epochs", "filters_1"]}.items() <= seen["good"][1].items()


def test_paths_outside_the_workspace_are_refused(mcp_session):
    root, seen = mcp_session
    is_error, text = seen["data_outside"]
    assert is_error and f"<space>: dataset.path: {root.parent / 'elsewhere' / 'd.npz'} is outside the workspace {root}" in text
    is_error, text = seen["out_outside"]
    assert is_error and f"out: ../fw is outside the workspace {root}" in text
    assert not (root.parent / "fw").exists()


def test_bad_data_found_by_the_search_is_a_tool_error(mcp_session):
    root, seen = mcp_session
    is_error, text = seen["broken"]
    assert is_error and "broken.npz" in text and "hgq_automl: error:" not in text, text
    assert text.count("\n") == 0
    # that search never started: its name was free for the next one
    assert not seen["started"][0]


def test_a_search_runs_in_the_background_to_the_end(mcp_session):
    root, seen = mcp_session
    is_error, started, text = seen["started"]
    assert not is_error, text
    assert started["name"] == "mcp" and started["trials"] == 2
    assert isinstance(seen["driver_file"]["pid"], int) and seen["driver_file"]["started"] > 0
    is_error, text = seen["second"]
    assert is_error and "1 search(es) already running (mcp)" in text
    statuses = seen["statuses"]
    last = statuses[-1]
    assert "tool_error" not in last and last["error"] is None, last
    assert last["state"] == "finished" and last["finished"] and last["exit_code"] == 0
    assert (last["trials"], last["done"], last["running"], last["failed"]) == (2, 2, 0, 0)
    assert 1 <= len(last["front"]) <= 2 and all(r["run_id"] and r["val_accuracy"] is not None for r in last["front"])
    assert any(s["state"] == "running" and not s["finished"] for s in statuses[:-1])
    # its files are in the workspace: MLflow store, Ray Tune folder, the space and log
    assert (root / "mlflow.db").is_file() and (root / "hgq_automl_results" / "mcp" / "hgq_automl.json").is_file()
    assert (root / "hgq_automl_mcp" / "mcp" / "space.yaml").read_text() == SPACE
    assert "Pareto set of mcp" in (root / "hgq_automl_mcp" / "mcp" / "search.log").read_text()
    is_error, text = seen["stop_finished"]
    assert is_error and "the search 'mcp' is not running (it exited with code 0)" in text


def test_stop_search_leaves_it_resumable(mcp_session):
    from mlflow.tracking import MlflowClient

    from hgq_automl.raytune import can_resume

    root, seen = mcp_session
    assert not seen["halt_started"][0], seen["halt_started"][1]
    is_error, status, text = seen["halt"]
    assert not is_error, text
    assert status["state"] == "stopped" and status["finished"] and status["resumable"] and status["exit_code"] == 130
    assert status["done"] < 4 and status["running"] == 0 and status["unfinished"] >= 1
    assert "resume with: python -m hgq_automl search --resume halt" in (root / "hgq_automl_mcp" / "halt" / "search.log").read_text()
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("halt").experiment_id])
    assert [r.info.status for r in runs if r.data.tags.get("hgq_automl.role") == "search"] == ["KILLED"]
    assert can_resume(str(root / "hgq_automl_results" / "halt"))
    # resume_search continues it (the CLI's --resume) and stop_search stops it again
    is_error, resumed, text = seen["resumed"]
    assert not is_error and resumed["running"], text
    assert seen["resumed_status"]["state"] == "running"
    log = (root / "hgq_automl_mcp" / "halt" / "search.log").read_text()
    assert "search halt (resumed): space mcp_tiny" in log
    is_error, status, text = seen["halt_again"]
    assert not is_error and status["state"] == "stopped" and status["resumable"] and status["exit_code"] == 130, text
    is_error, text = seen["resume_unknown"]
    assert is_error and f"no search named 'nope' to resume in {root / 'hgq_automl_results'}" in text


def test_front_export_and_resources(mcp_session):
    from mlflow.tracking import MlflowClient

    root, seen = mcp_session
    is_error, front, text = seen["front"]
    assert not is_error, text
    rows = front["front"]
    assert front["objectives"] == ["val_accuracy:max", "ebops:min"] and front["points"] == 2
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("mcp").experiment_id])
    tagged = {r.info.run_id for r in runs if r.data.tags.get("pareto") == "true"}
    assert {r["run_id"] for r in rows} == tagged
    for row in rows:
        assert 2 <= row["params"]["filters_1"] <= 4 and row["params"]["epochs"] == 2
        assert row["metrics"]["luts"] > 0 and 0 <= row["metrics"]["val_accuracy"] <= 1
    is_error, exported, text = seen["export"]
    assert not is_error, text
    assert exported["bit_mismatches"] == 0 and exported["bit_exact"] and exported["checked_samples"] == 20
    assert exported["out"] == str(root / "fw") and any(p.endswith(".v") for p in exported["paths"])
    assert all((root / "fw" / p).is_file() for p in exported["paths"]) and exported["estimates"]["luts"] > 0
    assert {r["run_id"] for r in seen["pareto_json"]} == tagged
    assert seen["pareto_png"] == ("image/png", b"\x89PNG\r\n\x1a\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_server(tmp_path, port: int, *flags: str, env: dict | None = None) -> subprocess.Popen:
    """`mcp --http PORT` in its own session, once it accepts connections."""
    full_env = {**{k: v for k, v in os.environ.items() if k != "HGQ_AUTOML_MCP_TOKEN"}, **(env or {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "hgq_automl", "mcp", "--http", str(port), "--root", str(tmp_path), *flags],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "err.txt", "w"), start_new_session=True, env=full_env,
    )
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "err.txt").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGINT)
    assert server.wait(timeout=30) == 0


async def _list_spaces(port: int, token: str | None):
    """list_spaces through the SDK's streamable HTTP client, with `token` as bearer (or none)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    with anyio.fail_after(60):
        async with create_mcp_http_client(headers=headers) as http, streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool("list_spaces", {})


def _status(port: int, headers: dict) -> int:
    """The HTTP status of a bare `initialize` POST to /mcp."""
    import urllib.error
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/mcp", data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_http_transport_listens_on_loopback_only_with_a_token_file(tmp_path):
    """--http PORT --token-file: the SDK's streamable HTTP client, sending the file's token,
    lists the spaces; the server's only listening socket is 127.0.0.1:PORT; no token is printed."""
    import psutil

    port = _free_port()
    token = "file-token-0123456789abcdef"
    (tmp_path / "token").write_text(token + "\n")
    server = _http_server(tmp_path, port, "--token-file", str(tmp_path / "token"))
    try:
        result = anyio.run(_list_spaces, port, token)
        assert not result.is_error and "digits_cnn" in [s["name"] for s in result.structured_content["result"]]
        listening = [c.laddr for c in psutil.Process(server.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", port)]
    finally:
        _stop(server)
    assert token not in (tmp_path / "err.txt").read_text()


def test_http_requests_without_the_generated_token_get_401(tmp_path):
    """Without --token-file or $HGQ_AUTOML_MCP_TOKEN a token is generated and printed once on
    stderr; a request without it, or with another, gets 401 (a real MCP client cannot even
    initialize); with it, the client works."""
    port = _free_port()
    server = _http_server(tmp_path, port)
    try:
        deadline = time.monotonic() + 30
        while "bearer token" not in (tmp_path / "err.txt").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = [line for line in (tmp_path / "err.txt").read_text().splitlines() if "bearer token" in line]
        assert len(lines) == 1, (tmp_path / "err.txt").read_text()
        token = lines[0].rsplit(" ", 1)[1]
        assert len(token) >= 32
        assert _status(port, {}) == 401
        assert _status(port, {"Authorization": "Bearer " + "x" * len(token)}) == 401
        assert _status(port, {"Authorization": token}) == 401  # not as a bearer
        with pytest.raises(Exception, match="unhandled errors") as refused:  # the SDK's MCPError, in task groups
            anyio.run(_list_spaces, port, None)
        assert "Server returned an error response" in repr(refused.value), repr(refused.value)
        with pytest.raises(Exception):
            anyio.run(_list_spaces, port, token[:-1] + ("a" if token[-1] != "a" else "b"))
        result = anyio.run(_list_spaces, port, token)
        assert not result.is_error and "digits_cnn" in [s["name"] for s in result.structured_content["result"]]
    finally:
        _stop(server)
    assert (tmp_path / "err.txt").read_text().count(token) == 1


def test_http_token_from_the_environment(tmp_path):
    port = _free_port()
    token = "env-token-0123456789abcdef"
    server = _http_server(tmp_path, port, env={"HGQ_AUTOML_MCP_TOKEN": token})
    try:
        assert _status(port, {}) == 401
        assert _status(port, {"Authorization": f"Bearer {token}"}) == 200
    finally:
        _stop(server)
    assert token not in (tmp_path / "err.txt").read_text()


@pytest.mark.parametrize(("flags", "env", "fragment"), [
    (["--http", "70000"], {}, "--http: must be a port from 1 to 65535; got '70000'"),
    (["--http", "0"], {}, "--http: must be a port from 1 to 65535; got '0'"),
    (["--http", "8000", "--token-file", "missing.txt"], {}, "--token-file missing.txt: no such file"),
    (["--http", "8000", "--token-file", "short.txt"], {}, "--token-file short.txt: a bearer token of at least 16 characters is needed; got 5"),
    (["--http", "8000"], {"HGQ_AUTOML_MCP_TOKEN": ""}, "$HGQ_AUTOML_MCP_TOKEN: a bearer token of at least 16 characters is needed; got 0"),
    (["--token-file", "short.txt"], {}, "--token-file goes with --http"),
], ids=["port-too-big", "port-zero", "token-file-missing", "token-too-short", "token-env-empty", "token-file-without-http"])
def test_bad_http_flags_are_one_line_and_start_nothing(tmp_path, flags, env, fragment):
    from .conftest import assert_one_line_error, run_cli

    (tmp_path / "short.txt").write_text("short\n")
    result = run_cli(["mcp", "--root", str(tmp_path), *flags], cwd=tmp_path, env=env, timeout=60)
    assert_one_line_error(result, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


def test_confinement_of_builder_modules_model_files_and_symlinks(tmp_path):
    import hgq_automl
    from hgq_automl.mcp_server import Workspace

    root, outside = tmp_path / "ws", tmp_path / "out"
    root.mkdir()
    outside.mkdir()
    (outside / "evil.py").write_text("def build(params, input_shape, n_outputs):\n    return None\n")
    (root / "mine.py").write_text("def build(params, input_shape, n_outputs):\n    return None\n")
    (root / "link").symlink_to(outside)
    ws = Workspace(root)
    cwd = os.getcwd()
    os.chdir(root)  # as the server does: relative paths are the workspace's
    try:
        base = "dataset: {name: digits}\nparameters: {epochs: 1}\n"
        for builder, fragment in (
            (f"{outside / 'evil.py'}:build", "is outside the workspace"),
            ("link/evil.py:build", "is outside the workspace"),
            ("json:dumps", "no module 'json' in the workspace"),  # never looked up on sys.path
        ):
            with pytest.raises(hgq_automl.SpaceError, match=fragment) as refused:
                ws.validate_space(base + f"model: {{builder: '{builder}'}}\n")
            assert str(refused.value).startswith("<space>: model.builder: ")
        assert ws.validate_space(base + "model: {builder: 'mine:build'}\n")["ok"]
        with pytest.raises(hgq_automl.UsageError, match="out: link/fw is outside the workspace"):
            ws.export_model("0123456789abcdef", "verilog", "link/fw")
        with pytest.raises(hgq_automl.UsageError, match="space: ../x.yaml is outside the workspace"):
            ws.validate_space("../x.yaml")
        with pytest.raises(hgq_automl.UsageError, match=r"to= must be one of hls4ml, verilog; got 'vhdl'"):
            ws.export_model("0123456789abcdef", "vhdl", "fw")
    finally:
        os.chdir(cwd)


def test_a_missing_root_is_a_one_line_error(tmp_path):
    from .conftest import assert_one_line_error, run_cli

    result = run_cli(["mcp", "--root", str(tmp_path / "nope")], cwd=tmp_path)
    assert_one_line_error(result, f"--root {tmp_path / 'nope'}: no such folder")


def test_a_port_already_taken_is_a_one_line_error(tmp_path):
    from .conftest import assert_one_line_error, run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(["mcp", "--root", str(tmp_path), "--http", str(port)], cwd=tmp_path, timeout=60)
    assert_one_line_error(result, f"--http {port}: cannot listen on 127.0.0.1:{port} (Address already in use)")
    assert list(tmp_path.iterdir()) == []


def _without_root() -> list[str]:
    """The command prefix that runs a process without the capability `unshare -n` needs
    (CAP_SYS_ADMIN: what a user without root lacks; uid 0 is kept, as the venv's interpreter
    may live under /root), or [] when not root."""
    if os.geteuid() != 0:
        return []
    import shutil

    if shutil.which("setpriv") is None:
        pytest.fail("running as root without setpriv: cannot run the server without root's capabilities")
    return ["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin"]


@pytest.mark.parametrize("network", ["host", "private"])
def test_the_server_runs_without_root_on_the_host_network(network):
    """As a user who cannot `unshare -n` (no CAP_SYS_ADMIN): with --ray-network host a search is launched (here
    one that fails its data check, so no Ray starts) and its own one-line error comes back;
    with the default private network the tool says unshare needs root and names --ray-network host."""
    import shutil
    import tempfile

    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    root = tempfile.mkdtemp(prefix="hgq_automl_noroot_")
    try:
        with open(os.path.join(root, "broken.npz"), "wb") as f:
            f.write(b"not an npz file")
        broken = SPACE.replace("dataset: {name: digits, max_samples: 300}", "dataset: {name: arrays, path: broken.npz}")
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        env.update(PYTHONPATH=os.pathsep.join(p for p in (os.path.dirname(os.path.dirname(os.path.abspath(__file__))), env.get("PYTHONPATH")) if p))
        prefix = _without_root()
        params = StdioServerParameters(command=(prefix or [sys.executable])[0], args=[*prefix[1:], *([sys.executable] if prefix else []),
                                       "-m", "hgq_automl", "mcp", "--root", root, "--ray-network", network], env=env, cwd=root)

        async def start():
            with anyio.fail_after(120):
                async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                    await session.initialize()
                    return await session.call_tool("start_search", {"space": broken, "name": "nobody"})

        result = anyio.run(start)
        assert result.is_error
        if network == "host":
            assert "broken.npz" in _text(result) and "unshare" not in _text(result), _text(result)
        else:
            assert "unshare -n, which needs root" in _text(result) and "--ray-network host" in _text(result), _text(result)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_validate_space_refuses_a_billion_laughs_at_once(tmp_path):
    """A client's YAML text goes through the same limits as a file: 342 bytes that expand
    to 10**9 strings are refused within the call, in well under a second."""
    import hgq_automl
    from hgq_automl.mcp_server import Workspace

    from .test_bad_inputs import BILLION_LAUGHS

    ws = Workspace(tmp_path)
    started = time.monotonic()
    with pytest.raises(hgq_automl.SpaceError, match=r"^<space>: YAML: refused: expands to more than 100000 nodes"):
        ws.validate_space(BILLION_LAUGHS)
    (tmp_path / "laughs.yaml").write_text(BILLION_LAUGHS)
    with pytest.raises(hgq_automl.SpaceError, match=r"laughs.yaml: YAML: refused: expands to more than"):
        ws.validate_space("laughs.yaml")
    assert time.monotonic() - started < 5
