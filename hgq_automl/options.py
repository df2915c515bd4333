"""The options of a search, listed once.

Each `Option` is a field of `driver.SearchRequest`, and says how the command line spells
it (`cli.py` builds the `search` and `submit` flags from this table), how the Python API
names and documents it (`api.search`'s Args section is built from it; a test checks its
signature against it), and whether `submit` passes it on to the job (`jobs.py`). A new
option is added here, to `SearchRequest`, and to `api.search`'s signature.
Only argparse-free, standard-library code: `--help` stays fast.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable


def _number_type(kind: type, ok: Callable[[float], bool], what: str, maximum: int | None = None) -> Callable[[str], Any]:
    """An argparse `type=`: `kind(text)` when `ok` (and at most `maximum`), else
    "must be <what>[ up to <maximum>]; got 'text'"."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be {what} up to {maximum}; got {text if len(text) <= 30 else f'{len(text)} digits'}")
        return value

    return parse


#: the largest count a flag takes (trials, concurrency, ...): a signed 32-bit integer, as Keras and NumPy index
MAX_COUNT = 2**31 - 1
positive_int = _number_type(int, lambda v: v >= 1, "a positive integer", MAX_COUNT)
port = _number_type(int, lambda v: 1 <= v <= 65535, "a port from 1 to 65535")
positive_float = _number_type(float, lambda v: 0 < v < float("inf"), "a positive number")
non_negative = _number_type(int, lambda v: v >= 0, "a non-negative integer", MAX_COUNT)
non_negative_float = _number_type(float, lambda v: 0 <= v < float("inf"), "a number >= 0")
#: NumPy's and Optuna's seeds are unsigned 32-bit numbers (space.values.MAX_SEED)
seed_int = _number_type(int, lambda v: 0 <= v <= 2**32 - 1, f"an integer from 0 to {2**32 - 1}")


@dataclass(frozen=True)
class Option:
    field: str  # SearchRequest's field
    help: str  # the CLI's --help text
    api: str | None = None  # the API's argument (default: the field); "" for none
    api_help: str | None = None  # the API docstring's text (default: `help`)
    flag: str | None = None  # the CLI flag (default: --field with dashes); "" for none
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None
    boolean: bool = False  # --x / --no-x
    local_ray: bool = False  # `search` only: `submit` runs on the cluster it names
    submit: str = "value"  # how `submit` passes it on: value, path (made absolute), none (handled apart)
    #: may be given when resuming (where things run and are stored); the others are the search's own
    on_resume: bool = False
    #: an older CLI flag, still accepted with a deprecation note on stderr (`take_deprecated`)
    old_flag: str | None = None
    #: an older `api.search` argument, still accepted with a DeprecationWarning
    old_api: str | None = None

    @property
    def cli(self) -> str:
        return self.flag if self.flag is not None else "--" + self.field.replace("_", "-")

    @property
    def cli_name(self) -> str:
        """How messages name it on the command line."""
        return f"{self.cli}/--no-{self.cli[2:]}" if self.boolean else self.cli

    @property
    def api_name(self) -> str:
        return self.api if self.api is not None else self.field

    @property
    def dest(self) -> str:
        """argparse's attribute for it."""
        return self.cli[2:].replace("-", "_")


SAMPLER_CHOICES = ("nsga2", "tpe", "random", "grid")
SYNTHESIS_CHOICES = ("none", "csim", "rtl", "vivado", "vitis")
BACKEND_CHOICES = ("jax", "tensorflow")  # space.vocabulary.BACKENDS (tests/test_cli.py checks)

