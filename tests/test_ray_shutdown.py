"""A local Ray's shutdown (`_ray_compat.shutdown_local`): every process the search started
is gone after it, the raylet's agents and workers included, although they were started with
SIGTERM blocked (`raytune.start_ray`) and get SIGKILL at once instead of Ray's grace period.

A real local Ray, in `unshare -n` (it would listen on every interface otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from .conftest import can_unshare

SCRIPT = textwrap.dedent("""
    import json, os, time
    import ray
    from hgq_automl import _ray_compat
    from hgq_automl.raytune import start_ray

    assert start_ray(cpus=2)
    ray.get([ray.remote(lambda: os.getpid()).remote() for _ in range(2)])  # workers started
    node = ray._private.worker._global_node
    roots = {info.process.pid for infos in node.all_processes.values() for info in infos}
    tree = {**{pid: _ray_compat._start_time(pid) for pid in roots}, **_ray_compat._descendants(roots)}
    _ray_compat.shutdown_local()
    time.sleep(1.0)
    alive = [pid for pid, start in tree.items() if _ray_compat._start_time(pid) == start and open(f"/proc/{pid}/stat").read().split(") ")[1][0] != "Z"]
    print(json.dumps({"processes": len(tree), "alive": alive, "initialized": ray.is_initialized()}))
""")


@pytest.mark.e2e
def test_shutdown_local_leaves_no_process_of_the_ray_it_started(tmp_path):
    if not can_unshare():
        pytest.fail("this test needs `unshare -n` (root) to keep Ray on loopback")
    done = subprocess.run(["unshare", "-n", "bash", "-c", f"ip link set lo up; exec {sys.executable} -c '{SCRIPT}'"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # GCS, raylet, their agents, the workers: all gone, none left to be reaped by init
    assert report["processes"] >= 5 and report["alive"] == [] and not report["initialized"], report


def test_the_ray_internals_shutdown_local_uses_are_there():
    from ray._private import node, ray_constants, worker

    assert hasattr(worker, "_global_node") and callable(node.Node.is_head)
    assert "all_processes" in node.Node.__init__.__code__.co_names or hasattr(node.Node, "all_processes")
    assert hasattr(ray_constants, "ENABLE_RAY_CLUSTER")
