"""The sections of a space other than its data, model and parameters (task objectives,
constraints, search settings, hardware, harvesting, early stopping) and the checks across
sections (start points, grid, warm start, metrics the synthesis step produces).
`SearchSpace.with_overrides` re-runs these on the overridden settings."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..constraints import Constraint, parse_constraint
from ..errors import SpaceError
from ..metrics import EPOCH_METRICS, FINAL_METRICS, SYNTHESIS_STEPS, produced_by
from ..parts import UnknownPart, part_family
from ..task import TaskSpec
from .rules import Dimension, ParamRule, _PointTrial
from .schema import EarlyStopping, HardwareSpec, HarvestSpec, SearchSettings, SearchSpace, WarmStart
from .values import _int_at_least, _no_unknown_keys, _number, _one_of, _seed
from .vocabulary import BACKENDS, HLS_BACKENDS, HLS_CONFIG_KEYS, IO_TYPES, SAMPLERS, SCHEDULERS


def _values(dim: Dimension) -> tuple:
    return (dim.value,) if dim.kind == "fixed" else tuple(dim.values)


def _parse_early_stopping(value: Any, source: str) -> EarlyStopping | None:
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise SpaceError(source, "early_stopping", f"must be a mapping (scheduler, score, grace_period, reduction_factor); got {value!r}")
    _no_unknown_keys(value, tuple(vars(EarlyStopping())), source, "early_stopping")
    es = EarlyStopping()
    if "scheduler" in value:
        if value["scheduler"] not in SCHEDULERS:
            raise SpaceError(source, "early_stopping.scheduler", f"unknown scheduler {value['scheduler']!r}; known schedulers are {', '.join(SCHEDULERS)}")
        es = replace(es, scheduler=value["scheduler"])
    if "score" in value:
        score = value["score"]
        if not isinstance(score, dict) or not score:
            raise SpaceError(source, "early_stopping.score", "must be a mapping of epoch metric: weight, e.g. {val_accuracy: 1.0, ebops: -1.0e-6}")
        terms = []
        for name, weight in score.items():
            if name not in EPOCH_METRICS or name == "beta":
                known = ", ".join(m for m in EPOCH_METRICS if m != "beta")
                raise SpaceError(source, f"early_stopping.score.{name}", f"not a per-epoch metric; known ones are {known}")
            terms.append((name, _number(weight, source, f"early_stopping.score.{name}")))
        es = replace(es, score=tuple(terms))
    if "grace_period" in value:
        es = replace(es, grace_period=_int_at_least(value["grace_period"], 1, source, "early_stopping.grace_period"))
    if "reduction_factor" in value:
        es = replace(es, reduction_factor=_int_at_least(value["reduction_factor"], 2, source, "early_stopping.reduction_factor"))
    return es


def _parse_harvest(value: Any, source: str) -> HarvestSpec | None:
    if value is None or value is False:
        return None
    if value is True:
        return HarvestSpec()
    if not isinstance(value, dict):
        raise SpaceError(source, "harvest", f"must be true, false or a mapping (every, max_points, calibration_samples, band); got {value!r}")
    _no_unknown_keys(value, tuple(vars(HarvestSpec())), source, "harvest")
    given: dict[str, Any] = {key: _int_at_least(v, 1, source, f"harvest.{key}") for key, v in value.items() if key != "band"}  # counts >= 1
    if "band" in value:
        band = value["band"]
        if band is not None and (isinstance(band, bool) or not isinstance(band, (int, float)) or not 0 < band <= 1):
            raise SpaceError(source, "harvest.band", f"must be an accuracy difference in (0, 1] (0.05: five points), or null to spread the kept points evenly; got {band!r}")
        given["band"] = None if band is None else float(band)
    return HarvestSpec(**given)


def _check_harvest(space: SearchSpace, source: str) -> None:
    """Harvesting ramps beta itself and keeps checkpoints of training: it excludes a
    searched or constant beta_schedule and pruning (whose checkpoints are not epochs)."""
    if space.harvest is None:
        return
    schedule = space.parameters.get("beta_schedule")
    if schedule is not None and not (schedule.kind == "fixed" and schedule.value == "ramp"):
        raise SpaceError(source, "parameters.beta_schedule", "harvest ramps beta from beta to beta_final in every trial: drop beta_schedule (or fix it to ramp)")
    pruning = space.parameters.get("pruning_schedule")
    if pruning is not None and not (pruning.kind == "fixed" and pruning.value == "none"):
        raise SpaceError(source, "harvest", "cannot be combined with pruning (pruning_schedule) yet: harvest the unpruned trials, or prune without harvesting")


def _check_grid(space: SearchSpace, source: str) -> None:
    """The grid sampler enumerates `choice` values: it takes no continuous ranges."""
    if space.search.sampler != "grid":
        return
    for name, dim in space.parameters.items():
        if dim.kind not in ("fixed", "choice"):
            raise SpaceError(source, f"parameters.{name}", f"search.sampler grid needs every searched parameter as type choice; got type {dim.kind}")


def _check_start_points(space: SearchSpace, source: str) -> SearchSpace:
    """The space with its start points checked: each names searched parameters, with values
    their ranges hold, that the point's trial uses (beta_final only ramps; pruning_* only
    prunes); values are converted to the parameter's type ('1e-7' from YAML 1.1 is text)."""
    points = space.search.start_points
    if not points:
        return space
    if space.search.sampler == "grid":
        raise SpaceError(source, "search.start_points", "the grid sampler visits only its grid: add the values to the parameters' choices, or use another sampler")
    searched = [n for n, dim in space.parameters.items() if dim.kind != "fixed"]
    converted = []
    for i, point in enumerate(points):
        key = f"search.start_points[{i}]"
        out = {}
        for name, value in point.items():
            dim = space.parameters.get(name)
            if dim is None or dim.kind == "fixed":
                what = "fixed in parameters" if dim is not None else "not a parameter of this space"
                raise SpaceError(source, f"{key}.{name}", f"{what}; a start point sets searched parameters ({', '.join(searched)})")
            out[name] = _point_value(dim, value, space.rule_for(name), source, f"{key}.{name}")
        trial = _PointTrial(out)
        space.suggest(trial)
        unused = sorted(set(out) - trial.asked)
        if unused:
            why = "beta_final needs beta_schedule: ramp in the point (or harvest)" if unused[0] == "beta_final" else f"{unused[0]} needs a pruning_schedule other than none"
            raise SpaceError(source, f"{key}.{unused[0]}", f"not used by this point's trial: {why}")
        converted.append(out)
    return replace(space, search=replace(space.search, start_points=tuple(converted)))


