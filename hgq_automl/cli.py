"""Command line: `python -m hgq_automl search ...`, `validate SPACE`, `export RUN_ID|MODEL ...`, `estimate MODEL`, `report`, `ui`, `submit` and `mcp`.

Only argparse is imported at start-up; each command imports what it needs, so `--help`
answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__, cli_flags
from .errors import UsageError

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
    """The parser of the command line: every command (a function each in `cli_flags`), in order."""
    parser = _OneLineParser(
        prog="python -m hgq_automl",
        description="Hardware-aware AutoML for FPGA neural networks: HGQ2 models, Ray Tune + Optuna search, MLflow tracking.",
    )
    parser.add_argument("--version", action="version", version=f"hgq_automl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    for add in (
        cli_flags.add_search, cli_flags.add_validate, cli_flags.add_submit, cli_flags.add_export, cli_flags.add_estimate,
        cli_flags.add_report, cli_flags.add_sync, cli_flags.add_ui, cli_flags.add_mcp,
    ):
        add(commands)
    return parser


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
