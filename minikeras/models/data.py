"""Array data for training loops: checks, the validation split and batching.

Batches of shuffled rows are gathered into one reused buffer with ``np.take``,
so an epoch never copies the whole training set. Arrays on disk (an
``h5py.Dataset``, or anything with a NumPy ``dtype``, a ``shape`` and slicing)
are never read whole: each batch is read when it is needed, as one contiguous
slice unless the rows are shuffled, and checked for NaN as it is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minikeras._validation import check_finite, shape_str


def call_name(caller: str) -> str:
    """``"fit"`` -> ``"fit()"``; a name that already has parentheses is kept."""
    return caller if caller.endswith(")") else f"{caller}()"


def is_lazy_array(data: Any) -> bool:
    """Whether ``data`` is an array kept on disk (e.g. an ``h5py.Dataset``), read by slicing."""
    return (not isinstance(data, np.ndarray) and not hasattr(data, "to_numpy")
            and isinstance(getattr(data, "dtype", None), np.dtype)
            and isinstance(getattr(data, "shape", None), tuple) and hasattr(data, "__getitem__"))


class RowRange:
    """Rows ``start:stop`` of an on-disk array, sliced without reading anything."""

    def __init__(self, source: Any, start: int, stop: int) -> None:
        if isinstance(source, RowRange):
            source, start, stop = source.source, source.start + start, source.start + stop
        self.source, self.start, self.stop = source, start, stop
        self.dtype = source.dtype
        self.shape = (stop - start,) + tuple(source.shape[1:])
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            begin, end, step = key.indices(self.shape[0])
            return self.source[self.start + begin:self.start + end:step]
        return self.source[np.asarray(key) + self.start]


def as_array(data: Any, what: str) -> Any:
    """Returns ``data`` as an array (lists, and objects with ``to_numpy()``, accepted).

    An on-disk array (:func:`is_lazy_array`) is returned as it is, after checking
    its dtype and shape, and is never read here.
    """
    if is_lazy_array(data):
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{what} must hold numbers, but its dtype is {data.dtype}.")
        if len(data.shape) == 0:
            raise ValueError(f"{what} must have a batch dimension; received a scalar dataset.")
        return data
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
        #: How messages name this data.
        self.what = f"the arrays passed to {call}"
        self.x = as_array(x, f"{call} argument `x`")
        self.y = None if y is None else as_array(y, f"{call} argument `y`")
        self.sample_weight = None if sample_weight is None else as_array(sample_weight, f"{call} argument `sample_weight`")
        self.dtype = np.dtype(dtype)
        self.y_dtype = np.dtype(y_dtype) if y_dtype else self.dtype
        n = self.x.shape[0]
        if n == 0:
            raise ValueError(f"{call} received `x` with 0 samples (shape {shape_str(self.x.shape)}); "
                             "pass at least one sample.")
        for name, arr in (("y", self.y), ("sample_weight", self.sample_weight)):
            if arr is not None and arr.shape[0] != n:
                raise ValueError(
                    f"{call} received x with {n} samples and {name} with {arr.shape[0]} "
                    f"samples. x and {name} must have the same number of samples (first dimension)."
                )
        if self.sample_weight is not None and is_lazy_array(self.sample_weight):
            self.sample_weight = np.asarray(self.sample_weight[:])  # one number per sample: small
        if self.sample_weight is not None and self.sample_weight.ndim != 1:
            if self.sample_weight.size != n:
                raise ValueError(
                    f"{call} expects `sample_weight` of shape ({n},): one weight per sample. "
                    f"Received shape {shape_str(self.sample_weight.shape)}. Pass a 1-D array, "
                    "e.g. sample_weight[:, 0]."
                )
            self.sample_weight = self.sample_weight.reshape(n)
        if self.sample_weight is not None:
            # As Keras does, and as batches from generators are: weights in the model's float type.
            self.sample_weight = self.sample_weight.astype(self.dtype, copy=False)
        #: Whether some array is on disk: its batches are checked as they are read.
        self.lazy = any(is_lazy_array(a) for a in (self.x, self.y, self.sample_weight))
        self._what = {"x": f"{call} argument `x`", "y": f"{call} argument `y`",
                      "sample_weight": f"{call} argument `sample_weight`"}
        for name, arr in (("x", self.x), ("y", self.y), ("sample_weight", self.sample_weight)):
            if arr is not None and not is_lazy_array(arr):
                check_finite(arr, self._what[name])

    #: Arrays can be read again and again (:class:`~minikeras.models.sources.Epochs`).
    restartable = True

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def on_epoch_begin(self) -> None:
        """Nothing to do for arrays."""

    def on_epoch_end(self) -> None:
        """Nothing to do for arrays."""

    def iterate(self, batch_size: int, shuffle: bool | str = False,
                rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """Same as :meth:`batches` (the data-source interface)."""
        return self.batches(batch_size, shuffle, rng)

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

        def cut(arr: Any) -> Any:
            if arr is None:
                return None
            return RowRange(arr, rows.start, rows.stop) if is_lazy_array(arr) else arr[rows]

        part.x, part.y, part.sample_weight = cut(self.x), cut(self.y), cut(self.sample_weight)
        part.dtype, part.y_dtype, part.lazy, part._what, part.what = self.dtype, self.y_dtype, self.lazy, self._what, self.what
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
        if self.lazy:
            yield from self._lazy_batches(batch_size, shuffle, rng)
            return
        if shuffle == "batch":
            order = _batch_shuffled_order(n, batch_size, rng)
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

    def _lazy_batches(self, batch_size: int, shuffle: bool | str,
                      rng: np.random.Generator | None) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """Batches read from disk one at a time: contiguous reads unless ``shuffle=True``."""
        n = len(self)
        starts = range(0, n, batch_size)
        order = within_blocks = None
        if shuffle == "batch":
            # The same draws, in the same order, as _batch_shuffled_order for arrays in memory.
            within_blocks = [rng.permutation(min(batch_size, n - start)) for start in starts]
            blocks = _block_order(n, batch_size, rng)
        elif shuffle:
            order = rng.permutation(n)
        for k in range(len(starts)):
            within = None
            if order is not None:
                rows: Any = order[starts[k]:starts[k] + batch_size]
            else:
                block = int(blocks[k]) if within_blocks is not None else k
                rows = slice(starts[block], starts[block] + batch_size)
                within = None if within_blocks is None else within_blocks[block]
            yield (self._read("x", self.x, rows, within, self.dtype),
                   None if self.y is None else self._read("y", self.y, rows, within, self.y_dtype),
                   None if self.sample_weight is None else self._read(
                       "sample_weight", self.sample_weight, rows, within, self.sample_weight.dtype))

    def _read(self, name: str, src: Any, rows: Any, within: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
        if not is_lazy_array(src):
            block = src[rows]
        elif isinstance(rows, slice):
            block = np.asarray(src[rows])
            _check_read(block, self._what[name], src, rows)
        else:
            # Disk formats read increasing rows fastest (h5py requires it): read them sorted,
            # then put them back in the shuffled order.
            ordered = np.sort(rows)
            block = np.asarray(src[ordered])
            _check_read(block, self._what[name], src, ordered)
            return self._cast(block[np.searchsorted(ordered, rows)], dtype)
        if within is not None:
            block = block[within]
        return self._cast(block, dtype)

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


def _check_read(block: np.ndarray, what: str, src: Any, rows: slice | np.ndarray) -> None:
    """Raises ``ValueError`` if ``rows`` read from ``src`` hold NaN or infinity.

    The message names the first bad row by its index in the whole on-disk array.
    """
    offset = src.start if isinstance(src, RowRange) else 0
    if isinstance(rows, slice):
        check_finite(block, what, row_of=lambda i: offset + rows.start + i)
    else:
        check_finite(block, what, row_of=lambda i: offset + int(rows[i]))


def _batch_shuffled_order(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Row order for ``shuffle="batch"``: batch-sized blocks in random order, each shuffled.

    Keras 1 and 2 shuffled the order of the blocks (so data on disk is still read in
    contiguous runs), Keras 3 the rows inside each block; this does both. A last,
    smaller block stays last, so that every batch is exactly one block.
    """
    order = np.arange(n)
    blocks = [order[start:start + batch_size] for start in range(0, n, batch_size)]
    for block in blocks:
        rng.shuffle(block)
    return np.concatenate([blocks[i] for i in _block_order(n, batch_size, rng)]) if blocks else order


def _block_order(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """The order of the batch-sized blocks of ``n`` rows: full blocks shuffled, a partial one last."""
    full = n // batch_size
    order = rng.permutation(full)
    return order if full * batch_size == n else np.append(order, full)


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