SEARCH_OPTIONS: tuple[Option, ...] = (
    Option(
        "space", "search-space YAML path or built-in name (digits_cnn, digits_cnn_pruned, digits_cnn_rtl, digits_builder, digits_file, "
        "mnist_cnn, tabular_mlp, diabetes_mlp); default: digits_cnn",
        api_help="a built-in name, a YAML path, a dict with the YAML's structure or a `SearchSpace` (see `load_space`); its "
        "model may be a Python object (`model.builder`: a function build(params, input_shape, n_outputs); `model.path`: a keras.Model).",
        metavar="FILE_OR_NAME", default="digits_cnn", submit="none",
    ),
    Option(
        "data",
        "data for the space's dataset (replaces dataset.path): a .npz, .h5, .csv or .parquet file, or a folder of split files "
        "(train[/val]/test files, or X_train_val.npy, y_train_val.npy, X_test.npy, y_test.npy; val carved from train by val_fraction); "
        "MNIST also a folder of idx files; refused for digits/diabetes and for a space naming its train/val/test files",
        api_help="None (the space's dataset), a path (replaces dataset.path, as --data), `(x, y)` arrays (split as the space's dataset says: "
        "val_fraction, test_fraction, seed, max_samples, standardize), or `{'train': (x, y), 'val': (x, y), 'test': (x, y)}`. Arrays reach the "
        "trials through Ray's object store; their sha256 is recorded, and a resume must give the same arrays.",
        metavar="PATH", submit="path",
    ),
    Option("trials", "number of trials", metavar="N", type=positive_int),
    Option("concurrency", "trials running at once", metavar="K", type=positive_int),
    Option(
        "sampler", "Optuna sampler (default: the space's, else nsga2; grid: every combination of the choice parameters)",
        api_help="Optuna sampler: 'nsga2', 'tpe', 'random' or 'grid' (every combination of the choice parameters).", choices=SAMPLER_CHOICES,
    ),
    Option(
        "backend", "Keras backend the trials train on (default: the space's search.backend, else jax)", choices=BACKEND_CHOICES,
        api_help="Keras backend the trials train on: 'jax' or 'tensorflow' (default: the space's search.backend, else 'jax').",
    ),
    Option(
        "gpus_per_trial", "GPUs each trial gets, as a Ray resource: fractional (0.5: two trials share a GPU); default: the space's search.gpus_per_trial, else 0",
        metavar="F", type=non_negative_float,
        api_help="GPUs each trial gets, as a Ray resource: fractional (0.5: two trials share a GPU); default: the space's search.gpus_per_trial, else 0.",
    ),
    Option("seed", "seed of the sampler and of training (reproducible configs)", metavar="S", type=seed_int),
    Option(
        "name", "search name = MLflow experiment (default: SPACE-YYYYmmdd-HHMMSS)",
        api_help="the search's name = its MLflow experiment (default: SPACE-YYYYmmdd-HHMMSS); with resume=True, the search to continue.",
        metavar="NAME",
    ),
    Option("tracking_uri", "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)", metavar="URI", submit="none", on_resume=True),
    Option("storage", "Ray Tune results folder or URI (default: ./hgq_automl_results)", metavar="DIR", submit="none", on_resume=True),
    Option(
        "resume", "continue the search NAME (interrupted or killed) from --storage", metavar="NAME",
        api="resume", api_help="continue the interrupted search `name` (in `storage`) as it was started: give the same space (and the same "
        "in-memory data) again, and no other option.", on_resume=True,
    ),
    Option("address", "attach to this Ray cluster (default: $RAY_ADDRESS, else start a local Ray)", metavar="ADDR", local_ray=True, submit="none", on_resume=True,
           api_help="attach to this Ray cluster (default: $RAY_ADDRESS, else a local Ray that the call starts and shuts down)."),
    Option("cpus", "CPUs of the local Ray (default: all of this machine's); each trial gets N // concurrency threads", metavar="N",
           type=positive_int, local_ray=True, submit="none", on_resume=True,
           api_help="CPUs of the local Ray (default: all of this machine's); each trial gets cpus // concurrency threads."),
    Option("max_failures", "retry a failing trial up to N times (default: 0)", metavar="N", type=non_negative, default=0, on_resume=True,
           api_help="retry a failing trial up to this many times (default: 0)."),
    Option("synthesis", "per-trial synthesis step (default: the space's hardware.synthesis, else none)", choices=SYNTHESIS_CHOICES,
           api_help="per-trial synthesis step: 'none', 'csim', 'rtl', 'vivado' or 'vitis' (default: the space's hardware.synthesis)."),
    Option("part", "FPGA part, e.g. xcvu9p-flga2104-2L-e (default: the space's hardware.part)", metavar="PART"),
    Option(
        "harvest",
        "ramp beta in every trial and keep its non-dominated epochs as points of the front (replaces a searched beta_schedule; default: the space's harvest)",
        boolean=True,
    ),
    Option(
        "time_budget_s",
        "wall-clock budget of the search: no trial starts after it, running ones end their training at it and are kept (default: the space's search.time_budget_s, else none)",
        metavar="SECONDS", type=positive_float, old_flag="--time-budget", old_api="time_budget",
    ),
)

