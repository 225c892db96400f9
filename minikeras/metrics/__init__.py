"""Metrics: running summaries of predictions, reported in logs and ``History``.

``compile(metrics=[...])`` accepts names, metric objects, metric classes and
functions ``fn(y_true, y_pred)``. ``"accuracy"``/``"acc"`` is resolved from the shapes
of targets and predictions, as Keras 3 does: a single output unit means binary
accuracy, integer labels mean sparse categorical accuracy, anything else categorical
accuracy. Every loss name is also a metric (the mean of that loss). The name in logs
is the string given.

Metrics in ``metrics`` ignore sample weights; metrics in ``weighted_metrics`` use
them (``sum(w * v) / sum(w)``).

Example:
    >>> m = CategoricalAccuracy()
    >>> m.update_state(np.array([[0, 1], [1, 0]]), np.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> m.result()
    0.5
"""

from __future__ import annotations

from typing import Any

from minikeras import losses
from minikeras.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_crossentropy,
)
from minikeras.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from minikeras.metrics.base import Mean, MeanMetricWrapper, Metric, _registry, register
from minikeras.metrics.compile_metrics import CompileMetrics, check, known_names, resolve
from minikeras.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from minikeras.metrics.loss_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    LossMetric,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)

mse = mean_squared_error
mae = mean_absolute_error


def get(identifier: Any) -> Any:
    """Returns a metric for a name, a config dict or an object, like ``keras.metrics.get``.

    Names are looked up as written (``"precision"``, ``"Precision"``, ``"mse"``); a
    loss name without a metric class gives a :class:`LossMetric`. Objects and
    functions are returned unchanged.

    Raises:
        ValueError: For an unknown name, listing the valid ones.

    Examples:
        >>> get("auc").curve
        'ROC'
        >>> get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.2}}).threshold
        0.2
    """
    if isinstance(identifier, str):
        if identifier in _registry:
            return _registry.get(identifier)
        if identifier in losses.names():
            return LossMetric(identifier, name=identifier)
        check(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    return identifier


def serialize(metric: Metric) -> dict[str, Any]:
    """Serializes a metric to Keras's schema ``{module, class_name, config, registered_name}``.

    Examples:
        >>> serialize(Recall(name="r"))["config"]
        {'name': 'r', 'dtype': 'float32', 'thresholds': None, 'top_k': None, 'class_id': None}
    """
    return _registry.serialize(metric)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Metric:
    """Builds a metric from :func:`serialize` output (or Keras's).

    Examples:
        >>> deserialize(serialize(AUC(curve="PR", name="pr_auc"))).name
        'pr_auc'
    """
    return _registry.deserialize(config, custom_objects)


def names() -> list[str]:
    """Returns every registered metric name and alias.

    Examples:
        >>> "sparse_top_k_categorical_accuracy" in names()
        True
    """
    return _registry.names()


__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "CategoricalHinge", "CompileMetrics", "CosineSimilarity", "FalseNegatives",
    "FalsePositives", "Hinge", "KLDivergence", "LogCoshError", "LossMetric", "Mean", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredLogarithmicError",
    "Metric", "Poisson", "Precision", "Recall", "SquaredHinge",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "accuracy", "binary_accuracy",
    "binary_crossentropy", "categorical_accuracy", "categorical_crossentropy", "check", "deserialize", "get",
    "known_names", "mae", "mean_absolute_error", "mean_squared_error", "mse", "names", "register", "resolve",
    "serialize", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy",
]
