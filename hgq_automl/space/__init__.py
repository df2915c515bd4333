"""Search spaces: loading a YAML file, validating it, and sampling one trial's config.

`vocabulary` holds the closed sets of names a space takes, `rules` the parameters (rules,
dimensions, sampling), `schema` the parsed sections and `SearchSpace` (`dataset_spec` and
`model_spec` the dataset's and the model's), `parse` loading and validation. Everything
public is re-exported here: `from hgq_automl.space import X`.
"""

from .parse import builtin_spaces, check_input_shape, load_space, parse_space, with_data_path
from .sections import hls_config_problem
from .rules import (
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
)
from .dataset_spec import (
    BOTH_SUFFIXES,
    COLUMN_SUFFIXES,
    KEYED_SUFFIXES,
    PAIR_SUFFIXES,
    SOURCE_KEYS,
    DataSource,
    DatasetSpec,
)
from .model_spec import ModelSpec
from .schema import (
    EarlyStopping,
    HardwareSpec,
    HarvestSpec,
    WARM_START_FROM,
    WARM_START_MODEL,
    SearchSettings,
    SearchSpace,
    WarmStart,
)
from .vocabulary import (
    BETA_SCHEDULES,
    DATASETS,
    DIMENSION_TYPES,
    FAMILIES,
    HLS_BACKENDS,
    IO_TYPES,
    MODEL_INITS,
    OTHER_HLS4ML_BACKENDS,
    PRUNING_IMPORTANCES,
    PRUNING_OBJECTIVES,
    PRUNING_SCHEDULERS,
    PRUNING_SCHEDULES,
    PRUNING_STRUCTURES,
    SAMPLERS,
    SCHEDULERS,
    SHIPPED_DATASETS,
    SPLITS,
    STRATEGIES,
    USER_FAMILIES,
)

__all__ = [
    "BETA_SCALE_RULE", "BETA_SCHEDULES", "BOTH_SUFFIXES", "CNN_PARAMS", "COLUMN_SUFFIXES", "COMMON_PARAMS",
    "DATASETS", "DIMENSION_TYPES", "DataSource", "DatasetSpec", "Dimension", "EarlyStopping", "FAMILIES",
    "HLS_BACKENDS", "HardwareSpec", "IO_TYPES", "OTHER_HLS4ML_BACKENDS", "HarvestSpec", "KEYED_SUFFIXES", "LAYER_PF_RULE", "MODEL_INITS", "ModelSpec",
    "PAIR_SUFFIXES", "PRUNING_IMPORTANCES", "PRUNING_OBJECTIVES", "PRUNING_PARAMS", "PRUNING_SCHEDULERS",
    "PRUNING_SCHEDULES", "PRUNING_STRUCTURES", "ParamRule", "SAMPLERS", "SCHEDULERS", "SHIPPED_DATASETS",
    "SOURCE_KEYS", "SPLITS", "STRATEGIES", "SearchSettings", "SearchSpace", "WARM_START_FROM", "WARM_START_MODEL", "WarmStart", "SuggestsParams", "USER_FAMILIES",
    "USER_PF_RULE", "WIDTH_RULE", "builtin_spaces", "check_input_shape", "hls_config_problem", "load_space", "parse_space", "with_data_path",
]
