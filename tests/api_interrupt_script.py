"""Run by tests/test_api_e2e.py inside `unshare -n`: a search() interrupted by SIGINT, then
resumed by a second search() in the same process. Writes OUT/interrupt.json.

Usage: python tests/api_interrupt_script.py OUT
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from api_script import digits  # noqa: E402

SPACE = {
    "name": "intr",
    "model": {"family": "cnn", "conv_layers": 1},
    "search": {"trials": 4, "concurrency": 1, "sampler": "random", "seed": 3},
    "parameters": {"filters_1": {"type": "int", "low": 2, "high": 4}, "epochs": 6},
}


def main(out: Path) -> None:
    import hgq_automl
    import ray

    x, y = digits()
    common = {"tracking_uri": f"sqlite:///{out / 'mlflow.db'}", "storage": str(out / "results"), "name": "intr"}
    seen: dict = {}
    try:
        first = hgq_automl.search(SPACE, data=(x, y), **common)
        seen["first"] = {"raised": False, "unfinished": first.unfinished, "points": len(first.points), "resume_command": first.resume_command}
    except KeyboardInterrupt as exc:
        seen["first"] = {"raised": True, "message": str(exc)}
    seen["ray_after_interrupt"] = ray.is_initialized()
    again = hgq_automl.search(SPACE, data=(x, y), resume=True, **common)
    seen["resumed"] = {"unfinished": again.unfinished, "points": sorted(p.trial_id for p in again.points), "failed": len(again.failed)}
    (out / "interrupt.json").write_text(json.dumps(seen, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
