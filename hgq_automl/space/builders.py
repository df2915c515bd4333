"""A builder function named in a space (`model.builder: module:function`), found when the
space is loaded: next to the space file, then in the working directory, then on sys.path,
recorded by its absolute file path. Read, not run (`ast`): loading a space imports no
TensorFlow and runs none of the user's code."""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FoundBuilder:
    module: str  # the module's name (a file given by path: its stem)
    function: str
    file: Path  # absolute
    root: Path  # the folder the module's name was found in


def resolve_builder(text: Any, base_dir: str | Path | None = None) -> FoundBuilder:
    """Find `module:function` (or `path/to/file.py:function`): the module next to the
    space file (`base_dir`), then in the working directory, then on sys.path; check that
    it defines `function` (read, not run: the driver imports no TensorFlow for this).
    Raises ValueError with a one-line problem."""
    if not isinstance(text, str) or text.count(":") < 1:
        raise ValueError(f"must be module:function (e.g. my_models:build); got {text!r}")
    module, function = text.rsplit(":", 1)
    if not function.isidentifier() or not module:
        raise ValueError(f"must be module:function (e.g. my_models:build); got {text!r}")
    dirs = [Path(d) for d in (base_dir, Path.cwd()) if d is not None]
    if module.endswith(".py") or "/" in module or "\\" in module:
        path = Path(module).expanduser()
        candidates = [path] if path.is_absolute() else [d / path for d in dirs]
        file = next((c.resolve() for c in candidates if c.is_file()), None)
        if file is None:
            raise ValueError(f"no such module file {module} (looked in {' and '.join(str(d) for d in dirs)})")
        found = FoundBuilder(file.stem, function, file, file.parent)
    else:
        if not all(part.isidentifier() for part in module.split(".")):
            raise ValueError(f"{module!r} is not a module name (module:function, e.g. my_models:build)")
        found = _find_module(module, function, dirs)
    _check_defines(found)
    return found


def _find_module(module: str, function: str, dirs: list[Path]) -> FoundBuilder:
    rel = Path(*module.split("."))
    for d in dirs:
        for candidate in (d / rel.with_suffix(".py"), d / rel / "__init__.py"):
            if candidate.is_file():
                return FoundBuilder(module, function, candidate.resolve(), d.resolve())
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not Path(spec.origin).is_file() or not spec.origin.endswith(".py"):
        where = ", ".join(str(d) for d in dirs)
        raise ValueError(f"no module {module!r} next to the space file or in the working directory ({where}), nor on sys.path")
    file = Path(spec.origin).resolve()
    root = file.parent
    for _ in range(module.count(".") + (file.name == "__init__.py")):
        root = root.parent
    return FoundBuilder(module, function, file, root)


def _check_defines(found: FoundBuilder) -> None:
    """The module binds `function` at its top level (a def, an assignment or an import)."""
    try:
        tree = ast.parse(found.file.read_text(), str(found.file))
    except SyntaxError as exc:
        raise ValueError(f"module {found.module} ({found.file}) does not parse: line {exc.lineno}: {exc.msg}") from None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    if found.function not in names:
        defined = sorted(n for n in names if not n.startswith("_"))
        raise ValueError(f"module {found.module} ({found.file}) defines no {found.function!r}; it defines {', '.join(defined) or 'nothing'}")

