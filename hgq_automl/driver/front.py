"""A search's front made of finished products: the harvested points on it measured for what
their trials left out (da4ml's estimates, the synthesis step), round after round until
every harvested member of the front is finished."""

from __future__ import annotations

import json


def finish_front(records, space, data, threads: int, tracker, say) -> None:
    """Every front member a finished product: the harvested points that make the front get
    what their trials measured only for their own last model, da4ml's estimates (`luts`,
    ...) and the synthesis step when the space asks for one (`raytune.finish_points`); the
    metrics are added to each one's record, metrics.json and MLflow run, a synthesis
    project beside its model.

    A point not yet finished is judged by the constraints on the metrics it has (it may yet
    meet those on the synthesis step's, e.g. `bit_mismatches <= 0`); rounds go on until
    every harvested member of the front is finished. One whose task fails keeps its place
    when no constraint needs the metrics it lacks, with the error as its `finish_error` note."""

    from ..constraints import feasible
    from ..events import with_harvest
    from ..layout import METRICS_FILE
    from ..metrics import FINAL_METRICS, NOTE_PREFIX
    from ..pareto import pareto_front
    from ..raytune import finish_points

    synthesis = space.hardware.synthesis != "none"
    from_step = {name for name, metric in FINAL_METRICS.items() if metric.needs}
    others = [c for c in space.constraints if c.metric not in from_step]
    points = with_harvest([r for r in records if r.ok])
    tried: set[str] = set()

    def pending(p) -> bool:
        lacks = "luts" not in p.metrics or (synthesis and "bit_mismatches" not in p.metrics)
        return bool(p.harvested_from) and p.model_dir is not None and lacks and p.trial_id not in tried

    while True:
        candidates = [p for p in points if feasible(others if pending(p) else space.constraints, p.metrics)]
        todo = [p for p in pareto_front(candidates, space.objectives, lambda r: r.metrics) if pending(p)]
        if not todo:
            return
        what = "da4ml's estimates" + (f" and the synthesis step ({space.hardware.synthesis})" if synthesis else "")
        say(f"finishing {len(todo)} harvested point(s) of the front: {what}")
        tried.update(p.trial_id for p in todo)
        for trial_id, got in finish_points(todo, space, data, threads, say).items():
            point = next(r for r in todo if r.trial_id == trial_id)
            new = dict(got) if isinstance(got, dict) else {f"{NOTE_PREFIX}finish_error": got}
            point.metrics.update(new)
            saved = point.model_dir / METRICS_FILE
            if saved.is_file():  # a resume reads the point back from it
                saved.write_text(json.dumps({**json.loads(saved.read_text()), **new}, indent=1))
            tracker.point_measured(point, new)
