"""Every command's flags and help texts, a function per subcommand (`add_search`, ...), in
the order `cli.build_parser` adds them; the search flags themselves come from the one
table of search options (`options.SEARCH_OPTIONS`). Only argparse is imported, so that
`--help` answers at once; `scripts/gen_reference.py` writes docs/reference/cli.md from it."""

from __future__ import annotations

import argparse

from .options import port as _port
from .options import positive_int as _positive_int


def add_search(commands) -> None:
    """`search`: the search flags, and --dry-run."""
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


def add_validate(commands) -> None:
    """`validate [SPACE]`: a search's checks, with the search flags."""
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


def add_submit(commands) -> None:
    """`submit`: a search as a Ray Job, on the cluster's job server (--address)."""
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


def add_export(commands) -> None:
    """`export RUN_ID|MODEL`: where to write what, and the hls4ml project's options."""
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


def add_estimate(commands) -> None:
    """`estimate MODEL`: a model file's costs by a trial's rules."""
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


def add_report(commands) -> None:
    """`report`: the Pareto set of searches, read from MLflow."""
    report = commands.add_parser(
        "report",
        help="print the Pareto set of one or several searches, read from MLflow",
        description="Read searches back from MLflow (not from local files) and print their Pareto set; several experiments give the combined set.",
    )
    report.add_argument("--experiment", nargs="+", metavar="NAME", help="search name(s) = MLflow experiment(s) (default: the latest search)")
    report.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")
    report.add_argument("--objectives", nargs="+", metavar="METRIC[:max|min]", help="objectives of the front (default: the search's own)")


def add_sync(commands) -> None:
    """`sync NAME`: the tracking a search queued, replayed."""
    sync = commands.add_parser(
        "sync",
        help="write the tracking a search queued while its MLflow store did not answer",
        description="Replay, in order, the MLflow writes a search kept in STORAGE/NAME/tracking_queue while its tracking store was down (`search --resume` does it too).",
    )
    sync.add_argument("name", metavar="NAME", help="the search's name")
    sync.add_argument("--storage", metavar="DIR", help="the search's storage (default: ./hgq_automl_results)")
    sync.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: the search's own)")


def add_ui(commands) -> None:
    """`ui`: the MLflow UI on 127.0.0.1."""
    ui = commands.add_parser("ui", help="run the MLflow UI on 127.0.0.1 for the tracking store", description="Start `mlflow ui` bound to 127.0.0.1 with the right store, print its URL; Ctrl-C stops it and its workers.")
    ui.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db)")
    ui.add_argument("--port", type=_port, default=5000, metavar="P", help="port on 127.0.0.1 (default: 5000)")


def add_mcp(commands) -> None:
    """`mcp`: the Model Context Protocol server."""
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


def _search_flags(search: argparse.ArgumentParser, with_address: bool = True, skip: tuple[str, ...] = ()) -> None:
    """The search flags, from the one table of search options (`options.SEARCH_OPTIONS`)."""
    from .options import add_search_flags

    add_search_flags(search, local_ray=with_address, skip=skip)
