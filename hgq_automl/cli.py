"""Command line: `python -m hgq_automl search ...`, `validate SPACE`, `export RUN_ID|MODEL ...`, `estimate MODEL`, `report`, `ui`, `submit` and `mcp`.

Only argparse is imported at start-up; each command imports what it needs, so `--help`
answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import UsageError
from .options import port as _port
from .options import positive_int as _positive_int

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
ISSUES = "the hgq_automl issue tracker"
#: 128 + SIGTERM: a search stopped by SIGTERM (Slurm, Kubernetes, `ray job stop`) ends as after Ctrl-C, with this code.
EXIT_TERMINATED = 143


def _sigterm_as_sigint() -> list[int]:
    """Make SIGTERM do what Ctrl-C does: call the SIGINT handler in force (Ray Tune's, which
    stops the trials and saves the state, or Python's KeyboardInterrupt). Returns a list
    that gets the signal number once SIGTERM came."""
    import signal

    received: list[int] = []

    def on_sigterm(signum, frame):
        received.append(signum)
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # inherited ignored (a background job of a script, a server started so): Ray Tune
        # installs its own handler once trials run, so SIGINT would stop the search then
        # but be lost while Ray starts; take it as Ctrl-C throughout
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return received


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
        help="run a multi-objective search (default: digits_cnn, two beta ramps in 135 s)",
        description=(
            "Run a multi-objective search over a search space on Ray Tune with an Optuna sampler; "
            "log every trial to MLflow and print the Pareto set. Flags override the space's `search:` settings."
        ),
    )
    _search_flags(search)
    search.add_argument("--dry-run", action="store_true", help="check the space, the data and the model as a search's start does, print a summary, start nothing")

    validate = commands.add_parser(
        "validate",
        help="check a space, its data and its model as a search's start does; start nothing",
        description=(
            "Run a search's checks (the space and the flags overriding it, the data, the model built once with the first "
            "parameters, the synthesis tools, the tracking URI's scheme, the search's name in --storage) and print a summary; "
            "no Ray, no MLflow store, no folder. Exit 0 when a search would start, 2 with the one-line error otherwise. "
            "The same as `search --dry-run`."
        ),
    )
    validate.add_argument("space", nargs="?", default="digits_cnn", metavar="SPACE", help="search-space YAML path or built-in name (default: digits_cnn)")
    _search_flags(validate, skip=("space",))

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
    export.add_argument(
        "run_id", metavar="RUN_ID|MODEL",
        help="MLflow run id of a trial (printed by `search`, tagged pareto=true for front members), or a trained model file (.keras, .h5)",
    )
    export.add_argument("--to", required=True, choices=("hls4ml", "verilog"), help="what to write")
    export.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty)")
    export.add_argument("--part", metavar="PART", help="FPGA part (default: the search's hardware.part)")
    export.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    export.add_argument("--synth", action="store_true", help="also synthesize: yosys for verilog; Vivado/Vitis HLS for hls4ml (tool on PATH)")
    export.add_argument(
        "--data", metavar="FILE",
        help="MODEL only: input samples (.npy, .npz, .h5) for the bit-exactness check (default: drawn over the input quantizer's range); "
        "needed for a float model, whose activation ranges are traced on them",
    )
    hls = export.add_argument_group("hls4ml project (--to hls4ml; default: the run's choices, for a MODEL file Vitis, io_parallel, latency, reuse factor 1)")
    hls.add_argument("--backend", metavar="Vivado|Vitis", help="hls4ml backend")
    hls.add_argument("--io-type", choices=("io_parallel", "io_stream"), help="hls4ml io_type (io_stream needs homogeneous activation quantizers)")
    hls.add_argument("--clock-period", type=float, metavar="NS", help="target clock period in ns (verilog too: the pipeline's cutoff; default 5)")
    hls.add_argument("--strategy", choices=("latency", "resource", "distributed_arithmetic"), help="model-wide hls4ml strategy")
    hls.add_argument("--reuse-factor", type=_positive_int, metavar="N", help="model-wide hls4ml reuse factor")
    hls.add_argument(
        "--hls-config", metavar="FILE",
        help="YAML/JSON laid out as hls4ml.utils.config_from_keras_model(model, granularity='name') gives it (Model, LayerName, LayerType), "
        "merged over the tool's config; --strategy/--reuse-factor override its Model section, its LayerName entries win for their layers",
    )

    estimate = commands.add_parser(
        "estimate",
        help="print a trained model file's hardware costs (ebops, luts, dsps, ...) by a trial's rules",
        description=(
            "Load a trained HGQ2 model file (or a float Keras model, converted to HGQ2 as a search converts it) and print its "
            "costs by the rules a trial uses: HGQ's ebops, flops, params, dsps and bram (hls4ml's rules at --strategy and "
            "--reuse-factor), luts, ffs and latency (da4ml). Without --data the model's own quantizer state is used; with it, "
            "the activation ranges are traced on its samples first (trace_minmax), as a trial does."
        ),
    )
    estimate.add_argument("model", metavar="MODEL", help="a Keras model file (.keras, .h5)")
    estimate.add_argument("--data", metavar="FILE", help="input samples (.npy, .npz, .h5) to trace the activation ranges on (needed for a float model)")
    estimate.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    estimate.add_argument("--reuse-factor", type=_positive_int, default=1, metavar="N", help="hls4ml reuse factor of the dsps/bram rules (default: 1)")
    estimate.add_argument(
        "--strategy", choices=("latency", "resource", "distributed_arithmetic"), default="latency", help="hls4ml strategy of the dsps/bram rules (default: latency)"
    )
    report = commands.add_parser(
        "report",
        help="print the Pareto set of one or several searches, read from MLflow",
        description="Read searches back from MLflow (not from local files) and print their Pareto set; several experiments give the combined set.",
    )
    report.add_argument("--experiment", nargs="+", metavar="NAME", help="search name(s) = MLflow experiment(s) (default: the latest search)")
    report.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")
    report.add_argument("--objectives", nargs="+", metavar="METRIC[:max|min]", help="objectives of the front (default: the search's own)")

    sync = commands.add_parser(
        "sync",
        help="write the tracking a search queued while its MLflow store did not answer",
        description="Replay, in order, the MLflow writes a search kept in STORAGE/NAME/tracking_queue while its tracking store was down (`search --resume` does it too).",
    )
    sync.add_argument("name", metavar="NAME", help="the search's name")
    sync.add_argument("--storage", metavar="DIR", help="the search's storage (default: ./hgq_automl_results)")
    sync.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: the search's own)")

    ui = commands.add_parser("ui", help="run the MLflow UI on 127.0.0.1 for the tracking store", description="Start `mlflow ui` bound to 127.0.0.1 with the right store, print its URL; Ctrl-C stops it and its workers.")
    ui.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    ui.add_argument("--port", type=_port, default=5000, metavar="P", help="port on 127.0.0.1 (default: 5000)")

    mcp = commands.add_parser(
        "mcp",
        help="serve searches to agents over the Model Context Protocol (stdio, or HTTP on 127.0.0.1)",
        description=(
            "Start a Model Context Protocol server (tools: list_spaces, validate_space, start_search, search_status, get_front, "
            "export_model, stop_search, resume_search; resources: a search's pareto.json and pareto.png). Every path a client "
            "gives must lie inside --root; searches and exports run as subprocesses there, with the MLflow store ROOT/mlflow.db."
        ),
    )
    mcp.add_argument("--root", metavar="DIR", help="the workspace folder (default: the working directory)")
    mcp.add_argument(
        "--http", type=_port, metavar="PORT",
        help="serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio; every request needs the bearer token "
        "(--token-file, else $HGQ_AUTOML_MCP_TOKEN, else one generated and printed once on stderr)",
    )
    mcp.add_argument("--token-file", metavar="FILE", help="with --http: read the bearer token from FILE's first line (at least 16 characters)")
    mcp.add_argument("--max-searches", type=_positive_int, default=1, metavar="N", help="searches running at once (default: 1)")
    mcp.add_argument(
        "--ray-network", choices=("private", "host"), default="private",
        help="private: each search in its own network namespace (unshare -n, needs root), so Ray listens on loopback only (default); "
        "host: on this machine's network, without root (the search's local Ray binds to 127.0.0.1; nothing fences what else it starts)",
    )
    return parser


def _search_flags(search: argparse.ArgumentParser, with_address: bool = True, skip: tuple[str, ...] = ()) -> None:
    """The search flags, from the one table of search options (`options.SEARCH_OPTIONS`)."""
    from .options import add_search_flags

    add_search_flags(search, local_ray=with_address, skip=skip)


def _search(args: argparse.Namespace) -> int:
    from .api import run_request, unfinished_line
    from .driver import SearchInterrupted, SearchRequest
    from .options import request_fields

    request = SearchRequest(**request_fields(args))
    if args.dry_run:
        return _check(request, "nothing was started (--dry-run)")
    terminated = _sigterm_as_sigint()
    try:
        outcome = run_request(request, progress="lines", show_front=True)
    except SearchInterrupted as exc:
        print(f"hgq_automl: {'terminated' if terminated else 'interrupted'}; resume with: {exc.resume_command}", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except KeyboardInterrupt:
        if terminated:
            print("hgq_automl: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        raise
    if outcome.unfinished:
        print(f"hgq_automl: {unfinished_line(outcome, terminated)}", file=sys.stderr)
        if outcome.stopped_by:
            return EXIT_FAILED
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    return _failures(outcome)


def _validate(args: argparse.Namespace) -> int:
    from .driver import SearchRequest
    from .options import request_fields

    return _check(SearchRequest(**{**request_fields(args), "space": args.space}), "nothing was started")


def _check(request, started: str) -> int:
    """A search's checks (`validate.validate`) and their summary on stdout; nothing started."""
    from .validate import summary_lines, validate

    for line in summary_lines(validate(request), started):
        print(line)
    return 0


def _failures(result) -> int:
    """Exit 1 when every trial failed (their first lines on stderr), else 0; how many
    failed is said either way."""
    if not result.failed:
        return 0
    trials = len(result.failed) + sum(p.harvested_from is None for p in result.points)
    if len(result.failed) == trials:
        print(f"hgq_automl: every trial failed ({trials} of {trials}):", file=sys.stderr)
        for point in result.failed:
            first = (str(point.error or "").strip().splitlines() or ["(no message)"])[0]
            print(f"  trial {point.trial_id}: {first[:300]}", file=sys.stderr)
        return EXIT_FAILED
    print(f"hgq_automl: {len(result.failed)} of {trials} trials failed (see above)", file=sys.stderr)
    return 0


def _submit(args: argparse.Namespace) -> int:
    from .jobs import submit

    return submit(args)


def _report(args: argparse.Namespace) -> int:
    from .browse import report

    return report(args.experiment, args.tracking_uri, args.format, args.objectives)


def _sync(args: argparse.Namespace) -> int:
    from .storage import sync

    count, aside = sync(args.name, args.storage, args.tracking_uri)
    if count or aside:
        print(f"hgq_automl: {count} queued tracking writes of {args.name} written" + (f", {aside} refused by the store set aside (see above)" if aside else ""))
    else:
        print(f"hgq_automl: nothing queued for {args.name}")
    return 0


def _ui(args: argparse.Namespace) -> int:
    from .browse import ui

    return ui(args.tracking_uri, args.port)


def _mcp(args: argparse.Namespace) -> int:
    from .mcp_server import serve

    return serve(args.root, http=args.http, max_searches=args.max_searches, ray_network=args.ray_network, token_file=args.token_file)


def _export(args: argparse.Namespace) -> int:
    from .model_file import looks_like_model_file

    if looks_like_model_file(args.run_id):
        return _export_file(args)
    if args.data is not None:
        raise UsageError("--data goes with a model file (export MODEL.keras --data FILE); a run's export checks on its search's test split")
    from .export import ExportRequest, describe, run_export

    request = ExportRequest(args.run_id, args.to, args.out, part=args.part, tracking_uri=args.tracking_uri, synth=args.synth, hls=_hls_options(args))
    outcome = run_export(request, say=lambda text: print(text, file=sys.stderr, flush=True))
    print(f"exported run {args.run_id} as {args.to} to {outcome.out}")
    for line in describe(outcome):
        print(line)
    return 0 if outcome.bit_exact else 1


def _hls_options(args: argparse.Namespace):
    from .export import HlsOptions

    return HlsOptions(args.backend, args.io_type, args.clock_period, args.strategy, args.reuse_factor, args.hls_config)


def _export_file(args: argparse.Namespace) -> int:
    from .export import FileExportRequest, describe, run_file_export

    if args.tracking_uri is not None:
        raise UsageError("--tracking-uri goes with a run id; a model file is read from disk")
    request = FileExportRequest(args.run_id, args.to, args.out, data=args.data, part=args.part, synth=args.synth, hls=_hls_options(args))
    outcome = run_file_export(request, say=lambda text: print(text, file=sys.stderr, flush=True))
    print(f"exported {args.run_id} as {args.to} to {outcome.out}")
    for line in describe(outcome):
        print(line)
    return 0 if outcome.bit_exact else 1


def _estimate(args: argparse.Namespace) -> int:
    import json

    from . import model_file
    from .metrics import FINAL_METRICS
    from .report import format_value

    if args.data is None and model_file.is_float_model(model_file.model_config_text(args.model)):
        raise UsageError(f"MODEL {args.model}: a float Keras model; its HGQ2 conversion needs --data FILE to trace its activation ranges")
    if args.data is not None and not Path(args.data).expanduser().is_file():
        raise UsageError(f"--data {args.data}: no such file")
    loaded = model_file.load(args.model)
    x = model_file.read_inputs(args.data, model_file.input_shape(loaded.model)) if args.data is not None else None
    result = model_file.costs(loaded, x, args.reuse_factor, args.strategy)
    traced = f"traced on {len(x)} samples of {args.data}" if x is not None else "the model's own quantizer state"
    if args.format == "json":
        doc = {
            "model": args.model,
            "converted_from_float": loaded.converted,
            "ranges": traced,
            "reuse_factor": args.reuse_factor,
            "strategy": args.strategy,
            "metrics": {k: model_file.json_value(v) for k, v in result["metrics"].items()},
            "notes": {**result["notes"], **({"conversion": "; ".join(loaded.notes)} if loaded.notes else {})},
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{args.model}: {'converted from float, ' if loaded.converted else ''}{traced}; hls4ml rules at {args.strategy}, reuse_factor {args.reuse_factor}")
    for name, value in result["metrics"].items():
        unit = FINAL_METRICS[name].unit if name in FINAL_METRICS else ""
        print(f"  {name:<16} {format_value(value):>12} {unit}")
    for name, text in {**result["notes"], **({"conversion": "; ".join(loaded.notes)} if loaded.notes else {})}.items():
        print(f"  note {name}: {text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        from .options import take_deprecated

        take_deprecated(args, lambda text: print(text, file=sys.stderr, flush=True))
        if os.environ.get("HGQ_AUTOML_SECRETS_FILE"):  # a Ray Job `submit` made: its credentials
            from .jobs import load_job_secrets

            load_job_secrets()
        return {"search": _search, "validate": _validate, "submit": _submit, "export": _export, "estimate": _estimate, "report": _report, "ui": _ui, "sync": _sync, "mcp": _mcp}[args.command](args)
    except UsageError as exc:
        for line in str(exc).splitlines() or [""]:  # one line, or one per error of a space (`SpaceErrors`)
            print(f"hgq_automl: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hgq_automl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `report | head`: the reader left, nothing is wrong
        sys.stdout = open(os.devnull, "w")
        return 0
    except Exception:  # noqa: BLE001 - a bug of ours, not the user's input: show it, ask for a report
        import traceback

        traceback.print_exc()
        print(f"hgq_automl: internal error; please report it, with the traceback above, to {ISSUES}", file=sys.stderr)
        return EXIT_FAILED
