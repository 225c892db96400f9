"""Metrics: running averages over the samples seen since the last reset.

``compile(metrics=["accuracy"])`` resolves ``"accuracy"``/``"acc"`` from the shapes
of targets and predictions, as Keras 3 does: a single output unit means binary
accuracy, integer labels mean sparse categorical accuracy, anything else
categorical accuracy. The name in logs and ``History`` is the string given.

Example:
    >>> import numpy as np
    >>> m = CategoricalAccuracy()
    >>> m.update_state(np.array([[0, 1], [1, 0]]), np.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> m.result()
    0.5
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

from minikeras import losses
from minikeras._registry import Registry

_registry = Registry("metric", "keras.metrics")
register = _registry.register


class Metric:
    """Base class: a weighted running mean of per-sample values.

    Subclasses implement :meth:`values`, which returns one value per sample.

    Args:
        name: Name in logs. Defaults to the metric's snake_case name.
    """

    default_name = "metric"
    direction = "max"

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        self.name = name or self.default_name
        self.reset_state()

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Returns the per-sample metric values, shape ``(N,)``."""
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds a batch to the running mean."""
        v = self.values(np.asarray(y_true), np.asarray(y_pred))
        if sample_weight is None:
            self._total += float(v.sum(dtype=np.float64))
            self._count += v.shape[0]
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(v.shape[0])
            self._total += float(np.dot(w, v))
            self._count += float(w.sum())

    def result(self) -> float:
        """Returns the running mean (0.0 before any update)."""
        return self._total / self._count if self._count else 0.0

    def reset_state(self) -> None:
        """Forgets everything seen so far."""
        self._total = 0.0
        self._count = 0.0

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """Builds the metric from :meth:`get_config` output."""
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


@register("binary_accuracy")
class BinaryAccuracy(Metric):
    """Fraction of predictions on the right side of ``threshold``."""

    default_name = "binary_accuracy"

    def __init__(self, name: str | None = None, dtype: Any = None, threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(name)

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim - 1:
            y_true = y_true[..., None]
        hits = (y_true == (y_pred > self.threshold)).reshape(len(y_pred), -1)
        return hits.mean(axis=-1)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


@register("categorical_accuracy")
class CategoricalAccuracy(Metric):
    """Fraction of samples whose largest prediction is at the target's largest entry."""

    default_name = "categorical_accuracy"

    def values(self, y_true, y_pred):
        return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


@register("sparse_categorical_accuracy")
class SparseCategoricalAccuracy(Metric):
    """Fraction of samples whose largest prediction is at the integer label."""

    default_name = "sparse_categorical_accuracy"

    def values(self, y_true, y_pred):
        labels = y_true.reshape(len(y_pred))
        return (labels == np.argmax(y_pred, axis=-1)).astype(np.float64)


class LossMetric(Metric):
    """A loss used as a metric (e.g. ``metrics=["mse"]``); lower is better."""

    direction = "min"

    def __init__(self, loss: losses.Loss | str = "mean_squared_error", name: str | None = None, dtype: Any = None) -> None:
        self.loss = losses.get(loss)
        super().__init__(name or self.loss.fn_name)

    def values(self, y_true, y_pred):
        return self.loss.call(self.loss.prepare_targets(y_true, y_pred), y_pred)

    def get_config(self):
        return {"name": self.name, "loss": losses.serialize(self.loss)}


def resolve(identifier: Any, y_shape: tuple[int, ...], output_shape: tuple[int | None, ...]) -> Metric:
    """Turns a ``compile(metrics=...)`` entry into a metric, given the data shapes.

    ``"accuracy"`` and ``"acc"`` follow Keras 3's shape rules; loss names become
    loss metrics; the metric keeps the name given.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"Expected a metric name or a minikeras.metrics.Metric; received {identifier!r}.")
    if identifier in ("accuracy", "acc"):
        width = output_shape[-1]
        if width == 1:
            return BinaryAccuracy(name=identifier)
        if len(y_shape) < len(output_shape) or (y_shape[-1] == 1 and (width or 2) > 1):
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if identifier in _registry:
        metric = _registry.get(identifier)
        metric.name = identifier
        return metric
    if identifier in losses.names():
        return LossMetric(identifier, name=identifier)
    known = sorted(set(_registry.names()) | set(losses.names()) | {"accuracy", "acc"})
    close = difflib.get_close_matches(identifier, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"Unknown metric {identifier!r}.{hint} Known metric names: {', '.join(known)}.")


def check(identifier: Any) -> None:
    """Raises early, at ``compile`` time, for a metric name that cannot resolve."""
    if isinstance(identifier, str) and identifier not in ("accuracy", "acc"):
        resolve(identifier, (1, 1), (None, 1))
    elif not isinstance(identifier, (str, Metric)):
        resolve(identifier, (1, 1), (None, 1))


__all__ = [
    "BinaryAccuracy", "CategoricalAccuracy", "LossMetric", "Metric", "SparseCategoricalAccuracy",
    "check", "register", "resolve",
]
