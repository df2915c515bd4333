"""Search spaces: loading a YAML file, validating it, and sampling one trial's config.

A space names a dataset, a model family, the objectives, the search settings and the
searched parameters. Every parameter has a default, so a space lists only what it
searches or fixes. Validation happens once, at load time, and raises `SpaceError` with
the file, the key and what is wrong; nothing here imports Ray, Optuna or MLflow
(`suggest` takes any object with Optuna's `suggest_*` methods).
"""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpaceError, did_you_mean
from ..yaml_limits import describe_error, safe_load
from ..task import CHANCE_MARGIN, REGRESSION_LOSSES, TASKS, TaskSpec
from .geometry import conv_plan
from .rules import _BETA_SCALE_NAME, _LAYER_PF_NAME, _WIDTH_NAME, Dimension, ParamRule, _user_rule
from .model_spec import ModelSpec
from .schema import SearchSpace
from .vocabulary import (
    DIMENSION_TYPES,
    FAMILIES,
    MODEL_INITS,
    SHIPPED_DATASETS,
    SPLITS,
    USER_FAMILIES,
)
from .values import _Collect, _int_at_least, _no_unknown_keys, _number, _one_of, _section
from .datasets import FILE_DATASETS, _parse_dataset
from .sections import _check_grid, _check_harvest, _check_metrics_produced, _check_start_points, _check_value, _check_warm_start, _parse_constraints, _parse_early_stopping, _parse_hardware, _parse_harvest, _parse_objectives, _parse_search, _values


def builtin_spaces() -> list[str]:
    """Names of the search spaces that ship with the package."""
    return sorted(p.name[:-5] for p in resources.files("hgq_automl.search_spaces").iterdir() if p.name.endswith(".yaml"))


def load_space(name_or_path: str | Path = "digits_cnn", data: str | None = None, data_in_memory: bool = False) -> SearchSpace:
    """Load and validate a space, by built-in name (`digits_cnn`) or by YAML path.

    `data` (the `--data` flag) replaces the space's `dataset.path` before validation.
    `data_in_memory`: the data comes as arrays (the Python API), so the dataset section
    only sets the split and needs no file.
    """
    text, source = _read_space_text(str(name_or_path))
    try:
        raw = safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceError(source, *describe_error(exc)) from None
    if data is not None and isinstance(raw, dict) and isinstance(raw.get("dataset") or {}, dict):
        raw["dataset"] = _with_data_flag(raw.get("dataset") or {}, data, source)
    return parse_space(raw, source, base_dir=_space_dir(str(name_or_path), source), data_in_memory=data_in_memory)


def with_data_path(space: SearchSpace, data: str) -> SearchSpace:
    """`space` with `data` as its dataset's path (the `--data` flag, or the API's `data=` path),
    validated as if the space had been loaded with it."""
    d = _with_data_flag(space.dataset.describe(), str(data), space.source)
    return replace(space, dataset=_parse_dataset(d, space.source))


def _space_dir(name_or_path: str, source: str) -> Path:
    """The folder a space's relative paths (model.builder, model.path) start from: the
    space file's, or the built-in spaces' package folder."""
    path = Path(name_or_path)
    if path.is_file():
        return path.resolve().parent
    return Path(str(resources.files("hgq_automl.search_spaces")))


def _with_data_flag(d: dict, data: str, source: str) -> dict:
    """The dataset section with `--data` as its path; refused where a path has no place."""
    name = d.get("name", "digits")
    if name in SHIPPED_DATASETS:
        raise SpaceError(source, "dataset.path", f"--data given, but the {name} dataset ships with scikit-learn and reads no file; drop --data")
    if name in FILE_DATASETS:
        split = next((s for s in SPLITS if d.get(s) is not None), None)
        if split:
            raise SpaceError(source, "dataset.path", f"--data given, but the space names its train/val/test files (dataset.{split}); drop --data or edit the space")
        pair = [k for k in ("x", "y") if d.get(k) is not None]
        if pair:
            raise SpaceError(source, "dataset.path", f"--data given, but the space names its data with dataset.{pair[0]}; drop --data or edit the space")
    return {**d, "path": data}


