"""The real CLI, killed by a real signal at one point of a search's start (a test hook that
lives here, not in the package): `python start_kill_script.py POINT SIGNAL ARGS...`.

POINT: `before_state` (folder claimed, MLflow experiment and parent run made, state file
not yet written) or `after_state` (state file written, nothing of Ray Tune yet).
SIGNAL: KILL or INT, sent to this very process."""

import os
import signal
import sys

from hgq_automl import storage
from hgq_automl.cli import main

point, sig, *args = sys.argv[1:]
write = storage.write_state


def _write_state(root, name, state):
    if point == "before_state":
        os.kill(os.getpid(), getattr(signal, f"SIG{sig}"))
    write(root, name, state)
    if point == "after_state":
        os.kill(os.getpid(), getattr(signal, f"SIG{sig}"))


storage.write_state = _write_state
sys.exit(main(args))
