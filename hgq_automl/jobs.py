"""Ray Jobs adapter: submit a search to a Ray cluster, follow its logs, return its outcome.

The job's working directory carries this package (with its built-in search spaces) and
the user's space file, so the cluster needs only the dependencies installed, not
hgq_automl. Paths the search reads or writes (`--data`, `--storage`, a SQLite tracking
store) are made absolute: on a multi-node cluster they must be on a shared filesystem
(or be URIs: an MLflow server, s3://...).
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import UsageError, first_line

PACKAGE = Path(__file__).resolve().parent


def cleartext_warning(address: str | None) -> str | None:
    """A one-line warning when `address` is plain http (or has no scheme) to a host that
    is not loopback: the job's code, arguments and secrets would cross the network in
    clear (use https, or an SSH tunnel to 127.0.0.1). None otherwise."""
    import ipaddress
    from urllib.parse import urlsplit

    if not address:
        return None
    parts = urlsplit(address if "://" in address else f"http://{address}")
    if parts.scheme != "http":
        return None
    host = (parts.hostname or "").lower()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        return None
    from .redact import redact

    return (f"hgq_automl: warning: --address {redact(address)} is plain http to {host}: the job's code, arguments "
            "and credentials go over the network in clear; use https or an SSH tunnel to 127.0.0.1")


def _job_folder(space: str) -> tuple[tempfile.TemporaryDirectory, str]:
    """A temporary working dir: hgq_automl/ (with search_spaces/) and the space file if one was given."""
    from importlib import resources

    tmp = tempfile.TemporaryDirectory(prefix="hgq_automl_job_")
    root = Path(tmp.name)
    shutil.copytree(PACKAGE, root / "hgq_automl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    spaces = root / "hgq_automl" / "search_spaces"
    if not spaces.is_dir():  # installed with the spaces mapped from the top-level folder
        spaces.mkdir()
        for res in resources.files("hgq_automl.search_spaces").iterdir():
            if res.name.endswith((".yaml", ".py")):
                (spaces / res.name).write_text(res.read_text())
    path = Path(space)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise UsageError(f"{space}: no such search-space file")
        shutil.copy(path, root / path.name)
        _ship_user_model(path, root)
        space = path.name
    return tmp, space


def _ship_user_model(path: Path, root: Path) -> None:
    """Copy a space's builder module (model.builder) or model file (model.path) into the
    job's folder beside the space copy, and point the copy at them. The job's working_dir
    reaches every worker and is on their sys.path, so a worker on another node finds the
    module by name there. (A built-in space's builder travels inside hgq_automl/search_spaces.)"""
    import yaml

    from .space import load_space
    from .yaml_limits import safe_load

    model = load_space(path).model
    if model.family not in ("builder", "file"):
        return
    raw = safe_load(path.read_text())
    section = raw["model"]
    if model.family == "builder":
        source = Path(model.builder_file)
        if source.name == "__init__.py":
            raise UsageError(f"{path}: model.builder {model.builder}: a package's __init__.py cannot be shipped to a Ray cluster; put the builder in a module file")
        target = root / source.name
        if target.exists():
            raise UsageError(f"{path}: model.builder {model.builder}: its module file {source.name} clashes with a file of the job's folder; rename it")
        shutil.copy(source, target)
        section["builder"] = f"{source.stem}:{model.builder.rsplit(':', 1)[1]}"
    else:
        source = Path(model.path)
        target = root / source.name
        if target.exists():
            raise UsageError(f"{path}: model.path {source.name} clashes with a file of the job's folder; rename it")
        shutil.copy(source, target)
        section["path"] = source.name
    (root / path.name).write_text(yaml.safe_dump(raw, sort_keys=False))


def _absolute(value: str | None) -> str | None:
    if value is None or "://" in value:
        return value
    return str(Path(value).expanduser().resolve())


#: The environment variable naming the file a job reads its credentials from (`job_spec`).
SECRETS_ENV = "HGQ_AUTOML_SECRETS_FILE"
#: That file, in the job's working dir.
SECRETS_FILE = "hgq_automl_secrets.json"
#: What the file may set.
_SECRET_VARS = ("MLFLOW_TRACKING_URI", "HGQ_AUTOML_STORAGE")


def search_arguments(args, secrets: dict[str, str] | None = None) -> list[str]:
    """The `search` flags of a `submit` command line, with local paths made absolute.

    A tracking or storage URI holding credentials is not put on the command line (which
    Ray shows in its dashboard, its job list and its logs): it goes into `secrets` as the
    environment variable the search reads instead (MLFLOW_TRACKING_URI, HGQ_AUTOML_STORAGE),
    for the job's secrets file (`job_spec`)."""
    from .storage import STORAGE_ENV
    from .redact import has_secret
    from .tracking import resolve_tracking_uri

    secrets = {} if secrets is None else secrets
    uri = resolve_tracking_uri(args.tracking_uri)
    if uri.startswith("sqlite:///"):
        uri = "sqlite:///" + str(Path(uri[len("sqlite:///"):]).resolve())
    storage = _absolute(args.storage or "hgq_automl_results")
    argv = []
    for flag, value, env in (("--tracking-uri", uri, "MLFLOW_TRACKING_URI"), ("--storage", storage, STORAGE_ENV)):
        if has_secret(value):
            secrets[env] = value
        else:
            argv += [flag, value]
    from .options import SEARCH_OPTIONS

    for option in SEARCH_OPTIONS:  # the one table of search options: what `submit` passes on
        value = getattr(args, option.dest, None)
        if option.submit == "none" or value is None or value == option.default:
            continue
        if option.boolean:
            argv.append(option.cli if value else f"--no-{option.cli[2:]}")
        else:
            argv += [option.cli, str(_absolute(value) if option.submit == "path" else value)]
    return argv


def job_spec(args, folder: str | Path, space: str) -> tuple[str, dict, dict[str, str]]:
    """The job's entrypoint, runtime_env and the credentials kept out of both.

    Credentials (a tracking or storage URI holding them) reach the job through a file,
    `SECRETS_FILE` in its working dir, written readable by the user only (mode 0600); the
    runtime_env's env_vars hold only that file's name (`SECRETS_ENV`), and the entrypoint
    (`load_job_secrets`, at the start of the CLI) reads it into its environment and deletes
    it. So `ray job list`, the dashboard and the job's logs show neither.
    Limits: the file travels inside the job's working_dir package, which Ray keeps in the
    cluster's GCS and unpacks on the nodes that run the job (without the 0600 mode) until it
    garbage-collects it; whoever can use the cluster (submit jobs, read its GCS or a node's
    session folder) can read it, as on any Ray cluster without per-user isolation. Use
    https or an SSH tunnel for the submission itself (`cleartext_warning`)."""
    import json
    import os

    secrets: dict[str, str] = {}
    entrypoint = shlex.join(["python", "-m", "hgq_automl", "search", "--space", space, *search_arguments(args, secrets)])
    runtime_env: dict = {"working_dir": str(folder)}
    if secrets:
        fd = os.open(Path(folder) / SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(secrets, out)
        runtime_env["env_vars"] = {SECRETS_ENV: SECRETS_FILE}
    return entrypoint, runtime_env, secrets


def load_job_secrets() -> None:
    """In a job `submit` made: put the credentials of the file `$HGQ_AUTOML_SECRETS_FILE`
    (`job_spec`) into this process's environment, then delete the file. UsageError if it
    cannot be read."""
    import json
    import os

    name = os.environ.pop(SECRETS_ENV, None)
    if not name:
        return
    path = Path(name)
    try:
        secrets = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"${SECRETS_ENV} {name}: cannot read the job's credentials ({type(exc).__name__}); submit the job again") from None
    if not isinstance(secrets, dict) or set(secrets) - set(_SECRET_VARS):
        raise UsageError(f"${SECRETS_ENV} {name}: expected a mapping of {', '.join(_SECRET_VARS)}; submit the job again")
    os.environ.update({k: str(v) for k, v in secrets.items()})
    try:
        path.unlink()
    except OSError:  # a read-only working dir: it is left there (see `job_spec`'s limits)
        pass


def submit(args) -> int:
    """Submit `python -m hgq_automl search ...` as a Ray Job; unless --no-wait, stream its logs."""
    from ray.job_submission import JobStatus, JobSubmissionClient

    from .redact import redact
    from .space import load_space

    if not args.resume:  # bad input fails here, at once, not later in the job
        load_space(args.space, data=args.data).with_overrides(
            trials=args.trials, concurrency=args.concurrency, sampler=args.sampler, backend=args.backend, gpus_per_trial=args.gpus_per_trial, seed=args.seed, synthesis=args.synthesis, part=args.part,
            harvest=args.harvest, time_budget_s=args.time_budget_s,
        )
    warning = cleartext_warning(args.address)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    folder, space = _job_folder(args.space)
    with folder:
        try:
            client = JobSubmissionClient(args.address)
        except Exception as exc:  # noqa: BLE001 - any failure here means "cannot reach the cluster"
            raise UsageError(f"Ray cluster at {redact(args.address)} is unreachable: {first_line(exc, 300)}") from None
        entrypoint, runtime_env, secrets = job_spec(args, folder.name, space)
        job_id = client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env)
    shown = "".join(f" ({key}={redact(value)} passed in a file only you can read, not in the job's runtime_env)" for key, value in secrets.items())
    print(f"submitted Ray Job {job_id} to {redact(args.address)}: {entrypoint}{shown}", file=sys.stderr, flush=True)
    if args.no_wait:
        print(f"follow it with: ray job logs --follow --address {redact(args.address)} {job_id}", file=sys.stderr)
        print(job_id)
        return 0

    async def follow() -> None:
        async for lines in client.tail_job_logs(job_id):
            print(lines, end="", flush=True)

    try:
        asyncio.run(follow())
    except KeyboardInterrupt:
        client.stop_job(job_id)
        print(f"\nhgq_automl: stopped Ray Job {job_id}", file=sys.stderr)
        return 130
    info = client.get_job_info(job_id)
    print(f"Ray Job {job_id}: {info.status}", file=sys.stderr)
    if info.status == JobStatus.SUCCEEDED:
        return 0
    if info.status == JobStatus.STOPPED:
        return 130
    code = getattr(info, "driver_exit_code", None)
    return int(code) if code else 1
