"""In-memory data for training loops: checks, the validation split and batching.

Batches of shuffled rows are gathered into one reused buffer with ``np.take``,
so an epoch never copies the whole training set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minikeras._validation import check_finite, shape_str


def call_name(caller: str) -> str:
    """``"fit"`` -> ``"fit()"``; a name that already has parentheses is kept."""
    return caller if caller.endswith(")") else f"{caller}()"


def as_array(data: Any, what: str) -> np.ndarray:
    """Returns ``data`` as an array (lists, and objects with ``to_numpy()``, accepted)."""
    if hasattr(data, "to_numpy") and not isinstance(data, np.ndarray):
        data = data.to_numpy()
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} must be an array-like of numbers; converting it failed: {err}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must hold numbers, but its dtype is {array.dtype}. "
            "Convert it to a numeric array first."
        )
    if array.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension; received a scalar.")
    return array


class ArrayData:
    """Arrays ``x`` (and ``y``, ``sample_weight``) with the same number of rows.

    Args:
        x: Inputs, ``(N, ...)``.
        y: Targets, ``(N, ...)``, or ``None``.
        sample_weight: ``(N,)`` weights, or ``None``.
        dtype: Float type the model computes in; ``x`` is cast batch by batch.
        y_dtype: Type for ``y`` batches (integers are kept for sparse labels).
        caller: Name of the public method, for messages.
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None, *, dtype: str,
                 y_dtype: str | None = None, caller: str = "fit") -> None:
        call = call_name(caller)
        self.x = as_array(x, f"{call} argument `x`")
        self.y = None if y is None else as_array(y, f"{call} argument `y`")
        self.sample_weight = None if sample_weight is None else as_array(sample_weight, f"{call} argument `sample_weight`")
        self.dtype = np.dtype(dtype)
        self.y_dtype = np.dtype(y_dtype) if y_dtype else self.dtype
        n = self.x.shape[0]
        for name, arr in (("y", self.y), ("sample_weight", self.sample_weight)):
            if arr is not None and arr.shape[0] != n:
                raise ValueError(
                    f"{call} received x with {n} samples and {name} with {arr.shape[0]} "
                    f"samples. x and {name} must have the same number of samples (first dimension)."
                )
        if self.sample_weight is not None and self.sample_weight.ndim != 1:
            if self.sample_weight.size != n:
                raise ValueError(
                    f"{call} expects `sample_weight` of shape ({n},): one weight per sample. "
                    f"Received shape {shape_str(self.sample_weight.shape)}. Pass a 1-D array, "
                    "e.g. sample_weight[:, 0]."
                )
            self.sample_weight = self.sample_weight.reshape(n)
        check_finite(self.x, f"{call} argument `x`")
        if self.y is not None:
            check_finite(self.y, f"{call} argument `y`")
        if self.sample_weight is not None:
            check_finite(self.sample_weight, f"{call} argument `sample_weight`")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def split(self, validation_split: float) -> tuple[ArrayData, ArrayData]:
        """Splits off the last ``validation_split`` fraction of rows, before shuffling.

        Raises:
            ValueError: If either part would be empty.
        """
        n = len(self)
        split_at = int(np.floor(n * (1.0 - validation_split)))
        if split_at == 0 or split_at == n:
            empty = "training" if split_at == 0 else "validation"
            raise ValueError(
                f"validation_split={validation_split} leaves an empty {empty} set for {n} samples "
                f"({split_at} for training, {n - split_at} for validation); each needs at least one "
                "sample. Use more data or a different validation_split."
            )
        return self._slice(slice(0, split_at)), self._slice(slice(split_at, n))

    def _slice(self, rows: slice) -> ArrayData:
        part = object.__new__(ArrayData)
        part.x = self.x[rows]
        part.y = None if self.y is None else self.y[rows]
        part.sample_weight = None if self.sample_weight is None else self.sample_weight[rows]
        part.dtype, part.y_dtype = self.dtype, self.y_dtype
        return part

    def num_batches(self, batch_size: int) -> int:
        """``ceil(N / batch_size)``: the last batch keeps the remainder."""
        return -(-len(self) // batch_size)

    def batches(self, batch_size: int, shuffle: bool | str = False,
                rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """Yields ``(x, y, sample_weight)`` batches, reshuffled on every call if asked.

        Shuffled batches live in buffers that the next batch overwrites.
        """
        n = len(self)
        if shuffle == "batch":
            order = np.arange(n)
            for start in range(0, n, batch_size):
                rng.shuffle(order[start:start + batch_size])
        elif shuffle:
            order = rng.permutation(n)
        else:
            order = None
        if order is None:
            for start in range(0, n, batch_size):
                rows = slice(start, start + batch_size)
                yield (self._cast(self.x[rows], self.dtype),
                       None if self.y is None else self._cast(self.y[rows], self.y_dtype),
                       None if self.sample_weight is None else self.sample_weight[rows])
            return
        buffers = {}
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            yield (self._gather(self.x, idx, self.dtype, buffers, "x"),
                   None if self.y is None else self._gather(self.y, idx, self.y_dtype, buffers, "y"),
                   None if self.sample_weight is None else self.sample_weight[idx])

    @staticmethod
    def _cast(block: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return block if block.dtype == dtype else block.astype(dtype)

    @staticmethod
    def _gather(src: np.ndarray, idx: np.ndarray, dtype: np.dtype, buffers: dict, key: str) -> np.ndarray:
        if src.dtype != dtype:
            return src[idx].astype(dtype)
        buf = buffers.get(key)
        if buf is None:
            buf = buffers[key] = np.empty((len(idx),) + src.shape[1:], dtype=dtype)
        out = buf[: len(idx)]
        # mode='clip' skips the bounds check (the indices are a permutation of valid rows),
        # which with mode='raise' would also gather through a temporary buffer.
        np.take(src, idx, axis=0, out=out, mode="clip")
        return out


def check_features(x_shape: tuple[int, ...], expected: tuple[int | None, ...], model_name: str, caller: str) -> None:
    """Raises ``ValueError`` if ``x`` does not fit the model's input shape."""
    if len(x_shape) != len(expected) or any(e is not None and e != s for e, s in zip(expected[1:], x_shape[1:])):
        if len(x_shape) == 2 and len(expected) == 2:
            detail = f"expects {expected[1]} input features, but x has {x_shape[1]}"
        else:
            detail = f"expects inputs of shape {shape_str(expected)}, but x has shape {shape_str(x_shape)}"
        raise ValueError(
            f"Model '{model_name}' {detail} (x shape {shape_str(x_shape)}, model input shape "
            f"{shape_str(expected)}) in {call_name(caller)}. Pass data with the model's input width, "
            "or build the model for this width."
        )
