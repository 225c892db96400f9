"""Checks shared by every module, so recurring messages read the same everywhere."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np


def shape_str(shape: Iterable[Any]) -> str:
    """Formats a shape as a plain Python tuple, ``None`` for unknown dimensions."""
    dims = tuple(None if d is None else int(d) for d in shape)
    return repr(dims)


def check_positive_int(owner: str, name: str, value: Any) -> int:
    """Returns ``value`` as an ``int`` or raises a ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"{owner} expects `{name}` to be a positive integer. "
            f"Received: {name}={value!r}."
        )
    return int(value)


def check_path(owner: str, name: str, value: Any) -> str:
    """Returns ``value`` (a ``str`` or ``os.PathLike``) as a ``str`` path, else a ``TypeError``."""
    try:
        path = os.fspath(value)
    except TypeError:
        raise TypeError(f"{owner} expects `{name}` as a str or os.PathLike. Received: {value!r}.") from None
    if not isinstance(path, str):
        raise TypeError(f"{owner} expects `{name}` as a str path. Received: {value!r}.")
    return path


def check_no_unknown_kwargs(owner: str, kwargs: dict[str, Any], allowed: Iterable[str] = ()) -> None:
    """Raises ``TypeError`` listing any keyword argument not in ``allowed``."""
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        listed = ", ".join(f"`{k}`" for k in unknown)
        raise TypeError(
            f"{owner} received unknown keyword argument(s): {listed}. "
            "Check the spelling against the documented arguments."
        )


def pop_legacy_kwarg(
    owner: str,
    kwargs: dict[str, Any],
    old: str,
    new: str,
    current: Any,
    default: Any,
    *,
    convert: Any = None,
    stacklevel: int = 3,
) -> Any:
    """Maps a Keras 1/2 keyword (``old``) onto its Keras 3 name (``new``).

    Emits one ``DeprecationWarning`` naming the replacement, attributed to the frame
    ``stacklevel`` levels up (the user's call for a direct caller of this function).
    Passing both names is an error, as it was in Keras 2.

    Returns:
        The value to use for ``new``.
    """
    if old not in kwargs:
        return current
    value = kwargs.pop(old)
    if current is not default:
        raise TypeError(
            f"{owner} received both the legacy argument `{old}` and its replacement "
            f"`{new}`. Pass only `{new}`."
        )
    warnings.warn(
        f"`{old}` is a Keras 1/2 argument of {owner}; use `{new}` instead "
        f"(`{new}={value!r}`).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return convert(value) if convert is not None else value


def check_finite(array: np.ndarray, what: str, *, chunk_rows: int = 8192,
                 row_of: Callable[[int], int] | None = None) -> None:
    """Raises ``ValueError`` if ``array`` holds NaN or infinity.

    Works in chunks of rows: the sum of a chunk is finite exactly when every value
    is, unless finite values overflow it, in which case the chunk is checked value
    by value. This reads the data once without a full-size temporary. ``row_of``
    maps a row of ``array`` to the row number the message gives (e.g. its row in a
    whole dataset when ``array`` is one batch of it).
    """
    if array.dtype.kind not in "fc":
        return
    if array.size <= chunk_rows * 8 and np.isfinite(array).all():
        return  # small arrays: one pass over a small temporary is quicker than summing
    n = array.shape[0] if array.ndim else 1
    flat = array.reshape(n, -1) if array.ndim else array.reshape(1, 1)
    for start in range(0, n, chunk_rows):
        block = flat[start : start + chunk_rows]
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(block.sum()):
                continue
        finite_rows = np.isfinite(block).all(axis=1)
        if not finite_rows.all():
            bad = start + int(np.flatnonzero(~finite_rows)[0])
            if row_of is not None:
                bad = row_of(bad)
            raise ValueError(
                f"{what} contains NaN or infinite values (first at row {bad}). "
                "Remove or impute them before training, e.g. with np.nan_to_num."
            )


def positional_arity(fn: Callable[..., Any], counts: Iterable[int]) -> int | None:
    """The first of ``counts`` such that ``fn`` accepts that many positional arguments.

    Returns ``None`` when ``fn`` has no signature to inspect (some builtins).

    Raises:
        TypeError: If none of ``counts`` fits; the message is ``fn``'s signature.

    Examples:
        >>> positional_arity(lambda epoch, lr=0.1: lr, (2, 1))
        2
        >>> positional_arity(lambda epoch: 0.1, (2, 1))
        1
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    for count in counts:
        try:
            signature.bind(*range(count))
        except TypeError:
            continue
        return count
    raise TypeError(str(signature))
