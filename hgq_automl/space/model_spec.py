"""The `model:` section as parsed: `ModelSpec`, a built-in family (cnn, mlp) with its
shape, or the user's own model (a builder function, a model file). `parse` builds it
from YAML (validated); `geometry` and `models` read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .vocabulary import USER_FAMILIES


@dataclass(frozen=True)
class ModelSpec:
    """The model: a built-in family (cnn, mlp) or the user's own (builder, file).

    `builder` and `path` hold what a YAML space names (text); the Python API may put the
    builder function itself, or a `keras.Model`, there instead.
    """

    family: str = "cnn"  # cnn | mlp (built in) | builder (model.builder) | file (model.path)
    input_shape: tuple[int, ...] | None = None  # None: the data's (search.prepare fills it in)
    input_pool: int = 1  # cnn: max-pool the input by this factor first (the MNIST quick start uses 2)
    conv_layers: int = 1
    kernel_size: int = 3
    pool_size: int = 2
    dense_layers: int = 0  # hidden dense layers before the output layer
    #: "module:function" (or "path/to/file.py:function") as written, or a callable
    #: build(params, input_shape, n_outputs) -> keras.Model
    builder: str | Callable | None = None
    builder_file: str | None = None  # the builder module's absolute path, resolved at load time
    builder_root: str | None = None  # the folder its module name was found in (on sys.path while importing it)
    path: str | Any = None  # model file: absolute path (.keras, .h5), or a keras.Model
    init: str = "pretrained"  # file: pretrained (its weights) | random (re-initialised)

    @property
    def is_user(self) -> bool:
        """A model the user brings (builder or file): its layer names are known once built."""
        return self.family in USER_FAMILIES

    def describe(self) -> dict[str, Any]:
        """The model section as it would be written in YAML (a builder by its resolved file)."""
        out: dict[str, Any] = {"family": self.family}
        if self.input_shape is not None:
            out["input_shape"] = list(self.input_shape)
        if self.family == "cnn":
            out.update(input_pool=self.input_pool, conv_layers=self.conv_layers, kernel_size=self.kernel_size, pool_size=self.pool_size)
        if self.family in ("cnn", "mlp"):
            out["dense_layers"] = self.dense_layers
        if self.family == "builder":
            if isinstance(self.builder, str):
                out["builder"] = f"{self.builder_file}:{self.builder.rsplit(':', 1)[1]}" if self.builder_file else self.builder
            else:
                out["builder"] = f"{getattr(self.builder, '__module__', '?')}:{getattr(self.builder, '__qualname__', repr(self.builder))}"
        if self.family == "file":
            out.update(path=self.path if isinstance(self.path, str) else f"<in-memory model {getattr(self.path, 'name', '?')}>", init=self.init)
        return out