def _ramped(point: dict[str, Any], i: int, source: str) -> dict[str, Any]:
    """A start point under harvesting, which ramps every trial: without its beta_schedule
    (a ramp; a constant one contradicts harvesting)."""
    if point.get("beta_schedule", "ramp") != "ramp":
        raise SpaceError(source, f"search.start_points[{i}].beta_schedule", f"harvest ramps beta in every trial; got {point['beta_schedule']!r}")
    return {k: v for k, v in point.items() if k != "beta_schedule"}


def _point_value(dim: Dimension, value: Any, rule: ParamRule, source: str, key: str) -> Any:
    """A start point's value, converted to the parameter's type, inside its dimension."""
    if rule.kind in (int, float):
        value = _number(value, source, key, rule.kind)
    if dim.kind == "choice":
        if value not in dim.values:
            raise SpaceError(source, key, f"must be one of the choices {list(dim.values)}; got {value!r}")
        return value
    if not dim.low <= value <= dim.high:
        raise SpaceError(source, key, f"outside the searched range [{dim.low:g}, {dim.high:g}]; got {value:g}")
    if dim.kind == "int" and (value - dim.low) % dim.step:
        raise SpaceError(source, key, f"not on the range's step ({dim.low:g} + k x {dim.step}); got {value:g}")
    return value


def _parse_objectives(value: Any, source: str, task: TaskSpec) -> tuple[tuple[str, str], ...]:
    if value is None:
        return task.default_objectives()
    if not isinstance(value, dict) or not value:
        raise SpaceError(source, "objectives", "must be a mapping of metric: max|min, e.g. {val_accuracy: max, ebops: min}")
    out = []
    for metric, mode in value.items():
        if metric not in FINAL_METRICS:
            raise SpaceError(source, f"objectives.{metric}", f"unknown metric; known metrics are {', '.join(FINAL_METRICS)}")
        if mode not in ("max", "min"):
            raise SpaceError(source, f"objectives.{metric}", f"must be max or min; got {mode!r}")
        out.append((metric, mode))
    return tuple(out)


