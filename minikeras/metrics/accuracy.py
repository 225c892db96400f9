"""Accuracy metrics: how often predictions match the targets.

Each function returns one value per sample (``1.0`` for a hit, ``0.0`` for a miss;
``binary_accuracy`` and ``accuracy`` one per element, averaged per sample by the
metric); each class is the running, optionally weighted, mean of its function.

Example:
    >>> m = CategoricalAccuracy()
    >>> m.update_state(np.array([[0, 1], [1, 0]]), np.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> m.result()
    0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras._validation import check_positive_int, shape_str
from minikeras.backend.config import floatx
from minikeras.metrics.base import FUNCTIONS, MeanMetricWrapper, register, same_rank


def _check_shapes(owner: str, y_true: np.ndarray, y_pred: np.ndarray, expected: tuple[int, ...], what: str,
                  hint: str) -> None:
    if tuple(y_true.shape) != tuple(expected):
        raise ValueError(
            f"{owner} expects {what} of shape {shape_str(expected)} for predictions of shape "
            f"{shape_str(y_pred.shape)}, but received targets of shape {shape_str(y_true.shape)}. {hint}"
        )


def accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """Element-wise ``y_true == y_pred`` as ``1.0``/``0.0``.

    Examples:
        >>> accuracy(np.array([1, 2, 3]), np.array([1, 2, 4]))
        array([1., 1., 0.], dtype=float32)
    """
    y_true, y_pred = same_rank(np.asarray(y_true), np.asarray(y_pred))
    _check_shapes("accuracy", y_true, y_pred, y_pred.shape, "targets", "Give y the model output's shape.")
    return (y_true == y_pred).astype(floatx())


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Element-wise ``y_true == (y_pred > threshold)`` as ``1.0``/``0.0``.

    Examples:
        >>> binary_accuracy(np.array([[1], [0], [1]]), np.array([[0.7], [0.2], [0.4]]))
        array([[1.],
               [1.],
               [0.]], dtype=float32)
    """
    y_true, y_pred = same_rank(np.asarray(y_true), np.asarray(y_pred))
    _check_shapes("binary_accuracy", y_true, y_pred, y_pred.shape, "0/1 targets",
                  "Give y one column per model output.")
    return (y_true == (y_pred > threshold)).astype(floatx())


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per sample, whether the largest prediction is at the largest target entry.

    Examples:
        >>> categorical_accuracy(np.array([[0, 1], [1, 0]]), np.array([[0.2, 0.8], [0.3, 0.7]]))
        array([1., 0.], dtype=float32)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_shapes("categorical_accuracy", y_true, y_pred, y_pred.shape, "one-hot targets",
                  "For integer class labels use sparse_categorical_accuracy.")
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(floatx())


