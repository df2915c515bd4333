"""Run by tests/test_network.py inside `unshare -n` with a second interface: starts a
local Ray through the product's `start_ray`, runs a task, and prints as JSON the TCP
sockets listening in the namespace (`ss -ltnp`): local address, port and process."""

import json
import os
import re
import subprocess

import ray

from hgq_automl.raytune import start_ray

start_ray(cpus=1)


@ray.remote
def pid() -> int:
    return os.getpid()


worker = ray.get(pid.remote())
out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
sockets = []
for line in out.splitlines():
    fields = line.split()
    local = fields[3]
    host, _, port = local.rpartition(":")
    proc = re.search(r'\(\("([^"]+)",pid=(\d+)', line)
    sockets.append({"host": host, "port": int(port), "process": proc.group(1) if proc else "", "pid": int(proc.group(2)) if proc else 0})
print(json.dumps({"driver": os.getpid(), "worker": worker, "node_ip": ray.util.get_node_ip_address(), "sockets": sockets}))
ray.shutdown()