#: Arguments of `api.search` that are no CLI flag.
API_ONLY = {
    "progress": "True: a live bar in a notebook, plain lines on stderr elsewhere; False: silent; or 'bar' / 'lines'.",
}


def by_field(name: str) -> Option:
    return next(o for o in SEARCH_OPTIONS if o.field == name)


def add_search_flags(parser: argparse.ArgumentParser, local_ray: bool = True, skip: tuple[str, ...] = ()) -> None:
    """The `search` flags on `parser` (`local_ray=False` for `submit`: no --address / --cpus;
    `skip`: fields given otherwise, e.g. `validate`'s positional SPACE)."""
    for option in SEARCH_OPTIONS:
        if (option.local_ray and not local_ray) or option.field in skip:
            continue
        kwargs: dict[str, Any] = {"help": option.help}
        if option.boolean:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update({k: v for k, v in (("metavar", option.metavar), ("type", option.type), ("choices", option.choices)) if v is not None})
        if option.default is not None:
            kwargs["default"] = option.default
        parser.add_argument(option.cli, **kwargs)
        if option.old_flag:  # hidden from --help; `take_deprecated` moves its value over
            parser.add_argument(option.old_flag, dest=_old_dest(option), type=option.type, metavar=option.metavar, help=argparse.SUPPRESS)


def _old_dest(option: Option) -> str:
    return "deprecated_" + option.dest


def take_deprecated(args: argparse.Namespace, warn: Callable[[str], None]) -> None:
    """Move the values given with an old flag (`Option.old_flag`) to the option's own, with
    a one-line note through `warn`. Both given: a UsageError naming them."""
    from .errors import UsageError

    for option in SEARCH_OPTIONS:
        old = getattr(args, _old_dest(option), None) if option.old_flag else None
        if old is None:
            continue
        if getattr(args, option.dest, None) is not None:
            raise UsageError(f"{option.old_flag} is the old name of {option.cli}; give {option.cli} only")
        warn(f"hgq_automl: note: {option.old_flag} is deprecated; use {option.cli} (the same value, in seconds)" if option.metavar == "SECONDS"
             else f"hgq_automl: note: {option.old_flag} is deprecated; use {option.cli}")
        setattr(args, option.dest, old)
        setattr(args, _old_dest(option), None)


def request_fields(args: argparse.Namespace) -> dict[str, Any]:
    """SearchRequest's fields from parsed `search` (or `submit`) flags."""
    return {o.field: getattr(args, o.dest) for o in SEARCH_OPTIONS if hasattr(args, o.dest)}


def api_args_doc(indent: str = "        ") -> str:
    """The Args lines of `api.search`'s docstring (each option's API name and text), wrapped."""
    import textwrap

    items = [(o.api_name, o.api_help or (o.help + ".")) for o in SEARCH_OPTIONS if o.api_name]
    items += list(API_ONLY.items())
    items += [(o.old_api, f"deprecated: the old name of {o.api_name} (a DeprecationWarning).") for o in SEARCH_OPTIONS if o.old_api]
    lines = []
    for name, text in items:
        lines += textwrap.wrap(f"{name}: {text}", width=96, initial_indent=indent, subsequent_indent=indent + "    ")
    return "\n".join(lines)
