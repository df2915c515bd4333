"""The workspace folder (`--root`): its sub-folders, and the confinement of every path a
client gives to it (`inside`): a space file, `out=`, a space's dataset files, model file
and builder module (`_check_paths`, `_check_builder_text`, which refuses a builder module
looked up on sys.path). Built-in spaces are trusted as shipped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import SpaceError, UsageError

#: The workspace's sub-folders: the searches' Ray Tune folders, and this server's files per search.
STORAGE = "hgq_automl_results"
FILES = "hgq_automl_mcp"


def inside(root: Path, path: str | os.PathLike, what: str) -> Path:
    """`path` (relative: to the workspace) resolved, symlinks followed; UsageError outside the workspace."""
    p = Path(path).expanduser()
    resolved = (p if p.is_absolute() else root / p).resolve()
    if resolved != root and root not in resolved.parents:
        raise UsageError(f"{what}: {path} is outside the workspace {root}")
    return resolved


def _check_builder_text(root: Path, raw: Any, source: str, base_dir: Path | None = None) -> None:
    """model.builder's module must be a file of the workspace (next to the space file,
    `base_dir`, or at its top); checked before the space loader looks for it, so a
    module name is never looked up on sys.path."""
    model = raw.get("model") if isinstance(raw, dict) else None
    text = model.get("builder") if isinstance(model, dict) else None
    if not isinstance(text, str) or ":" not in text:
        return  # the space loader gives the message
    module = text.rsplit(":", 1)[0]
    if module.endswith(".py") or "/" in module or "\\" in module:
        try:
            inside(root, module, "model.builder")
        except UsageError as exc:
            raise SpaceError(source, "model.builder", f"{module} is outside the workspace {root} (builder modules are read only from there)") from exc
        return
    rel = Path(*[p for p in module.split(".") if p]) if all(p.isidentifier() for p in module.split(".")) else None
    dirs = [d for d in (base_dir, root) if d is not None]
    if rel is None or not any((d / c).is_file() for d in dirs for c in (rel.with_suffix(".py"), rel / "__init__.py")):
        raise SpaceError(source, "model.builder", f"no module {module!r} in the workspace {root} (builder modules are read only from there)")


def _check_paths(root: Path, space) -> None:
    """Every file a loaded space names lies inside the workspace."""
    named: list[tuple[str, Any]] = []
    model = space.model
    if model.family == "builder" and isinstance(model.builder, str) and model.builder_file:
        named.append(("model.builder", model.builder_file))
    if model.family == "file" and isinstance(model.path, str):
        named.append(("model.path", model.path))
    d = space.dataset
    named += [(f"dataset.{k}", getattr(d, k)) for k in ("path", "x", "y")]
    for split in ("train", "val", "test"):
        src = getattr(d, split)
        if src is not None:
            named += [(f"dataset.{split}.{k}", getattr(src, k)) for k in ("path", "x", "y")]
    for key, value in named:
        if value is None:
            continue
        try:
            inside(root, value, key)
        except UsageError:
            raise SpaceError(space.source, key, f"{value} is outside the workspace {root}") from None
