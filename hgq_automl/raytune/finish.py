"""The front's harvested members finished at a search's end, as Ray tasks: what their
trials measured only for their own last model (da4ml's estimates, the synthesis step),
each task given the checkpoint's model as bytes and returning its project as a tar."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data import Splits
from ..events import TrialRecord
from ..layout import FIRMWARE_DIR, MODEL_FILE
from ..space import SearchSpace
from .bridge import error_text


def finish_points(points: Sequence[TrialRecord], space: SearchSpace, data: Splits, threads: int, say=lambda text: None) -> dict[str, dict[str, Any] | str]:
    """What saved checkpoints (the front's harvested members) lack to be finished products,
    as Ray tasks of `threads` CPUs each, as many at once as Ray fits: da4ml's estimates for a
    point without `luts`, the space's synthesis step for one without `bit_mismatches`
    (`trial.finish_saved`). Each task gets the checkpoint's model file as bytes and returns
    its metrics and, after a synthesis step, its project folder as a tar, unpacked here into
    the checkpoint's FIRMWARE_DIR: the workers need not see this machine's disk. Per trial
    id: the metrics, or the error (one line) when a task failed."""
    import ray

    task = ray.remote(num_cpus=threads)(_finish_point)
    x_test = ray.put(data.x_test)
    synthesis = space.hardware.synthesis != "none"
    pending = {
        task.remote((p.model_dir / MODEL_FILE).read_bytes(), dict(p.config), space, x_test, threads,
                    "luts" not in p.metrics, synthesis and "bit_mismatches" not in p.metrics): p
        for p in points
    }
    out: dict[str, dict[str, Any] | str] = {}
    start = time.perf_counter()
    while pending:
        [ref], _ = ray.wait(list(pending), num_returns=1)
        point = pending.pop(ref)
        try:
            metrics, project = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - this point's step failed: said, and the search goes on
            out[point.trial_id] = error_text(exc)
            say(f"  {point.trial_id}: failed: {out[point.trial_id]}")
            continue
        if project is not None:
            _untar(project, point.model_dir / FIRMWARE_DIR)
        out[point.trial_id] = metrics
        shown = ", ".join(f"{k} {v:,.6g}" for k, v in metrics.items() if isinstance(v, (int, float)))
        say(f"  {point.trial_id}: {shown} ({len(out)} of {len(points)}, {time.perf_counter() - start:.0f} s)")
    return out


def _finish_point(model_bytes: bytes, config: dict[str, Any], space: SearchSpace, x_test, threads: int, da4ml: bool, synthesis: bool) -> tuple[dict[str, Any], bytes | None]:
    """A Ray task: `trial.finish_saved` on a model given as bytes; (metrics, the synthesis
    step's project as a tar, or None without one)."""
    import io
    import tarfile

    from ..hardware.synthesis import run_synthesis
    from ..trial import finish_saved

    with tempfile.TemporaryDirectory(prefix="hgq_automl_fw_") as folder:
        model_file = Path(folder) / MODEL_FILE
        model_file.write_bytes(model_bytes)
        project = Path(folder) / FIRMWARE_DIR
        metrics = finish_saved(space, config, model_file, x_test, project, run_synthesis, threads, da4ml=da4ml, synthesis=synthesis)
        if not project.is_dir():
            return metrics, None
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(project, arcname=".")
    return metrics, buffer.getvalue()


def _untar(data: bytes, folder: Path) -> None:
    import io
    import tarfile

    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")
