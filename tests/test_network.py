"""Item 12 of the reliability issue: a local search's Ray listens on loopback only.

Measured, not assumed: the probe starts Ray through `raytune.start_ray` in a network
namespace that has, besides loopback, an interface with 10.77.0.1 and a default route
(so that Ray's own guess of the node IP would be 10.77.0.1), and lists the listening
sockets with `ss -ltnp`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import can_unshare

SETUP = (
    "ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add 10.77.0.1/24 dev v0 "
    "&& ip link set v0 up && ip link set v1 up && ip route add default via 10.77.0.2 dev v0"
)


def test_local_ray_listens_on_loopback_only(tmp_path):
    if not can_unshare():
        pytest.skip("needs `unshare -n` (root) to make a namespace with a second interface")
    probe = subprocess.run(["unshare", "-n", "bash", "-c", SETUP], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot add a veth interface in a new namespace: {probe.stderr.strip()}")
    script = Path(__file__).with_name("network_probe_script.py")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    result = subprocess.run(
        ["unshare", "-n", "bash", "-c", f"{SETUP} && exec '{sys.executable}' '{script}'"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["node_ip"] == "127.0.0.1"
    names = {s["process"] for s in found["sockets"]}
    # the processes Ray starts for a local search: GCS, raylet, the worker, the agents
    assert {"gcs_server", "raylet"} <= names, names
    assert any(s["pid"] == found["worker"] for s in found["sockets"]), found["sockets"]
    loopback = {"127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"}
    elsewhere = [s for s in found["sockets"] if s["host"] not in loopback]
    assert elsewhere == [], elsewhere
    assert "8.8.8.8" not in result.stderr  # Ray no longer guesses its IP by routing outwards
