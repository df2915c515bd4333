"""The parsed form of a search space: its sections as frozen dataclasses, and `SearchSpace`,
which resolves and samples one trial's config. `parse` builds these from YAML (validated);
the rest of the package reads them. The two largest sections have a module each:
`dataset_spec` (`DatasetSpec`, `DataSource`) and `model_spec` (`ModelSpec`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..constraints import Constraint
from ..parts import DEFAULT_PART, part_family
from ..task import TaskSpec
from .dataset_spec import DatasetSpec
from .geometry import conv_layer_names, quantized_layers
from .model_spec import ModelSpec
from .rules import (
    _BETA_SCALE_NAME,
    _LAYER_PF_NAME,
    _WIDTH_NAME,
    BETA_SCALE_RULE,
    CNN_PARAMS,
    COMMON_PARAMS,
    LAYER_PF_RULE,
    PRUNING_PARAMS,
    USER_PF_RULE,
    WIDTH_RULE,
    Dimension,
    ParamRule,
    SuggestsParams,
    _PointTrial,
    _user_rule,
)


#: Parameters a warm-started trial samples afresh (`WarmStart`); it inherits the others
#: (the model's shape and quantizer settings) from the checkpoint it starts from.
WARM_START_RESAMPLED = ("beta", "learning_rate", "batch_size", "epochs")
#: Config keys of a warm-started trial: the point it starts from (a trial id, `<trial>-e<epoch>`
#: for a harvested checkpoint) and that point's saved model file.
WARM_START_FROM, WARM_START_MODEL = "warm_start_from", "warm_start_model"


@dataclass(frozen=True)
class WarmStart:
    """Warm starts (`search.warm_start: true`, or a mapping of these keys): once trials have
    finished, a new trial starts, with probability `share`, from the weights of a point on
    the front so far (a finished trial's model or one of its harvested checkpoints, picked at
    random) instead of from scratch. It inherits that point's parameters except beta's
    (`beta*`), learning_rate, batch_size and epochs, which are sampled as usual: it fine-tunes
    the trained model along another beta ramp rather than re-learning what the first trials
    learnt (population-based training's exploit and explore, as a sampler's step)."""

    share: float = 0.5

    @staticmethod
    def resampled(name: str) -> bool:
        return name.startswith(WARM_START_RESAMPLED)


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
    warm_start: WarmStart | None = None
    #: Keras backend the trials train on (`backend.BACKENDS`)
    backend: str = "jax"
    #: GPUs each trial gets, as a Ray resource (fractional: 0.5 lets two trials share one); 0: none
    gpus_per_trial: float = 0.0

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

    def describe(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler, "score": dict(self.score), "grace_period": self.grace_period, "reduction_factor": self.reduction_factor}


@dataclass(frozen=True)
class HarvestSpec:
    """Intra-trial Pareto harvesting (`harvest: true`, or a mapping of these keys).

    The trial ramps beta log-linearly from `beta` to `beta_final` over its epochs (HGQ's
    own recipe); every `every` epochs it traces the model's activation ranges on
    `calibration_samples` training samples, measures val_accuracy and EBOPs, and keeps
    the checkpoint if no other epoch of the trial dominates it (at most `max_points`,
    dropping first the ones more than `band` below the best accuracy kept, then the one
    whose loss shrinks the trial's hypervolume least). The kept checkpoints are measured
    like a trial's final model and become points of the search.

    `band` keeps the cap's places for the accuracies users deploy at (a few points below
    the best) rather than spreading them over the low-accuracy tail; None spreads them
    evenly (round 2's rule). Regression trials spread them evenly.
    """

    every: int = 1
    max_points: int = 12
    calibration_samples: int = 2048
    band: float | None = 0.05


@dataclass(frozen=True)
class HardwareSpec:
    """The target and the per-trial synthesis step (`hardware:` section, `--synthesis`, `--part`)."""

    synthesis: str = "none"  # none | csim | rtl | vivado | vitis
    part: str = DEFAULT_PART
    clock_period_ns: float = 5.0
    backend: str = "Vitis"  # hls4ml backend of the csim step (vivado/vitis imply theirs)
    sim_samples: int = 200  # rtl: held-out samples simulated with iverilog
    io_type: str = "io_parallel"  # hls4ml io_type: io_parallel | io_stream (io_stream needs homogeneous activation quantizers)
    hls_config: Mapping[str, Any] | None = None  # hls4ml config by layer name (config_from_keras_model(granularity='name')), merged over the tool's

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
            rules.update({f"parallelization_factor_{n}": LAYER_PF_RULE for n in conv_layer_names(self.model)})
        rules.update({f"units_{i}": WIDTH_RULE for i in range(1, self.model.dense_layers + 1)})
        rules.update({f"beta_scale_{n}": BETA_SCALE_RULE for n in quantized_layers(self.model)})
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
            "search": {k: [dict(p) for p in v] if k == "start_points" else dict(vars(v)) if k == "warm_start" else v for k, v in vars(self.search).items() if v not in (None, ())},
            "parameters": {n: dim.describe() for n, dim in self.parameters.items()},
            "hardware": dict(vars(self.hardware)),
            "constraints": [str(c) for c in self.constraints],
            **({"early_stopping": self.early_stopping.describe()} if self.early_stopping else {}),
            **({"harvest": dict(vars(self.harvest))} if self.harvest else {}),
        }

    def with_overrides(
        self, synthesis: str | None = None, part: str | None = None, harvest: bool | None = None, origin: str = "command line", **search: Any
    ) -> SearchSpace:
        """Apply command-line overrides of the `search:` settings (`--trials`, ...), of
        `hardware.synthesis` / `hardware.part` (`--synthesis`, `--part`) and of `harvest`
        (`--harvest` / `--no-harvest`), validated. `origin` names where they came from in
        messages (the API's `search()` arguments)."""
        # the section parsers build on this module: their checks are imported when used
        from .sections import (
            _check_grid,
            _check_harvest,
            _check_metrics_produced,
            _check_start_points,
            _check_warm_start,
            _parse_hardware,
            _parse_search,
            _ramped,
        )

        space = self
        source = f"{space.source} ({origin})"
        if harvest is not None and harvest != (space.harvest is not None):
            params, search_settings = dict(space.parameters), space.search
            if harvest:  # harvesting ramps beta in every trial: it replaces a searched schedule
                params.pop("beta_schedule", None)
                search_settings = replace(search_settings, start_points=tuple(_ramped(p, i, source) for i, p in enumerate(search_settings.start_points)))
            elif "beta_final" in params and "beta_schedule" not in params:
                # a space written for harvesting ramps every trial: without harvesting its
                # trials still ramp (else beta_final would be silently unused) and keep the last epoch
                params["beta_schedule"] = Dimension("beta_schedule", "fixed", value="ramp")
            space = replace(space, parameters=params, search=search_settings, harvest=HarvestSpec() if harvest else None)
            _check_harvest(space, source)
        given = {k: v for k, v in search.items() if v is not None}
        if given:
            settings = {**vars(space.search), **given}
            space = replace(space, search=_parse_search(settings, source))
            _check_grid(space, source)
            _check_warm_start(space, source)
        if space.search.start_points and (given or harvest is not None):
            space = _check_start_points(space, source)
        hw = {k: v for k, v in (("synthesis", synthesis), ("part", part)) if v is not None}
        if hw:
            space = replace(space, hardware=_parse_hardware({**vars(space.hardware), **hw}, source))
            _check_metrics_produced(space, source)
        return space
