"""Models a user brings: a builder function (`model.builder: module:function`) or a model
file (`model.path: model.keras`).

The builder's module is found when the space is loaded (next to the space file, then in
the working directory, then on sys.path) and recorded by its absolute file path, so a
trial imports it by that path whatever its working directory (Ray's trials run in their
own). A trial calls `build(params, input_shape, n_outputs)` inside the tool's quantizer
scopes, then converts what it returns with `convert.to_hgq` (plain Keras layers become
HGQ2 layers; HGQ2 layers are kept with their weights). A model file is loaded with
`safe_mode=True` and converted the same way (`init: random` re-initialises it).

Nothing heavy is imported at module level: the space loader uses `resolve_builder`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError, first_line

if TYPE_CHECKING:  # space.parse imports this module lazily
    from .space import ModelSpec


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


_MODULES: dict[tuple[str, float], Any] = {}


def load_builder(spec: ModelSpec):
    """The builder function of `spec`: imported from its recorded file (its root on
    sys.path, so that it can import its neighbours); if that file is not on this machine
    (a Ray worker on another node), by its module name from sys.path (a Ray job's
    working_dir is on every worker's path). Raises UsageError on one line."""
    if callable(spec.builder):
        return spec.builder
    module_name, function = str(spec.builder).rsplit(":", 1)
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        module_name = Path(module_name).stem
    file = Path(spec.builder_file) if spec.builder_file else None
    try:
        if file is not None and file.is_file():
            module = _import_file(module_name, file, spec.builder_root)
        else:
            module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - the user's module: any error, on one line
        raise UsageError(f"model.builder {spec.builder}: importing {file or module_name} failed: {first_line(exc, 300, typed=True)}") from None
    fn = getattr(module, function, None)
    if not callable(fn):
        raise UsageError(f"model.builder {spec.builder}: {module.__file__} defines no function {function!r}")
    return fn


def _import_file(name: str, file: Path, root: str | None):
    key = (str(file), file.stat().st_mtime)
    if key in _MODULES:
        return _MODULES[key]
    if root and root not in sys.path:
        sys.path.insert(0, root)
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) != str(file):
        name = f"hgq_automl_builder_{file.stem}"  # the name is taken by another module
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and pickling look it up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _MODULES[key] = module
    return module




def load_model_file(spec: ModelSpec):
    """The Keras model of `spec.path` (a file loaded with safe_mode=True, or a keras.Model)."""
    import hgq  # noqa: F401 - registers HGQ2's layers for deserialisation
    import keras

    if not isinstance(spec.path, str):
        return spec.path
    from .model_file import model_config_text

    model_config_text(spec.path, "model.path")  # a file that is no model: said so, not Keras' "File not found"
    try:
        return keras.models.load_model(spec.path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read the user's file, on one line
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text:
            raise UsageError(f"model.path {spec.path}: it holds a Lambda layer (arbitrary Python), which is not loaded; rebuild the model without it") from None
        raise UsageError(f"model.path {spec.path}: Keras cannot load it: {first_line(exc, 300, typed=True)}") from None


def build_user_model(spec: ModelSpec, params: dict[str, Any], input_shape, n_outputs: int, notes: list[str] | None = None):
    """The HGQ2 model (uncompiled) of a builder or a model file, with `params` applied:
    built (or loaded) inside the tool's quantizer scopes, converted, its input and output
    checked, per-layer parallelization factors set. `notes` receives what was changed
    (a dropped final softmax). Raises UsageError on one line."""
    import keras

    from .convert import to_hgq
    from .models import apply_layer_params, hgq_scopes

    notes = [] if notes is None else notes
    with hgq_scopes(params["beta"]):
        if spec.family == "builder":
            build = load_builder(spec)
            name = spec.builder if isinstance(spec.builder, str) else getattr(spec.builder, "__name__", "builder")
            try:
                model = build(dict(params), tuple(input_shape), int(n_outputs))
            except Exception as exc:  # noqa: BLE001 - the user's code: any error, on one line
                raise UsageError(f"model.builder {name} raised {first_line(exc, 300, typed=True)}") from None
            if not isinstance(model, keras.Model):
                raise UsageError(f"model.builder {name} returned {type(model).__name__}, not a keras.Model")
            keep, what = True, f"model.builder {name}"
        else:
            model = load_model_file(spec)
            keep, what = spec.init == "pretrained", f"model.path {spec.path if isinstance(spec.path, str) else '<keras.Model>'}"
        try:
            model, changed = to_hgq(model, keep_weights=keep)
        except UsageError as exc:
            raise UsageError(f"{what}: {exc}") from None
    notes.extend(f"{what}: {n}" for n in changed)
    got_in = tuple(model.inputs[0].shape[1:])
    if got_in != tuple(input_shape):
        raise UsageError(f"{what}: the model takes inputs of shape {list(got_in)}, the data's are {list(input_shape)}")
    out = tuple(model.outputs[0].shape[1:])
    if out != (int(n_outputs),):
        raise UsageError(f"{what}: the model's output has shape {list(out)}; the data needs [{int(n_outputs)}] (one output per class)")
    try:
        apply_layer_params(model, params)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None
    return model
