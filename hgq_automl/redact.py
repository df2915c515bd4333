"""Credentials in a URI (a tracking store, a storage location) shown as `***`.

`user:password@host` and secret-looking query parameters (`?token=...`, `password=`,
`secret=`, `key=`, `sig=`, ...) are what a URI can carry that must not reach a console,
a log, an MLflow parameter, the state file or a Ray Job's command line. Only the standard
library: the CLI imports it at start-up.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "***"
_SECRET_KEY = re.compile(r"token|pass|pwd|secret|key|sig|cred|auth|session", re.IGNORECASE)


def redact(uri: str | None) -> str | None:
    """`uri` with its password (or a lone user token) and its secret query values as `***`."""
    if not uri or "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"//[^/@]*@", f"//{MASK}@", uri)
    out = uri
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
        out = out.replace(f"//{userinfo}@", f"//{user}:{MASK}@" if user else f"//{MASK}@", 1)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(_SECRET_KEY.search(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _SECRET_KEY.search(k) else v) for k, v in pairs], safe="*")
            out = out.replace(f"?{parts.query}", f"?{query}", 1)
    return out

def has_secret(uri: str | None) -> bool:
    """Whether `redact` would hide something in `uri`."""
    return bool(uri) and redact(uri) != uri


def secret_values(uri: str | None) -> list[str]:
    """The credentials in `uri` themselves (a password or user token, secret query values)."""
    if not has_secret(uri):
        return []
    parts = urlsplit(uri)
    found = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found.append(userinfo.split(":", 1)[1] if ":" in userinfo else userinfo)
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if _SECRET_KEY.search(k) and v]
    return sorted(set(found), key=len, reverse=True)


def redact_text(text: str, *uris: str | None) -> str:
    """`text` (e.g. an error message that quotes a URI, maybe changed) with the credentials
    of every one of `uris` as ***."""
    for uri in uris:
        for value in secret_values(uri):
            text = text.replace(value, MASK)
    return text
