"""`python kill_at_script.py OP:ROLE:N ARGS...`: `python -m hgq_automl ARGS...` that SIGKILLs
itself just before its N-th MLflow write OP on a run of ROLE (trial, harvest, search).
Crash-safety tests place a real kill with it, through the outbox's `before_write` seam."""

import os
import signal
import sys

from hgq_automl.cli import main
from hgq_automl.outbox import Outbox

op, role, n = sys.argv[1].split(":")
seen = 0


def kill_at(write_op: str, run_role: str) -> None:
    global seen
    if write_op == op and run_role == role:
        seen += 1
        if seen == int(n):
            os.kill(os.getpid(), signal.SIGKILL)


Outbox.before_write = staticmethod(kill_at)
sys.exit(main(sys.argv[2:]))
