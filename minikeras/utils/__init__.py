"""Utilities: seeding, label encoding, ``Sequence`` datasets and learning-curve plots."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.backend import random as _random
from minikeras.utils.hdf5_matrix import HDF5Matrix
from minikeras.utils.plotting import plot_gradient_norms, plot_history
from minikeras.utils.sequence import PyDataset, Sequence


def set_random_seed(seed: int) -> None:
    """Seeds every source of randomness minikeras uses, plus Python's and NumPy's.

    The same seed gives bit-identical weight initialization, shuffling and
    therefore training runs.

    Examples:
        >>> set_random_seed(42)
    """
    _random.set_seed(seed)


def to_categorical(y: Any, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """One-hot encodes integer class labels.

    Examples:
        >>> to_categorical([0, 2], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.size and (labels.dtype.kind not in "iu" and not np.array_equal(labels, np.round(labels))):
        raise ValueError("to_categorical() expects integer class labels.")
    labels = labels.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"to_categorical() received labels from {labels.min()} to {labels.max()}, outside "
            f"[0, {num_classes - 1}] for num_classes={num_classes}."
        )
    out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


__all__ = ["HDF5Matrix", "PyDataset", "Sequence", "plot_gradient_norms", "plot_history", "set_random_seed",
           "to_categorical"]
