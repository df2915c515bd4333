"""hgq_automl: hardware-aware AutoML for neural networks on FPGAs.

HGQ2 models (per-weight bit-widths learned under a resource penalty) are searched with
Ray Tune and Optuna for the accuracy-vs-resource Pareto set, which is logged to MLflow.
Kept light on import: heavy libraries load inside the functions that need them.
"""

__version__ = "0.1.0"
