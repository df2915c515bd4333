"""A user's Keras model as an HGQ2 model: plain layers replaced by their quantized twins.

`to_hgq(model, keep_weights)` clones the model's graph with Keras' own hook
(`keras.models.clone_model(..., clone_function=, call_function=)`): Dense -> QDense,
Conv1D/Conv2D -> QConv1D/QConv2D, BatchNormalization -> QBatchNormalization,
MaxPooling/AveragePooling 1D/2D -> their quantized pools (a plain pool before the first
quantized layer breaks da4ml's trace; an HGQ2 model's plain max-pool right after an HGQ2
layer is kept, as the built-in cnn has it), Add -> QAdd. A ReLU (layer or Activation('relu')) becomes the activation of the
Dense/Conv before it when that layer feeds nothing else, else HGQ2's exact ReLU table
(QUnaryFunctionLUT): hls4ml 1.3 types a plain ReLU layer too narrowly (its csim differs
from Keras). Flatten, Reshape, Dropout, Concatenate are kept
(HGQ2 has no QConcatenate: da4ml and hls4ml read Keras' own). HGQ2 layers are copied as they
are (their quantizers and weights). Weights are copied variable by variable. A final softmax is dropped: the trials train
on logits and the argmax is unchanged. Anything else is refused on one line (UsageError)
naming the layer, its class and what is supported: a layer converted approximately would
break the bit-exactness the rest of the tool relies on.

Called inside `models.hgq_scopes(beta)`, so the new layers get the tool's quantizers.
hgq2 0.2.0 has no converter of its own (hgq/utils holds tracing and callbacks only).
"""

from __future__ import annotations

import inspect
from typing import Any

from ._compat import nodes_by_depth, producing_layer
from .errors import UsageError

#: plain Keras class -> HGQ2 class (names in hgq.layers)
QUANTIZED = {
    "Dense": "QDense",
    "Conv1D": "QConv1D",
    "Conv2D": "QConv2D",
    "BatchNormalization": "QBatchNormalization",
    "MaxPooling1D": "QMaxPooling1D",
    "MaxPooling2D": "QMaxPooling2D",
    "AveragePooling1D": "QAveragePooling1D",
    "AveragePooling2D": "QAveragePooling2D",
    "Add": "QAdd",
}
#: plain Keras classes kept as they are (no weights, exact on fixed-point inputs)
KEPT = ("InputLayer", "Flatten", "Reshape", "Dropout", "ReLU", "Activation", "Concatenate", "Softmax")
#: what a message lists as convertible
SUPPORTED = (*QUANTIZED, *KEPT[:-1], "HGQ2 layers")
#: activations that convert bit-exactly (`softmax` only as the model's last step: dropped)
EXACT_ACTIVATIONS = ("linear", "relu")
#: config keys of plain layers that their HGQ2 twins do not take; a non-default value is refused
_DROPPED_KEYS = {"dtype": None, "lora_rank": None, "lora_alpha": None, "quantization_config": None}


def is_hgq(layer) -> bool:
    from hgq.layers import QLayerBase

    return layer is not None and isinstance(layer, QLayerBase)


def _activation_name(layer) -> str:
    import keras

    act = getattr(layer, "activation", None)
    if act is None:
        return "linear"
    return keras.activations.serialize(act) if not isinstance(act, str) else act


def _unsupported(layer, why: str = "has no HGQ2 equivalent") -> UsageError:
    return UsageError(f"layer {layer.name!r} ({type(layer).__name__}) {why}; supported: {', '.join(SUPPORTED)}")


def final_layers(model) -> set[int]:
    """ids of the layers that produce the model's outputs."""
    return {id(producing_layer(t)) for t in model.outputs}


def as_functional(model):
    """A Functional model with the same layers (a Sequential one is re-wired, sharing them)."""
    import keras
    from keras.src.models.functional import Functional

    if isinstance(model, keras.Sequential):
        if not model.built or not model.inputs:
            raise UsageError(f"model {model.name!r} (Sequential) has no input shape: give its first layer an Input")
        inputs = keras.Input(batch_shape=model.inputs[0].shape, name=model.inputs[0].name)
        h = inputs
        for layer in model.layers:
            h = layer(h)
        return keras.Model(inputs, h, name=model.name)
    if not isinstance(model, Functional):
        raise UsageError(f"model {model.name!r} is a subclassed {type(model).__name__}: build it with keras.Input and layers (functional API) or keras.Sequential")
    return model


