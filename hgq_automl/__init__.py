"""hgq_automl: hardware-aware AutoML for neural networks on FPGAs.

HGQ2 models (per-weight bit-widths learned under a resource penalty) are searched with
Ray Tune and Optuna for the accuracy-vs-resource Pareto set, which is logged to MLflow.

From Python::

    import hgq_automl
    result = hgq_automl.search("digits_cnn")
    result.to_dataframe(); result.plot(); result.export(result.front[0], to="verilog", out="fw")

Kept light on import: the API (`load_space`, `search`, `open_search`, `SearchResult`) loads
on first use, and heavy libraries inside the functions that need them.
"""

from .errors import SpaceError, UsageError

__version__ = "0.1.0"

__all__ = ["load_space", "search", "open_search", "SearchResult", "Point", "ExportResult", "SearchSpace", "SpaceError", "UsageError", "__version__"]

_LAZY = {
    "load_space": "api",
    "search": "api",
    "open_search": "api",
    "SearchResult": "result",
    "Point": "result",
    "ExportResult": "result",
    "SearchSpace": "space",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hgq_automl' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
