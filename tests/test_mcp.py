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


def test_http_transport_listens_on_loopback_only(tmp_path):
    """--http PORT: the SDK's streamable HTTP client lists the spaces; the server's only
    listening socket is 127.0.0.1:PORT."""
    import psutil
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hgq_automl", "mcp", "--http", str(port), "--root", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "err.txt", "w"), start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "err.txt").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)

        async def call():
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await session.call_tool("list_spaces", {})

        result = anyio.run(call)
        assert not result.is_error and "digits_cnn" in [s["name"] for s in result.structured_content["result"]]
        listening = [c.laddr for c in psutil.Process(server.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", port)]
    finally:
        os.killpg(server.pid, signal.SIGINT)
        assert server.wait(timeout=30) == 0


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
