"""``InputLayer`` and ``Input``: declare the shape of a model's inputs."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras._validation import check_no_unknown_kwargs
from minikeras.backend import config as _config
from minikeras.backend.naming import unique_name
from minikeras.layers.base import Layer, register


@register("input_layer")
class InputLayer(Layer):
    """Declares the input shape of a model; has no weights and passes data through.

    Args:
        shape: Shape of one sample, without the batch dimension, e.g. ``(100,)``.
        batch_size: Optional fixed batch size.
        dtype: Input dtype; defaults to ``backend.floatx()``.
        batch_shape: ``(batch_size,) + shape``; give this or ``shape``.
        name: Layer name; defaults to ``input_layer``, ``input_layer_1``, ...

    Examples:
        >>> InputLayer(shape=(4,)).batch_shape
        (None, 4)
    """

    def __init__(self, shape: Any = None, batch_size: int | None = None, dtype: Any = None,
                 sparse: bool | None = None, batch_shape: Any = None, name: str | None = None,
                 **kwargs: Any) -> None:
        if "input_shape" in kwargs:
            warnings.warn("`input_shape` is a legacy argument of InputLayer; use `shape` instead.",
                          DeprecationWarning, stacklevel=2)
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        for unsupported in ("ragged", "optional"):
            if kwargs.pop(unsupported, False):
                raise ValueError(f"minikeras does not support {unsupported} inputs. Received: {unsupported}=True.")
        check_no_unknown_kwargs("InputLayer", kwargs)
        if sparse:
            raise ValueError("minikeras does not support sparse inputs. Received: sparse=True.")
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer takes `shape` or `batch_shape`, not both.")
        if shape is None and batch_shape is None:
            raise ValueError("InputLayer needs `shape` (e.g. shape=(100,)) or `batch_shape`.")
        if batch_shape is None:
            if isinstance(shape, (int, np.integer)):
                shape = (int(shape),)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape: tuple[int | None, ...] = tuple(None if d is None else int(d) for d in batch_shape)
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype)
        self.build(self.batch_shape)

    def call(self, x, training=False):
        return x

    def backward(self, grad):
        return grad

    def get_config(self):
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self.dtype,
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": False,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        return cls(**config)


class KerasTensor:
    """The symbolic input returned by :func:`Input`; add it to a Sequential model."""

    def __init__(self, layer: InputLayer) -> None:
        self._input_layer = layer
        self.shape = layer.batch_shape
        self.dtype = layer.dtype
        self.name = layer.name

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


def Input(shape: Any = None, batch_size: int | None = None, dtype: Any = None,  # noqa: N802
          batch_shape: Any = None, name: str | None = None) -> KerasTensor:
    """Declares a model input of ``shape`` (one sample, no batch dimension).

    Examples:
        >>> Input(shape=(100,)).shape
        (None, 100)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype or _config.floatx(),
                       batch_shape=batch_shape, name=name)
    return KerasTensor(layer)
