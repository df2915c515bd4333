"""A trained model file a user brings, without a search: `estimate MODEL.keras` and `export MODEL.keras`.

An HGQ2 model is taken as it was saved (its quantizers' state); a float Keras model is
converted layer by layer (`convert.to_hgq`, as a search converts one) and its activation
ranges traced on the user's `--data`. The costs are the trial's own (`estimates.estimate`,
HGQ's EBOPs); the export is the trial's own hls4ml step (`hardware.synthesis.hls_step`,
C simulation against Keras).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import UsageError, first_line

#: Suffixes Keras 3 loads a whole model from.
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
#: Samples drawn for the bit-exactness check of an export without --data.
DRAWN_SAMPLES = 200


def looks_like_model_file(text: str) -> bool:
    """Whether `export`'s argument names a model file (by suffix, or an existing file) rather than an MLflow run id."""
    return text.lower().endswith(MODEL_SUFFIXES) or Path(text).expanduser().is_file()


@dataclass
class LoadedModel:
    model: object  # the HGQ2 keras.Model
    path: Path
    converted: bool  # a float model converted by `to_hgq`
    notes: list[str] = field(default_factory=list)


def model_config_text(path_text: str, flag: str = "MODEL") -> str:
    """The model's Keras config (JSON text), read without Keras (so that a wrong file is
    refused before TensorFlow loads and prints to stderr): `config.json` of a `.keras`
    zip, the `model_config` attribute of an HDF5 `.h5`. One-line UsageError naming the file
    when it is missing or not a Keras model file."""
    import zipfile

    path = Path(path_text).expanduser()
    if not path.exists():
        raise UsageError(f"{flag} {path_text}: no such file")
    if not path.is_file():
        raise UsageError(f"{flag} {path_text}: not a file")
    if path.stat().st_size == 0:
        raise UsageError(f"{flag} {path_text}: empty file, not a Keras model")
    with open(path, "rb") as f:
        head = f.read(8)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if "config.json" not in z.namelist():
                raise UsageError(f"{flag} {path_text}: not a Keras model file (a zip archive without config.json)")
            return z.read("config.json").decode("utf-8", "replace")
    if head == b"\x89HDF\r\n\x1a\n":
        import h5py

        with h5py.File(path, "r") as f:
            config = f.attrs.get("model_config")
        if config is None:
            raise UsageError(f"{flag} {path_text}: not a Keras model file (an HDF5 file without model_config: weights only?)")
        return config.decode() if isinstance(config, bytes) else str(config)
    raise UsageError(f"{flag} {path_text}: not a Keras model file (neither a .keras zip archive nor an HDF5 .h5 file)")


def is_float_model(config_text: str) -> bool:
    """Whether a model's config names no HGQ2 layer (Keras registers them as `hgq>Name`)."""
    return '"hgq>' not in config_text and '"module": "hgq' not in config_text


def load(path_text: str, flag: str = "MODEL") -> LoadedModel:
    """The HGQ2 model of a `.keras` / `.h5` file; a float model is converted (`to_hgq`).
    One-line UsageError naming the file when it is missing, not a file Keras loads as a
    model, or holds a layer with no exact HGQ2 equivalent."""
    model_config_text(path_text, flag)
    path = Path(path_text).expanduser()
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep stderr to our own lines
    if os.environ.get("KERAS_BACKEND") == "tensorflow" and "keras" not in sys.modules:
        from .backend import import_quietly

        import_quietly("tensorflow")  # its start-up lines too
    import hgq  # noqa: F401 - registers HGQ2's layers with Keras before loading
    import keras

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - whatever Keras raises on a file that is not a model
        text = str(exc).strip()
        if "Lambda" in text or "safe_mode" in text:
            raise UsageError(f"{flag} {path_text}: it holds a Lambda layer (arbitrary Python code), which is not loaded") from None
        raise UsageError(f"{flag} {path_text}: not a Keras model file ({first_line(exc, typed=True)})") from None
    if not isinstance(model, keras.Model):
        raise UsageError(f"{flag} {path_text}: holds a {type(model).__name__}, not a Keras model")

    from ._compat import flatten_layers
    from .convert import is_hgq, to_hgq
    from .quantizers import hgq_scopes

    if any(is_hgq(layer) for layer in flatten_layers(model, include_self=False)):
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise UsageError(f"{flag} {path_text}: the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; one of each is supported")
        return LoadedModel(model, path, converted=False)
    try:
        with hgq_scopes(0.0):
            converted, notes = to_hgq(model, keep_weights=True)
    except UsageError as exc:
        raise UsageError(f"{flag} {path_text}: {exc}") from None
    return LoadedModel(converted, path, converted=True, notes=["a float Keras model, converted to HGQ2 layer by layer", *notes])


