"""What a tracking store's exception says, read from MLflow's REST and SQL stores alike:
the store did not answer (`is_transient`: retry, then queue), it takes no write at all
(`refuses_every_write`: keep the queue, say so), or a replayed write had already been made
(`_already_done`). Anything else is a write the store refuses for good on its own."""

from __future__ import annotations


#: What an unavailable store looks like in the exceptions of MLflow's REST and SQL stores.
_TRANSIENT = (
    "connection refused", "max retries exceeded", "failed with exception", "timed out", "timeout",
    "database is locked", "temporarily unavailable", "bad gateway", "service unavailable",
    "gateway timeout", "connection reset", "connection aborted", "remote end closed", "502", "503", "504",
)


#: What a store that refuses every write (not one write) says: nothing is set aside then.
_STORE_REFUSES = (
    "readonly database", "read-only", "read only file system", "permission denied", "permission_denied",
    "unauthenticated", "unauthorized", "forbidden", "no space left", "disk i/o error", "database or disk is full",
    "unable to open database",
)


def refuses_every_write(exc: BaseException) -> bool:
    """True if `exc` says the store takes no write at all (read-only, no permission, full):
    keep the queue as it is and say so, rather than set each write aside."""
    if getattr(exc, "error_code", "") in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
        return True
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(t in text for t in _STORE_REFUSES)


def first_line(exc: BaseException, *uris: str | None) -> str:
    """`exc`'s first line, at most 200 characters, credentials of `uris` as ***."""
    from ..errors import first_line as plain
    from ..redact import redact_text

    return redact_text(plain(exc), *uris)


def is_transient(exc: BaseException) -> bool:
    """True if `exc` says the store did not answer (retry later), not that the write is wrong."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    code = getattr(exc, "error_code", "")
    if code in ("TEMPORARILY_UNAVAILABLE",):
        return True
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(t in text for t in _TRANSIENT)


def _already_done(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "already exists" in text or "resource_already_exists" in text
