"""The `space` argument of the tools: a built-in name, a .yaml file in the workspace, or
YAML text, loaded and validated as the CLI does (`load_space_arg`), and confined to the
workspace; and the built-in spaces listed (`builtin_space_list`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import SpaceError, UsageError
from .confine import _check_builder_text, _check_paths, inside


def builtin_space_list() -> list[dict[str, Any]]:
    from importlib import resources

    from ..yaml_limits import safe_load

    from ..space import builtin_spaces

    out = []
    for name in builtin_spaces():
        raw = safe_load((resources.files("hgq_automl.search_spaces") / f"{name}.yaml").read_text()) or {}
        dataset = raw.get("dataset") or {}
        out.append({
            "name": name,
            "description": " ".join(str(raw.get("description", "")).split()),
            "dataset": dataset.get("name", "digits") if isinstance(dataset, dict) else None,
            "trials": (raw.get("search") or {}).get("trials"),
        })
    return out


def _parse_text(root: Path, text: str, source: str = "<space>"):
    """A space given as YAML text, validated as the CLI validates a file, and confined."""
    import yaml

    from ..space import parse_space
    from ..yaml_limits import describe_error, safe_load

    try:
        raw = safe_load(text)
    except yaml.YAMLError as exc:  # the same message as the CLI's for a file
        raise SpaceError(source, *describe_error(exc)) from None
    _check_builder_text(root, raw, source)
    space = parse_space(raw, source, base_dir=root)
    _check_paths(root, space)
    return space


def load_space_arg(root: Path, space: str) -> tuple[Any, str | None, str | None]:
    """(the validated SearchSpace, the built-in name or file to give the CLI, else None; the YAML text, else None)."""
    from ..space import builtin_spaces, load_space

    if not isinstance(space, str) or not space.strip():
        raise UsageError("space: give a built-in name (list_spaces), a .yaml file in the workspace, or YAML text")
    one_line = space.strip()
    if "\n" not in one_line and one_line in builtin_spaces():
        return load_space(one_line), one_line, None
    if "\n" not in one_line and re.fullmatch(r"[\w.-]+", one_line) and not one_line.endswith((".yaml", ".yml")):
        raise SpaceError(one_line, "", f"no such search space; built-in ones are {', '.join(builtin_spaces())}, or give YAML text or a .yaml file in the workspace")
    if "\n" not in one_line and one_line.endswith((".yaml", ".yml")):
        path = inside(root, one_line, "space")
        raw_text = path.read_text() if path.is_file() else None
        if raw_text is None:
            raise SpaceError(one_line, "", "no such search-space file")
        import yaml

        from ..yaml_limits import safe_load

        try:
            _check_builder_text(root, safe_load(raw_text), one_line, path.parent)
        except yaml.YAMLError:
            pass  # load_space gives the message
        loaded = load_space(path)
        _check_paths(root, loaded)
        return loaded, str(path), None
    return _parse_text(root, space), None, space
