"""Activation layers with their own arguments: ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import activations, constraints, initializers, regularizers
from minikeras._validation import pop_legacy_kwarg, shape_str
from minikeras.layers._checks import check_int, check_number, no_forward_error, normalize_axis
from minikeras.layers.base import Layer, register

_LEAKY_DEFAULT = 0.3


class _Elementwise(Layer):
    """A weightless layer applying ``f`` to each value; keeps its input and output for ``backward``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def call(self, x, training=False):
        y = self.forward(x)
        if training:
            self._x, self._y = x, y
        return y

    def backward(self, grad):
        if self._x is None:
            raise no_forward_error(self)
        if not self.need_input_grad:
            return None
        return self.input_gradient(grad, self._x, self._y)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Returns ``f(x)`` as a new array."""
        raise NotImplementedError

    def input_gradient(self, grad: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Returns ``grad * f'(x)`` (``y = f(x)``); may overwrite ``grad``."""
        raise NotImplementedError

    def clear_cache(self):
        self._x = self._y = None


def _leaky_gradient(grad: np.ndarray, x: np.ndarray, slope: Any) -> np.ndarray:
    """``grad`` times the leaky ReLU's derivative (``1`` for ``x > 0``, else ``slope``), in place."""
    factor = (x <= 0).astype(grad.dtype)
    factor *= slope
    factor += x > 0
    grad *= factor
    return grad


