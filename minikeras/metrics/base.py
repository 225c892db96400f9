"""The metric base classes: state that batches update, and a result read from it.

A metric follows Keras's protocol: ``update_state(y_true, y_pred, sample_weight=None)``
adds a batch, ``result()`` reads the value, ``reset_state()`` forgets everything and
``get_config()`` returns the constructor arguments in Keras's schema.

Example:
    >>> m = Mean()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> m.result()
    2.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras import losses
from minikeras._registry import Registry
from minikeras._validation import shape_str
from minikeras.backend.config import standardize_dtype
from minikeras.backend.naming import to_snake_case, unique_name

_registry = Registry("metric", "keras.metrics")
register = _registry.register

# Functions usable as metrics, by name (filled by the modules that define them).
FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {}


class Metric:
    """Base class of every metric.

    Subclasses implement :meth:`update_state`, :meth:`result` and :meth:`reset_state`.

    Args:
        name: Name in logs and ``History``. Defaults to the class's default name, or,
            for classes without one (``Precision``, ``AUC``, ...), to the snake_case
            class name made unique as Keras does: ``precision``, ``precision_1``, ...
        dtype: Float type of the computations. Defaults to ``backend.floatx()``.

    Examples:
        >>> class Count(Metric):
        ...     def reset_state(self):
        ...         self.n = 0
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.n += len(y_true)
        ...     def result(self):
        ...         return float(self.n)
        >>> m = Count(name="count")
        >>> m.update_state([1, 2], [1, 2])
        >>> m.result()
        2.0
    """

    default_name: str | None = None
    direction = "max"

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__} expects `name` to be a string. Received: name={name!r}.")
        self.name = name or self.default_name or unique_name(to_snake_case(type(self).__name__))
        self.dtype = standardize_dtype(dtype)
        self.reset_state()

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Adds one batch to the state."""
        raise NotImplementedError

    def result(self) -> Any:
        """Returns the current value."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Forgets every batch seen so far."""
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Adds a batch and returns the result, as ``keras.metrics.Metric.__call__`` does."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """Builds the metric from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


