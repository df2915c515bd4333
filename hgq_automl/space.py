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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from .constraints import Constraint, parse_constraint
from .errors import SpaceError
from .hardware.parts import DEFAULT_PART, UnknownPart, part_family
from .metrics import EPOCH_METRICS, FINAL_METRICS, SYNTHESIS_STEPS, produced_by
from .pruning.loop import IMPORTANCES
from .pruning.objectives import OBJECTIVES as PRUNING_OBJECTIVES
from .pruning.schedulers import SCHEDULES
from .pruning.structures import STRUCTURES as PRUNING_STRUCTURES
from .task import REGRESSION_LOSSES, TASKS, TaskSpec

DATASETS = ("digits", "diabetes", "mnist", "tabular", "arrays")
#: Datasets that ship with scikit-learn (offline) and read no file: digits (8x8 images, 10
#: classes) and diabetes (10 features, one regression target).
SHIPPED_DATASETS = ("digits", "diabetes")
SPLITS = ("train", "val", "test")
FAMILIES = ("cnn", "mlp")
#: a model the user brings: `model.builder` (module:function) or `model.path` (a .keras/.h5 file)
USER_FAMILIES = ("builder", "file")
MODEL_INITS = ("pretrained", "random")
SAMPLERS = ("nsga2", "tpe", "random", "grid")
BETA_SCHEDULES = ("constant", "ramp")
STRATEGIES = ("latency", "resource", "distributed_arithmetic")
HLS_BACKENDS = ("Vitis", "Vivado")
DIMENSION_TYPES = ("log_uniform", "uniform", "int", "choice")
SCHEDULERS = ("asha", "hyperband")
PRUNING_SCHEDULES = ("none", *SCHEDULES)