@register()
class ReLU(_Elementwise):
    """Rectified linear unit with an optional cap, leak and threshold.

    ``f(x) = min(x, max_value)`` for ``x > threshold`` and
    ``negative_slope * (x - threshold)`` otherwise; so ``f'(x)`` is ``1`` between
    ``threshold`` and ``max_value``, ``0`` above ``max_value`` and
    ``negative_slope`` below ``threshold``.

    Args:
        max_value: Upper cap of the output, ``>= 0``, or ``None`` for no cap.
            Defaults to ``None``.
        negative_slope: Slope below the threshold, ``>= 0``. Defaults to ``0.0``.
        threshold: Inputs at or below it are damped, ``>= 0``. Defaults to ``0.0``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Examples:
        >>> from minikeras.layers import ReLU
        >>> ReLU(max_value=2.0, negative_slope=0.5)(np.array([[-2.0, 1.0, 3.0]])).tolist()
        [[-1.0, 1.0, 2.0]]
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = check_number("ReLU", "max_value", max_value, low=0.0, allow_none=True)
        self.negative_slope = check_number("ReLU", "negative_slope", negative_slope, low=0.0)
        self.threshold = check_number("ReLU", "threshold", threshold, low=0.0)
        self._plain = self.max_value is None and self.negative_slope == 0.0 and self.threshold == 0.0

    # Masks enter as 0/1 factors rather than through np.where: the result is the same
    # and the arithmetic runs several times faster on unpredictable signs.
    def forward(self, x):
        if self.threshold == 0.0:
            out = np.maximum(x, 0)
        else:
            out = (x > self.threshold).astype(x.dtype)
            out *= x
        if self.max_value is not None:
            np.minimum(out, self.max_value, out=out)
        if self.negative_slope:
            below = np.subtract(x, self.threshold)
            np.minimum(below, 0, out=below)
            below *= self.negative_slope
            out += below
        return out

    def input_gradient(self, grad, x, y):
        above = x > self.threshold
        if self._plain:
            grad *= above
            return grad
        factor = (above & (x < self.max_value) if self.max_value is not None else above).astype(grad.dtype)
        if self.negative_slope:
            below = np.logical_not(above).astype(grad.dtype)
            below *= self.negative_slope
            factor += below
        grad *= factor
        return grad

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


@register()
class LeakyReLU(_Elementwise):
    """Leaky ReLU: ``f(x) = x`` for ``x >= 0`` and ``negative_slope * x`` otherwise.

    Args:
        negative_slope: Slope for negative inputs, ``>= 0``. Defaults to ``0.3``
            (the ``leaky_relu`` activation function's default is ``0.2``).
        **kwargs: Common layer arguments, and the Keras 2 name ``alpha`` (for
            ``negative_slope``), which warns.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Examples:
        >>> from minikeras.layers import LeakyReLU
        >>> LeakyReLU()(np.array([[-10.0, 5.0]])).tolist()
        [[-3.0, 5.0]]
    """

    def __init__(self, negative_slope: float = _LEAKY_DEFAULT, **kwargs: Any) -> None:
        negative_slope = pop_legacy_kwarg("LeakyReLU", kwargs, "alpha", "negative_slope", negative_slope,
                                          _LEAKY_DEFAULT)
        super().__init__(**kwargs)
        self.negative_slope = check_number("LeakyReLU", "negative_slope", negative_slope, low=0.0)

    def forward(self, x):
        out = np.multiply(x, self.negative_slope)
        # x for x >= 0 and slope * x below: the larger of the two when slope <= 1, else the smaller.
        (np.maximum if self.negative_slope <= 1.0 else np.minimum)(out, x, out=out)
        return out

    def input_gradient(self, grad, x, y):
        return _leaky_gradient(grad, x, self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


@register()
class ELU(_Elementwise):
    """Exponential linear unit: ``f(x) = x`` for ``x > 0`` and ``alpha * (exp(x) - 1)`` otherwise.

    ``f'(x)`` is ``1`` for ``x > 0`` and ``alpha * exp(x)`` otherwise.

    Args:
        alpha: Scale of the negative part. Defaults to ``1.0``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Examples:
        >>> from minikeras.layers import ELU
        >>> ELU(alpha=2.0)(np.array([[0.0, 1.5]])).tolist()
        [[0.0, 1.5]]
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = check_number("ELU", "alpha", alpha)

    def forward(self, x):
        out = np.minimum(x, 0)
        np.expm1(out, out=out)
        out *= self.alpha
        out += np.maximum(x, 0)  # adds 0 where x <= 0 and x to the 0 where x > 0
        return out

    def input_gradient(self, grad, x, y):
        factor = np.maximum(x, 0)
        np.subtract(y, factor, out=factor)  # alpha * (exp(x) - 1) for x <= 0, else 0
        factor += self.alpha  # alpha * exp(x)
        factor *= x <= 0
        factor += x > 0
        grad *= factor
        return grad

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


@register()
class PReLU(Layer):
    """Parametric ReLU: ``f(x) = x`` for ``x > 0`` and ``alpha * x`` otherwise, ``alpha`` learned.

    ``alpha`` has one slope per input value of a sample (per unit for 2-D
    inputs); ``shared_axes`` shares one slope along those axes. The backward pass
    gives ``dx = g`` for ``x > 0`` and ``alpha * g`` otherwise, and
    ``dalpha = sum(g * min(x, 0))`` over the batch and the shared axes.

    Args:
        alpha_initializer: Initializer of the slopes. Defaults to ``"zeros"``
            (a plain ReLU at the start).
        alpha_regularizer: Optional regularizer of the slopes.
        alpha_constraint: Optional constraint applied to the slopes after each update.
        shared_axes: Axes (counting the batch axis as 0, so from 1) that share
            one slope, e.g. ``[1]``; an int means one axis. Defaults to ``None``.
        **kwargs: Common layer arguments, and the Keras 1 name ``init`` (for
            ``alpha_initializer``), which warns.

    Input shape:
        ``(batch_size, ...)`` with known sizes on the axes that are not shared.

    Output shape:
        Same as the input.

    Weights:
        ``alpha``, of shape ``input_shape[1:]`` with 1 on the shared axes.

    Examples:
        >>> from minikeras.layers import PReLU
        >>> layer = PReLU(alpha_initializer=mk.initializers.Constant(0.25))
        >>> layer(np.array([[-4.0, 2.0]])).tolist(), layer.alpha.shape
        ([[-1.0, 2.0]], (2,))
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None, alpha_constraint: Any = None,
                 shared_axes: Any = None, **kwargs: Any) -> None:
        alpha_initializer = pop_legacy_kwarg("PReLU", kwargs, "init", "alpha_initializer", alpha_initializer,
                                             "Zeros")
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            self.shared_axes = [check_int("PReLU", "shared_axes", a) for a in axes]
            if any(a < 1 for a in self.shared_axes):
                raise ValueError(
                    f"PReLU expects `shared_axes` to count from 1 (axis 0 is the batch). "
                    f"Received: shared_axes={shared_axes!r}."
                )
        self.alpha = None
        self._x: np.ndarray | None = None
        self._reduce: tuple[int, ...] = (0,)

    def build(self, input_shape):
        ndim = len(input_shape)
        shared = set(self.shared_axes or ())
        if any(a >= ndim for a in shared) or ndim < 2:
            raise ValueError(
                f"Layer '{self.name}' (PReLU) received shared_axes={self.shared_axes} for inputs of shape "
                f"{shape_str(input_shape)}; shared axes must lie in 1..{ndim - 1}. Use axes of the sample, "
                "e.g. shared_axes=[1]."
            )
        shape = tuple(1 if i in shared else input_shape[i] for i in range(1, ndim))
        if any(d is None for d in shape):
            raise ValueError(
                f"Layer '{self.name}' (PReLU) needs known sizes on the axes that are not shared, but received "
                f"inputs of shape {shape_str(input_shape)}. Declare the input shape, or share those axes."
            )
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer, regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self._reduce = (0,) + tuple(sorted(shared))
        super().build(input_shape)

    def call(self, x, training=False):
        if training:
            self._x = x
        out = np.minimum(x, 0)
        out *= self.alpha.value
        out += np.maximum(x, 0)  # x where x > 0, alpha * x elsewhere
        return out

    def backward(self, grad):
        x = self._x
        if x is None:
            raise no_forward_error(self)
        negative = np.minimum(x, 0)
        negative *= grad
        np.copyto(self.alpha.grad, np.sum(negative, axis=self._reduce).reshape(self.alpha.shape), casting="unsafe")
        if not self.need_input_grad:
            return None
        return _leaky_gradient(grad, x, self.alpha.value)

    def clear_cache(self):
        self._x = None

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": None if self.shared_axes is None else list(self.shared_axes),
        })
        return config


@register()
class Softmax(Layer):
    """Softmax over ``axis``: ``exp(x - max) / sum(exp(x - max))`` along that axis (or axes).

    The backward pass is the vector-Jacobian product ``y * (g - sum(g * y))``,
    summed along the same axes. Over the last axis, as the model's last layer,
    the cross-entropy losses backpropagate the fused ``y - y_true`` gradient as
    they do for ``Dense(activation="softmax")``.

    Args:
        axis: Axis, or list of axes, to normalize over (the batch axis is 0).
            Defaults to ``-1``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Examples:
        >>> from minikeras.layers import Softmax
        >>> Softmax()(np.array([[0.0, 0.0], [0.0, np.log(3.0)]])).round(6).tolist()
        [[0.5, 0.5], [0.25, 0.75]]
    """

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis:
                raise ValueError("Softmax expects `axis` to be an integer or a non-empty list of integers. "
                                 "Received: axis=[].")
            self.axis: int | list[int] = [check_int("Softmax", "axis", a) for a in axis]
        else:
            self.axis = check_int("Softmax", "axis", axis)
        self._axes: tuple[int, ...] = (-1,)
        self._y: np.ndarray | None = None
        self.activation: activations.Activation | None = activations.softmax if self.axis in (-1, [-1]) else None

    def build(self, input_shape):
        ndim = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        normalized = [normalize_axis("Softmax", "axis", a, ndim, input_shape) for a in axes]
        if len(set(normalized)) != len(normalized):
            raise ValueError(f"Softmax received the same axis twice in axis={self.axis}. List each axis once.")
        self._axes = tuple(sorted(normalized))
        self.activation = activations.softmax if self._axes == (ndim - 1,) else None
        super().build(input_shape)

    def call(self, x, training=False):
        if self._axes == (x.ndim - 1,):
            y = activations.softmax.forward(x)
        else:
            y = np.subtract(x, np.max(x, axis=self._axes, keepdims=True))
            np.exp(y, out=y)
            y /= np.sum(y, axis=self._axes, keepdims=True)
        if training:
            self._y = y
        return y

    def backward(self, grad):
        y = self._y
        if y is None:
            raise no_forward_error(self)
        if not self.need_input_grad:
            return None
        grad -= np.sum(grad * y, axis=self._axes, keepdims=True)
        grad *= y
        return grad

    def backward_logits(self, delta: np.ndarray) -> np.ndarray:
        """Backward pass from the gradient before the softmax: passes it through."""
        return delta

    def clear_cache(self):
        self._y = None

    def get_config(self):
        config = super().get_config()
        config["axis"] = list(self.axis) if isinstance(self.axis, list) else self.axis
        return config
