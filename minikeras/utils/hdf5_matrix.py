"""``HDF5Matrix``: Keras 1 and 2's wrapper that let ``fit`` read a dataset from an HDF5 file.

minikeras reads an ``h5py.Dataset`` batch by batch by itself, so the wrapper is only
kept for old scripts: it warns, and behaves as a read-only view of rows
``start:end`` of the dataset, optionally passed through ``normalizer``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


class HDF5Matrix:
    """Deprecated: rows ``start:end`` of dataset ``dataset`` in the HDF5 file ``datapath``.

    Use the dataset itself instead: ``f = h5py.File(path, "r")`` and
    ``model.fit(f["x"], f["y"], shuffle="batch")``.

    Args:
        datapath: Path of the HDF5 file (opened read-only, kept open).
        dataset: Name of the dataset in the file.
        start: First row.
        end: Row after the last one (``None``: the end of the dataset).
        normalizer: Function applied to every block of rows read, e.g. ``lambda x: x / 255``.

    Examples:
        >>> import os, tempfile, h5py
        >>> path = os.path.join(tempfile.mkdtemp(), "data.h5")
        >>> with h5py.File(path, "w") as f:
        ...     f["x"] = np.arange(12.0).reshape(6, 2)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     rows = HDF5Matrix(path, "x", start=2, end=5, normalizer=lambda x: x / 2)
        >>> rows.shape, rows[0].tolist()
        ((3, 2), [2.0, 2.5])
        >>> rows.close()
    """

    def __init__(self, datapath: str, dataset: str, start: int = 0, end: int | None = None,
                 normalizer: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        warnings.warn(
            "HDF5Matrix was removed in Keras 2.4. Pass the h5py dataset itself: "
            "f = h5py.File(path, 'r'); model.fit(f['x'], f['y'], shuffle='batch').",
            DeprecationWarning, stacklevel=2,
        )
        import h5py

        self._file = h5py.File(datapath, "r")
        if dataset not in self._file or not isinstance(self._file[dataset], h5py.Dataset):
            names = sorted(k for k in self._file if isinstance(self._file[k], h5py.Dataset))
            self._file.close()
            raise KeyError(f"HDF5Matrix: {datapath} has no dataset {dataset!r}; its datasets are {names}.")
        self.data = self._file[dataset]
        total = self.data.shape[0]
        end = total if end is None else end
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= total):
            self._file.close()
            raise ValueError(
                f"HDF5Matrix expects 0 <= start < end <= {total} (the rows of {dataset!r}). "
                f"Received start={start!r}, end={end!r}."
            )
        self.start, self.end, self.normalizer = start, end, normalizer
        first = self._normalized(self.data[start:start + 1])
        self.dtype = first.dtype
        self.shape = (end - start,) + tuple(first.shape[1:])
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))

    def _normalized(self, block: np.ndarray) -> np.ndarray:
        return np.asarray(block if self.normalizer is None else self.normalizer(block))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        """Rows by index, slice, or increasing list/array of indices (relative to ``start``)."""
        n = self.shape[0]
        if isinstance(key, slice):
            begin, stop, step = key.indices(n)
            return self._normalized(self.data[self.start + begin:self.start + stop:step])
        if isinstance(key, (int, np.integer)):
            if not -n <= key < n:
                raise IndexError(f"HDF5Matrix index {key} is out of range for {n} rows.")
            return self._normalized(self.data[self.start + int(key) % n])
        rows = np.asarray(key)
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise IndexError(f"HDF5Matrix indices must lie in [0, {n}); received {rows.min()}..{rows.max()}.")
        return self._normalized(self.data[rows + self.start])

    def close(self) -> None:
        """Closes the HDF5 file."""
        self._file.close()
