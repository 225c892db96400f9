"""Weight constraints: projections applied to a weight after each optimizer update.

A constraint is a callable object: ``constraint(w)`` returns the projected weight.
Layers take them as ``kernel_constraint`` and ``bias_constraint``; after every
optimizer step the training loop replaces each constrained weight, in place, by
its projection.

The norms are Euclidean norms along ``axis``; for a Dense kernel of shape
``(input_dim, units)`` the default ``axis=0`` constrains the incoming weight
vector of each unit. As in Keras 3, ``eps = backend.epsilon()`` (``1e-7``) is
added to the norm in the denominator, so even a vector already inside the bounds
shrinks by the factor ``norm / (eps + norm)``.

Example:
    >>> from minikeras import constraints
    >>> constraints.MaxNorm(max_value=1.0)(np.array([[3.0], [4.0]])).round(6).tolist()
    [[0.6], [0.8]]
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minikeras._registry import Configurable, Registry
from minikeras._validation import shape_str
from minikeras.backend import config as _config

_registry = Registry("constraint", "keras.constraints")
register = _registry.register

# Keras 1 names of constraints -> (Keras 3 name, class name); resolved with a warning.
_LEGACY_NAMES = {"maxnorm": "max_norm", "nonneg": "non_neg", "unitnorm": "unit_norm"}


class Constraint(Configurable):
    """Base class of constraints: the identity projection.

    Subclasses implement ``__call__(w)`` returning the projected weight (shaped like
    ``w``) and ``get_config()``; they may override :meth:`apply_inplace` to project
    without a temporary and :meth:`check_shape` to reject weights they cannot handle.

    Examples:
        >>> class Clip(Constraint):
        ...     def __call__(self, w):
        ...         return np.clip(w, -1.0, 1.0)
        >>> Clip()(np.array([-3.0, 0.5])).tolist()
        [-1.0, 0.5]
    """

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w

    def apply_inplace(self, value: np.ndarray) -> None:
        """Replaces ``value`` by its projection, in place."""
        projected = np.asarray(self(value))
        if projected is value:
            return
        if projected.shape != value.shape:
            raise ValueError(
                f"{type(self).__name__} returned an array of shape {shape_str(projected.shape)} for a "
                f"weight of shape {shape_str(value.shape)}. A constraint must keep the weight's shape."
            )
        np.copyto(value, projected, casting="same_kind")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Raises ``ValueError`` if the constraint cannot be applied to a weight of ``shape``."""



def _bound(owner: str, name: str, value: Any) -> Any:
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(float(value)) or value < 0):
        raise ValueError(
            f"{owner} expects `{name}` to be a non-negative finite number. Received: {name}={value!r}."
        )
    return value.item() if isinstance(value, np.generic) else value


def _axis(owner: str, axis: Any) -> int | list[int]:
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    raise ValueError(
        f"{owner} expects `axis` to be an integer or a list of integers, e.g. axis=0. Received: axis={axis!r}."
    )


class _NormConstraint(Constraint):
    """Shared parts of the constraints on the norm along ``axis``."""

    axis: int | list[int]

    def _axes(self) -> int | tuple[int, ...]:
        return tuple(self.axis) if isinstance(self.axis, list) else self.axis

    def check_shape(self, shape):
        ndim = len(shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -ndim <= a < ndim for a in axes):
            raise ValueError(
                f"{type(self).__name__}(axis={self.axis!r}) cannot constrain a weight of shape "
                f"{shape_str(shape)}, which has {ndim} axes. Pass an axis between {-ndim} and {ndim - 1} "
                "(axis=0 for Dense kernels and biases)."
            )

    def _norms(self, w: np.ndarray) -> np.ndarray:
        self.check_shape(w.shape)
        return np.sqrt(np.sum(np.square(w), axis=self._axes(), keepdims=True))

    def _eps(self, w: np.ndarray) -> np.floating:
        return w.dtype.type(_config.epsilon())

    def _scale(self, w: np.ndarray) -> np.ndarray:
        """The factor (broadcast along ``axis``) the projection multiplies ``w`` by."""
        raise NotImplementedError

    def __call__(self, w):
        w = np.asarray(w)
        return w * self._scale(w)

    def apply_inplace(self, value):
        value *= self._scale(value)


@register("max_norm")
class MaxNorm(_NormConstraint):
    """Limits the norm along ``axis`` to ``max_value``: ``w * clip(n, 0, max_value) / (eps + n)``.

    Args:
        max_value: Largest norm allowed. Defaults to ``2``.
        axis: Axis or list of axes of the norm. Defaults to ``0``.

    Examples:
        >>> MaxNorm(2)(np.array([[6.0, 0.3], [8.0, 0.4]])).round(6).tolist()
        [[1.2, 0.3], [1.6, 0.4]]
    """

    def __init__(self, max_value: float = 2, axis: int | list[int] = 0) -> None:
        self.max_value = _bound("MaxNorm", "max_value", max_value)
        self.axis = _axis("MaxNorm", axis)

    def _scale(self, w):
        norms = self._norms(w)
        desired = np.clip(norms, 0, self.max_value)
        return desired / (self._eps(w) + norms)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@register("min_max_norm")