def _read_space_text(name_or_path: str) -> tuple[str, str]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SpaceError(str(path), "", "no such search-space file")
        try:
            return path.read_bytes().decode("utf-8"), str(path)
        except UnicodeDecodeError as exc:
            raise SpaceError(str(path), "", f"not a UTF-8 text file (byte {exc.start}); a search space is YAML text") from None
        except OSError as exc:
            raise SpaceError(str(path), "", f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if name_or_path in builtin_spaces():
        res = resources.files("hgq_automl.search_spaces") / f"{name_or_path}.yaml"
        return res.read_text(), f"search_spaces/{name_or_path}.yaml"
    raise SpaceError(
        name_or_path, "", f"no such search space; built-in ones are {', '.join(builtin_spaces())}, or give a .yaml path"
    )


_TOP_KEYS = ("name", "description", "task", "dataset", "model", "objectives", "constraints", "search", "hardware", "parameters", "early_stopping", "harvest")


def parse_space(raw: Any, source: str = "<space>", base_dir: str | Path | None = None, data_in_memory: bool = False) -> SearchSpace:
    """Validate plain data (as read from YAML) into a `SearchSpace`.

    `base_dir` is where model.builder's module and model.path are looked for first (then
    the working directory); by default the folder of `source` if that is a file.
    `data_in_memory`: the data comes as arrays (the Python API); the dataset section's files
    are not looked for (its split settings still apply)."""
    if base_dir is None:
        base_dir = Path(source).resolve().parent if Path(source).is_file() else None
    if not isinstance(raw, dict):
        raise SpaceError(source, "", f"must be a mapping of {', '.join(_TOP_KEYS)}; got {type(raw).__name__}")
    # the sections are checked independently and their errors reported together; the
    # checks that need them all (parameters, cross-section checks) run once they are valid
    collect = _Collect()
    collect(_no_unknown_keys, raw, _TOP_KEYS, source, "")
    default_name = re.sub(r"[^\w.-]", "", Path(source).stem) or "space"
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", name):
        collect.errors.append(SpaceError(source, "name", f"must be a word of letters, digits, '_', '-', '.'; got {name!r}"))
    description = raw.get("description", "")
    if not isinstance(description, str):
        collect.errors.append(SpaceError(source, "description", f"must be text; got {type(description).__name__}"))
    task = collect(_parse_task, raw.get("task"), source)
    dataset = collect(lambda: _parse_dataset(_section(raw, "dataset", source), source, check_files=not data_in_memory))
    model = collect(lambda: _parse_model(_section(raw, "model", source), source, base_dir))
    objectives = collect(_parse_objectives, raw.get("objectives"), source, task) if task is not None else None
    search = collect(lambda: _parse_search(_section(raw, "search", source), source))
    hardware = collect(lambda: _parse_hardware(_section(raw, "hardware", source), source))
    constraints = collect(_parse_constraints, raw.get("constraints"), source)
    collect(_parse_early_stopping, raw.get("early_stopping"), source)
    collect(_parse_harvest, raw.get("harvest"), source)
    collect.raise_any()
    if hardware is not None and model is not None and hardware.io_type == "io_stream" and not model.is_user:
        raise SpaceError(
            source, "hardware.io_type",
            f"io_stream needs homogeneous activation quantizers (hls4ml 1.3); the built-in {model.family} models quantize activations "
            "per element: use io_parallel, or a model of your own built with QuantizerConfigScope(place='datalane', heterogeneous_axis=())",
        )
    space = SearchSpace(name, source, description, dataset, model, objectives, search, hardware=hardware, constraints=constraints, task=task)
    params = _parse_parameters(_section(raw, "parameters", source), space, source)
    if model.input_shape is not None:  # else search.prepare checks it with the data's shape
        check_input_shape(model, source)
    early = _parse_early_stopping(raw.get("early_stopping"), source)
    space = replace(space, parameters=params, early_stopping=early, harvest=_parse_harvest(raw.get("harvest"), source))
    _check_harvest(space, source)
    _check_grid(space, source)
    _check_warm_start(space, source)
    space = _check_start_points(space, source)
    if early and early.grace_period >= space.max_epochs():
        raise SpaceError(source, "early_stopping.grace_period", f"must be below the trials' epochs ({space.max_epochs()}); got {early.grace_period}")
    _check_metrics_produced(space, source)
    if task.regression and "pruning_schedule" in params and any(v != "none" for v in _values(params["pruning_schedule"])):
        raise SpaceError(source, "parameters.pruning_schedule", "pruning needs task: classification (its pruning_rtol compares val_accuracy); use none")
    return space


def _parse_task(value: Any, source: str) -> TaskSpec:
    """`task: classification | regression`, or `{type: regression, loss: mse|mae|huber,
    chance_margin: 0.1}` (the floor that keeps collapsed models off the front, `TaskSpec.floor`)."""
    if value is None:
        return TaskSpec()
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise SpaceError(source, "task", f"must be classification, regression or a mapping {{type, loss, chance_margin}}; got {value!r}")
    _no_unknown_keys(value, ("type", "loss", "chance_margin"), source, "task")
    kind = _one_of(value.get("type", "classification"), TASKS, source, "task.type", ("task", "tasks"))
    margin = value.get("chance_margin", CHANCE_MARGIN)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
        raise SpaceError(source, "task.chance_margin", f"must be a number from 0 (no floor) to below 1; got {margin!r}")
    if kind == "classification":
        if value.get("loss", "cross_entropy") != "cross_entropy":
            raise SpaceError(source, "task.loss", f"classification trains with cross_entropy; got {value['loss']!r}")
        return TaskSpec(chance_margin=float(margin))
    return TaskSpec(kind, _one_of(value.get("loss", "mse"), REGRESSION_LOSSES, source, "task.loss"), float(margin))


#: the keys of `model:` for each family
MODEL_KEYS = {
    "cnn": ("family", "input_shape", "input_pool", "conv_layers", "kernel_size", "pool_size", "dense_layers"),
    "mlp": ("family", "input_shape", "dense_layers"),
    "builder": ("family", "builder", "input_shape"),
    "file": ("family", "path", "init", "input_shape"),
}


def _parse_model(d: dict, source: str, base_dir: str | Path | None = None) -> ModelSpec:
    allowed = tuple(dict.fromkeys(k for keys in MODEL_KEYS.values() for k in keys))
    _no_unknown_keys(d, allowed, source, "model")
    if "builder" in d and "path" in d:
        raise SpaceError(source, "model", "give model.builder (a function building the model) or model.path (a model file), not both")
    implied = "builder" if "builder" in d else "file" if "path" in d else "cnn"
    family = _one_of(d.get("family", implied), FAMILIES + USER_FAMILIES, source, "model.family", ("model family", "families"))
    if family != implied and implied != "cnn":
        raise SpaceError(source, "model.family", f"{family} conflicts with model.{'builder' if implied == 'builder' else 'path'} (family {implied}); drop one")
    if family == "builder" and "builder" not in d:
        raise SpaceError(source, "model.builder", "missing: family builder needs model.builder: module:function")
    if family == "file" and "path" not in d:
        raise SpaceError(source, "model.path", "missing: family file needs model.path: a .keras or .h5 file")
    for key in d:
        if key not in MODEL_KEYS[family]:
            where = "only applies to the cnn family" if key in MODEL_KEYS["cnn"] and family != "cnn" else f"does not apply to a {family} model"
            raise SpaceError(source, f"model.{key}", where)
    spec = ModelSpec(family=family)
    if d.get("input_shape") is not None:
        shape = d["input_shape"]
        if not isinstance(shape, (list, tuple)) or not shape:
            raise SpaceError(source, "model.input_shape", f"must be a list of positive integers; got {shape!r}")
        spec = replace(spec, input_shape=tuple(_int_at_least(n, 1, source, "model.input_shape") for n in shape))
    if family == "mlp":
        spec = replace(spec, conv_layers=0, dense_layers=1)
    for key, minimum in (("input_pool", 1), ("conv_layers", 1), ("kernel_size", 1), ("pool_size", 1), ("dense_layers", 0)):
        if key in d:
            spec = replace(spec, **{key: _int_at_least(d[key], minimum, source, f"model.{key}")})
    if family == "builder":
        spec = _parse_builder(d["builder"], spec, source, base_dir)
    if family == "file":
        spec = _parse_model_file(d["path"], d.get("init", "pretrained"), spec, source, base_dir)
    return spec


def _parse_builder(value: Any, spec: ModelSpec, source: str, base_dir: str | Path | None) -> ModelSpec:
    """model.builder, resolved to its module's file now (trials import it by that path)."""
    if callable(value):  # the Python API
        return replace(spec, builder=value)
    from .builders import resolve_builder

    try:
        found = resolve_builder(value, base_dir)
    except ValueError as exc:
        raise SpaceError(source, "model.builder", str(exc)) from None
    return replace(spec, builder=value, builder_file=str(found.file), builder_root=str(found.root))


def _parse_model_file(value: Any, init: Any, spec: ModelSpec, source: str, base_dir: str | Path | None) -> ModelSpec:
    """model.path (next to the space file, else in the working directory) and model.init."""
    init = _one_of(init, MODEL_INITS, source, "model.init")
    if not isinstance(value, str):  # the Python API: a keras.Model
        if not hasattr(value, "layers"):
            raise SpaceError(source, "model.path", f"must be a .keras or .h5 file (or a keras.Model); got {value!r}")
        return replace(spec, path=value, init=init)
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [Path(d) / path for d in (base_dir, Path.cwd()) if d is not None]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        where = " or ".join(str(c.parent) for c in candidates)
        raise SpaceError(source, "model.path", f"no such model file: {value} (looked in {where})")
    if found.suffix not in (".keras", ".h5", ".hdf5"):
        raise SpaceError(source, "model.path", f"a model file must be .keras or .h5 (Keras 3 reads those); got {value}")
    return replace(spec, path=str(found.resolve()), init=init)


def check_input_shape(model: ModelSpec, source: str) -> None:
    """The model's input shape fits its family: a cnn takes [h, w] or [h, w, c] large enough
    for its conv layers, an mlp [features]. Raises SpaceError (model.input_shape / model)."""
    shape = list(model.input_shape or ())
    if model.family == "cnn" and len(shape) not in (2, 3):
        raise SpaceError(source, "model.input_shape", f"a cnn takes [height, width] or [height, width, channels]; got {shape}")
    if model.family == "mlp" and len(shape) != 1:
        raise SpaceError(source, "model.input_shape", f"an mlp takes [features]; got {shape}")
    try:
        conv_plan(model)
    except ValueError as exc:
        raise SpaceError(source, "model", f"{exc}; use fewer conv_layers, a smaller kernel_size or input_pool") from None


def _parse_parameters(d: dict, space: SearchSpace, source: str) -> dict[str, Dimension]:
    """The dimensions of `parameters:`. An unknown name is an error, except with a builder:
    there it is the builder's own parameter (passed to it in `params`)."""
    params: dict[str, Dimension] = {}
    for name, spec in d.items():
        key = f"parameters.{name}"
        rule = space.rule_for(str(name))
        if rule is None and space.model.family == "builder":
            params[name] = _parse_user_dimension(str(name), spec, source, key)
            continue
        if rule is None:
            raise SpaceError(source, key, _unknown_parameter_hint(str(name), space))
        params[name] = _parse_dimension(name, spec, rule, source, key)
    return params


def _unknown_parameter_hint(name: str, space: SearchSpace) -> str:
    if _WIDTH_NAME.match(name) or _BETA_SCALE_NAME.match(name) or _LAYER_PF_NAME.match(name):
        if space.model.family == "file":
            return "unknown parameter: a model file's layers have fixed widths"
        return "unknown parameter: this model has no such layer (check model.conv_layers / model.dense_layers)"
    own = "; a model file takes no parameters of its own" if space.model.family == "file" else " (a parameter of your own needs model.builder)"
    return f"unknown parameter; {did_you_mean(name, space.rules())}known parameters are {', '.join(sorted(space.rules()))}{own}"


def _parse_user_dimension(name: str, spec: Any, source: str, key: str) -> Dimension:
    """A builder's own parameter: a fixed value of any kind, or a range / choice (numbers or texts)."""
    if not isinstance(spec, dict):
        return Dimension(name, "fixed", value=spec)
    kind = _one_of(spec.get("type"), DIMENSION_TYPES, source, f"{key}.type")
    if kind == "choice":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise SpaceError(source, f"{key}.values", "must be a non-empty list")
        if not (all(isinstance(v, str) for v in values) or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
            raise SpaceError(source, f"{key}.values", f"a choice takes numbers or texts, not a mix; got {values}")
        rule = _user_rule(Dimension(name, "choice", values=tuple(values)))
    else:
        rule = ParamRule(int if kind == "int" else float, None)
    return _parse_dimension(name, spec, rule, source, key)


def _parse_dimension(name: str, spec: Any, rule: ParamRule, source: str, key: str) -> Dimension:
    if not isinstance(spec, dict):
        value = _number(spec, source, key, rule.kind) if rule.kind is not str else spec
        _check_value(rule, value, source, key)
        return Dimension(name, "fixed", value=value)
    _no_unknown_keys(spec, ("type", "low", "high", "step", "log", "values"), source, key)
    kind = _one_of(spec.get("type"), DIMENSION_TYPES, source, f"{key}.type")
    if kind == "choice":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise SpaceError(source, f"{key}.values", "must be a non-empty list")
        if rule.kind is not str:
            values = [_number(v, source, f"{key}.values", rule.kind) for v in values]
        for v in values:
            _check_value(rule, v, source, f"{key}.values")
        if len(set(values)) != len(values):
            raise SpaceError(source, f"{key}.values", f"has duplicates: {values}")
        return Dimension(name, "choice", values=tuple(values))
    if rule.kind is str:
        raise SpaceError(source, f"{key}.type", f"{name} takes a fixed value or type: choice; got {kind}")
    if kind in ("log_uniform", "uniform") and rule.kind is int:
        raise SpaceError(source, f"{key}.type", f"{name} is an integer: use type int or choice; got {kind}")
    if kind == "int" and rule.kind is not int:
        raise SpaceError(source, f"{key}.type", f"{name} is a real number: use log_uniform, uniform or choice; got int")
    for bound in ("low", "high"):
        if bound not in spec:
            raise SpaceError(source, f"{key}.{bound}", f"missing; type {kind} needs low and high")
    low = _number(spec["low"], source, f"{key}.low", rule.kind)
    high = _number(spec["high"], source, f"{key}.high", rule.kind)
    _check_value(rule, low, source, f"{key}.low")
    _check_value(rule, high, source, f"{key}.high")
    if low >= high:
        raise SpaceError(source, key, f"empty or inverted range: low ({low:g}) must be < high ({high:g})")
    log = kind == "log_uniform" or bool(spec.get("log", False))
    if log and low <= 0:
        raise SpaceError(source, f"{key}.low", f"must be > 0 for a log scale; got {low:g}")
    step = 1
    if "step" in spec:
        if kind != "int":
            raise SpaceError(source, f"{key}.step", "only applies to type int")
        step = _int_at_least(spec["step"], 1, source, f"{key}.step")
        if log and step != 1:
            raise SpaceError(source, f"{key}.step", "a log-scale int range takes no step")
    return Dimension(name, kind, low=low, high=high, step=step, log=log and kind == "int")
