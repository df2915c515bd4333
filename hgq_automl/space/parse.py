"""Search spaces: loading a YAML file, validating it, and sampling one trial's config.

A space names a dataset, a model family, the objectives, the search settings and the
searched parameters. Every parameter has a default, so a space lists only what it
searches or fixes. Validation happens once, at load time, and raises `SpaceError` with
the file, the key and what is wrong; nothing here imports Ray, Optuna or MLflow
(`suggest` takes any object with Optuna's `suggest_*` methods).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..constraints import Constraint, parse_constraint
from ..errors import SpaceError, SpaceErrors, did_you_mean
from ..yaml_limits import describe_error, safe_load
from ..metrics import EPOCH_METRICS, FINAL_METRICS, SYNTHESIS_STEPS, produced_by
from ..parts import UnknownPart, part_family
from ..task import CHANCE_MARGIN, REGRESSION_LOSSES, TASKS, TaskSpec
from .folders import LAYOUTS, has_split_files, split_files
from .geometry import conv_plan
from .rules import _BETA_SCALE_NAME, _LAYER_PF_NAME, _WIDTH_NAME, Dimension, ParamRule, _PointTrial, _user_rule
from .schema import (
    BOTH_SUFFIXES,
    COLUMN_SUFFIXES,
    KEYED_SUFFIXES,
    PAIR_SUFFIXES,
    SOURCE_KEYS,
    DataSource,
    DatasetSpec,
    EarlyStopping,
    HardwareSpec,
    HarvestSpec,
    ModelSpec,
    SearchSettings,
    SearchSpace,
    WarmStart,
)
from .vocabulary import (
    DATASETS,
    DIMENSION_TYPES,
    FAMILIES,
    HLS_BACKENDS,
    HLS_CONFIG_KEYS,
    IO_TYPES,
    MODEL_INITS,
    BACKENDS,
    SAMPLERS,
    SCHEDULERS,
    SHIPPED_DATASETS,
    SPLITS,
    USER_FAMILIES,
)


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


def _values(dim: Dimension) -> tuple:
    return (dim.value,) if dim.kind == "fixed" else tuple(dim.values)


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


def _section(raw: dict, key: str, source: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise SpaceError(source, key, f"must be a mapping; got {type(value).__name__}")
    return value


def _no_unknown_keys(d: dict, allowed, source: str, prefix: str) -> None:
    """Every unknown key of the mapping `d`, each on its line with a did-you-mean."""
    errors = [
        SpaceError(source, f"{prefix}.{key}" if prefix else str(key), f"unknown key; {did_you_mean(key, allowed)}allowed keys are {', '.join(allowed)}")
        for key in d
        if key not in allowed
    ]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SpaceErrors(errors)


class _Collect:
    """Runs independent checks of a space and keeps their SpaceErrors, so that one pass
    reports them all (`SpaceErrors`); a check that failed gives None."""

    def __init__(self):
        self.errors: list[SpaceError] = []

    def __call__(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except SpaceErrors as exc:
            self.errors += exc.errors
        except SpaceError as exc:
            self.errors.append(exc)
        return None

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpaceErrors(self.errors)


def _one_of(value: Any, allowed: Sequence[str], source: str, key: str, names: tuple[str, str] | None = None) -> Any:
    """`value` if it is one of `allowed`, else a SpaceError: "unknown <name> 'v'; known
    <names> are ..." when `names` (singular, plural) are given, else "must be one of ...; got 'v'"."""
    if isinstance(value, str) and value in allowed:
        return value
    hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
    if names:
        raise SpaceError(source, key, f"unknown {names[0]} {value!r}; {hint}known {names[1]} are {', '.join(allowed)}")
    raise SpaceError(source, key, f"must be one of {', '.join(allowed)}; got {value!r}" + (f"; {hint.strip()}" if hint else ""))


#: the largest integer a space holds (trials, epochs, batch_size, ...): a signed 32-bit
#: integer, as Keras, NumPy and Optuna take counts; seeds have their own range (MAX_SEED)
MAX_INT = 2**31 - 1


