"""The sha256 of the files a search reads from outside its folder: its data files (the
dataset's path, x/y, and each fixed split's files, as a folder layout names them; every
file of a folder read whole, such as MNIST's idx files), its builder module and its model
file. Stored in the search's state at start, so that a resume refuses files changed since
(as the in-memory data's fingerprint does for arrays, `data.fingerprint`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .space.schema import SearchSpace


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(path: str | None) -> list[Path]:
    """The file `path`, or the files directly in the folder `path` (hidden ones left out)."""
    if not isinstance(path, str) or not path:
        return []
    p = Path(path).expanduser()
    if p.is_dir():
        return sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
    return [p] if p.is_file() else []


def input_files(space: SearchSpace) -> list[Path]:
    """The files outside the search's folder that its trials read."""
    spec = space.dataset
    paths: list[Path] = []
    splits = list(spec.split_sources().values())
    for src in [spec.source(), *splits]:
        for given in (src.path, src.x, src.y):
            if splits and given and Path(given).expanduser().is_dir():
                continue  # a folder of splits: the splits name its files
            paths += _files(given)
    model = space.model
    if model.family == "builder" and isinstance(model.builder_file, str):
        paths += _files(model.builder_file)
    if model.family == "file" and isinstance(model.path, str):
        paths += _files(model.path)
    out: list[Path] = []
    for p in paths:
        p = p.resolve()
        if p not in out:
            out.append(p)
    return out


def file_fingerprints(space: SearchSpace) -> dict[str, str]:
    """{absolute path: sha256} of `input_files(space)`."""
    return {str(p): sha256_file(p) for p in input_files(space)}


def changed_file(stored: dict[str, str]) -> str | None:
    """The first of the stored files that is gone or whose content changed, as a line
    naming it; None if all are as they were."""
    for path, digest in stored.items():
        p = Path(path)
        if not p.is_file():
            return f"{path}: gone since the search started"
        now = sha256_file(p)
        if now != digest:
            return f"{path}: changed since the search started (sha256 {now[:12]}... instead of {digest[:12]}...)"
    return None