def read_inputs(path_text: str, input_shape: tuple[int, ...], flag: str = "--data") -> np.ndarray:
    """The samples of a data file as the model's inputs (float32): a `.npy` (the array
    itself), an `.npz` (array x, X, x_test or x_train, or its only array) or an HDF5 file
    (dataset x or X), read by the package's own readers. Samples of the right size but
    another shape (flat digits for an 8x8x1 model) are reshaped. One-line UsageError
    naming the file otherwise."""
    import zipfile

    from .data import _npy, _reading

    path = Path(path_text).expanduser()
    if not path.is_file():
        raise UsageError(f"{flag} {path_text}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = _npy(path)
    elif suffix == ".npz":
        with _reading(path, ".npz"):
            if not zipfile.is_zipfile(path):
                raise UsageError(f"{flag} {path_text}: not an .npz file (not a zip archive)")
            with np.load(path, allow_pickle=False) as f:
                keys = list(f.files)
                key = next((k for k in ("x", "X", "x_test", "x_train") if k in keys), keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise UsageError(f"{flag} {path_text}: an .npz needs an array x (or X, x_test, x_train); it has {', '.join(keys) or 'none'}")
                x = f[key]
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with _reading(path, "HDF5"), h5py.File(path, "r") as f:
            key = next((k for k in ("x", "X") if k in f), None)
            if key is None:
                raise UsageError(f"{flag} {path_text}: an HDF5 file needs a dataset x (or X); it has {', '.join(f.keys()) or 'none'}")
            x = np.asarray(f[key])
    else:
        raise UsageError(f"{flag} {path_text}: unsupported suffix {suffix or '(none)'!r}; give a .npy, .npz or .h5 file of input samples")
    if x.dtype.kind not in "biuf" or x.ndim == 0 or len(x) == 0:
        raise UsageError(f"{flag} {path_text}: holds no numeric samples (array of shape {x.shape}, {x.dtype})")
    if not np.all(np.isfinite(x)):
        raise UsageError(f"{flag} {path_text}: features hold NaN or infinite values")
    if tuple(x.shape[1:]) != tuple(input_shape):
        if int(np.prod(x.shape[1:])) != int(np.prod(input_shape)):
            raise UsageError(f"{flag} {path_text}: samples of shape {list(x.shape[1:])}, but the model takes {list(input_shape)}")
        x = x.reshape(len(x), *input_shape)
    return np.ascontiguousarray(x, dtype=np.float32)


def input_shape(model) -> tuple[int, ...]:
    return tuple(int(d) for d in model.inputs[0].shape[1:])


def drawn_inputs(model, n: int = DRAWN_SAMPLES, seed: int = 0) -> tuple[np.ndarray, str]:
    """(n samples drawn uniformly over the range of the model's first input quantizer,
    what was drawn): the inputs of a bit-exactness check without data. The first HGQ2
    layer (in graph order) with an input quantizer gives the range, element by element;
    a model whose first quantizer's input is not the model's input (a pooling before it)
    gets standard-normal samples."""
    from keras import ops

    from .estimates import graph_calls

    shape = input_shape(model)
    rng = np.random.default_rng(seed)
    for layer, node in graph_calls(model):
        if node is None or not getattr(layer, "enable_iq", False) or len(node.input_tensors) != 1:
            continue
        q_shape = (1, *(int(d) for d in node.input_tensors[0].shape[1:]))
        if int(np.prod(q_shape)) != int(np.prod(shape)):
            break
        low = np.asarray(ops.convert_to_numpy(layer.iq.min_(q_shape)), dtype=np.float64)
        high = np.asarray(ops.convert_to_numpy(layer.iq.max_(q_shape)), dtype=np.float64)
        low, high = (np.broadcast_to(a, q_shape).reshape(shape) for a in (low, high))
        x = rng.uniform(low, high, size=(n, *shape)).astype(np.float32)
        return x, f"{n} inputs drawn uniformly over the range of {layer.name}'s input quantizer ([{low.min():g}, {high.max():g}])"
    return rng.normal(size=(n, *shape)).astype(np.float32), f"{n} standard-normal inputs (no input quantizer on the model's input)"


def costs(loaded: LoadedModel, x: np.ndarray | None, reuse_factor: int = 1, strategy: str = "latency", clock_period_ns: float = 5.0) -> dict:
    """The trial's estimates of the model (`estimates.estimate`) and HGQ's `ebops`: with
    `x`, after `trace_minmax` on it (what a trial does after training; ebops its return);
    without, from the quantizers' saved state (`estimates.hgq_ebops`). Returns
    {"metrics": {...}, "notes": {...}}."""
    from .estimates import estimate, hgq_ebops

    model = loaded.model
    if x is not None:
        from hgq.utils import trace_minmax

        ebops = float(trace_minmax(model, x, batch_size=4096))
    else:
        ebops = hgq_ebops(model)
    notes: dict[str, str] = {}
    import warnings

    from .estimates import EstimateWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimateWarning)  # the reasons are in `notes`, printed with the numbers
        metrics = {"ebops": ebops, **estimate(model, reuse_factor, strategy, clock_period_ns, notes=notes)}
    return {"metrics": metrics, "notes": notes}


def json_value(value):
    """A metric for JSON: NaN (no rule, or da4ml could not trace) as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
