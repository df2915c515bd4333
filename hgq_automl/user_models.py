"""Models a user brings: a builder function (`model.builder: module:function`) or a model
file (`model.path: model.keras`).

The builder's module is found when the space is loaded (next to the space file, then in
the working directory, then on sys.path) and recorded by its absolute file path, so a
trial imports it by that path whatever its working directory (Ray's trials run in their
own). A trial calls `build(params, input_shape, n_outputs)` inside the tool's quantizer
scopes, then converts what it returns with `convert.to_hgq` (plain Keras layers become
HGQ2 layers; HGQ2 layers are kept with their weights). A model file is loaded with
`safe_mode=True` and converted the same way (`init: random` re-initialises it).

Nothing heavy is imported at module level. The space loader finds the builder (`space.builders`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError, first_line

if TYPE_CHECKING:
    from .space import ModelSpec


_MODULES: dict[tuple[str, float], Any] = {}  # imported builder modules, by file and mtime


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
    from .quantizers import apply_layer_params, hgq_scopes

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