def _parse_constraints(value: Any, source: str) -> tuple[Constraint, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SpaceError(source, "constraints", f"must be a list such as ['dsps <= 0', 'luts <= 20000']; got {value!r}")
    out = []
    for i, text in enumerate(value):
        try:
            constraint = parse_constraint(text)
        except ValueError as exc:
            raise SpaceError(source, f"constraints[{i}]", str(exc)) from None
        if constraint.metric not in FINAL_METRICS:
            raise SpaceError(source, f"constraints[{i}]", f"unknown metric {constraint.metric!r}; known metrics are {', '.join(FINAL_METRICS)}")
        out.append(constraint)
    return tuple(out)


def _parse_hardware(d: dict, source: str) -> HardwareSpec:
    _no_unknown_keys(d, tuple(vars(HardwareSpec())), source, "hardware")
    hw = HardwareSpec()
    if "synthesis" in d:
        hw = replace(hw, synthesis=_one_of(d["synthesis"], SYNTHESIS_STEPS, source, "hardware.synthesis"))
    if "part" in d:
        try:
            part_family(d["part"])
        except UnknownPart as exc:
            raise SpaceError(source, "hardware.part", str(exc)) from None
        hw = replace(hw, part=str(d["part"]))
    if "clock_period_ns" in d:
        period = _number(d["clock_period_ns"], source, "hardware.clock_period_ns")
        if period <= 0:
            raise SpaceError(source, "hardware.clock_period_ns", f"must be > 0; got {d['clock_period_ns']!r}")
        hw = replace(hw, clock_period_ns=period)
    if "backend" in d:
        hw = replace(hw, backend=_one_of(d["backend"], HLS_BACKENDS, source, "hardware.backend"))
    if "sim_samples" in d:
        hw = replace(hw, sim_samples=_int_at_least(d["sim_samples"], 1, source, "hardware.sim_samples"))
    if "io_type" in d:
        hw = replace(hw, io_type=_one_of(d["io_type"], IO_TYPES, source, "hardware.io_type"))
    if d.get("hls_config") is not None:
        problem = hls_config_problem(d["hls_config"])
        if problem:
            raise SpaceError(source, "hardware.hls_config", problem)
        for key, param in (("Strategy", "strategy"), ("ReuseFactor", "reuse_factor")):
            if key in (d["hls_config"].get("Model") or {}):
                raise SpaceError(source, f"hardware.hls_config.Model.{key}", f"the model-wide {param} is a trial parameter: set parameters.{param}")
        hw = replace(hw, hls_config=d["hls_config"])
    return hw


def hls_config_problem(config: Any) -> str | None:
    """What is wrong with an hls4ml config a user gives (laid out as
    `hls4ml.utils.config_from_keras_model(model, granularity='name')` gives it), or None.
    Its layer names are checked against the model at conversion."""
    if not isinstance(config, dict):
        return f"must be a mapping with keys {', '.join(HLS_CONFIG_KEYS)}; got {type(config).__name__}"
    for key, value in config.items():
        if key not in HLS_CONFIG_KEYS:
            return f"unknown key {key!r}; an hls4ml config has {', '.join(HLS_CONFIG_KEYS)}"
        if not isinstance(value, dict):
            return f"{key} must be a mapping; got {type(value).__name__}"
        if key in ("LayerName", "LayerType"):
            for name, layer in value.items():
                if not isinstance(layer, dict):
                    return f"{key}.{name} must be a mapping (ReuseFactor, Strategy, Precision, ...); got {type(layer).__name__}"
        entries = value.values() if key != "Model" else (value,)
        for entry in entries:
            rf = entry.get("ReuseFactor")
            if rf is not None and (isinstance(rf, bool) or not isinstance(rf, int) or rf < 1):
                return f"ReuseFactor must be an integer >= 1; got {rf!r}"
    return None


def _check_metrics_produced(space: SearchSpace, source: str) -> None:
    """Objectives and constraints may only name metrics the space's task and synthesis step report."""
    named = [(f"objectives.{m}", m) for m, _ in space.objectives]
    named += [(f"constraints[{i}]", c.metric) for i, c in enumerate(space.constraints)]
    for key, metric in named:
        tasks = FINAL_METRICS[metric].tasks
        if tasks and space.task.kind not in tasks:
            raise SpaceError(source, key, f"{metric} is a {' or '.join(tasks)} metric; this space's task is {space.task.kind}")
        if not produced_by(metric, space.hardware.synthesis, space.task.kind):
            needs = ", ".join(FINAL_METRICS[metric].needs)
            raise SpaceError(source, key, f"{metric} needs hardware.synthesis {needs}; the synthesis step is {space.hardware.synthesis}")


def _parse_search(d: dict, source: str) -> SearchSettings:
    _no_unknown_keys(d, tuple(vars(SearchSettings())), source, "search")
    s = SearchSettings()
    if "trials" in d:
        s = replace(s, trials=_int_at_least(d["trials"], 1, source, "search.trials"))
    if "concurrency" in d:
        s = replace(s, concurrency=_int_at_least(d["concurrency"], 1, source, "search.concurrency"))
    if "sampler" in d:
        s = replace(s, sampler=_one_of(d["sampler"], SAMPLERS, source, "search.sampler", ("sampler", "samplers")))
    if d.get("population_size") is not None:
        s = replace(s, population_size=_int_at_least(d["population_size"], 2, source, "search.population_size"))
    if d.get("seed") is not None:
        s = replace(s, seed=_seed(d["seed"], source, "search.seed"))
    if d.get("time_budget_s") is not None:
        budget = _number(d["time_budget_s"], source, "search.time_budget_s")
        if budget <= 0:
            raise SpaceError(source, "search.time_budget_s", f"must be > 0 seconds; got {d['time_budget_s']!r}")
        s = replace(s, time_budget_s=budget)
    points = d.get("start_points")
    if points is not None:
        if not isinstance(points, (list, tuple)) or not all(isinstance(p, dict) and p for p in points):
            raise SpaceError(source, "search.start_points", f"must be a list of mappings of parameter: value, e.g. [{{beta: 1.0e-7, filters_1: 8}}]; got {points!r}")
        s = replace(s, start_points=tuple(dict(p) for p in points))
    if d.get("warm_start") not in (None, False):
        s = replace(s, warm_start=_parse_warm_start(d["warm_start"], source))
    if d.get("gpus_per_trial") is not None:
        gpus = _number(d["gpus_per_trial"], source, "search.gpus_per_trial")
        if not 0 <= gpus < math.inf:
            raise SpaceError(source, "search.gpus_per_trial", f"must be a number >= 0 (0.5: two trials share a GPU); got {d['gpus_per_trial']!r}")
        s = replace(s, gpus_per_trial=float(gpus))
    if d.get("backend") is not None:
        s = replace(s, backend=_one_of(d["backend"], BACKENDS, source, "search.backend", ("backend", "backends")))
    return s


def _parse_warm_start(value: Any, source: str) -> WarmStart:
    if isinstance(value, WarmStart):  # re-checked with command-line overrides
        value = dict(vars(value))
    if value is True:
        return WarmStart()
    if not isinstance(value, dict):
        raise SpaceError(source, "search.warm_start", f"must be true, false or a mapping (share); got {value!r}")
    _no_unknown_keys(value, tuple(vars(WarmStart())), source, "search.warm_start")
    share = _number(value.get("share", WarmStart.share), source, "search.warm_start.share")
    if not 0 < share <= 1:
        raise SpaceError(source, "search.warm_start.share", f"must be in (0, 1]: the share of new trials that start from a front checkpoint; got {share!r}")
    return WarmStart(share=float(share))


def _check_warm_start(space: SearchSpace, source: str) -> None:
    """A warm-started trial inherits its model's parameters from another trial: the grid
    sampler, which visits only its grid, cannot take such a config."""
    if space.search.warm_start is not None and space.search.sampler == "grid":
        raise SpaceError(source, "search.warm_start", "the grid sampler visits only its grid; use another sampler to warm-start trials")


def _check_value(rule: ParamRule, value: Any, source: str, key: str) -> None:
    problem = rule.check(value)
    if problem:
        raise SpaceError(source, key, problem)