@register("mean")
class Mean(Metric):
    """The weighted mean of all values seen: ``sum(w * v) / sum(w)``.

    Values with more than one axis are first averaged per sample (over all axes but
    the first), as Keras does; ``sample_weight`` may be per sample, per element or a
    scalar. ``result()`` is 0.0 while the total weight is 0.

    Examples:
        >>> m = Mean()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.result()
        4.0
    """

    default_name = "mean"
    direction = "min"

    def reset_state(self) -> None:
        self._total = 0.0
        self._count = 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Adds ``values`` (optionally weighted) to the running mean."""
        values = np.asarray(values, dtype=np.float64)
        if sample_weight is None:
            if values.ndim > 1:
                values = values.reshape(values.shape[0], -1).mean(axis=1)
            self._total += float(values.sum())
            self._count += float(values.shape[0]) if values.ndim else 1.0
            return
        total, count = weighted_sums(values, sample_weight, self.name)
        self._total += total
        self._count += count

    def result(self) -> float:
        return self._total / self._count if self._count else 0.0


def weighted_sums(values: np.ndarray, sample_weight: Any, owner: str) -> tuple[float, float]:
    """Returns ``(sum(w * v), sum(w))`` with Keras's rules for matching shapes.

    The weights and values are brought to the same rank (a trailing axis of size 1 is
    squeezed or added), values are averaged over the axes the weights lack, then the
    weights are broadcast to the values.

    Examples:
        >>> weighted_sums(np.array([[1.0, 3.0], [5.0, 7.0]]), [2.0, 1.0], "m")
        (10.0, 3.0)
    """
    w = np.asarray(sample_weight, dtype=np.float64)
    values, w = same_rank(values, w)
    if values.ndim > w.ndim:
        values = values.mean(axis=tuple(range(w.ndim, values.ndim)))
    try:
        w_full = np.broadcast_to(w, values.shape)
    except ValueError:
        raise ValueError(
            f"Metric '{owner}' received sample_weight of shape {shape_str(np.shape(sample_weight))}, which does "
            f"not match values of shape {shape_str(values.shape)}. Pass one weight per sample, shape "
            f"({values.shape[0] if values.ndim else 1},)."
        ) from None
    weighted = values * w_full
    if weighted.ndim > 1:
        weighted = weighted.mean(axis=tuple(range(1, weighted.ndim)))
    if w.ndim > 1:
        w_full = w_full.mean(axis=tuple(range(1, w.ndim)))
    return float(weighted.sum()), float(w_full.sum())


def same_rank(x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Squeezes or adds a trailing axis of size 1 when the ranks differ by exactly one (Keras's rule).

    Examples:
        >>> [a.shape for a in same_rank(np.zeros((4, 1)), np.zeros(4))]
        [(4, 1), (4, 1)]
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


@register()
class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred)`` over all samples seen.

    Subclasses override :meth:`values` instead of passing ``fn``.

    Args:
        fn: A function returning one value per sample (or per element), or the name
            of a metric or loss function such as ``"binary_accuracy"`` or ``"mse"``.
        name: Name in logs.
        dtype: Float type of the computations.
        **kwargs: Extra keyword arguments for ``fn``.

    Examples:
        >>> def absolute_error(y_true, y_pred):
        ...     return np.abs(y_true - y_pred)
        >>> m = MeanMetricWrapper(absolute_error, name="ae")
        >>> m.update_state(np.array([1.0, 2.0]), np.array([2.0, 2.0]))
        >>> m.result()
        0.5
    """

    def __init__(self, fn: Any = None, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if fn is not None:
            fn = resolve_function(fn)
        self._fn = fn
        self._fn_kwargs = kwargs
        if name is None and fn is not None:
            name = to_snake_case(getattr(fn, "__name__", "")) or None
        if getattr(fn, "_minikeras_loss", None) is not None:
            self.direction = "min"
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Returns the per-sample (or per-element) values of one batch."""
        if self._fn is None:
            raise NotImplementedError(f"{type(self).__name__} needs `fn` or a `values` method.")
        return np.asarray(self._fn(y_true, y_pred, **self._fn_kwargs))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds the values of one batch to the running mean."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.shape[:1] != y_pred.shape[:1]:
            raise ValueError(
                f"Metric '{self.name}' received y_true of shape {shape_str(y_true.shape)} and y_pred of shape "
                f"{shape_str(y_pred.shape)}: they must have the same number of samples (first dimension)."
            )
        super().update_state(self.values(y_true, y_pred), sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", None)
            config.update(self._fn_kwargs)
        return config


def resolve_function(fn: Any) -> Callable[..., Any]:
    """Returns ``fn``, looking names up among the metric and loss functions.

    Raises:
        ValueError: For a name that is neither.

    Examples:
        >>> resolve_function("categorical_accuracy").__name__
        'categorical_accuracy'
    """
    if callable(fn):
        return fn
    if isinstance(fn, str):
        if fn in FUNCTIONS:
            return FUNCTIONS[fn]
        if fn in losses.names():
            loss = losses.get(fn)

            def loss_fn(y_true: Any, y_pred: Any) -> np.ndarray:
                y_pred = np.asarray(y_pred)
                return loss.call(loss.prepare_targets(y_true, y_pred), y_pred)

            loss_fn.__name__ = fn
            loss_fn._minikeras_loss = type(loss)  # type: ignore[attr-defined]
            return loss_fn
    raise ValueError(
        f"MeanMetricWrapper expects `fn` to be a function of (y_true, y_pred) or the name of a metric or "
        f"loss function. Received: fn={fn!r}. Known function names: {', '.join(sorted(FUNCTIONS))}."
    )


def div_no_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` with 0 where ``b`` is 0 (Keras's ``divide_no_nan``).

    Examples:
        >>> div_no_nan(np.array([1.0, 1.0]), np.array([2.0, 0.0]))
        array([0.5, 0. ])
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    np.divide(a, b, out=out, where=b != 0)
    return out


def as_result(value: np.ndarray) -> Any:
    """A Python float for one value, else the array of values.

    Examples:
        >>> as_result(np.array([0.25]))
        0.25
    """
    value = np.asarray(value, dtype=np.float64)
    return float(value.reshape(())) if value.size == 1 and value.ndim <= 1 else value