def to_hgq(model, keep_weights: bool = True) -> tuple[Any, list[str]]:
    """(the HGQ2 model of `model`, notes). Plain layers become HGQ2 layers with the same
    configuration (and weights, when `keep_weights`); HGQ2 layers are copied (re-initialised
    when not `keep_weights`): the result shares no variable with `model`. The input is named `features` if it was `input` (a name
    hls4ml rejects). Raises UsageError on the first layer with no exact equivalent."""
    import keras
    from hgq import layers as hl

    model = as_functional(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UsageError(f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; one of each is supported")
    last = final_layers(model)
    notes: list[str] = []
    dropped: set[int] = set()  # ids of layers skipped in the clone (a final softmax)
    copies: list[tuple[Any, Any]] = []  # (old, new) whose weights are copied after cloning

    for layer in model.layers:  # refuse before building anything
        _check_layer(layer, id(layer) in last)
    producer, consumers = _graph(model)
    fold_into, folded = _relu_folds(model, producer, consumers)

    def clone(layer):
        kind = type(layer).__name__
        final = id(layer) in last
        if kind == "QSoftmax" and final:
            dropped.add(id(layer))
            notes.append(f"the final softmax layer {layer.name!r} was dropped: trials train on logits (the argmax is unchanged)")
            return layer
        if is_hgq(layer):
            config = layer.get_config()
            if final and config.get("activation") == "softmax":
                config["activation"] = "linear"
                notes.append(f"the final softmax of layer {layer.name!r} was dropped: trials train on logits (the argmax is unchanged)")
            elif id(layer) in fold_into:
                config["activation"] = "relu"
            new = type(layer).from_config(config)  # a copy: trials never share a model's variables
            if keep_weights:
                copies.append((layer, new))
            return new
        if kind in ("Softmax", "QSoftmax") or (kind == "Activation" and _activation_name(layer) == "softmax"):
            dropped.add(id(layer))  # only a final one passes _check_layer
            notes.append(f"the final softmax layer {layer.name!r} was dropped: trials train on logits (the argmax is unchanged)")
            return layer
        if kind == "Activation" and _activation_name(layer) == "linear":
            dropped.add(id(layer))
            return layer
        if kind in ("Activation", "ReLU"):
            if id(layer) in folded:
                dropped.add(id(layer))
                return layer
            # a plain ReLU is typed too narrowly by hls4ml 1.3 (csim differs); HGQ2's table is exact
            return hl.QUnaryFunctionLUT("relu", allow_heterogeneous_table=False, name=layer.name)
        if kind in ("MaxPooling1D", "MaxPooling2D") and is_hgq(producer.get(id(layer))):
            return type(layer).from_config(layer.get_config())  # an HGQ2 model's own pool after a quantized layer: exact as it is
        if kind in QUANTIZED:
            cls = getattr(hl, QUANTIZED[kind])
            config = _twin_config(layer, cls)
            if final and config.get("activation") == "softmax":
                config["activation"] = "linear"
                notes.append(f"the final softmax of layer {layer.name!r} was dropped: trials train on logits (the argmax is unchanged)")
            if id(layer) in fold_into:
                config["activation"] = "relu"
            new = cls(**config)
            if keep_weights:
                copies.append((layer, new))
            return new
        return type(layer).from_config(layer.get_config())  # a kept pass-through

    def call(layer, *args, **kwargs):
        if id(layer) in dropped:
            return args[0]
        return layer(*args, **kwargs)

    name = model.inputs[0].name
    inputs = keras.Input(batch_shape=model.inputs[0].shape, name="features" if name == "input" else name)
    new = keras.models.clone_model(model, input_tensors=inputs, clone_function=clone, call_function=call)
    for old, twin in copies:
        _copy_weights(old, twin)
    return new, notes


#: layers whose `activation` can take a following ReLU
_FOLDS_RELU = ("Dense", "Conv1D", "Conv2D", "QDense", "QConv1D", "QConv2D")


def _graph(model) -> tuple[dict[int, Any], dict[int, int]]:
    """({id(layer): the layer feeding it, None if several}, {id(layer): how many inputs it feeds})."""
    consumers: dict[int, int] = {}
    producer: dict[int, Any] = {}
    for nodes in nodes_by_depth(model).values():  # this model's graph only (a layer may be in others)
        for node in nodes:
            if node.operation is None or node.is_input:
                continue
            for tensor in node.input_tensors:
                op = producing_layer(tensor)
                consumers[id(op)] = consumers.get(id(op), 0) + 1
            single = len(node.input_tensors) == 1
            producer[id(node.operation)] = producing_layer(node.input_tensors[0]) if single else None
    return producer, consumers


def _relu_folds(model, producer: dict[int, Any], consumers: dict[int, int]) -> tuple[set[int], set[int]]:
    """(ids of layers that take the ReLU following them as their activation, ids of those
    ReLUs): a ReLU (or Activation('relu')) whose input comes only from a Dense/Conv layer of
    linear activation that feeds nothing else."""
    outputs = final_layers(model)
    fold_into, folded = set(), set()
    for layer in model.layers:
        kind = type(layer).__name__
        is_relu = kind == "ReLU" or (kind == "Activation" and _activation_name(layer) == "relu")
        prev = producer.get(id(layer))
        if not is_relu or prev is None or type(prev).__name__ not in _FOLDS_RELU:
            continue
        if _activation_name(prev) == "linear" and consumers.get(id(prev)) == 1 and id(prev) not in outputs:
            fold_into.add(id(prev))
            folded.add(id(layer))
    return fold_into, folded


def _check_layer(layer, final: bool) -> None:
    """Raise UsageError if `layer` cannot be converted exactly."""
    kind = type(layer).__name__
    if is_hgq(layer):
        return  # HGQ2's own: used as it is
    if kind == "Lambda":
        raise UsageError(f"layer {layer.name!r} (Lambda) runs arbitrary Python: it cannot be converted; supported: {', '.join(SUPPORTED)}")
    if kind not in QUANTIZED and kind not in KEPT:
        raise _unsupported(layer)
    if kind in ("Softmax", "Activation") and (kind == "Softmax" or _activation_name(layer) == "softmax"):
        if not final:
            raise _unsupported(layer, "is a softmax inside the model: only a final softmax can be dropped")
        return
    if hasattr(layer, "activation") and kind != "ReLU":
        act = _activation_name(layer)
        if act not in EXACT_ACTIVATIONS and not (final and act == "softmax"):
            raise _unsupported(layer, f"has activation {act!r}: only relu and linear are exact (a final softmax is dropped)")
    if kind == "ReLU" and (layer.max_value is not None or float(layer.negative_slope) != 0 or float(layer.threshold) != 0):
        raise _unsupported(layer, "is a ReLU with max_value, negative_slope or threshold: only the plain ReLU is exact")
    config = layer.get_config()
    for key, default in _DROPPED_KEYS.items():
        if key == "dtype":
            dtype = config.get("dtype")
            name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
            if name not in (None, "float32"):
                raise _unsupported(layer, f"has dtype {name!r}: only float32 layers are converted")
        elif config.get(key, default) not in (default, 0):
            raise _unsupported(layer, f"sets {key}={config[key]!r}, which its HGQ2 twin does not take")


def _twin_config(layer, cls) -> dict[str, Any]:
    """The plain layer's config as keyword arguments of its HGQ2 twin."""
    accepted = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            accepted |= {p for p in inspect.signature(klass.__init__).parameters if p not in ("self", "args", "kwargs")}
    config = {k: v for k, v in layer.get_config().items() if k not in _DROPPED_KEYS}
    unknown = sorted(set(config) - accepted - {"name", "trainable"})
    if unknown:
        raise _unsupported(layer, f"sets {', '.join(unknown)}, which its HGQ2 twin {cls.__name__} does not take")
    return config


#: variables an HGQ2 layer names differently from its Keras base
_RENAMED = {"QBatchNormalization": {"gamma": "bn_gamma", "beta": "bn_beta"}}


def _copy_weights(old, new) -> None:
    """Assign each variable of `old` to the variable of the same name in `new` (kernel, bias,
    gamma...); an HGQ2 layer's copy gets all its variables (quantizers' too) in order."""
    if type(old) is type(new):
        new.set_weights(old.get_weights())
        return
    targets = {v.name: v for v in new.weights}
    renamed = _RENAMED.get(type(new).__name__, {})
    for var in old.weights:
        target = targets.get(renamed.get(var.name, var.name))
        if target is None or tuple(target.shape) != tuple(var.shape):
            raise UsageError(f"layer {old.name!r} ({type(old).__name__}): its weight {var.name!r} {tuple(var.shape)} has no counterpart in {type(new).__name__}")
        target.assign(var)