class MinMaxNorm(_NormConstraint):
    """Moves the norm along ``axis`` into ``[min_value, max_value]``.

    ``w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (eps + n)``:
    ``rate=1`` enforces the bounds at every step, a smaller rate moves the norm
    part of the way.

    Args:
        min_value: Smallest norm. Defaults to ``0.0``.
        max_value: Largest norm. Defaults to ``1.0``.
        rate: Fraction in ``[0, 1]`` of the way to the bounds. Defaults to ``1.0``.
        axis: Axis or list of axes of the norm. Defaults to ``0``.

    Examples:
        >>> MinMaxNorm(1.0, 2.0)(np.array([[0.3], [0.4]])).round(6).tolist()
        [[0.6], [0.8]]
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | list[int] = 0) -> None:
        self.min_value = _bound("MinMaxNorm", "min_value", min_value)
        self.max_value = _bound("MinMaxNorm", "max_value", max_value)
        if self.min_value > self.max_value:
            raise ValueError(
                f"MinMaxNorm expects `min_value` <= `max_value`. Received: min_value={min_value!r}, "
                f"max_value={max_value!r}."
            )
        self.rate = _bound("MinMaxNorm", "rate", rate)
        if self.rate > 1:
            raise ValueError(f"MinMaxNorm expects `rate` in [0, 1]. Received: rate={rate!r}.")
        self.axis = _axis("MinMaxNorm", axis)

    def _scale(self, w):
        norms = self._norms(w)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return desired / (self._eps(w) + norms)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


@register("non_neg")
class NonNeg(Constraint):
    """Sets negative weights to zero: ``max(w, 0)``.

    Examples:
        >>> NonNeg()(np.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __call__(self, w):
        return np.maximum(w, 0)

    def apply_inplace(self, value):
        np.maximum(value, 0, out=value)


@register("unit_norm")
class UnitNorm(_NormConstraint):
    """Scales the norm along ``axis`` to one: ``w / (eps + n)``.

    Args:
        axis: Axis or list of axes of the norm. Defaults to ``0``.

    Examples:
        >>> UnitNorm()(np.array([[3.0], [4.0]])).round(6).tolist()
        [[0.6], [0.8]]
    """

    def __init__(self, axis: int | list[int] = 0) -> None:
        self.axis = _axis("UnitNorm", axis)

    def _denominator(self, w: np.ndarray) -> np.ndarray:
        return self._eps(w) + self._norms(w)

    def __call__(self, w):
        w = np.asarray(w)
        return w / self._denominator(w)

    def apply_inplace(self, value):
        value /= self._denominator(value)

    def get_config(self):
        return {"axis": self.axis}


# Keras 3 exports the classes under these lower-case names as well.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm


def _warn_legacy(old: str, new: str) -> None:
    warnings.warn(
        f"`{old}` is the Keras 1 name of a constraint; use `{new}` instead.",
        DeprecationWarning, stacklevel=3,
    )


def maxnorm(m: float = 2, axis: int | list[int] = 0) -> MaxNorm:
    """Keras 1 name of :class:`MaxNorm` (``m`` is ``max_value``); warns."""
    _warn_legacy("maxnorm(m=...)", "max_norm(max_value=...)")
    return MaxNorm(max_value=m, axis=axis)


def nonneg() -> NonNeg:
    """Keras 1 name of :class:`NonNeg`; warns."""
    _warn_legacy("nonneg()", "non_neg()")
    return NonNeg()


def unitnorm(axis: int | list[int] = 0) -> UnitNorm:
    """Keras 1 name of :class:`UnitNorm`; warns."""
    _warn_legacy("unitnorm()", "unit_norm()")
    return UnitNorm(axis=axis)


def get(identifier: Any) -> Constraint | None:
    """Returns a constraint for a name, a config dict, a constraint, a function or ``None``.

    Names are Keras 3's (``"max_norm"``, ``"min_max_norm"``, ``"non_neg"``,
    ``"unit_norm"`` and the class names); the Keras 1 names ``"maxnorm"``,
    ``"nonneg"`` and ``"unitnorm"`` are accepted with a ``DeprecationWarning``.
    A function ``w -> projected w`` is accepted as it is.

    Raises:
        ValueError: For an unknown name, listing the valid ones.

    Examples:
        >>> get("max_norm")
        MaxNorm(max_value=2, axis=0)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier in _LEGACY_NAMES:
        new = _LEGACY_NAMES[identifier]
        _warn_legacy(f"'{identifier}'", f"'{new}'")
        identifier = new
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    constraint = _registry.get(identifier)
    if not callable(constraint):
        raise TypeError(
            f"Expected a constraint name (e.g. 'max_norm'), a config dict, a "
            f"minikeras.constraints.Constraint or a function. Received: {identifier!r}."
        )
    return constraint


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """Serializes a constraint to Keras 3's schema (``None`` stays ``None``).

    Raises:
        TypeError: For a plain function, which has no configuration to save.
    """
    if constraint is None:
        return None
    if not callable(getattr(constraint, "get_config", None)):
        raise TypeError(
            f"Cannot serialize the constraint {constraint!r}: it has no get_config(). To save a model "
            "with it, subclass minikeras.constraints.Constraint and implement __call__ and get_config."
        )
    return _registry.serialize(constraint)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Constraint:
    """Builds a constraint from :func:`serialize` output (Keras 2 or 3 schema)."""
    return _registry.deserialize(config, custom_objects)


def names() -> list[str]:
    """Returns the registered constraint names."""
    return _registry.names()


__all__ = [
    "Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get", "max_norm",
    "maxnorm", "min_max_norm", "names", "non_neg", "nonneg", "register", "serialize", "unit_norm",
    "unitnorm",
]
