"""What an export request is checked for before any model is read, each a one line
`UsageError` naming the flag (the CLI's `--name`, the API's `name=`): the target, the
part, the output folder, and the hls4ml options, with the --hls-config file's content."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError, first_line
from .requests import TARGETS, ExportRequest


def check_request(request: ExportRequest) -> None:
    """What can be checked before MLflow is touched: target, part, output folder, tools."""
    from ..parts import UnknownPart, part_family

    if request.to not in TARGETS:
        raise UsageError(f"{request.opt('to')} must be one of {', '.join(TARGETS)}; got {request.to!r}")
    if request.part is not None:
        try:
            part_family(request.part)
        except UnknownPart as exc:
            raise UsageError(f"{request.opt('part')}: {exc}") from None
    out = Path(request.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{request.opt('out')}{'' if request.api else ' '}{request.out} exists and is not an empty folder")
    check_hls_options(request)


def _flag(request, name: str, value) -> str:
    """`--name VALUE` (CLI) or `name=VALUE` (API), for messages."""
    return f"{request.opt(name)}{value!r}" if request.api else f"{request.opt(name)} {value}"


def check_hls_options(request) -> dict | None:
    """Check the hls4ml options of an export request (one line naming the flag); the
    --hls-config file's content (checked for shape; its layer names against the model later)."""
    from ..space import HLS_BACKENDS, IO_TYPES, OTHER_HLS4ML_BACKENDS, STRATEGIES

    hls = request.hls
    if request.to != "hls4ml" and hls.hls_only():
        name = hls.hls_only()[0].replace("_", "-")
        raise UsageError(f"{request.opt(name)} goes with {request.opt('to')}{'' if request.api else ' '}hls4ml; da4ml Verilog has no hls4ml configuration")
    if hls.backend is not None and hls.backend not in HLS_BACKENDS:
        if hls.backend in OTHER_HLS4ML_BACKENDS:
            raise UsageError(f"{_flag(request, 'backend', hls.backend)}: {OTHER_HLS4ML_BACKENDS[hls.backend]}; use {' or '.join(HLS_BACKENDS)}")
        raise UsageError(f"{request.opt('backend')} must be one of {', '.join(HLS_BACKENDS)}; got {hls.backend!r}")
    if hls.io_type is not None and hls.io_type not in IO_TYPES:
        raise UsageError(f"{request.opt('io-type')} must be one of {', '.join(IO_TYPES)}; got {hls.io_type!r}")
    if hls.strategy is not None and hls.strategy not in STRATEGIES:
        raise UsageError(f"{request.opt('strategy')} must be one of {', '.join(STRATEGIES)}; got {hls.strategy!r}")
    if hls.reuse_factor is not None and (isinstance(hls.reuse_factor, bool) or not isinstance(hls.reuse_factor, int) or hls.reuse_factor < 1):
        raise UsageError(f"{request.opt('reuse-factor')} must be an integer >= 1; got {hls.reuse_factor!r}")
    if hls.clock_period is not None and (isinstance(hls.clock_period, bool) or not isinstance(hls.clock_period, (int, float)) or not hls.clock_period > 0):
        raise UsageError(f"{request.opt('clock-period')} must be a number of ns > 0; got {hls.clock_period!r}")
    if hls.strategy == "distributed_arithmetic" and hls.reuse_factor not in (None, 1):
        raise UsageError(f"{request.opt('reuse-factor')} must be 1 with {request.opt('strategy')} distributed_arithmetic (hls4ml's DA is fully parallel); got {hls.reuse_factor}")
    return read_hls_config(hls.hls_config, request.opt("hls-config").rstrip("=")) if hls.hls_config is not None else None


def read_hls_config(path: str, flag: str = "--hls-config") -> dict:
    """An hls4ml config from a YAML or JSON file (one line naming the file and the problem)."""
    import json

    import yaml

    from ..space import hls_config_problem

    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f"{flag} {path}: no such file")
    try:
        text = file.read_text()
        config = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{flag} {path}: not a readable {'JSON' if file.suffix.lower() == '.json' else 'YAML'} file: {first_line(exc, 160)}") from None
    problem = hls_config_problem(config)
    if problem:
        raise UsageError(f"{flag} {path}: {problem}")
    return config
