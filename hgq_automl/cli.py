"""Command line: `python -m hgq_automl search ...` and `python -m hgq_automl export RUN_ID ...`.

Only argparse is imported at start-up; each command imports what it needs, so `--help`
answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .errors import UsageError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}")
    return value


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage block) and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m hgq_automl",
        description="Hardware-aware AutoML for FPGA neural networks: HGQ2 models, Ray Tune + Optuna search, MLflow tracking.",
    )
    parser.add_argument("--version", action="version", version=f"hgq_automl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)

    search = commands.add_parser(
        "search",
        help="run a multi-objective search (default: digits_cnn, 12 trials)",
        description=(
            "Run a multi-objective search over a search space on Ray Tune with an Optuna sampler; "
            "log every trial to MLflow and print the Pareto set. Flags override the space's `search:` settings."
        ),
    )
    _search_flags(search)

    submit = commands.add_parser(
        "submit",
        help="submit a search to a Ray cluster as a Ray Job",
        description=(
            "Submit `python -m hgq_automl search ...` to a Ray cluster as a Ray Job (the equivalent of "
            "`ray job submit --address ADDR --working-dir DIR -- python -m hgq_automl search ...`), print the "
            "job id and, unless --no-wait, stream its logs and exit with the job's outcome."
        ),
    )
    submit.add_argument("--address", required=True, metavar="URL", help="the cluster's job server, e.g. http://HEAD:8265")
    submit.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
    _search_flags(submit, with_address=False)

    export = commands.add_parser(
        "export",
        help="write a trial's model as an hls4ml project or Verilog, re-checked bit-exact",
        description=(
            "Load the model of a trial's MLflow run, write it as an hls4ml project or as da4ml Verilog, "
            "re-check bit-exactness against Keras on the held-out test split, and print the estimates."
        ),
    )
    export.add_argument("run_id", metavar="RUN_ID", help="MLflow run id of a trial (printed by `search`, tagged pareto=true for front members)")
    export.add_argument("--to", required=True, choices=("hls4ml", "verilog"), help="what to write")
    export.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty)")
    export.add_argument("--part", metavar="PART", help="FPGA part (default: the search's hardware.part)")
    export.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    export.add_argument("--synth", action="store_true", help="also synthesize: yosys for verilog; Vivado/Vitis HLS for hls4ml (tool on PATH)")
    report = commands.add_parser(
        "report",
        help="print the Pareto set of one or several searches, read from MLflow",
        description="Read searches back from MLflow (not from local files) and print their Pareto set; several experiments give the combined set.",
    )
    report.add_argument("--experiment", nargs="+", metavar="NAME", help="search name(s) = MLflow experiment(s) (default: the latest search)")
    report.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")
    report.add_argument("--objectives", nargs="+", metavar="METRIC[:max|min]", help="objectives of the front (default: the search's own)")

    ui = commands.add_parser("ui", help="run the MLflow UI on 127.0.0.1 for the tracking store", description="Start `mlflow ui` bound to 127.0.0.1 with the right store, print its URL; Ctrl-C stops it and its workers.")
    ui.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    ui.add_argument("--port", type=_positive_int, default=5000, metavar="P", help="port on 127.0.0.1 (default: 5000)")
    return parser


def _search_flags(search: argparse.ArgumentParser, with_address: bool = True) -> None:
    search.add_argument("--space", default="digits_cnn", metavar="FILE_OR_NAME", help="search-space YAML path or built-in name (digits_cnn, mnist_cnn, tabular_mlp); default: digits_cnn")
    search.add_argument("--data", metavar="PATH", help="data for the space's dataset (replaces dataset.path): MNIST idx folder or .npz; tabular .npz or .csv; arrays .npz, .h5, .csv or .parquet; refused for digits/diabetes and fixed splits")
    search.add_argument("--trials", type=_positive_int, metavar="N", help="number of trials")
    search.add_argument("--concurrency", type=_positive_int, metavar="K", help="trials running at once")
    search.add_argument("--sampler", choices=("nsga2", "tpe", "random", "grid"), help="Optuna sampler (default: the space's, else nsga2; grid: every combination of the choice parameters)")
    search.add_argument("--seed", type=_non_negative, metavar="S", help="seed of the sampler and of training (reproducible configs)")
    search.add_argument("--name", metavar="NAME", help="search name = MLflow experiment (default: SPACE-YYYYmmdd-HHMMSS)")
    search.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    search.add_argument("--storage", metavar="DIR", help="Ray Tune results folder or URI (default: ./hgq_automl_results)")
    search.add_argument("--resume", metavar="NAME", help="continue the search NAME (interrupted or killed) from --storage")
    if with_address:
        search.add_argument("--address", metavar="ADDR", help="attach to this Ray cluster (default: $RAY_ADDRESS, else start a local Ray)")
        search.add_argument("--cpus", type=_positive_int, metavar="N", help="CPUs of the local Ray (default: all of this machine's); each trial gets N // concurrency TensorFlow threads")
    search.add_argument("--max-failures", type=_non_negative, default=0, metavar="N", help="retry a failing trial up to N times (default: 0)")
    search.add_argument(
        "--synthesis",
        choices=("none", "csim", "rtl", "vivado", "vitis"),
        help="per-trial synthesis step (default: the space's hardware.synthesis, else none)",
    )
    search.add_argument("--part", metavar="PART", help="FPGA part, e.g. xcvu9p-flga2104-2L-e (default: the space's hardware.part)")
    search.add_argument(
        "--harvest",
        action=argparse.BooleanOptionalAction,
        help="ramp beta in every trial and keep its non-dominated epochs as points of the front (replaces a searched beta_schedule; default: the space's harvest)",
    )
    search.add_argument("--time-budget", type=_positive_float, metavar="SECONDS", help="wall-clock budget of the search: no trial starts after it, running ones end their training at it and are kept (default: the space's search.time_budget_s, else none)")


def _search(args: argparse.Namespace) -> int:
    from .api import run_request
    from .driver import SearchInterrupted, SearchRequest

    request = SearchRequest(
        space=args.space,
        data=args.data,
        trials=args.trials,
        concurrency=args.concurrency,
        sampler=args.sampler,
        seed=args.seed,
        name=args.name,
        tracking_uri=args.tracking_uri,
        storage=args.storage,
        resume=args.resume,
        address=args.address,
        cpus=args.cpus,
        max_failures=args.max_failures,
        synthesis=args.synthesis,
        part=args.part,
        harvest=args.harvest,
        time_budget_s=args.time_budget,
    )
    try:
        outcome = run_request(request, progress="lines", show_front=True)
    except SearchInterrupted as exc:
        print(f"hgq_automl: interrupted; resume with: {exc.resume_command}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if outcome.unfinished:
        print(
            f"hgq_automl: interrupted: {outcome.unfinished} trial(s) did not finish; "
            f"resume with: {outcome.resume_command}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def _submit(args: argparse.Namespace) -> int:
    from .jobs import submit

    return submit(args)


def _report(args: argparse.Namespace) -> int:
    from .browse import report

    return report(args.experiment, args.tracking_uri, args.format, args.objectives)


def _ui(args: argparse.Namespace) -> int:
    from .browse import ui

    return ui(args.tracking_uri, args.port)


def _export(args: argparse.Namespace) -> int:
    from .export import ExportRequest, describe, run_export

    request = ExportRequest(args.run_id, args.to, args.out, part=args.part, tracking_uri=args.tracking_uri, synth=args.synth)
    outcome = run_export(request, say=lambda text: print(text, file=sys.stderr, flush=True))
    print(f"exported run {args.run_id} as {args.to} to {outcome.out}")
    for line in describe(outcome):
        print(line)
    return 0 if outcome.bit_exact else 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return {"search": _search, "submit": _submit, "export": _export, "report": _report, "ui": _ui}[args.command](args)
    except UsageError as exc:
        print(f"hgq_automl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hgq_automl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `report | head`: the reader left, nothing is wrong
        sys.stdout = open(os.devnull, "w")
        return 0
