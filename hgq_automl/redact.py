"""Credentials in a URI (a tracking store, a storage location) shown as `***`.

`user:password@host` and secret-looking query or fragment parameters (`?token=...`,
`password=`, `secret=`, `key=`, `sig=`, ...) are what a URI can carry that must not reach a
console, a log, an MLflow parameter, the state file or a Ray Job's command line.

The userinfo is found by hand, not by `urllib.parse`: a password written with `/`, `#`,
`?` or `@` unencoded ends urlsplit's netloc early, yet MLflow, requests and Ray may still
print the URI in an error. It is everything between `://` and the last `@` that is followed
by a host (`name[:port]` or `[ipv6][:port]`, then `/`, `?`, `#` or the end) and not in a
query value (after `?key=`). So `/`, `#`,
`@` and percent-encoded passwords are all hidden; the price is that a URI whose path holds
`...@host-like` text is over-redacted. Azure's `abfs[s]://container@account...` and
`wasb[s]://` hold a container name there, not a secret, and are left alone. A query
value ends at `&`, `;` or `#`, as for every URI parser (a `#` in it must be encoded).
Only the standard library: the CLI imports it at start-up.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
_SECRET_KEY = re.compile(r"token|pass|pwd|secret|key|sig|cred|auth|session|jwt|bearer|private", re.IGNORECASE)
#: what follows the userinfo's `@`: a host name or [IPv6], an optional port, then the path, query, fragment or end
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.~%-]+)(:\d*)?(?=[/?#]|$)")
#: a `key=value` pair of a query or fragment (`?`, `&`, `;` or `#` before it)
_PAIR = re.compile(r"([?&;#])([^=&;#?]*)=([^&;#]*)")
#: a query's first pair: an `@` after it is in a query value, not after a userinfo
_QUERY_PAIR = re.compile(r"\?[^=@]*=")
#: schemes whose userinfo is a container name, not a credential
_NO_USERINFO = ("abfs", "abfss", "wasb", "wasbs")


def _userinfo(uri: str) -> tuple[int, int] | None:
    """Where the userinfo of `uri` is (start, end: the index of its `@`), if it has one."""
    scheme, sep, rest = uri.partition("://")
    if not sep or rest.startswith("/") or scheme.lower() in _NO_USERINFO:
        return None
    start = len(scheme) + 3
    at = len(uri)
    while True:
        at = uri.rfind("@", start, at)
        if at < 0:
            return None
        if at > start and _HOST.match(uri, at + 1) and not _QUERY_PAIR.search(uri, start, at):
            return start, at


def redact(uri: str | None) -> str | None:
    """`uri` with its password (or a lone user token) and its secret query values as `***`."""
    if not uri or "://" not in uri:
        return uri
    out = uri
    where = _userinfo(uri)
    if where:
        start, at = where
        user, colon, _ = uri[start:at].partition(":")
        out = uri[:start] + (f"{user}:{MASK}" if colon and user else MASK) + uri[at:]
    return _PAIR.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if _SECRET_KEY.search(unquote(m[2])) and m[3] else m[0], out)


def has_secret(uri: str | None) -> bool:
    """Whether `redact` would hide something in `uri`."""
    return bool(uri) and redact(uri) != uri


def is_redacted(uri: str | None) -> bool:
    """Whether `uri` holds a credential already shown as `***` (e.g. read back from the
    state file): it must not be sent to a store, the real one must be given again."""
    return MASK in secret_values(uri)


def secret_values(uri: str | None) -> list[str]:
    """The credentials in `uri` themselves (a password or user token, secret query values),
    as written and percent-decoded, longest first."""
    if not uri or "://" not in uri:
        return []
    found = []
    where = _userinfo(uri)
    if where:
        user, colon, password = uri[where[0] : where[1]].partition(":")
        found.append(password if colon and user else uri[where[0] : where[1]])
        rest = uri[where[1] :]
    else:
        rest = uri
    found += [m[3] for m in _PAIR.finditer(rest) if _SECRET_KEY.search(unquote(m[2])) and m[3]]
    found += [unquote(v) for v in found]
    return sorted({v for v in found if v}, key=len, reverse=True)


def redact_text(text: str, *uris: str | None) -> str:
    """`text` (e.g. an error message that quotes a URI, maybe changed) with the credentials
    of every one of `uris` as ***."""
    for uri in uris:
        if uri:
            text = text.replace(uri, redact(uri))
        for value in secret_values(uri):
            if value != MASK:
                text = text.replace(value, MASK)
    return text