def _number(value: Any, source: str, key: str, kind: type = float, limit: int | None = MAX_INT) -> float | int:
    """A number from YAML; strings such as '1e-5' (which YAML 1.1 reads as text) are accepted.
    An integer beyond +-`limit` is refused (it would overflow where it is used)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SpaceError(source, key, f"must be a number; got {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**1023:  # beyond any float
        raise SpaceError(source, key, f"must be a number of at most {MAX_INT if kind is int else 'about 1.8e308'}; got {len(str(abs(value)))} digits")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(source, key, f"must be a finite number; got {value!r}")
    if kind is int:
        if not float(value).is_integer():
            raise SpaceError(source, key, f"must be an integer; got {value!r}")
        if limit is not None and abs(int(value)) > limit:
            raise SpaceError(source, key, f"must be an integer of at most {limit}; got {value!r}")
        return int(value)
    return float(value)


def _int_at_least(value: Any, minimum: int, source: str, key: str) -> int:
    n = _number(value, source, key, int)
    if n < minimum:
        raise SpaceError(source, key, f"must be an integer >= {minimum}; got {value!r}")
    return n


#: NumPy's and Optuna's seeds are unsigned 32-bit numbers.
MAX_SEED = 2**32 - 1


def _seed(value: Any, source: str, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_SEED:
        raise SpaceError(source, key, f"must be an integer from 0 to {MAX_SEED}; got {value if value < 2**64 else f'{len(str(value))} digits'}")
    n = _number(value, source, key, int, limit=None)
    if not 0 <= n <= MAX_SEED:
        raise SpaceError(source, key, f"must be an integer from 0 to {MAX_SEED}; got {value!r}")
    return n


#: keys of the random split that fixed splits leave unused: all four beside a val split;
#: without one, val_fraction and seed carve the validation set out of train
_FIXED_SPLIT_CONFLICTS = ("val_fraction", "test_fraction", "max_samples", "seed")
_CARVE_KEYS = ("val_fraction", "seed")
#: the datasets that read a user's files, every format and layout alike
FILE_DATASETS = ("mnist", "tabular", "arrays")
_FILES_ONLY = ("x", "y", "x_key", "y_key", "label_columns", *SPLITS)


def _parse_dataset(d: dict, source: str, check_files: bool = True) -> DatasetSpec:
    _no_unknown_keys(d, tuple(vars(DatasetSpec())), source, "dataset")
    name = _one_of(d.get("name", "digits"), DATASETS, source, "dataset.name", ("dataset", "datasets"))
    spec = DatasetSpec(name=name)
    for key in _FILES_ONLY:
        if d.get(key) is not None and name not in FILE_DATASETS:
            raise SpaceError(source, f"dataset.{key}", f"only applies to the datasets that read files ({', '.join(FILE_DATASETS)}); this one is {name}")
    if d.get("standardize") is not None:
        if name not in ("arrays", "tabular"):
            raise SpaceError(source, "dataset.standardize", f"only applies to the arrays and tabular datasets; this one is {name}")
        if not isinstance(d["standardize"], bool):
            raise SpaceError(source, "dataset.standardize", f"must be true or false; got {d['standardize']!r}")
        spec = replace(spec, standardize=d["standardize"])
    if "path" in d and d["path"] is not None:
        spec = replace(spec, path=str(d["path"]))
    if "label_column" in d:
        spec = replace(spec, label_column=str(d["label_column"]))
    if name in FILE_DATASETS:
        top = _parse_source({k: d[k] for k in SOURCE_KEYS if d.get(k) is not None}, source, "dataset")
        spec = replace(spec, x=top.x, y=top.y, x_key=top.x_key, y_key=top.y_key, label_columns=top.label_columns)
        for split in SPLITS:
            if d.get(split) is not None:
                spec = replace(spec, **{split: _parse_source(d[split], source, f"dataset.{split}")})
        if spec.fixed_splits:
            unused = _FIXED_SPLIT_CONFLICTS if spec.val is not None else tuple(k for k in _FIXED_SPLIT_CONFLICTS if k not in _CARVE_KEYS)
            given = next((k for k in unused if d.get(k) is not None), None)
            if given:
                raise SpaceError(source, f"dataset.{given}", f"the {'/'.join(s for s in SPLITS if getattr(spec, s))} files fix the split; drop this key")
        elif check_files and spec.path and Path(spec.path).expanduser().is_dir():
            spec = _folder_splits(spec, d, source)
    for key in ("val_fraction", "test_fraction"):
        if key in d:
            frac = _number(d[key], source, f"dataset.{key}")
            if not 0 < frac < 1:
                raise SpaceError(source, f"dataset.{key}", f"must be in (0, 1); got {d[key]!r}")
            spec = replace(spec, **{key: frac})
    if spec.val_fraction + spec.test_fraction >= 1:
        raise SpaceError(source, "dataset", "val_fraction + test_fraction must leave data to train on (< 1)")
    if d.get("max_samples") is not None:
        spec = replace(spec, max_samples=_int_at_least(d["max_samples"], 10, source, "dataset.max_samples"))
    if "seed" in d:
        spec = replace(spec, seed=_seed(d["seed"], source, "dataset.seed"))
    if check_files:
        _check_data_path(spec, source)
        if name in FILE_DATASETS and not _is_idx_folder(spec):
            # the built-in datasets list label_column (default `label`) whatever their file
            label_column_given = "label_column" in d and (name == "arrays" or d["label_column"] != DatasetSpec().label_column)
            _check_keys_used(spec, label_column_given, source)
    return spec


def _is_idx_folder(spec: DatasetSpec) -> bool:
    """An mnist dataset whose path is a folder of idx files (read as such, not as splits)."""
    return spec.name == "mnist" and bool(spec.path) and Path(spec.path).expanduser().is_dir()


def _folder_splits(spec: DatasetSpec, d: dict, source: str) -> DatasetSpec:
    """`spec` with its path, a folder of split files, replaced by the splits it holds
    (`folders.split_files`); an mnist folder of idx files is kept as it is. Random-split keys
    the splits leave unused, set to other than their defaults, are refused."""
    folder = Path(spec.path).expanduser()
    idx = sorted(p.name for p in folder.iterdir() if "-idx" in p.name)
    if spec.name == "mnist" and idx:
        if has_split_files(folder):
            raise SpaceError(source, "dataset.path", f"folder {spec.path} holds both MNIST idx files ({idx[0]}) and split files; keep one layout")
        return spec
    if spec.name == "mnist" and not has_split_files(folder):
        raise SpaceError(
            source, "dataset.path",
            f"folder {spec.path} holds no MNIST idx files (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and their labels) nor split files ({LAYOUTS})",
        )
    try:
        sources = split_files(folder)
    except ValueError as exc:
        raise SpaceError(source, "dataset.path", str(exc)) from None
    unused = _FIXED_SPLIT_CONFLICTS if "val" in sources else tuple(k for k in _FIXED_SPLIT_CONFLICTS if k not in _CARVE_KEYS)
    default = DatasetSpec()
    given = next((k for k in unused if d.get(k) is not None and d[k] != getattr(default, k)), None)
    if given:
        why = "its val split fixes the validation set" if given in _CARVE_KEYS else "its test split fixes the test set"
        raise SpaceError(source, f"dataset.{given}", f"folder {spec.path} holds fixed splits ({', '.join(sources)}): {why}; drop this key")
    return replace(spec, path=None, **sources)


def _parse_source(value: Any, source: str, key: str) -> DataSource:
    """A data source: a path string, or a mapping of `SOURCE_KEYS` (text; label_columns a list)."""
    if isinstance(value, str):
        return DataSource(path=value)
    if not isinstance(value, dict):
        raise SpaceError(source, key, f"must be a path or a mapping of {', '.join(SOURCE_KEYS)}; got {value!r}")
    _no_unknown_keys(value, SOURCE_KEYS, source, key)
    out: dict[str, Any] = {}
    for k, v in value.items():
        if v is None:
            continue
        if k == "label_columns":
            if not isinstance(v, (list, tuple)) or not v or not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in v):
                raise SpaceError(source, f"{key}.label_columns", f"must be a non-empty list of column names; got {v!r}")
            if len(set(map(str, v))) != len(v):
                raise SpaceError(source, f"{key}.label_columns", f"has duplicates: {list(v)}")
            out[k] = tuple(map(str, v))
        elif isinstance(v, (str, int)) and not isinstance(v, bool):
            out[k] = str(v)
        else:
            raise SpaceError(source, f"{key}.{k}", f"must be text; got {v!r}")
    if "label_column" in out and "label_columns" in out:
        raise SpaceError(source, f"{key}.label_columns", "give label_column (one target) or label_columns (several), not both")
    return DataSource(**out)


def _check_data_path(spec: DatasetSpec, source: str) -> None:
    if spec.name in SHIPPED_DATASETS:
        if spec.path:
            raise SpaceError(source, "dataset.path", f"the {spec.name} dataset ships with scikit-learn and reads no file; got {spec.path} (drop dataset.path / --data)")
        return
    if spec.name != "arrays" and not spec.fixed_splits:
        if not (spec.path or spec.x or spec.y):
            raise SpaceError(source, "dataset.path", f"the {spec.name} dataset needs a data file; give dataset.path or --data")
        if spec.path and not Path(spec.path).expanduser().exists():
            raise SpaceError(source, "dataset.path", f"no such file or directory: {spec.path}")
        if _is_idx_folder(spec):
            return
    _check_arrays_files(spec, source)


def _check_arrays_files(spec: DatasetSpec, source: str) -> None:
    """The arrays dataset names its data once (path, or x and y) or per split (train, val,
    test); every file exists and has a suffix it can be read by."""
    if not spec.fixed_splits:
        _check_source(spec.source(), source, "dataset")
        return
    missing = [s for s in ("train", "test") if getattr(spec, s) is None]
    if missing:
        raise SpaceError(
            source, f"dataset.{missing[0]}",
            "missing; fixed splits need train and test, and val unless it is carved from train by val_fraction (or none of them, for a random split)",
        )
    whole = next((k for k in ("path", "x", "y") if getattr(spec, k) is not None), None)
    if whole:
        raise SpaceError(source, f"dataset.{whole}", "the train/val/test files hold the data; drop this key (or the splits)")
    for name in SPLITS:
        if getattr(spec, name) is not None:
            _check_source(getattr(spec, name), source, f"dataset.{name}")


def _check_source(src: DataSource, source: str, key: str) -> None:
    if src.path and (src.x or src.y):
        raise SpaceError(source, f"{key}.{'x' if src.x else 'y'}", "give path (one file holding x and y) or x and y (two .npy files), not both")
    if not src.path:
        if src.x or src.y:
            if not (src.x and src.y):
                raise SpaceError(source, f"{key}.{'y' if src.x else 'x'}", "missing; x and y come as a pair of .npy files")
        else:
            hint = "give dataset.path (or --data), dataset.x and dataset.y, or dataset.train/val/test" if key == "dataset" else "give path, or x and y"
            raise SpaceError(source, f"{key}.path", f"the arrays dataset needs its data: {hint}")
    for k in ("path", "x", "y"):
        given = getattr(src, k)
        if given is None:
            continue
        path = Path(given).expanduser()
        if not path.exists():
            raise SpaceError(source, f"{key}.{k}", f"no such file: {given}")
        if not path.is_file():
            raise SpaceError(source, f"{key}.{k}", f"must be a file; {given} is a directory")
        suffix = path.suffix.lower()
        if k == "path" and suffix not in BOTH_SUFFIXES:
            extra = " (a .npy holds one array: give x and y)" if suffix == ".npy" else ""
            raise SpaceError(source, f"{key}.{k}", f"a file holding x and y must be .npz, .h5, .hdf5, .csv or .parquet; got {given}{extra}")
        if k != "path" and suffix not in PAIR_SUFFIXES:
            raise SpaceError(source, f"{key}.{k}", f"x and y must be .npy files (an .npz, .h5, .csv or .parquet file goes in path); got {given}")
    if key != "dataset":  # a split's own keys; the dataset's are checked against every split's file
        _check_source_keys(src, [src.suffix], source, key)


def _check_source_keys(src: DataSource, suffixes: list[str], source: str, key: str) -> None:
    """Keys that find arrays in a file must match a file that has such keys (none ignored)."""
    for k in ("x_key", "y_key"):
        if getattr(src, k) is not None and not any(s in KEYED_SUFFIXES for s in suffixes):
            raise SpaceError(source, f"{key}.{k}", "only applies to .npz and .h5/.hdf5 files; the data here is not one")
    for k in ("label_column", "label_columns"):
        if getattr(src, k) is not None and not any(s in COLUMN_SUFFIXES for s in suffixes):
            raise SpaceError(source, f"{key}.{k}", "only applies to .csv and .parquet files; the data here is not one")


def _check_keys_used(spec: DatasetSpec, label_column_given: bool, source: str) -> None:
    sources = [getattr(spec, s) for s in SPLITS if getattr(spec, s) is not None] if spec.fixed_splits else [spec.source()]
    own = DataSource(x_key=spec.x_key, y_key=spec.y_key, label_column=spec.label_column if label_column_given else None, label_columns=spec.label_columns)
    _check_source_keys(own, [s.suffix for s in sources], source, "dataset")


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


def _check_value(rule: ParamRule, value: Any, source: str, key: str) -> None:
    problem = rule.check(value)
    if problem:
        raise SpaceError(source, key, problem)
