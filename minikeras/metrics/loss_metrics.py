"""Losses as metrics: the running, optionally weighted, mean of a per-sample loss.

The classes carry Keras's metric names and configs (``keras.metrics.MeanSquaredError``
and so on). Any other loss name given to ``compile(metrics=...)`` becomes a
:class:`LossMetric` of that loss. Lower is better for all of them.

Example:
    >>> m = MeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> m.result()
    0.25
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import losses
from minikeras.metrics.base import MeanMetricWrapper, register


@register()
class LossMetric(MeanMetricWrapper):
    """The mean of any :class:`~minikeras.losses.Loss` over the samples seen.

    Args:
        loss: A loss name, config or instance. Defaults to ``"mean_squared_error"``.
        name: Name in logs. Defaults to the loss's function name.
        dtype: Float type of the computations.

    Examples:
        >>> m = LossMetric("mae", name="mae")
        >>> m.update_state(np.array([[1.0], [2.0]]), np.array([[2.0], [2.0]]))
        >>> m.result()
        0.5
    """

    direction = "min"

    def __init__(self, loss: Any = "mean_squared_error", name: str | None = None, dtype: Any = None) -> None:
        self.loss = losses.get(loss)
        super().__init__(name=name or self.loss.fn_name, dtype=dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(self.dtype)
        try:
            self.loss.check_targets(y_true.shape, y_true.dtype, y_pred.shape)
            if hasattr(self.loss, "check_values"):
                self.loss.check_values(y_true, int(y_pred.shape[-1]))
        except ValueError as err:
            raise ValueError(f"Metric '{self.name}': {err}") from None
        return self.loss.call(self.loss.prepare_targets(y_true, y_pred), y_pred)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "loss": losses.serialize(self.loss)}


@register("mean_squared_error", "mse", "MSE")
class MeanSquaredError(LossMetric):
    """Mean squared error over the last axis, averaged over samples.

    Examples:
        >>> m = MeanSquaredError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0])
        >>> m.result()
        0.5
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(losses.MeanSquaredError(), name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@register("mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(LossMetric):
    """Mean absolute error over the last axis, averaged over samples.

    Examples:
        >>> m = MeanAbsoluteError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> m.result()
        0.25
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(losses.MeanAbsoluteError(), name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@register("binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(LossMetric):
    """Binary cross-entropy, averaged over samples.

    Args:
        name: Name in logs. Defaults to ``"binary_crossentropy"``.
        dtype: Float type of the computations.
        from_logits: Whether predictions are logits.
        label_smoothing: Squeezes targets towards 0.5.

    Examples:
        >>> m = BinaryCrossentropy()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(m.result(), 4)
        0.8149
    """

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0) -> None:
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        super().__init__(losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing),
                         name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


@register("categorical_crossentropy")
class CategoricalCrossentropy(LossMetric):
    """Categorical cross-entropy of one-hot targets, averaged over samples.

    Args:
        name: Name in logs. Defaults to ``"categorical_crossentropy"``.
        dtype: Float type of the computations.
        from_logits: Whether predictions are logits.
        label_smoothing: Mixes targets with the uniform distribution.
        axis: The class axis; only ``-1`` is supported.

    Examples:
        >>> m = CategoricalCrossentropy()
        >>> m.update_state([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        >>> round(m.result(), 4)
        1.1769
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1) -> None:
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        loss = losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        super().__init__(loss, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(LossMetric):
    """Categorical cross-entropy of integer labels, averaged over samples.

    Args:
        name: Name in logs. Defaults to ``"sparse_categorical_crossentropy"``.
        dtype: Float type of the computations.
        from_logits: Whether predictions are logits.
        ignore_class: A label whose samples are left out, or ``None``.
        axis: The class axis; only ``-1`` is supported.

    Examples:
        >>> m = SparseCategoricalCrossentropy()
        >>> m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        >>> round(m.result(), 4)
        1.1769
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 ignore_class: int | None = None, axis: int = -1) -> None:
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
        loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        super().__init__(loss, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class _NamedLossMetric(LossMetric):
    """A Keras metric class that is the mean of one loss, configured by name and dtype only."""

    loss_name = ""

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(self.loss_name, name=name or self.default_name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@register("mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(_NamedLossMetric):
    """Mean absolute percentage error, ``100 * mean(|y - p| / max(|y|, eps))``, over samples.

    Examples:
        >>> MeanAbsolutePercentageError()([[1.0, 2.0]], [[1.5, 2.0]])
        25.0
    """

    loss_name = default_name = "mean_absolute_percentage_error"


@register("mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(_NamedLossMetric):
    """Mean squared logarithmic error, ``mean((log(p + 1) - log(y + 1))^2)``, over samples.

    Examples:
        >>> round(MeanSquaredLogarithmicError()([[0.0, 1.0]], [[1.0, 1.0]]), 4)
        0.2402
    """

    loss_name = default_name = "mean_squared_logarithmic_error"


@register("hinge")
class Hinge(_NamedLossMetric):
    """Hinge loss, ``mean(max(1 - y p, 0))`` (0/1 targets mapped to -1/1), over samples.

    Examples:
        >>> Hinge()([[1.0, -1.0]], [[0.5, 0.5]])
        1.0
    """

    loss_name = default_name = "hinge"


@register("squared_hinge")
class SquaredHinge(_NamedLossMetric):
    """Squared hinge loss, ``mean(max(1 - y p, 0)^2)``, over samples.

    Examples:
        >>> SquaredHinge()([[1.0, -1.0]], [[0.5, 0.5]])
        1.25
    """

    loss_name = default_name = "squared_hinge"


@register("categorical_hinge")
class CategoricalHinge(_NamedLossMetric):
    """Categorical hinge loss, ``max(max((1 - y) p) - sum(y p) + 1, 0)``, over samples.

    Examples:
        >>> CategoricalHinge()([[0.0, 1.0]], [[0.6, 0.4]])
        1.2
    """

    loss_name = default_name = "categorical_hinge"


@register("kl_divergence")
class KLDivergence(_NamedLossMetric):
    """Kullback-Leibler divergence, ``sum(y log(y / p))``, over samples.

    Examples:
        >>> round(KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]]), 4)
        0.1438
    """

    loss_name = default_name = "kl_divergence"


@register("poisson")
class Poisson(_NamedLossMetric):
    """Poisson loss, ``mean(p - y log(p + eps))``, over samples.

    Examples:
        >>> round(Poisson()([[1.0, 0.0]], [[1.0, 2.0]]), 4)
        1.5
    """

    loss_name = default_name = "poisson"


@register("log_cosh_error")
class LogCoshError(_NamedLossMetric):
    """Mean of ``log(cosh(p - y))`` over the last axis, over samples (the loss ``log_cosh``).

    Examples:
        >>> round(LogCoshError()([[0.0, 0.0]], [[1.0, 0.0]]), 4)
        0.2169
    """

    loss_name = "log_cosh"
    default_name = "log_cosh_error"


@register("cosine_similarity")
class CosineSimilarity(LossMetric):
    """Cosine similarity of targets and predictions, ``sum(y / |y| * p / |p|)``; higher is better.

    As in Keras, the metric is the cosine itself, the negative of the loss
    ``cosine_similarity``.

    Args:
        name: Name in logs. Defaults to ``"cosine_similarity"``.
        dtype: Float type of the computations.
        axis: The axis along which the vectors lie. Defaults to ``-1``.

    Examples:
        >>> CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [2.0, 2.0]]) > 0.85
        True
    """

    direction = "max"

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        self.axis = axis
        super().__init__(losses.get({"class_name": "CosineSimilarity", "config": {"axis": axis}}), name=name,
                         dtype=dtype)

    def values(self, y_true, y_pred):
        return -super().values(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
