"""The words a search space is written in: datasets, model families, samplers, strategies,
pruning schedules and the other closed sets of names its keys take.

One place for each vocabulary: the parser checks against these tuples, and the modules that
act on a name (`pruning`, `data`, `models`, `raytune`) import them from here.
"""

from __future__ import annotations

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
#: Keras backends a trial trains on (`search.backend`); the first is the default
BACKENDS = ("jax", "tensorflow")
BETA_SCHEDULES = ("constant", "ramp")
STRATEGIES = ("latency", "resource", "distributed_arithmetic")
HLS_BACKENDS = ("Vitis", "Vivado")
#: hls4ml 1.3's other backends, and why an HGQ2 model cannot go through them here (tried December 2026)
OTHER_HLS4ML_BACKENDS = {
    "Quartus": "hls4ml 1.3's Quartus project of an HGQ2 model does not compile (g++)",
    "oneAPI": "hls4ml 1.3's oneAPI backend needs Intel's icpx to compile, and its HGQ2 path is untested upstream",
    "Catapult": "hls4ml 1.3 refuses HGQ2 models for Catapult ('Backend Catapult not tested')",
    "VivadoAccelerator": "hls4ml 1.3 refuses HGQ2 models for VivadoAccelerator ('Backend VivadoAccelerator not tested')",
    "Libero": "hls4ml 1.3's Libero backend needs Microchip's SmartHLS (shls) even to convert",
}
#: hls4ml's `io_type`: arrays in parallel, or streams (hardware.io_type, export --io-type)
IO_TYPES = ("io_parallel", "io_stream")
#: top-level keys of an hls4ml config (`hardware.hls_config`, export --hls-config)
HLS_CONFIG_KEYS = ("Model", "LayerName", "LayerType")
DIMENSION_TYPES = ("log_uniform", "uniform", "int", "choice")
SCHEDULERS = ("asha", "hyperband")

# Pruning (hgq_automl.pruning acts on these; a space names them in its pruning_* parameters)
#: the schedulers of the sparsity steps
PRUNING_SCHEDULERS = ("constant", "polynomial", "binary")
#: pruning_schedule: none (no pruning) or a scheduler
PRUNING_SCHEDULES = ("none", *PRUNING_SCHEDULERS)
#: which weights a pruning step removes together: single weights, whole neurons/filters, DSP patterns
PRUNING_STRUCTURES = ("unstructured", "structured", "pattern")
#: the resource final_sparsity is a fraction of
PRUNING_OBJECTIVES = ("params", "flops", "dsps", "bram", "ebops")
#: how weights are ranked: |w|, or |w x dLoss/dw|
PRUNING_IMPORTANCES = ("magnitude", "saliency")
