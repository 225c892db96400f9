"""Argument checks and messages shared by the layer modules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras._validation import shape_str


def check_number(owner: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, allow_none: bool = False) -> float | None:
    """Returns ``value`` as a ``float`` after checking it lies in the given interval.

    Raises:
        ValueError: If ``value`` is not a finite real number in the interval (or
            ``None`` when ``allow_none``), naming the argument and the interval.
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    number = float(value) if ok else math.nan
    if ok and math.isfinite(number):
        ok = (low is None or number > low or (number == low and not low_open)) and \
             (high is None or number < high or (number == high and not high_open))
    else:
        ok = False
    if not ok:
        raise ValueError(
            f"{owner} expects `{name}` to be {_interval(low, high, low_open, high_open)}"
            f"{' or None' if allow_none else ''}. Received: {name}={value!r}."
        )
    return number


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    def fmt(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else str(v)

    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{fmt(low)}, {fmt(high)}{')' if high_open else ']'}"
    if low is not None:
        return f"a number {'>' if low_open else '>='} {fmt(low)}"
    if high is not None:
        return f"a number {'<' if high_open else '<='} {fmt(high)}"
    return "a finite number"


def check_int(owner: str, name: str, value: Any) -> int:
    """Returns ``value`` as an ``int`` or raises ``ValueError`` (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{owner} expects `{name}` to be an integer. Received: {name}={value!r}.")
    return int(value)


def no_forward_error(layer: Any) -> RuntimeError:
    """The error raised by ``backward`` without a preceding training forward pass."""
    return RuntimeError(
        f"Layer '{layer.name}' ({type(layer).__name__}): backward() needs a preceding call "
        "with training=True."
    )


def normalize_axis(owner: str, name: str, axis: int, ndim: int, shape: tuple[Any, ...]) -> int:
    """Returns ``axis`` as a non-negative index into a shape of rank ``ndim``."""
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{owner} received `{name}={axis}`, which is out of range for inputs of shape "
            f"{shape_str(shape)} (rank {ndim}). Use an axis from {-ndim} to {ndim - 1}."
        )
    return axis % ndim
