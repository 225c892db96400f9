"""Global numeric settings: the default float type and the fuzz factor epsilon."""

from __future__ import annotations

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_VALID_FLOATX = ("float16", "float32", "float64")


def floatx() -> str:
    """Returns the default float type name, ``"float32"`` unless changed.

    Examples:
        >>> floatx()
        'float32'
    """
    return _FLOATX


def set_floatx(value: str) -> None:
    """Sets the float type used for new weights and for data given to models.

    Use ``"float64"`` for numerical gradient checks; models built before the call
    keep their dtype.

    Args:
        value: One of ``"float16"``, ``"float32"`` or ``"float64"``.

    Raises:
        ValueError: If ``value`` is not one of those names.
    """
    global _FLOATX
    if value not in _VALID_FLOATX:
        raise ValueError(
            f"Unknown floatx {value!r}. Expected one of {', '.join(_VALID_FLOATX)}."
        )
    _FLOATX = str(value)


def epsilon() -> float:
    """Returns the fuzz factor used to clip probabilities (``1e-7`` by default)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor returned by :func:`epsilon`."""
    global _EPSILON
    _EPSILON = float(value)


def standardize_dtype(dtype: object | None) -> str:
    """Returns a dtype name, ``floatx()`` for ``None``.

    Accepts strings, numpy dtypes and Keras ``DTypePolicy`` config dicts.
    """
    if dtype is None:
        return floatx()
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name", floatx())
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        return "float32"
    return np.dtype(dtype).name  # type: ignore[call-overload]