class SuggestsParams(Protocol):
    """The part of `optuna.Trial` that sampling needs."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...
    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...
    def suggest_categorical(self, name: str, choices: list) -> Any: ...


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class ParamRule:
    """What values a parameter takes: its type, a lower bound, or a fixed set."""

    kind: type  # float, int or str
    default: Any
    minimum: float | None = None  # inclusive
    positive: bool = False  # strictly > 0
    below: float | None = None  # exclusive upper bound
    maximum: float | None = None  # inclusive upper bound
    allowed: tuple[str, ...] | None = None
    doc: str = ""

    def check(self, value: Any) -> str | None:
        """Return what is wrong with `value`, or None."""
        if self.kind is str:
            if not isinstance(value, str) or (self.allowed and value not in self.allowed):
                return f"must be one of {', '.join(self.allowed or ())}; got {value!r}"
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number; got {value!r}"
        if self.kind is int and not float(value).is_integer():
            return f"must be an integer; got {value!r}"
        if not math.isfinite(value):
            return f"must be finite; got {value!r}"
        if self.positive and value <= 0:
            return f"must be > 0; got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum:g}; got {value!r}"
        if self.below is not None and value >= self.below:
            low = f"[{self.minimum:g}, " if self.minimum is not None else "(-inf, "
            return f"must be in {low}{self.below:g}); got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum:g}; got {value!r}"
        return None


#: Parameters every space may set, with their defaults.
COMMON_PARAMS: dict[str, ParamRule] = {
    "learning_rate": ParamRule(float, 3e-3, positive=True, doc="Adam learning rate"),
    "batch_size": ParamRule(int, 64, minimum=1, doc="training batch size"),
    "epochs": ParamRule(int, 20, minimum=1, doc="training epochs"),
    "beta": ParamRule(float, 1e-5, minimum=0, doc="HGQ resource penalty (per EBOP); the ramp's start"),
    "beta_final": ParamRule(float, 1e-4, minimum=0, doc="beta at the last epoch when beta_schedule is ramp"),
    "beta_schedule": ParamRule(str, "constant", allowed=BETA_SCHEDULES, doc="constant, or a log-linear ramp beta -> beta_final"),
    "reuse_factor": ParamRule(int, 1, minimum=1, doc="hls4ml reuse factor (multiplications sharing one multiplier)"),
    "strategy": ParamRule(str, "latency", allowed=STRATEGIES, doc="hls4ml strategy: the DSP estimate's and the csim/vivado/vitis conversion's"),
}
#: Pruning after training (hgq_automl.pruning); the others apply when pruning_schedule is not none.
PRUNING_PARAMS: dict[str, ParamRule] = {
    "pruning_schedule": ParamRule(str, "none", allowed=PRUNING_SCHEDULES, doc="none, or the sparsity schedule of the pruning steps"),
    "final_sparsity": ParamRule(float, 0.5, minimum=0, below=1, doc="fraction of the objective's resources to remove, in [0, 1)"),
    "pruning_steps": ParamRule(int, 4, minimum=1, doc="pruning steps the schedule takes to reach final_sparsity"),
    "pruning_structure": ParamRule(str, "unstructured", allowed=PRUNING_STRUCTURES, doc="weights, whole neurons/filters, or DSP patterns"),
    "pruning_objective": ParamRule(str, "params", allowed=PRUNING_OBJECTIVES, doc="the resource final_sparsity is a fraction of"),
    "pruning_importance": ParamRule(str, "magnitude", allowed=IMPORTANCES, doc="rank weights by |w| or by |w x dLoss/dw|"),
    "pruning_epochs": ParamRule(int, 2, minimum=1, doc="fine-tuning epochs after each pruning step"),
    "pruning_rtol": ParamRule(float, 0.98, positive=True, maximum=1, doc="keep pruning while val_accuracy >= rtol x the unpruned model's"),
}
#: Only for the cnn family.
CNN_PARAMS: dict[str, ParamRule] = {
    "parallelization_factor": ParamRule(int, 1, minimum=1, doc="output pixels a QConv2D computes in parallel"),
}
WIDTH_RULE = ParamRule(int, 8, minimum=1, doc="layer width")
BETA_SCALE_RULE = ParamRule(float, 1.0, minimum=0, doc="multiplier of beta for one layer")
#: parallelization_factor_<layer>: that conv layer's factor (overrides parallelization_factor); no default
LAYER_PF_RULE = ParamRule(int, None, minimum=1, doc="output pixels one conv layer computes in parallel")
#: parallelization_factor of a user's model: applied to its conv layers only when set
USER_PF_RULE = ParamRule(int, None, minimum=1, doc="output pixels every conv layer computes in parallel (when set)")
_WIDTH_NAME = re.compile(r"^(filters|units)_(\d+)$")
_BETA_SCALE_NAME = re.compile(r"^beta_scale_(\w+)$")
_LAYER_PF_NAME = re.compile(r"^parallelization_factor_(\w+)$")


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a distribution, or a fixed value (`kind == "fixed"`)."""

    name: str
    kind: str  # fixed | log_uniform | uniform | int | choice
    value: Any = None  # for fixed
    low: float | None = None
    high: float | None = None
    step: int = 1
    log: bool = False
    values: tuple = ()

    def suggest(self, trial: SuggestsParams) -> Any:
        if self.kind == "fixed":
            return self.value
        if self.kind == "log_uniform":
            return trial.suggest_float(self.name, self.low, self.high, log=True)
        if self.kind == "uniform":
            return trial.suggest_float(self.name, self.low, self.high)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=self.step, log=self.log)
        return trial.suggest_categorical(self.name, list(self.values))

    def describe(self) -> Any:
        """A plain-data form, as it would be written in YAML."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "choice":
            return {"type": "choice", "values": list(self.values)}
        out: dict[str, Any] = {"type": self.kind, "low": self.low, "high": self.high}
        if self.kind == "int" and self.step != 1:
            out["step"] = self.step
        if self.kind == "int" and self.log:
            out["log"] = True
        return out


# --------------------------------------------------------------------------- sections


#: `arrays` files: one file holding x and y (`path`), or a pair of .npy files (`x`, `y`)
BOTH_SUFFIXES = (".npz", ".h5", ".hdf5", ".csv", ".parquet", ".pq")
PAIR_SUFFIXES = (".npy",)
KEYED_SUFFIXES = (".npz", ".h5", ".hdf5")  # take x_key / y_key
COLUMN_SUFFIXES = (".csv", ".parquet", ".pq")  # take label_column / label_columns
SOURCE_KEYS = ("path", "x", "y", "x_key", "y_key", "label_column", "label_columns")


@dataclass(frozen=True)
class DataSource:
    """Where one split's (or the whole dataset's) samples are: a file holding features and
    labels (`path`), or a pair of .npy files (`x`, `y`); with the keys that find them inside
    (`x_key` / `y_key` of an .npz or HDF5 file, the label column(s) of a CSV or parquet file)."""

    path: str | None = None
    x: str | None = None
    y: str | None = None
    x_key: str | None = None
    y_key: str | None = None
    label_column: str | None = None
    label_columns: tuple[str, ...] | None = None

    @property
    def suffix(self) -> str:
        """The format: the suffix of `path` (lower case), or .npy for an x/y pair."""
        return Path(self.path).suffix.lower() if self.path else ".npy"

    def describe(self) -> str | dict[str, Any]:
        """Plain data as written in YAML: the path alone, or a mapping of the keys given."""
        given = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items() if v is not None}
        return self.path if list(given) == ["path"] else given


@dataclass(frozen=True)
class DatasetSpec:
    name: str = "digits"
    path: str | None = None  # mnist: idx folder or .npz; tabular: .npz or .csv; arrays: .npz/.h5/.csv/.parquet
    label_column: str = "label"  # tabular .csv; arrays .csv / .parquet
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    max_samples: int | None = None  # use only the first N samples (after shuffling)
    seed: int = 0  # the split's seed, fixed so that every trial sees the same split
    # arrays only
    x: str | None = None  # a .npy of features (with y)
    y: str | None = None  # a .npy of labels / targets (with x)
    x_key: str | None = None  # the features' array in an .npz / HDF5 file (HDF5 default: x)
    y_key: str | None = None  # the labels' array in an .npz / HDF5 file (HDF5 default: y)
    label_columns: tuple[str, ...] | None = None  # CSV / parquet: several target columns (regression)
    standardize: bool | None = None  # features to zero mean, unit variance (train statistics); None: tabular yes, others no
    train: DataSource | None = None  # fixed splits: all three given, no random split
    val: DataSource | None = None
    test: DataSource | None = None

    @property
    def fixed_splits(self) -> bool:
        return any(getattr(self, s) is not None for s in SPLITS)

    def source(self) -> DataSource:
        """The whole dataset's file(s), for a random split."""
        labels = (None, self.label_columns) if self.label_columns else (self.label_column, None)
        return DataSource(self.path, self.x, self.y, self.x_key, self.y_key, *labels)

    def split_sources(self) -> dict[str, DataSource]:
        """The fixed splits' files; keys a split does not set come from the dataset's."""
        out = {}
        for name in SPLITS:
            s = getattr(self, name)
            if s is None:
                continue
            if s.label_column is None and s.label_columns is None:
                s = replace(s, label_column=None if self.label_columns else self.label_column, label_columns=self.label_columns)
            out[name] = replace(s, x_key=s.x_key or self.x_key, y_key=s.y_key or self.y_key)
        return out

    def describe(self) -> dict[str, Any]:
        """Plain data that `parse_space` reads back into an equal spec (logged, and kept by a
        resumable search). The built-in datasets list every set key, as always; arrays lists
        the keys that differ from their defaults (a fixed split has no fractions or seed)."""
        if self.name != "arrays":
            return {k: v for k, v in vars(self).items() if v is not None}
        out: dict[str, Any] = {"name": self.name}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "name" and value != f.default:
                out[f.name] = value.describe() if isinstance(value, DataSource) else list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class ModelSpec:
    """The model: a built-in family (cnn, mlp) or the user's own (builder, file).

    `builder` and `path` hold what a YAML space names (text); the Python API may put the
    builder function itself, or a `keras.Model`, there instead.
    """

    family: str = "cnn"  # cnn | mlp (built in) | builder (model.builder) | file (model.path)
    input_shape: tuple[int, ...] | None = None  # None: the data's (search.prepare fills it in)
    input_pool: int = 1  # cnn: max-pool the input by this factor first (the MNIST quick start uses 2)
    conv_layers: int = 1
    kernel_size: int = 3
    pool_size: int = 2
    dense_layers: int = 0  # hidden dense layers before the output layer
    #: "module:function" (or "path/to/file.py:function") as written, or a callable
    #: build(params, input_shape, n_outputs) -> keras.Model
    builder: str | Callable | None = None
    builder_file: str | None = None  # the builder module's absolute path, resolved at load time
    builder_root: str | None = None  # the folder its module name was found in (on sys.path while importing it)
    path: str | Any = None  # model file: absolute path (.keras, .h5), or a keras.Model
    init: str = "pretrained"  # file: pretrained (its weights) | random (re-initialised)

    @property
    def is_user(self) -> bool:
        """A model the user brings (builder or file): its layer names are known once built."""
        return self.family in USER_FAMILIES

    def quantized_layers(self) -> list[str]:
        """Names of the HGQ layers the built-in builder creates, in order ([] for a user's model)."""
        if self.is_user:
            return []
        convs = self.conv_layer_names()
        return convs + [f"dense{i}" for i in range(1, self.dense_layers + 1)] + ["output"]

    def conv_layer_names(self) -> list[str]:
        return [f"conv{i}" for i in range(1, self.conv_layers + 1)] if self.family == "cnn" else []

    def describe(self) -> dict[str, Any]:
        """The model section as it would be written in YAML (a builder by its resolved file)."""
        out: dict[str, Any] = {"family": self.family}
        if self.input_shape is not None:
            out["input_shape"] = list(self.input_shape)
        if self.family == "cnn":
            out.update(input_pool=self.input_pool, conv_layers=self.conv_layers, kernel_size=self.kernel_size, pool_size=self.pool_size)
        if self.family in ("cnn", "mlp"):
            out["dense_layers"] = self.dense_layers
        if self.family == "builder":
            if isinstance(self.builder, str):
                out["builder"] = f"{self.builder_file}:{self.builder.rsplit(':', 1)[1]}" if self.builder_file else self.builder
            else:
                out["builder"] = f"{getattr(self.builder, '__module__', '?')}:{getattr(self.builder, '__qualname__', repr(self.builder))}"
        if self.family == "file":
            out.update(path=self.path if isinstance(self.path, str) else f"<in-memory model {getattr(self.path, 'name', '?')}>", init=self.init)
        return out

    def conv_plan(self, input_shape: Sequence[int] | None = None) -> list[tuple[int, int, bool]]:
        """(output height, output width, followed by a max-pool) of each conv layer; [] for an MLP.

        `input_shape` defaults to the spec's. Raises ValueError naming the first conv layer
        whose input is smaller than its kernel (or when no input shape is known).
        A max-pool follows a conv layer when its output is at least pool_size wide.
        """
        if self.family != "cnn":
            return []
        shape = input_shape if input_shape is not None else self.input_shape
        if shape is None:
            raise ValueError("no input shape yet (it comes from the data)")
        h, w = shape[0] // self.input_pool, shape[1] // self.input_pool
        plan = []
        for i in range(1, self.conv_layers + 1):
            h, w = h - self.kernel_size + 1, w - self.kernel_size + 1
            if h < 1 or w < 1:
                raise ValueError(f"conv{i} gets an input smaller than its {self.kernel_size}x{self.kernel_size} kernel")
            pooled = self.pool_size > 1 and h >= self.pool_size and w >= self.pool_size
            plan.append((h, w, pooled))
            if pooled:
                h, w = h // self.pool_size, w // self.pool_size
        return plan


