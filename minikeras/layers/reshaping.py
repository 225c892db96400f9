"""``Flatten`` and ``Reshape``: change the shape of each sample, not its values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras._validation import shape_str
from minikeras.layers._checks import no_forward_error
from minikeras.layers.base import Layer, register

_DATA_FORMATS = ("channels_last", "channels_first")


@register()
class Flatten(Layer):
    """Flattens each sample to one dimension: ``(batch, d1, d2, ...)`` -> ``(batch, d1*d2*...)``.

    Inputs of shape ``(batch,)`` become ``(batch, 1)``. The backward pass reshapes
    the gradient back to the input shape. The output is a view of the input
    where NumPy allows it.

    Args:
        data_format: ``"channels_last"`` (the default) keeps the element order;
            ``"channels_first"`` first moves axis 1 to the end, so the result
            matches a channels-last model's.

    Input shape:
        ``(batch_size, ...)``.

    Output shape:
        ``(batch_size, product of the other dimensions)``.

    Examples:
        >>> from minikeras.layers import Flatten
        >>> Flatten()(np.zeros((2, 3, 4))).shape
        (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format is None:
            data_format = "channels_last"
        if data_format not in _DATA_FORMATS:
            raise ValueError(
                f"Flatten expects `data_format` to be 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}."
            )
        self.data_format = data_format
        self._in_shape: tuple[int, ...] | None = None

    def compute_output_shape(self, input_shape):
        dims = tuple(input_shape[1:])
        if not dims:
            size = 1
        elif any(d is None for d in dims):
            size = None
        else:
            size = math.prod(dims)
        return (input_shape[0], size)

    def _moves_channels(self, ndim: int) -> bool:
        return self.data_format == "channels_first" and ndim > 2

    def call(self, x, training=False):
        if training:
            self._in_shape = x.shape
        if self._moves_channels(x.ndim):
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], math.prod(x.shape[1:])) if x.ndim != 2 else x

    def backward(self, grad):
        shape = self._in_shape
        if shape is None:
            raise no_forward_error(self)
        if not self.need_input_grad:
            return None
        if self._moves_channels(len(shape)):
            moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
            return np.moveaxis(grad.reshape(moved), -1, 1)
        return grad.reshape(shape)

    def clear_cache(self):
        self._in_shape = None

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


@register()
class Reshape(Layer):
    """Reshapes each sample to ``target_shape``; the batch dimension is kept.

    One entry of ``target_shape`` may be ``-1``: it is inferred from the number
    of values per sample. Sizes that do not match fail when the layer is built,
    not at the first batch.

    Args:
        target_shape: Shape of one output sample, without the batch dimension,
            e.g. ``(4, 2)`` or ``(-1, 2)``.

    Input shape:
        ``(batch_size, ...)``, with as many values per sample as ``target_shape``.

    Output shape:
        ``(batch_size,) + target_shape``.

    Examples:
        >>> from minikeras.layers import Reshape
        >>> Reshape((-1, 2))(np.zeros((3, 2, 4))).shape
        (3, 4, 2)
    """

    def __init__(self, target_shape: Any = None, **kwargs: Any) -> None:
        if target_shape is None:
            raise TypeError("Reshape is missing the required argument `target_shape` (e.g. Reshape((4, 2))).")
        super().__init__(**kwargs)
        self.target_shape = _check_target_shape(target_shape)
        self._in_shape: tuple[int, ...] | None = None

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build(input_shape)

    def _resolve(self, dims: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The target shape for one sample of shape ``dims``, with -1 resolved when possible."""
        target = self.target_shape
        if any(d is None for d in dims):
            return tuple(None if t == -1 else t for t in target)
        size = math.prod(dims)
        known = math.prod(t for t in target if t != -1)
        if -1 in target:
            fits = size % known == 0
            resolved = tuple(size // known if t == -1 else t for t in target) if fits else target
        else:
            fits = size == known
            resolved = target
        if not fits:
            per = "a multiple of " if -1 in target else ""
            raise ValueError(
                f"Layer '{self.name}' (Reshape) cannot reshape samples of shape {shape_str(dims)} "
                f"({size} values) to target_shape={shape_str(target)}, which needs {per}{known} values. "
                f"Choose a target_shape whose sizes multiply to {size}, or put -1 for one of its dimensions."
            )
        return resolved

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]))

    def call(self, x, training=False):
        if training:
            self._in_shape = x.shape
        return x.reshape((x.shape[0],) + self._resolve(x.shape[1:]))

    def backward(self, grad):
        if self._in_shape is None:
            raise no_forward_error(self)
        if not self.need_input_grad:
            return None
        return grad.reshape(self._in_shape)

    def clear_cache(self):
        self._in_shape = None

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


def _check_target_shape(target_shape: Any) -> tuple[int, ...]:
    try:
        dims = tuple(target_shape)
    except TypeError:
        dims = None
    bad = dims is None or isinstance(target_shape, str) or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or (d <= 0 and d != -1) for d in dims)
    if bad or dims.count(-1) > 1:
        raise ValueError(
            "Reshape expects `target_shape` to be a tuple of positive integers, with at most one -1 "
            f"for a size to infer, e.g. (4, 2) or (-1, 2). Received: target_shape={target_shape!r}."
        )
    return tuple(int(d) for d in dims)
