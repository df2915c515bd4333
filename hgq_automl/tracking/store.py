"""Connecting to an MLflow tracking store: which URI (the flag, $MLFLOW_TRACKING_URI, else
./mlflow.db), its scheme checked before MLflow is imported, a SQLite store that must
already exist for reading, and `connect`, which checks the store answers (one line if not)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import UsageError, first_line


#: MLflow's own default when no tracking URI is set: a SQLite file in the working directory.
DEFAULT_DB = "mlflow.db"


def resolve_tracking_uri(uri: str | None) -> str:
    """The tracking URI to use: the flag, else MLFLOW_TRACKING_URI, else ./mlflow.db."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{Path.cwd() / DEFAULT_DB}"


#: The schemes of MLflow's tracking stores (a database URI may add a driver: postgresql+psycopg2).
TRACKING_SCHEMES = ("file", "sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks", "databricks-uc", "uc")


def check_tracking_uri(uri: str | None, flag: str = "--tracking-uri") -> str:
    """The tracking URI to use (`resolve_tracking_uri`), its scheme checked without
    importing MLflow, so that a typo fails before the data is even read. UsageError."""
    from ..redact import redact

    uri = resolve_tracking_uri(uri)
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    if scheme and scheme not in TRACKING_SCHEMES:
        raise UsageError(
            f"{flag} {redact(uri)}: unknown scheme {scheme!r}; an MLflow store is sqlite:///FILE, http(s)://SERVER, "
            "postgresql://..., mysql://..., mssql://..., databricks or file:///FOLDER"
        )
    return uri


def existing_store(uri: str | None, flag: str = "--tracking-uri") -> str:
    """The tracking URI to read searches from (`check_tracking_uri`); UsageError when it is a
    SQLite file that does not exist, which would hold no search: reading one must not create
    an empty store (`report`, `ui` and `open_search` in a folder with no search)."""
    from ..redact import redact

    uri = check_tracking_uri(uri, flag)
    if uri.startswith("sqlite:///") and not os.path.exists(uri[len("sqlite:///") :].split("?", 1)[0]):
        raise UsageError(f"no MLflow store at {redact(uri)}, so no searches; run a search first or give {flag}")
    return uri


@contextlib.contextmanager
def _sqlite_init_lock(uri: str):
    """For a SQLite store, an fcntl lock beside the database while MLflow first opens it:
    MLflow creates and migrates a new database on first use, and two processes doing that
    at once break it (alembic: "duplicate column name")."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    db = Path(uri[len("sqlite:///") :])
    try:
        lock = open(db.parent / f".{db.name}.lock", "a")  # noqa: SIM115
    except OSError:  # a folder we cannot write: MLflow will say so
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def connect(uri: str | None):
    """An MlflowClient for `uri`, checked to answer; UsageError if it does not."""
    from ..redact import is_redacted, redact, redact_text

    uri = check_tracking_uri(uri)
    if is_redacted(uri):  # e.g. read back from a state file: never sent as the password
        raise UsageError(f"the tracking URI {uri} holds *** (credentials shown redacted), not the credentials; give them with --tracking-uri or $MLFLOW_TRACKING_URI")
    if uri.startswith(("http://", "https://")):
        # fail fast on an unreachable server instead of MLflow's minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    import logging

    from mlflow.tracking import MlflowClient

    # after the import: MLflow sets its own logger up when imported
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # a store error's traceback (a locked or read-only SQLite file); our callers say it in one line
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)

    try:
        with _sqlite_init_lock(uri):  # MLflow creates (migrates) a new database here
            client = MlflowClient(tracking_uri=uri)
            client.search_experiments(max_results=1)
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot track"
        raise UsageError(f"MLflow tracking server {redact(uri)} is unreachable or unusable: {redact_text(first_line(exc, 300), uri)}") from None
    return client


def _shown(client) -> str:
    """The client's tracking URI as it may be printed (credentials as ***)."""
    from ..redact import redact

    return redact(client.tracking_uri)