@dataclass(frozen=True)
class SearchSettings:
    trials: int = 12
    concurrency: int = 2
    sampler: str = "nsga2"
    population_size: int | None = None  # NSGA-II; default: trials // 3, between 4 and 50
    seed: int | None = None
    time_budget_s: float | None = None  # wall-clock budget: no trial starts after it, running ones end training at it (and are kept)
    #: configs to run first, before the sampler's own: values for some searched parameters,
    #: the rest sampled (e.g. HGQ's recipe: the largest model, one long beta ramp)
    start_points: tuple[dict[str, Any], ...] = ()


    def nsga2_population(self) -> int:
        return self.population_size or max(4, min(50, self.trials // 3))


@dataclass(frozen=True)
class EarlyStopping:
    """Stop unpromising trials early (ASHA or HyperBand) on a weighted sum of epoch metrics.

    `score` = sum(weight x metric) over per-epoch metrics, maximised: e.g.
    {val_accuracy: 1.0, ebops: -1.0e-6}. Stopped trials are kept off the Pareto set.
    """

    scheduler: str = "asha"
    score: tuple[tuple[str, float], ...] = (("val_accuracy", 1.0),)
    grace_period: int = 5  # epochs every trial runs before it can be stopped
    reduction_factor: int = 3

    def score_of(self, metrics: Mapping[str, Any]) -> float:
        return float(sum(weight * float(metrics[name]) for name, weight in self.score))


@dataclass(frozen=True)
class HarvestSpec:
    """Intra-trial Pareto harvesting (`harvest: true`, or a mapping of these keys).

    The trial ramps beta log-linearly from `beta` to `beta_final` over its epochs (HGQ's
    own recipe); every `every` epochs it traces the model's activation ranges on
    `calibration_samples` training samples, measures val_accuracy and EBOPs, and keeps
    the checkpoint if no other epoch of the trial dominates it (at most `max_points`,
    dropping the one whose loss shrinks the trial's hypervolume least). The kept
    checkpoints are measured like a trial's final model and become points of the search.
    """

    every: int = 1
    max_points: int = 8
    calibration_samples: int = 2048


@dataclass(frozen=True)
class HardwareSpec:
    """The target and the per-trial synthesis step (`hardware:` section, `--synthesis`, `--part`)."""

    synthesis: str = "none"  # none | csim | rtl | vivado | vitis
    part: str = DEFAULT_PART
    clock_period_ns: float = 5.0
    backend: str = "Vitis"  # hls4ml backend of the csim step (vivado/vitis imply theirs)
    sim_samples: int = 200  # rtl: held-out samples simulated with iverilog

    @property
    def family(self) -> str:
        """The part's yosys `synth_xilinx` family (checked at load time)."""
        return part_family(self.part)

    @property
    def hls_backend(self) -> str:
        return {"vivado": "Vivado", "vitis": "Vitis"}.get(self.synthesis, self.backend)


@dataclass(frozen=True)
class SearchSpace:
    name: str
    source: str  # where it was loaded from, for messages
    description: str = ""
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    objectives: tuple[tuple[str, str], ...] = (("val_accuracy", "max"), ("ebops", "min"))
    search: SearchSettings = field(default_factory=SearchSettings)
    parameters: Mapping[str, Dimension] = field(default_factory=dict)
    hardware: HardwareSpec = field(default_factory=HardwareSpec)
    constraints: tuple[Constraint, ...] = ()
    early_stopping: EarlyStopping | None = None
    harvest: HarvestSpec | None = None
    task: TaskSpec = field(default_factory=TaskSpec)

    def max_epochs(self) -> int:
        """The most epochs any trial of this space can run."""
        dim = self.parameters.get("epochs")
        if dim is None:
            return int(COMMON_PARAMS["epochs"].default)
        if dim.kind == "fixed":
            return int(dim.value)
        return int(max(dim.values) if dim.kind == "choice" else dim.high)

    def rules(self) -> dict[str, ParamRule]:
        """Every parameter of this space's model that is known by name, with its rule.

        A user's model (builder, file) also takes beta_scale_<layer> and
        parallelization_factor_<layer> by its own layer names, and a builder its own
        parameters: see `rule_for`."""
        rules = dict(COMMON_PARAMS)
        rules.update(PRUNING_PARAMS)
        if self.model.is_user:
            rules["parallelization_factor"] = USER_PF_RULE
            return rules
        if self.model.family == "cnn":
            rules.update(CNN_PARAMS)
            rules.update({f"filters_{i}": WIDTH_RULE for i in range(1, self.model.conv_layers + 1)})
            rules.update({f"parallelization_factor_{n}": LAYER_PF_RULE for n in self.model.conv_layer_names()})
        rules.update({f"units_{i}": WIDTH_RULE for i in range(1, self.model.dense_layers + 1)})
        rules.update({f"beta_scale_{n}": BETA_SCALE_RULE for n in self.model.quantized_layers()})
        return rules

    def rule_for(self, name: str) -> ParamRule | None:
        """The rule of parameter `name`, or None if this space's model takes no such parameter.

        Beyond `rules()`: for a user's model, beta_scale_<layer> and parallelization_factor_<layer>
        (the layer names are checked once the model is built, `models.check_model`); for a
        builder, filters_N / units_N (widths) and any other name, the builder's own parameter
        (its rule follows its dimension in `parameters`)."""
        rule = self.rules().get(name)
        if rule is not None or not self.model.is_user:
            return rule
        if _BETA_SCALE_NAME.match(name):
            return BETA_SCALE_RULE
        if _LAYER_PF_NAME.match(name):
            return LAYER_PF_RULE
        if self.model.family == "builder":
            if _WIDTH_NAME.match(name):
                return WIDTH_RULE
            dim = self.parameters.get(name)
            return _user_rule(dim) if dim is not None else None
        return None

    def user_parameters(self) -> list[str]:
        """The builder's own parameters (outside the built-in vocabulary), in the space's order."""
        if self.model.family != "builder":
            return []
        return [n for n in self.parameters if n not in self.rules() and not (_BETA_SCALE_NAME.match(n) or _LAYER_PF_NAME.match(n) or _WIDTH_NAME.match(n))]

    def first_params(self) -> dict[str, Any]:
        """The resolved params of a first trial: each searched parameter at its range's low
        end or its first choice (what `models.check_model` builds the model with)."""
        return self.resolve(self.suggest(_PointTrial({})))

    def suggest(self, trial: SuggestsParams) -> dict[str, Any]:
        """Sample one config (define-by-run): searched values plus fixed ones.

        `beta_final` is sampled only for trials whose `beta_schedule` is `ramp` (every trial
        when the space harvests), the other pruning parameters only for trials whose
        `pruning_schedule` is not `none`.
        """
        config: dict[str, Any] = {}
        for name, dim in self.parameters.items():
            if name == "beta_final" or (name in PRUNING_PARAMS and name != "pruning_schedule"):
                continue
            config[name] = dim.suggest(trial)
        if config.get("pruning_schedule", PRUNING_PARAMS["pruning_schedule"].default) != "none":
            config.update({n: dim.suggest(trial) for n, dim in self.parameters.items() if n in PRUNING_PARAMS and n not in config})
        ramps = self.harvest is not None or config.get("beta_schedule", COMMON_PARAMS["beta_schedule"].default) == "ramp"
        if ramps and "beta_final" in self.parameters:
            config["beta_final"] = self.parameters["beta_final"].suggest(trial)
        return config

    def resolve(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """A sampled config completed with the space's fixed values and the defaults."""
        full = {name: rule.default for name, rule in self.rules().items() if rule.default is not None}
        full.update({name: dim.value for name, dim in self.parameters.items() if dim.kind == "fixed"})
        full.update(config)
        if self.harvest is not None:
            full["beta_schedule"] = "ramp"  # harvesting sweeps beta within the trial
        if full["beta_schedule"] != "ramp":
            del full["beta_final"]  # unused: keep it out of logged params
        if full["pruning_schedule"] == "none":
            for name in PRUNING_PARAMS:
                if name != "pruning_schedule":
                    del full[name]
        return full

    def grid(self) -> dict[str, list]:
        """The values of each `choice` parameter (the grid sampler's search space)."""
        return {name: list(dim.values) for name, dim in self.parameters.items() if dim.kind == "choice"}

    def objective_names(self) -> list[str]:
        return [m for m, _ in self.objectives]

    def objective_modes(self) -> list[str]:
        return [mode for _, mode in self.objectives]

    def to_dict(self) -> dict[str, Any]:
        """The resolved space as plain data (what gets logged with a search)."""
        dataset = self.dataset.describe()
        return {
            "name": self.name,
            "description": self.description,
            "task": self.task.describe(),
            "dataset": dataset,
            "model": self.model.describe(),
            "objectives": dict(self.objectives),
            "search": {k: [dict(p) for p in v] if k == "start_points" else v for k, v in vars(self.search).items() if v not in (None, ())},
            "parameters": {n: dim.describe() for n, dim in self.parameters.items()},
            "hardware": dict(vars(self.hardware)),
            "constraints": [str(c) for c in self.constraints],
            **({"early_stopping": _describe_early_stopping(self.early_stopping)} if self.early_stopping else {}),
            **({"harvest": dict(vars(self.harvest))} if self.harvest else {}),
        }

    def with_overrides(
        self, synthesis: str | None = None, part: str | None = None, harvest: bool | None = None, origin: str = "command line", **search: Any
    ) -> SearchSpace:
        """Apply command-line overrides of the `search:` settings (`--trials`, ...), of
        `hardware.synthesis` / `hardware.part` (`--synthesis`, `--part`) and of `harvest`
        (`--harvest` / `--no-harvest`), validated. `origin` names where they came from in
        messages (the API's `search()` arguments)."""
        space = self
        source = f"{space.source} ({origin})"
        if harvest is not None and harvest != (space.harvest is not None):
            params, search_settings = dict(space.parameters), space.search
            if harvest:  # harvesting ramps beta in every trial: it replaces a searched schedule
                params.pop("beta_schedule", None)
                search_settings = replace(search_settings, start_points=tuple(_ramped(p, i, source) for i, p in enumerate(search_settings.start_points)))
            space = replace(space, parameters=params, search=search_settings, harvest=HarvestSpec() if harvest else None)
            _check_harvest(space, source)
        given = {k: v for k, v in search.items() if v is not None}
        if given:
            settings = {**vars(space.search), **given}
            space = replace(space, search=_parse_search(settings, source))
            _check_grid(space, source)
        if space.search.start_points and (given or harvest is not None):
            space = _check_start_points(space, source)
        hw = {k: v for k, v in (("synthesis", synthesis), ("part", part)) if v is not None}
        if hw:
            space = replace(space, hardware=_parse_hardware({**vars(space.hardware), **hw}, source))
            _check_metrics_produced(space, source)
        return space


# --------------------------------------------------------------------------- loading


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
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpaceError(source, where, f"not valid YAML ({problem})") from None
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
    if name == "arrays":
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
    _no_unknown_keys(raw, _TOP_KEYS, source, "")
    default_name = re.sub(r"[^\w.-]", "", Path(source).stem) or "space"
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", name):
        raise SpaceError(source, "name", f"must be a word of letters, digits, '_', '-', '.'; got {name!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SpaceError(source, "description", f"must be text; got {type(description).__name__}")
    task = _parse_task(raw.get("task"), source)
    dataset = _parse_dataset(_section(raw, "dataset", source), source, check_files=not data_in_memory)
    model = _parse_model(_section(raw, "model", source), source, base_dir)
    objectives = _parse_objectives(raw.get("objectives"), source, task)
    search = _parse_search(_section(raw, "search", source), source)
    hardware = _parse_hardware(_section(raw, "hardware", source), source)
    constraints = _parse_constraints(raw.get("constraints"), source)
    space = SearchSpace(name, source, description, dataset, model, objectives, search, hardware=hardware, constraints=constraints, task=task)
    params = _parse_parameters(_section(raw, "parameters", source), space, source)
    if model.input_shape is not None:  # else search.prepare checks it with the data's shape
        check_input_shape(model, source)
    early = _parse_early_stopping(raw.get("early_stopping"), source)
    space = replace(space, parameters=params, early_stopping=early, harvest=_parse_harvest(raw.get("harvest"), source))
    _check_harvest(space, source)
    _check_grid(space, source)
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
    """`task: classification | regression`, or `{type: regression, loss: mse|mae|huber}`."""
    if value is None:
        return TaskSpec()
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise SpaceError(source, "task", f"must be classification, regression or a mapping {{type, loss}}; got {value!r}")
    _no_unknown_keys(value, ("type", "loss"), source, "task")
    kind = _one_of(value.get("type", "classification"), TASKS, source, "task.type", ("task", "tasks"))
    if kind == "classification":
        if value.get("loss", "cross_entropy") != "cross_entropy":
            raise SpaceError(source, "task.loss", f"classification trains with cross_entropy; got {value['loss']!r}")
        return TaskSpec()
    return TaskSpec(kind, _one_of(value.get("loss", "mse"), REGRESSION_LOSSES, source, "task.loss"))


def _section(raw: dict, key: str, source: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise SpaceError(source, key, f"must be a mapping; got {type(value).__name__}")
    return value


def _no_unknown_keys(d: dict, allowed, source: str, prefix: str) -> None:
    for key in d:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise SpaceError(source, where, f"unknown key; allowed keys are {', '.join(allowed)}")


def _one_of(value: Any, allowed: Sequence[str], source: str, key: str, names: tuple[str, str] | None = None) -> Any:
    """`value` if it is one of `allowed`, else a SpaceError: "unknown <name> 'v'; known
    <names> are ..." when `names` (singular, plural) are given, else "must be one of ...; got 'v'"."""
    if isinstance(value, str) and value in allowed:
        return value
    if names:
        raise SpaceError(source, key, f"unknown {names[0]} {value!r}; known {names[1]} are {', '.join(allowed)}")
    raise SpaceError(source, key, f"must be one of {', '.join(allowed)}; got {value!r}")


def _number(value: Any, source: str, key: str, kind: type = float) -> float | int:
    """A number from YAML; strings such as '1e-5' (which YAML 1.1 reads as text) are accepted."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SpaceError(source, key, f"must be a number; got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(source, key, f"must be a finite number; got {value!r}")
    if kind is int:
        if not float(value).is_integer():
            raise SpaceError(source, key, f"must be an integer; got {value!r}")
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
    n = _number(value, source, key, int)
    if not 0 <= n <= MAX_SEED:
        raise SpaceError(source, key, f"must be an integer from 0 to {MAX_SEED}; got {value!r}")
    return n


_FIXED_SPLIT_CONFLICTS = ("val_fraction", "test_fraction", "max_samples", "seed")
_ARRAYS_ONLY = ("x", "y", "x_key", "y_key", "label_columns", *SPLITS)


def _parse_dataset(d: dict, source: str, check_files: bool = True) -> DatasetSpec:
    _no_unknown_keys(d, tuple(vars(DatasetSpec())), source, "dataset")
    name = _one_of(d.get("name", "digits"), DATASETS, source, "dataset.name", ("dataset", "datasets"))
    spec = DatasetSpec(name=name)
    for key in _ARRAYS_ONLY:
        if d.get(key) is not None and name != "arrays":
            raise SpaceError(source, f"dataset.{key}", f"only applies to the arrays dataset; this one is {name}")
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
    if name == "arrays":
        top = _parse_source({k: d[k] for k in SOURCE_KEYS if d.get(k) is not None}, source, "dataset")
        spec = replace(spec, x=top.x, y=top.y, x_key=top.x_key, y_key=top.y_key, label_columns=top.label_columns)
        for split in SPLITS:
            if d.get(split) is not None:
                spec = replace(spec, **{split: _parse_source(d[split], source, f"dataset.{split}")})
        if spec.fixed_splits:
            given = next((k for k in _FIXED_SPLIT_CONFLICTS if d.get(k) is not None), None)
            if given:
                raise SpaceError(source, f"dataset.{given}", "the train/val/test files fix the split; drop this key")
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
        if name == "arrays":
            _check_keys_used(spec, "label_column" in d, source)
    return spec


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
    if spec.name == "arrays":
        _check_arrays_files(spec, source)
        return
    if not spec.path:
        raise SpaceError(source, "dataset.path", f"the {spec.name} dataset needs a data file; give dataset.path or --data")
    path = Path(spec.path).expanduser()
    if not path.exists():
        raise SpaceError(source, "dataset.path", f"no such file or directory: {spec.path}")
    if spec.name == "tabular" and path.suffix not in (".npz", ".csv"):
        raise SpaceError(source, "dataset.path", f"tabular data must be a .npz or .csv file; got {spec.path}")
    if spec.name == "mnist" and not (path.is_dir() or path.suffix == ".npz"):
        raise SpaceError(source, "dataset.path", f"mnist data must be a folder of idx files or a .npz; got {spec.path}")


def _check_arrays_files(spec: DatasetSpec, source: str) -> None:
    """The arrays dataset names its data once (path, or x and y) or per split (train, val,
    test); every file exists and has a suffix it can be read by."""
    if not spec.fixed_splits:
        _check_source(spec.source(), source, "dataset")
        return
    missing = [s for s in SPLITS if getattr(spec, s) is None]
    if missing:
        raise SpaceError(source, f"dataset.{missing[0]}", "missing; fixed splits need train, val and test (or none of them, for a random split)")
    whole = next((k for k in ("path", "x", "y") if getattr(spec, k) is not None), None)
    if whole:
        raise SpaceError(source, f"dataset.{whole}", "the train/val/test files hold the data; drop this key (or the splits)")
    for name in SPLITS:
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
    sources = [getattr(spec, s) for s in SPLITS] if spec.fixed_splits else [spec.source()]
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
    from .user_models import resolve_builder

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
        model.conv_plan()
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
        raise SpaceError(source, "harvest", f"must be true, false or a mapping (every, max_points, calibration_samples); got {value!r}")
    _no_unknown_keys(value, tuple(vars(HarvestSpec())), source, "harvest")
    given = {key: _int_at_least(v, 1, source, f"harvest.{key}") for key, v in value.items()}  # every key is a count >= 1
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


class _PointTrial:
    """Answers `SearchSpace.suggest` with a start point's values (a range's low end, a
    choice's first value otherwise) and records which parameters were asked for."""

    def __init__(self, point: Mapping[str, Any]):
        self.point, self.asked = point, set()

    def _answer(self, name: str, default: Any) -> Any:
        self.asked.add(name)
        return self.point.get(name, default)

    def suggest_float(self, name, low, high, *, log=False):
        return self._answer(name, low)

    def suggest_int(self, name, low, high, *, step=1, log=False):
        return self._answer(name, low)

    def suggest_categorical(self, name, choices):
        return self._answer(name, choices[0])


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


def _describe_early_stopping(es: EarlyStopping) -> dict[str, Any]:
    return {"scheduler": es.scheduler, "score": dict(es.score), "grace_period": es.grace_period, "reduction_factor": es.reduction_factor}


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
    return hw


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
    return s


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
    return f"unknown parameter; known parameters are {', '.join(sorted(space.rules()))}{own}"


def _user_rule(dim: Dimension) -> ParamRule:
    """The rule of a builder's own parameter, from its dimension: int ranges are integers,
    other ranges reals, choices of text one of those texts, other fixed values anything."""
    if dim.kind == "int":
        return ParamRule(int, None)
    if dim.kind in ("uniform", "log_uniform"):
        return ParamRule(float, None)
    values = dim.values if dim.kind == "choice" else (dim.value,)
    if all(isinstance(v, str) for v in values):
        return ParamRule(str, None, allowed=tuple(values) if dim.kind == "choice" else None)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return ParamRule(int if all(isinstance(v, int) for v in values) else float, None)
    return ParamRule(object, None)


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