def _labels(owner: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_true.ndim == y_pred.ndim and y_true.shape[-1:] == (1,):
        y_true = y_true[..., 0]
    _check_shapes(owner, y_true, y_pred, y_pred.shape[:-1], "integer class labels",
                  "Pass labels of shape (N,) or (N, 1); for one-hot targets use the categorical metric.")
    return y_true


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per sample, whether the largest prediction is at the integer label.

    Examples:
        >>> sparse_categorical_accuracy(np.array([1, 0]), np.array([[0.2, 0.8], [0.3, 0.7]]))
        array([1., 0.], dtype=float32)
    """
    y_pred = np.asarray(y_pred)
    labels = _labels("sparse_categorical_accuracy", np.asarray(y_true), y_pred)
    return (labels == np.argmax(y_pred, axis=-1)).astype(floatx())


def _in_top_k(owner: str, labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    classes = y_pred.shape[-1]
    if k > classes:
        raise ValueError(
            f"{owner} has k={k}, but the predictions have only {classes} classes, so every sample "
            f"would count as a hit. Use k < {classes}."
        )
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"{owner} expects integer class labels; received non-integer values.")
    flat_labels = labels.reshape(-1).astype(np.intp)
    if flat_labels.size and (flat_labels.min() < 0 or flat_labels.max() >= classes):
        raise ValueError(
            f"{owner} expects class labels in [0, {classes - 1}]; received labels from "
            f"{flat_labels.min()} to {flat_labels.max()}."
        )
    preds = y_pred.reshape(-1, classes)
    kth_largest = np.partition(preds, classes - k, axis=-1)[:, classes - k]
    hits = preds[np.arange(len(preds)), flat_labels] >= kth_largest
    return hits.reshape(labels.shape).astype(floatx())


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> np.ndarray:
    """Per sample, whether the target class is among the ``k`` largest predictions.

    Ties with the ``k``-th largest prediction count as hits, as in Keras.

    Examples:
        >>> top_k_categorical_accuracy(np.eye(3)[[2, 0]], np.array([[0.5, 0.2, 0.3], [0.1, 0.6, 0.3]]), k=2)
        array([1., 0.], dtype=float32)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_shapes("top_k_categorical_accuracy", y_true, y_pred, y_pred.shape, "one-hot targets",
                  "For integer class labels use sparse_top_k_categorical_accuracy.")
    return _in_top_k("top_k_categorical_accuracy", np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5,
                                      from_sorted_ids: bool = False) -> np.ndarray:
    """Per sample, whether the integer label is among the ``k`` largest predictions.

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted from the most to
    the least likely, and a hit means the label is among the first ``k``.

    Examples:
        >>> sparse_top_k_categorical_accuracy(np.array([2, 0]), np.array([[0.5, 0.2, 0.3], [0.1, 0.6, 0.3]]), k=2)
        array([1., 0.], dtype=float32)
    """
    owner = "sparse_top_k_categorical_accuracy"
    y_pred = np.asarray(y_pred)
    labels = _labels(owner, np.asarray(y_true), y_pred)
    if from_sorted_ids:
        return (y_pred[..., :k] == labels[..., None]).any(axis=-1).astype(floatx())
    return _in_top_k(owner, labels, y_pred, k)


for _fn in (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
            top_k_categorical_accuracy, sparse_top_k_categorical_accuracy):
    FUNCTIONS[_fn.__name__] = _fn


@register("accuracy")
class Accuracy(MeanMetricWrapper):
    """How often predictions equal the targets exactly.

    ``metrics=["accuracy"]`` in ``compile`` does not mean this class: there the name
    picks binary, categorical or sparse categorical accuracy from the data's shapes.

    Examples:
        >>> m = Accuracy()
        >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        >>> m.result()
        0.75
    """

    default_name = "accuracy"

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return accuracy(y_true, y_pred)


@register("binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches 0/1 targets.

    Args:
        name: Name in logs. Defaults to ``"binary_accuracy"``.
        dtype: Float type of the computations.
        threshold: Predictions above it count as 1. Defaults to ``0.5``.

    Examples:
        >>> m = BinaryAccuracy()
        >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        >>> m.result()
        0.75
    """

    default_name = "binary_accuracy"

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise TypeError(f"BinaryAccuracy expects `threshold` to be a number. Received: threshold={threshold!r}.")
        self.threshold = threshold
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return binary_accuracy(y_true, y_pred, self.threshold)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


@register("categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the one-hot target's class.

    Examples:
        >>> m = CategoricalAccuracy()
        >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    default_name = "categorical_accuracy"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return categorical_accuracy(y_true, y_pred)


@register("sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the integer label.

    Examples:
        >>> m = SparseCategoricalAccuracy()
        >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    default_name = "sparse_categorical_accuracy"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return sparse_categorical_accuracy(y_true, y_pred)


@register("top_k_categorical_accuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target's class is among the ``k`` largest predictions.

    Args:
        k: How many of the largest predictions count. Defaults to ``5``.
        name: Name in logs. Defaults to ``"top_k_categorical_accuracy"``.
        dtype: Float type of the computations.

    Examples:
        >>> m = TopKCategoricalAccuracy(k=1)
        >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    default_name = "top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        self.k = check_positive_int("TopKCategoricalAccuracy", "k", k)
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return top_k_categorical_accuracy(y_true, y_pred, self.k)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


@register("sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` largest predictions.

    Args:
        k: How many of the largest predictions count. Defaults to ``5``.
        name: Name in logs. Defaults to ``"sparse_top_k_categorical_accuracy"``.
        dtype: Float type of the computations.
        from_sorted_ids: Whether ``y_pred`` holds class ids sorted by score instead
            of one score per class. Defaults to ``False``.

    Examples:
        >>> m = SparseTopKCategoricalAccuracy(k=1)
        >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    default_name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None,
                 from_sorted_ids: bool = False) -> None:
        self.k = check_positive_int("SparseTopKCategoricalAccuracy", "k", k)
        self.from_sorted_ids = bool(from_sorted_ids)
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return sparse_top_k_categorical_accuracy(y_true, y_pred, self.k, self.from_sorted_ids)

    def get_config(self):
        config = {**super().get_config(), "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
