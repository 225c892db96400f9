"""Loss functions: each gives the loss value and its gradient.

A loss computes one value per sample (for outputs with more than two axes, one value
per position, as Keras does) and reduces them as Keras 3 does. The default reduction,
``"sum_over_batch_size"``, is ``sum(w_i * l_i) / N`` over a batch of ``N`` values
(``w_i = 1`` without sample weights; note the division by ``N``, not by ``sum(w)``).
:meth:`Loss.gradient` returns ``dL/dy_pred`` of the reduced value.

Every built-in loss has Keras 3's formula, its clipping with ``eps = 1e-7``
(:func:`minikeras.backend.epsilon`) and a closed-form gradient. When the model's
output activation is the loss's natural partner (softmax for categorical
cross-entropy, sigmoid for binary cross-entropy), :meth:`Loss.logits_gradient`
gives the gradient with respect to the logits directly, ``a - y``, which stays
finite however large the logits are.

Any function ``f(y_true, y_pred)`` that returns one loss per sample can be used as a
loss too (``compile(loss=f)``); its gradient is computed numerically (see
:class:`LossFunctionWrapper`).

Example:
    >>> import numpy as np
    >>> from minikeras import losses
    >>> float(losses.get("mse")(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]])))
    2.0
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras import activations
from minikeras._registry import Registry
from minikeras._validation import shape_str
from minikeras.backend import config as _config

_registry = Registry("loss", "keras.losses")
register = _registry.register

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

# Keras 2 names that Keras 3 dropped; they resolve with a DeprecationWarning.
_LEGACY_NAMES = {
    "logcosh": "log_cosh",
    "kullback_leibler_divergence": "kl_divergence",
    "huber_loss": "huber",
    "cosine_proximity": "cosine_similarity",
    "cosine": "cosine_similarity",
}

# Central differences in float64: a step of cbrt(machine epsilon) (about 6e-6),
# relative to the value, balances truncation and round-off errors.
_STEP = float(np.finfo(np.float64).eps) ** (1.0 / 3.0)


class Loss:
    """Base class of every loss.

    Subclass it and implement :meth:`call`, which returns one loss per sample
    (shape ``(N,)``). Implement :meth:`per_sample_gradient` for an exact gradient;
    without it the gradient is computed by central differences of :meth:`call`.

    Args:
        name: Name of the loss. Defaults to the loss's function name.
        reduction: How the per-sample losses ``l`` and sample weights ``w`` become one
            number: ``"sum_over_batch_size"`` (the default) and ``"mean"`` give
            ``sum(w * l) / N``, ``"sum"`` gives ``sum(w * l)``,
            ``"mean_with_sample_weight"`` gives ``sum(w * l) / sum(w)``, and ``"none"``
            (or ``None``) returns the weighted losses ``w * l`` themselves (for
            inspection only: training needs one number).
        dtype: Float type of the computation, e.g. ``"float64"``. Defaults to the
            type of the predictions.

    Examples:
        >>> class AbsoluteCube(mk.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return np.mean(np.abs(y_pred - y_true) ** 3, axis=-1)
        >>> loss = AbsoluteCube()
        >>> y_true, y_pred = np.zeros((2, 1)), np.array([[1.0], [2.0]])
        >>> loss(y_true, y_pred)
        4.5
        >>> np.round(loss.gradient(y_true, y_pred), 6)
        array([[1.5], [6. ]])
    """

    fn_name = "loss"
    default_name: str | None = None
    target_kind = "dense"

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if reduction == "auto":
            warnings.warn(
                "reduction='auto' is a Keras 2 setting; Keras 3 calls it 'sum_over_batch_size'. "
                "Use reduction='sum_over_batch_size'.",
                DeprecationWarning, stacklevel=3,
            )
            reduction = "sum_over_batch_size"
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__} expects `reduction` to be one of 'sum_over_batch_size', 'sum', "
                f"'mean', 'mean_with_sample_weight', 'none' or None. Received: reduction={reduction!r}."
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__} expects `name` to be a string. Received: name={name!r}.")
        if dtype is not None:
            standard = _config.standardize_dtype(dtype)
            if np.dtype(standard).kind != "f":
                raise ValueError(
                    f"{type(self).__name__} expects a float `dtype` such as 'float32' or 'float64'. "
                    f"Received: dtype={dtype!r}."
                )
            dtype = standard
        self.name = name or self.default_name or self.fn_name
        self.reduction = reduction
        self.dtype = dtype

    # -- per-sample values and gradients ----------------------------------------------
    def call(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Returns the per-sample losses, shape ``(N,)``, for targets from :meth:`prepare_targets`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(y_true, y_pred), returning one loss per "
            "sample (an array of shape (N,))."
        )

    def per_sample_gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Returns ``d l_i / d y_pred`` for each sample, shape of ``y_pred``.

        This default computes central differences of :meth:`call` in float64, one
        output column at a time (``2 * K`` calls for ``K`` outputs per sample).
        """
        return _numeric_gradient(self._elements, y_true, y_pred)

    def prepare_targets(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Brings ``y_true`` to the layout :meth:`call` expects.

        As in Keras, targets one axis short of the predictions gain a last axis when
        the predictions' last axis has size 1, and a trailing axis of size 1 too many
        is dropped. Targets are cast to the predictions' float type.
        """
        return _align_rank(np.asarray(y_true), y_pred).astype(y_pred.dtype, copy=False)

    # -- reduced values ---------------------------------------------------------------
    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """Returns the reduced loss (a float), or the weighted losses for ``reduction="none"``.

        Args:
            y_true: Targets.
            y_pred: Predictions, ``(N, ...)``.
            sample_weight: ``(N,)`` weights (one per sample), a scalar, or one weight
                per loss value.
        """
        p = self._predictions(y_pred)
        y = self.prepare_targets(y_true, p)
        values = self._elements(y, p)
        weights, divisor = self._weights(values.shape, sample_weight, self._mask(y, p))
        if self.reduction in (None, "none"):
            return values if weights is None else (values * weights).astype(values.dtype, copy=False)
        if weights is None:
            total = float(values.sum())
        else:
            total = float(np.sum(values * weights.astype(values.dtype, copy=False)))
        return total / divisor if divisor else 0.0

    def gradient(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> np.ndarray:
        """Returns ``dL/dy_pred`` of the reduced loss, in the type of ``y_pred``.

        Raises:
            ValueError: For ``reduction="none"``, which gives no single number.
        """
        self._require_single_value("gradient() needs")
        original = np.asarray(y_pred)
        p = self._predictions(original)
        y = self.prepare_targets(y_true, p)
        grad = self._weighted_gradient(y, p, self._gradient_scale(y, p, sample_weight))
        return _as_type_of(grad, original)

    def logits_gradient(self, y_true: Any, y_pred: np.ndarray, activation: activations.Activation,
                        sample_weight: Any = None) -> np.ndarray | None:
        """Returns ``dL/dz`` for ``y_pred = activation(z)``, or ``None`` if not fused.

        Only pairs with a simple closed form are fused; for all others the caller
        chains :meth:`gradient` through the activation's backward pass.
        """
        return None

    def check_targets(self, y_shape: tuple[int, ...], y_dtype: np.dtype, output_shape: tuple[int | None, ...]) -> None:
        """Raises ``ValueError`` if targets of this shape do not fit this loss."""
        self._require_single_value("fit() and evaluate() need")
        received = tuple(y_shape)
        expected = tuple(output_shape)
        y_shape = received
        if len(y_shape) == len(expected) - 1:
            y_shape = y_shape + (1,)
        if len(y_shape) != len(expected) or y_shape[1:] != expected[1:]:
            raise ValueError(
                f"Loss '{self.name}' expects targets shaped like the model output "
                f"{shape_str(expected)}, but received targets of shape {shape_str(received)}. "
                "Give y one column per model output, or change the units of the last layer."
            )

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Builds the loss from :meth:`get_config` output."""
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # -- machinery shared by every loss -----------------------------------------------
    def _predictions(self, y_pred: Any) -> np.ndarray:
        p = np.asarray(y_pred)
        dtype = self.dtype or (p.dtype if p.dtype.kind == "f" else _config.floatx())
        return p.astype(dtype, copy=False)

    def _elements(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The unreduced loss values (one per sample here)."""
        return _per_sample(self.call(y, p), p, self.name)

    def _element_shape(self, y: np.ndarray, p: np.ndarray) -> tuple[int, ...]:
        return p.shape[:1]

    def _mask(self, y: np.ndarray, p: np.ndarray) -> np.ndarray | None:
        """Loss values to leave out (``False``), or ``None`` to keep all."""
        return None

    def _weighted_gradient(self, y: np.ndarray, p: np.ndarray, scale: Any) -> np.ndarray:
        """``sum_i scale_i * d l_i / dp`` for one scale per loss value (or one for all)."""
        grad = np.array(self.per_sample_gradient(y, p), dtype=p.dtype)
        if grad.shape != p.shape:
            raise ValueError(
                f"{type(self).__name__}.per_sample_gradient() returned shape {shape_str(grad.shape)}; "
                f"it must return one derivative per prediction, shape {shape_str(p.shape)}."
            )
        if np.ndim(scale) == 0:
            grad *= grad.dtype.type(scale)
        else:
            grad *= np.asarray(scale, dtype=grad.dtype).reshape(p.shape[:1] + (1,) * (p.ndim - 1))
        return grad

    def _weights(self, shape: tuple[int, ...], sample_weight: Any,
                 mask: np.ndarray | None) -> tuple[np.ndarray | None, float]:
        """Per-value weights (``None`` for all ones) and the divisor of ``sum(w * l)``."""
        if sample_weight is None and mask is None:
            return None, (1.0 if self.reduction == "sum" else float(math.prod(shape)))
        weights = None if sample_weight is None else _broadcast_weights(sample_weight, shape, self.name)
        if mask is not None:
            m = mask.astype(np.float64)
            if self.reduction in ("sum_over_batch_size", "mean"):
                # As in Keras: left-out values do not count in the batch size.
                valid = m.sum()
                m *= m.size / valid if valid else 0.0
            weights = m if weights is None else weights * m
        if self.reduction == "sum":
            divisor = 1.0
        elif self.reduction == "mean_with_sample_weight" and weights is not None:
            # Keras divides by the sum of the weights as given (after merging any mask).
            divisor = float(weights.sum())
        else:
            divisor = float(math.prod(shape))
        return weights, divisor

    def _gradient_scale(self, y: np.ndarray, p: np.ndarray, sample_weight: Any) -> Any:
        weights, divisor = self._weights(self._element_shape(y, p), sample_weight, self._mask(y, p))
        if not divisor:
            return 0.0
        return 1.0 / divisor if weights is None else weights / divisor

    def _require_single_value(self, needs: str) -> None:
        if self.reduction in (None, "none"):
            raise ValueError(
                f"Loss '{self.name}' has reduction={self.reduction!r}, which gives one value per sample, "
                f"but {needs} a single number per batch. Use reduction='sum_over_batch_size' "
                "(the default), 'sum', 'mean' or 'mean_with_sample_weight'."
            )


# -- helpers ------------------------------------------------------------------------------
def _align_rank(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Keras's rule: expand or squeeze a trailing axis of size 1 when ranks differ by one."""
    if y.ndim == p.ndim - 1 and p.shape[-1] == 1:
        return y[..., None]
    if y.ndim == p.ndim + 1 and y.shape[-1] == 1:
        return y[..., 0]
    return y


def _per_sample(values: Any, p: np.ndarray, name: str) -> np.ndarray:
    """Checks that a loss returned one number per sample."""
    values = np.asarray(values)
    n = p.shape[0] if p.ndim else 0
    if values.shape == (n,) and values.dtype.kind in "fiub":
        return values
    fix = ("Reduce over every axis except the first, e.g. return np.mean(np.square(y_pred - y_true), "
           "axis=-1); the reduction over the batch (and the sample weights) is applied afterwards.")
    if values.ndim == 0:
        raise ValueError(
            f"Loss '{name}' returned a single number, but a loss must return one value per sample: "
            f"an array of shape ({n},) for this batch of {n} samples. {fix}"
        )
    if values.dtype.kind not in "fiub":
        raise ValueError(f"Loss '{name}' returned values of type {values.dtype}; expected numbers, shape ({n},).")
    raise ValueError(
        f"Loss '{name}' returned an array of shape {shape_str(values.shape)}, but a loss must return "
        f"one value per sample: shape ({n},) for this batch of {n} samples. {fix}"
    )


def _broadcast_weights(sample_weight: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    w = np.asarray(sample_weight, dtype=np.float64)
    n = shape[0]
    if w.ndim == 0 or w.shape == tuple(shape):
        return w
    if w.size == n and w.shape in ((n,), (n, 1)):
        return w.reshape((n,) + (1,) * (len(shape) - 1))
    raise ValueError(
        f"Loss '{name}' expects `sample_weight` of shape ({n},), one weight per sample, or "
        f"{shape_str(shape)}, one per loss value. Received shape {shape_str(w.shape)}."
    )


def _as_type_of(grad: np.ndarray, original: np.ndarray) -> np.ndarray:
    if original.dtype.kind == "f" and grad.dtype != original.dtype:
        return grad.astype(original.dtype)
    return grad


def _numeric_gradient(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], y: np.ndarray,
                      p: np.ndarray) -> np.ndarray:
    """``d fn(y, p)_i / d p_i`` by central differences in float64, one output column at a time.

    Each sample's loss depends only on that sample's prediction, so column ``j`` of every
    sample is perturbed at once: ``2 * K`` calls of ``fn`` for ``K`` values per sample.
    """
    n = p.shape[0]
    p64 = np.array(p, dtype=np.float64)
    y64 = y.astype(np.float64) if y.dtype.kind == "f" else y
    columns = p64.reshape(n, -1)
    grad = np.empty_like(columns)
    for j in range(columns.shape[1]):
        x = columns[:, j].copy()
        step = _STEP * np.maximum(1.0, np.abs(x))
        up, down = x + step, x - step
        columns[:, j] = up
        f_up = np.asarray(fn(y64, p64), dtype=np.float64)
        columns[:, j] = down
        f_down = np.asarray(fn(y64, p64), dtype=np.float64)
        columns[:, j] = x
        grad[:, j] = (f_up - f_down) / (up - down)
    return grad.reshape(p.shape).astype(p.dtype, copy=False)


def _scale_along(grad: np.ndarray, scale: Any, axis: int) -> np.ndarray:
    """Multiplies ``grad`` in place by one factor per loss value (spread over ``axis``)."""
    if np.ndim(scale) == 0:
        grad *= grad.dtype.type(scale)
    else:
        grad *= np.expand_dims(np.asarray(scale, dtype=grad.dtype), axis)
    return grad


def _clipped(p: np.ndarray, low: float, high: float) -> np.ndarray:
    """``clip(p, low, high)`` into a new array (two ufuncs: faster than ``np.clip`` on small arrays)."""
    out = np.maximum(p, low)
    return np.minimum(out, high, out=out)


def _clip(p: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Clipped values and where the clip passes gradients (bounds included, as in Keras)."""
    return _clipped(p, low, high), (p >= low) & (p <= high)


def _step(x: np.ndarray) -> np.ndarray:
    """Derivative of ``max(x, 0)``: 1 above, 0 below, 1/2 at the kink (Keras's choice)."""
    out = (x > 0).astype(x.dtype)
    out[x == 0] = 0.5
    return out


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# -- built-in losses ------------------------------------------------------------------------
class _BuiltinLoss(Loss):
    """A loss with closed-form values and gradients, reduced over one axis (``axis``).

    Subclasses implement ``_values(y, p)`` and ``_grad(y, p)`` with that axis last:
    the loss values (``p`` without its last axis) and ``d sum(values) / dp``.
    """

    axis = -1

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def prepare_targets(self, y_true, y_pred):
        y = _align_rank(np.asarray(y_true), y_pred)
        if y.shape != y_pred.shape:
            raise ValueError(
                f"Loss '{self.name}' expects y_true with the shape of y_pred, {shape_str(y_pred.shape)}, "
                f"but received y_true of shape {shape_str(np.shape(y_true))}. Give one target per "
                "prediction."
            )
        return y.astype(y_pred.dtype, copy=False)

    def call(self, y_true, y_pred):
        values = self._elements(y_true, y_pred)
        return values if values.ndim == 1 else values.reshape(len(values), -1).mean(axis=-1)

    def per_sample_gradient(self, y_true, y_pred):
        grad = self._local_gradient(y_true, y_pred)
        per_sample = math.prod(self._element_shape(y_true, y_pred)[1:])
        if per_sample != 1:
            grad *= grad.dtype.type(1.0 / per_sample)
        return grad

    def _values(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _grad(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _axis(self, p: np.ndarray) -> int:
        if p.ndim < 2:
            raise ValueError(
                f"Loss '{self.name}' expects predictions of shape (N, ...) with a batch axis first; "
                f"received shape {shape_str(p.shape)}. For one output per sample use y_pred.reshape(-1, 1)."
            )
        axis = self.axis + p.ndim if self.axis < 0 else self.axis
        if not 0 < axis < p.ndim:
            raise ValueError(
                f"Loss '{self.name}' got axis={self.axis}, which is {'the batch axis' if axis == 0 else 'out of range'} "
                f"for predictions of shape {shape_str(p.shape)}. Choose an axis from 1 to {p.ndim - 1} "
                "(or -1, the last)."
            )
        return axis

    def _targets_last(self, y: np.ndarray, axis: int) -> np.ndarray:
        return np.moveaxis(y, axis, -1)

    def _elements(self, y, p):
        axis = self._axis(p)
        if axis != p.ndim - 1:
            y, p = self._targets_last(y, axis), np.moveaxis(p, axis, -1)
        return self._values(y, p)

    def _local_gradient(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        axis = self._axis(p)
        if axis == p.ndim - 1:
            return self._grad(y, p)
        return np.moveaxis(self._grad(self._targets_last(y, axis), np.moveaxis(p, axis, -1)), -1, axis)

    def _element_shape(self, y, p):
        axis = self._axis(p)
        return p.shape[:axis] + p.shape[axis + 1:]

    def _weighted_gradient(self, y, p, scale):
        return _scale_along(self._local_gradient(y, p), scale, self._axis(p))


@register("mean_squared_error", "mse", "MSE")
class MeanSquaredError(_BuiltinLoss):
    """Mean of squared errors over the last axis: ``l = mean((y - p)^2)``.

    Examples:
        >>> loss = mk.losses.MeanSquaredError()
        >>> loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]]))
        0.5
    """

    fn_name = "mean_squared_error"

    def _values(self, y, p):
        d = p - y
        d *= d
        return d.mean(axis=-1)

    def _grad(self, y, p):
        grad = p - y
        grad *= grad.dtype.type(2.0 / p.shape[-1])
        return grad


@register("mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(_BuiltinLoss):
    """Mean of absolute errors over the last axis: ``l = mean(|y - p|)``.

    Examples:
        >>> loss = mk.losses.MeanAbsoluteError()
        >>> loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]]))
        0.5
    """

    fn_name = "mean_absolute_error"

    def _values(self, y, p):
        return np.abs(p - y).mean(axis=-1)

    def _grad(self, y, p):
        grad = np.sign(p - y)
        grad *= grad.dtype.type(1.0 / p.shape[-1])
        return grad


@register("mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(_BuiltinLoss):
    """Mean absolute error in percent of the target: ``l = 100 mean(|y - p| / max(|y|, eps))``.

    Examples:
        >>> loss = mk.losses.MeanAbsolutePercentageError()
        >>> loss(np.array([[2.0, 4.0]]), np.array([[1.0, 5.0]]))
        37.5
    """

    fn_name = "mean_absolute_percentage_error"

    def _values(self, y, p):
        diff = np.abs(y - p)
        diff /= np.maximum(np.abs(y), _config.epsilon())
        return 100.0 * diff.mean(axis=-1)

    def _grad(self, y, p):
        grad = np.sign(p - y)
        grad /= np.maximum(np.abs(y), _config.epsilon())
        grad *= grad.dtype.type(100.0 / p.shape[-1])
        return grad


@register("mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(_BuiltinLoss):
    """Mean squared error of logarithms: ``l = mean((log(p' + 1) - log(y' + 1))^2)``.

    ``p' = max(p, eps)`` and ``y' = max(y, eps)``, so values at or below zero count as ``eps``.

    Examples:
        >>> loss = mk.losses.MeanSquaredLogarithmicError()
        >>> round(loss(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]])), 4)
        0.4805
    """

    fn_name = "mean_squared_logarithmic_error"

    def _diff(self, y, p):
        eps = _config.epsilon()
        return np.log(np.maximum(p, eps) + 1.0) - np.log(np.maximum(y, eps) + 1.0)

    def _values(self, y, p):
        d = self._diff(y, p)
        d *= d
        return d.mean(axis=-1)

    def _grad(self, y, p):
        eps = _config.epsilon()
        grad = self._diff(y, p)
        grad *= _step(p - p.dtype.type(eps))
        grad /= np.maximum(p, eps) + 1.0
        grad *= grad.dtype.type(2.0 / p.shape[-1])
        return grad


class _CrossEntropy(_BuiltinLoss):
    partner = ""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        _check_axis(type(self).__name__, axis)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.number)) \
                or not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"{type(self).__name__} expects `label_smoothing` in [0, 1]. "
                f"Received: label_smoothing={label_smoothing!r}."
            )
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = int(axis)

    def get_config(self):
        config = super().get_config()
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing, "axis": self.axis})
        return config

    def logits_gradient(self, y_true, y_pred, activation, sample_weight=None):
        if self.from_logits or activation.name != self.partner or activation.get_config():
            return None
        self._require_single_value("training needs")
        original = np.asarray(y_pred)
        p = self._predictions(original)
        axis = self._axis(p)
        if self.partner == "softmax" and axis != p.ndim - 1:
            return None
        y = self.prepare_targets(y_true, p)
        grad = self._probs_minus_targets(y, p, axis)
        return _as_type_of(_scale_along(grad, self._gradient_scale(y, p, sample_weight), axis), original)

    def _probs_minus_targets(self, y: np.ndarray, probs: np.ndarray, axis: int) -> np.ndarray:
        raise NotImplementedError


def _check_axis(owner: str, axis: Any) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis == 0:
        raise ValueError(
            f"{owner} expects `axis` to be a non-batch axis such as -1 (the last). Received: axis={axis!r}."
        )


@register("binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(_CrossEntropy):
    """Binary cross-entropy averaged over ``axis``.

    ``l = mean(-(y log p' + (1 - y) log(1 - p')))`` with ``p' = clip(p, eps, 1 - eps)``;
    with ``from_logits=True`` the stable form ``max(z, 0) - z y + log(1 + exp(-|z|))``
    (no clipping), whose gradient is ``sigmoid(z) - y``.

    Args:
        from_logits: Whether predictions are logits (the last layer is linear and the
            loss applies the sigmoid). Defaults to ``False``.
        label_smoothing: Squeezes targets towards 0.5: ``y (1 - ls) + 0.5 ls``.
        axis: The axis the mean is taken over. Defaults to ``-1``.

    Examples:
        >>> loss = mk.losses.BinaryCrossentropy()
        >>> round(loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]])), 4)
        0.8149
        >>> round(mk.losses.BinaryCrossentropy(from_logits=True)(np.array([[1.0]]), np.array([[0.0]])), 4)
        0.6931
    """

    fn_name = "binary_crossentropy"
    partner = "sigmoid"

    def prepare_targets(self, y_true, y_pred):
        y = super().prepare_targets(y_true, y_pred)
        if self.label_smoothing:
            y = y * y.dtype.type(1.0 - self.label_smoothing) + y.dtype.type(0.5 * self.label_smoothing)
        return y

    def _values(self, y, p):
        if self.from_logits:
            values = np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
        else:
            eps = _config.epsilon()
            q = _clipped(p, eps, 1.0 - eps)
            values = -(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))
        return values.mean(axis=-1)

    def _grad(self, y, p):
        if self.from_logits:
            grad = activations.sigmoid.forward(p.copy())
            grad -= y
        else:
            eps = _config.epsilon()
            q, inside = _clip(p, eps, 1.0 - eps)
            grad = q - y
            grad /= q * (1.0 - q)
            grad *= inside
        grad *= grad.dtype.type(1.0 / p.shape[-1])
        return grad

    def _probs_minus_targets(self, y, probs, axis):
        grad = probs - y
        grad *= probs.dtype.type(1.0 / probs.shape[axis])
        return grad


@register("categorical_crossentropy")
class CategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy between one-hot (or soft) targets and predicted probabilities.

    ``l = -sum(y log p')`` over ``axis``, where ``p' = clip(p / sum(p), eps, 1 - eps)``;
    with ``from_logits=True``, ``l = -sum(y log_softmax(z))`` (no clipping), whose
    gradient is ``softmax(z) sum(y) - y``.

    Args:
        from_logits: Whether predictions are logits (the last layer is linear and the
            loss applies the softmax). Defaults to ``False``.
        label_smoothing: Mixes targets with the uniform distribution:
            ``y (1 - ls) + ls / num_classes``.
        axis: The class axis. Defaults to ``-1``.

    Examples:
        >>> loss = mk.losses.CategoricalCrossentropy()
        >>> round(loss(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        ...            np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 4)
        1.1769
    """

    fn_name = "categorical_crossentropy"
    partner = "softmax"

    def prepare_targets(self, y_true, y_pred):
        y = super().prepare_targets(y_true, y_pred)
        if self.label_smoothing:
            k = y_pred.shape[self._axis(y_pred)]
            y = y * y.dtype.type(1.0 - self.label_smoothing) + y.dtype.type(self.label_smoothing / k)
        return y

    def check_targets(self, y_shape, y_dtype, output_shape):
        width = output_shape[-1]
        if width is not None and width > 1 and (len(y_shape) == 1 or (len(y_shape) == 2 and y_shape[-1] == 1)):
            raise ValueError(
                f"Loss '{self.name}' expects one-hot targets of shape (N, {width}), but received "
                f"targets of shape {shape_str(y_shape)}, which look like integer class labels. "
                "Use loss='sparse_categorical_crossentropy', or one-hot encode the labels "
                "with minikeras.utils.to_categorical(y, num_classes)."
            )
        super().check_targets(y_shape, y_dtype, output_shape)
        if width == 1 and self.axis in (-1, len(output_shape) - 1):
            warnings.warn(
                f"Loss '{self.name}' expects one output per class, but the model has a single output "
                f"unit (output shape {shape_str(output_shape)}), so the loss is always about 0 and "
                "nothing is learned. For two classes use one sigmoid unit with "
                "loss='binary_crossentropy', or two softmax units.",
                SyntaxWarning, stacklevel=4,
            )

    def _values(self, y, p):
        if self.from_logits:
            return -np.einsum("...k,...k->...", y, _log_softmax(p))
        eps = _config.epsilon()
        q = p / p.sum(axis=-1, keepdims=True)
        np.maximum(q, eps, out=q)
        np.minimum(q, 1.0 - eps, out=q)
        return -np.einsum("...k,...k->...", y, np.log(q, out=q))

    def _grad(self, y, p):
        if self.from_logits:
            return self._probs_minus_targets(y, activations.softmax.forward(p.copy()), -1)
        eps = _config.epsilon()
        total = p.sum(axis=-1, keepdims=True)
        q = p / total
        clipped, inside = _clip(q, eps, 1.0 - eps)
        # dl/dq_j = -y_j / q'_j (where the clip passes); q = p / sum(p) gives the rest.
        g = -y / clipped
        g *= inside
        g -= np.einsum("...k,...k->...", g, q)[..., None]
        g /= total
        return g

    def _probs_minus_targets(self, y, probs, axis):
        grad = probs * y.sum(axis=-1, keepdims=True)
        grad -= y
        return grad


@register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(_CrossEntropy):
    """Categorical cross-entropy with integer class labels instead of one-hot rows.

    ``l = -log p'[label]`` with ``p' = clip(p / sum(p), eps, 1 - eps)``; with
    ``from_logits=True``, ``l = -log_softmax(z)[label]``.

    Args:
        from_logits: Whether predictions are logits. Defaults to ``False``.
        ignore_class: A label value (such as ``-1`` or ``255``) whose samples are left
            out: their loss is 0 and they do not count in the batch size.
        axis: The class axis of the predictions. Defaults to ``-1``.

    Examples:
        >>> loss = mk.losses.SparseCategoricalCrossentropy()
        >>> round(loss(np.array([1, 2]), np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 4)
        1.1769
        >>> masked = mk.losses.SparseCategoricalCrossentropy(ignore_class=-1)
        >>> round(masked(np.array([1, -1]), np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 4)
        0.0513
    """

    fn_name = "sparse_categorical_crossentropy"
    partner = "softmax"
    target_kind = "sparse"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(from_logits=from_logits, axis=axis, reduction=reduction, name=name, dtype=dtype)
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, (int, np.integer))):
            raise ValueError(
                f"SparseCategoricalCrossentropy expects `ignore_class` to be an integer label or None. "
                f"Received: ignore_class={ignore_class!r}."
            )
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def get_config(self):
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "ignore_class": self.ignore_class})
        if self.axis != -1:
            config["axis"] = self.axis
        return config

    def prepare_targets(self, y_true, y_pred):
        y = np.asarray(y_true)
        if y.ndim == y_pred.ndim and y.shape[self._axis(y_pred)] == 1:
            y = np.squeeze(y, axis=self._axis(y_pred))
        if y.shape != self._element_shape(y, y_pred):
            raise ValueError(
                f"Loss '{self.name}' expects integer class labels of shape "
                f"{shape_str(self._element_shape(y, y_pred))} for predictions of shape "
                f"{shape_str(y_pred.shape)}, but received labels of shape {shape_str(np.shape(y_true))}."
            )
        return y.astype(np.intp, copy=False)

    def check_targets(self, y_shape, y_dtype, output_shape):
        self._require_single_value("fit() and evaluate() need")
        width = output_shape[-1]
        if len(y_shape) == 2 and y_shape[-1] == width and width != 1:
            raise ValueError(
                f"Loss '{self.name}' expects integer class labels of shape (N,) or (N, 1), but "
                f"received targets of shape {shape_str(y_shape)}, which look one-hot encoded. "
                "Use loss='categorical_crossentropy', or pass y.argmax(axis=-1)."
            )
        if len(y_shape) not in (1, 2) or (len(y_shape) == 2 and y_shape[-1] != 1):
            raise ValueError(
                f"Loss '{self.name}' expects integer class labels of shape (N,) or (N, 1). "
                f"Received targets of shape {shape_str(y_shape)}."
            )

    def check_values(self, y: np.ndarray, num_classes: int) -> None:
        """Raises ``ValueError`` unless every label is an integer in ``[0, num_classes)`` (or ``ignore_class``)."""
        if y.size == 0:
            return
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            example = y.ravel()[np.flatnonzero(y.ravel() != np.round(y.ravel()))[0]]
            raise ValueError(
                f"Loss '{self.name}' expects integer class labels; received non-integer values such "
                f"as {example}. Pass class indices 0, 1, 2, ... (e.g. y.astype(int)), or use "
                "loss='categorical_crossentropy' for soft targets."
            )
        if self.ignore_class is not None:
            y = y[y != self.ignore_class]
            if y.size == 0:
                return
        low, high = y.min(), y.max()
        if low < 0 or high >= num_classes:
            ignored = "" if self.ignore_class is None else f" (besides ignore_class={self.ignore_class})"
            raise ValueError(
                f"Loss '{self.name}' expects class labels in [0, {num_classes - 1}]{ignored} for a model "
                f"with {num_classes} outputs. Received labels from {low} to {high}. Give the last "
                "layer one unit per class, or number the classes from 0."
            )

    def _targets_last(self, y, axis):
        return y

    def _mask(self, y, p):
        if self.ignore_class is None:
            return None
        return y != self.ignore_class

    def _labels(self, y: np.ndarray, k: int) -> np.ndarray:
        if self.ignore_class is not None:
            y = np.where(y == self.ignore_class, 0, y)
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(
                f"Loss '{self.name}' expects class labels in [0, {k - 1}] for predictions with {k} "
                f"classes. Received labels from {y.min()} to {y.max()}."
            )
        return y[..., None]

    def _values(self, y, p):
        labels = self._labels(y, p.shape[-1])
        if self.from_logits:
            values = -np.take_along_axis(_log_softmax(p), labels, axis=-1)[..., 0]
        else:
            eps = _config.epsilon()
            picked = np.take_along_axis(p, labels, axis=-1)[..., 0] / p.sum(axis=-1)
            values = -np.log(_clipped(picked, eps, 1.0 - eps))
        if self.ignore_class is not None:
            values = np.where(y == self.ignore_class, values.dtype.type(0), values)
        return values

    def _grad(self, y, p):
        labels = self._labels(y, p.shape[-1])
        if self.from_logits:
            grad = self._probs_minus_targets(y, activations.softmax.forward(p.copy()), -1)
        else:
            eps = _config.epsilon()
            total = p.sum(axis=-1, keepdims=True)
            picked = np.take_along_axis(p, labels, axis=-1) / total
            clipped, inside = _clip(picked, eps, 1.0 - eps)
            # l = -log(q'_c) with q = p / sum(p): dl/dp_j = g (e_c - q_c)_j / sum(p) for the
            # picked class c, where g = -1 / q'_c if the clip passes (else 0).
            g_picked = -(inside / clipped)
            grad = np.broadcast_to(-(g_picked * picked), p.shape).copy()
            np.put_along_axis(grad, labels, np.take_along_axis(grad, labels, axis=-1) + g_picked, axis=-1)
            grad /= total
        if self.ignore_class is not None:
            grad[y == self.ignore_class] = 0.0
        return grad

    def _probs_minus_targets(self, y, probs, axis):
        labels = self._labels(y, probs.shape[-1])
        grad = probs.copy()
        np.put_along_axis(grad, labels, np.take_along_axis(grad, labels, axis=-1) - 1.0, axis=-1)
        return grad


def _hinge_targets(y: np.ndarray) -> np.ndarray:
    """Keras maps targets that are all 0 or 1 to -1 and 1; other targets are kept."""
    if np.all((y == 0) | (y == 1)):
        return 2.0 * y - 1.0
    return y


@register("hinge")
class Hinge(_BuiltinLoss):
    """Hinge loss: ``l = mean(max(1 - y p, 0))`` with targets ``-1`` or ``1``.

    Targets that are all 0 or 1 are first mapped to -1 and 1, as in Keras.

    Examples:
        >>> loss = mk.losses.Hinge()
        >>> round(loss(np.array([[0.0, 1.0]]), np.array([[0.3, 0.8]])), 4)
        0.75
    """

    fn_name = "hinge"

    def prepare_targets(self, y_true, y_pred):
        return _hinge_targets(super().prepare_targets(y_true, y_pred))

    def _values(self, y, p):
        return np.maximum(1.0 - y * p, 0.0).mean(axis=-1)

    def _grad(self, y, p):
        grad = _step(1.0 - y * p)
        grad *= -y
        grad *= grad.dtype.type(1.0 / p.shape[-1])
        return grad


@register("squared_hinge")
class SquaredHinge(_BuiltinLoss):
    """Squared hinge loss: ``l = mean(max(1 - y p, 0)^2)`` with targets ``-1`` or ``1``.

    Targets that are all 0 or 1 are first mapped to -1 and 1, as in Keras.

    Examples:
        >>> loss = mk.losses.SquaredHinge()
        >>> round(loss(np.array([[0.0, 1.0]]), np.array([[0.3, 0.8]])), 4)
        0.865
    """

    fn_name = "squared_hinge"

    def prepare_targets(self, y_true, y_pred):
        return _hinge_targets(super().prepare_targets(y_true, y_pred))

    def _values(self, y, p):
        margin = np.maximum(1.0 - y * p, 0.0)
        margin *= margin
        return margin.mean(axis=-1)

    def _grad(self, y, p):
        grad = np.maximum(1.0 - y * p, 0.0)
        grad *= -y
        grad *= grad.dtype.type(2.0 / p.shape[-1])
        return grad


@register("categorical_hinge")
class CategoricalHinge(_BuiltinLoss):
    """Categorical hinge loss: ``l = max(max((1 - y) p) - sum(y p) + 1, 0)`` for one-hot ``y``.

    Examples:
        >>> loss = mk.losses.CategoricalHinge()
        >>> round(loss(np.array([[0.0, 1.0, 0.0]]), np.array([[0.3, 0.8, 0.6]])), 4)
        0.8
    """

    fn_name = "categorical_hinge"

    def _values(self, y, p):
        pos = np.einsum("...k,...k->...", y, p)
        neg = ((1.0 - y) * p).max(axis=-1)
        return np.maximum(neg - pos + 1.0, 0.0)

    def _grad(self, y, p):
        others = (1.0 - y) * p
        neg = others.max(axis=-1, keepdims=True)
        # The gradient of a maximum is shared equally by tied entries (as in Keras).
        top = (others == neg).astype(p.dtype)
        top /= top.sum(axis=-1, keepdims=True)
        margin = neg[..., 0] - np.einsum("...k,...k->...", y, p) + 1.0
        grad = top * (1.0 - y)
        grad -= y
        grad *= _step(margin)[..., None]
        return grad


@register("kl_divergence", "kld", "KLD")
class KLDivergence(_BuiltinLoss):
    """Kullback-Leibler divergence: ``l = sum(y' log(y' / p'))`` with ``y', p'`` clipped to ``[eps, 1]``.

    Examples:
        >>> loss = mk.losses.KLDivergence()
        >>> round(loss(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])), 4)
        0.1438
    """

    fn_name = "kl_divergence"

    def _values(self, y, p):
        eps = _config.epsilon()
        yc = _clipped(y, eps, 1.0)
        return np.sum(yc * np.log(yc / _clipped(p, eps, 1.0)), axis=-1)

    def _grad(self, y, p):
        eps = _config.epsilon()
        clipped, inside = _clip(p, eps, 1.0)
        grad = -_clipped(y, eps, 1.0)
        grad /= clipped
        grad *= inside
        return grad


@register("poisson")
class Poisson(_BuiltinLoss):
    """Poisson loss: ``l = mean(p - y log(p + eps))``.

    Examples:
        >>> loss = mk.losses.Poisson()
        >>> round(loss(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]])), 4)
        1.0
    """

    fn_name = "poisson"

    def _values(self, y, p):
        return np.mean(p - y * np.log(p + _config.epsilon()), axis=-1)

    def _grad(self, y, p):
        grad = -y / (p + _config.epsilon())
        grad += 1.0
        grad *= grad.dtype.type(1.0 / p.shape[-1])
        return grad


@register("log_cosh")
class LogCosh(_BuiltinLoss):
    """Logarithm of the hyperbolic cosine of the error: ``l = mean(log(cosh(p - y)))``.

    Computed as ``e + softplus(-2 e) - log 2``, which never overflows; the gradient is
    ``tanh(e)``. Like the squared error for small errors, like the absolute error for
    large ones.

    Examples:
        >>> loss = mk.losses.LogCosh()
        >>> round(loss(np.array([[0.0, 0.0]]), np.array([[1.0, -2.0]])), 4)
        0.8794
    """

    fn_name = "log_cosh"

    def _values(self, y, p):
        e = p - y
        return np.mean(e + np.logaddexp(0.0, -2.0 * e) - np.log(2.0).astype(e.dtype), axis=-1)

    def _grad(self, y, p):
        grad = np.tanh(p - y)
        grad *= grad.dtype.type(1.0 / p.shape[-1])
        return grad


@register("huber")
class Huber(_BuiltinLoss):
    """Huber loss: quadratic for small errors, linear for large ones.

    For ``e = p - y``: ``0.5 e^2`` where ``|e| <= delta``, else ``delta |e| - 0.5 delta^2``,
    averaged over the last axis. The gradient is ``clip(e, -delta, delta)``.

    Args:
        delta: Where the loss turns from quadratic to linear; a positive number.
            Defaults to ``1.0``.

    Examples:
        >>> loss = mk.losses.Huber()
        >>> loss(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]]))
        1.3125
    """

    fn_name = "huber"
    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.number)) \
                or not np.isfinite(delta) or delta <= 0:
            raise ValueError(f"Huber expects `delta` to be a positive number such as 1.0. Received: delta={delta!r}.")
        self.delta = float(delta)

    def get_config(self):
        config = super().get_config()
        config["delta"] = self.delta
        return config

    def _values(self, y, p):
        e = p - y
        a = np.abs(e)
        delta = p.dtype.type(self.delta)
        half = p.dtype.type(0.5)
        return np.where(a <= delta, half * e * e, delta * a - half * delta * delta).mean(axis=-1)

    def _grad(self, y, p):
        grad = np.clip(p - y, -self.delta, self.delta)
        grad *= grad.dtype.type(1.0 / p.shape[-1])
        return grad


@register("cosine_similarity")
class CosineSimilarity(_BuiltinLoss):
    """Negative cosine similarity: ``l = -sum(y / |y| * p / |p|)`` over ``axis``.

    The loss is -1 for predictions pointing the way of the targets, 1 for the
    opposite direction, 0 when orthogonal (or when either is zero). Norms below
    ``eps`` count as ``eps``.

    Args:
        axis: The axis along which the vectors lie. Defaults to ``-1``.

    Examples:
        >>> loss = mk.losses.CosineSimilarity()
        >>> round(loss(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [2.0, 2.0]])), 4)
        -0.8536
    """

    fn_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        _check_axis("CosineSimilarity", axis)
        self.axis = int(axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config

    @staticmethod
    def _inverse_norm(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            inv = 1.0 / np.sqrt(np.einsum("...k,...k->...", x, x))[..., None]
        return np.minimum(inv, x.dtype.type(1.0 / _config.epsilon()))

    def _values(self, y, p):
        return -np.einsum("...k,...k->...", y * self._inverse_norm(y), p * self._inverse_norm(p))

    def _grad(self, y, p):
        u = y * self._inverse_norm(y)
        inv = self._inverse_norm(p)
        unit = p * inv
        # For |p| > eps: d/dp (u . p / |p|) = (u - (u . p^) p^) / |p|; below it, u / eps.
        large = inv < p.dtype.type(1.0 / _config.epsilon())
        grad = u - np.einsum("...k,...k->...", u, unit)[..., None] * unit * large
        grad *= -inv
        return grad


class LossFunctionWrapper(Loss):
    """A loss from a plain function ``fn(y_true, y_pred)`` that returns one loss per sample.

    ``compile(loss=fn)`` wraps ``fn`` in this class. ``fn`` receives the targets and
    the predictions ``(N, K)`` as NumPy arrays and must return an array of shape
    ``(N,)``: reduce over every axis except the first (the reduction over the batch
    and the sample weights are applied afterwards). A function that returns a single
    number, or any other shape, is rejected with an error on its first call.

    The gradient is computed numerically by central differences in float64, one
    output column at a time: each sample's loss depends only on its own prediction,
    so column ``j`` of every sample is perturbed at once, which costs ``2 K`` calls of
    ``fn`` per training step for ``K`` outputs. For large ``K``, or for an exact
    gradient, subclass :class:`Loss` and implement :meth:`~Loss.per_sample_gradient`.

    A plain function has no name that a saved model could be loaded back with, so a
    model compiled with one cannot be saved with its training configuration
    (``model.save``, ``get_compile_config``); save its weights with
    ``model.save_weights``, or register a :class:`Loss` subclass.

    Args:
        fn: The function, ``fn(y_true, y_pred, **kwargs)``.
        reduction: As for :class:`Loss`.
        name: Defaults to the function's name.
        dtype: As for :class:`Loss`.
        **kwargs: Passed to ``fn`` on every call.

    Examples:
        >>> def quartic(y_true, y_pred):
        ...     return np.mean((y_pred - y_true) ** 4, axis=-1)
        >>> model = Sequential([Input((2,)), Dense(1)])
        >>> model.compile(optimizer="sgd", loss=quartic)
        >>> model.loss
        LossFunctionWrapper(name='quartic')
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0)
        >>> loss = mk.losses.LossFunctionWrapper(quartic)
        >>> np.round(loss.gradient(np.zeros((2, 1)), np.array([[1.0], [2.0]])), 6)
        array([[ 2.], [16.]])
    """

    def __init__(self, fn: Callable[..., Any], reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(
                f"LossFunctionWrapper expects a function fn(y_true, y_pred) that returns one loss per "
                f"sample; received {fn!r} ({type(fn).__name__}). Pass the function itself."
            )
        super().__init__(name=name or _function_name(fn), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return _per_sample(self.fn(y_true, y_pred, **self._fn_kwargs), y_pred, self.name)

    def check_targets(self, y_shape, y_dtype, output_shape):
        # A user function may take targets of any layout; only the reduction must give one number.
        self._require_single_value("fit() and evaluate() need")

    def get_config(self):
        config = super().get_config()
        config["fn"] = _function_name(self.fn)
        config.update(self._fn_kwargs)
        return config

    def __repr__(self) -> str:
        return f"LossFunctionWrapper(name={self.name!r})"


def _function_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


# -- look-up and serialization --------------------------------------------------------------
def get(identifier: Any) -> Loss:
    """Returns a loss for a name, a config dict, a :class:`Loss` or a function.

    Names are Keras 3's (``"mean_squared_error"``, ``"mse"``, ``"MeanSquaredError"``, ...);
    the Keras 2 names ``"logcosh"``, ``"kullback_leibler_divergence"``, ``"huber_loss"``,
    ``"cosine_proximity"`` and ``"cosine"`` resolve with a ``DeprecationWarning``.
    minikeras's loss functions (``losses.mse``, ...) and ``Loss`` classes give that
    loss; any other callable is wrapped in a :class:`LossFunctionWrapper`.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
        TypeError: For anything else that is not callable.

    Examples:
        >>> mk.losses.get("mae")
        MeanAbsoluteError(name='mean_absolute_error')
        >>> mk.losses.get(mk.losses.huber)
        Huber(name='huber_loss')
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _registry and identifier in _LEGACY_NAMES:
            replacement = _LEGACY_NAMES[identifier]
            warnings.warn(
                f"The loss name {identifier!r} is from Keras 2; Keras 3 calls it {replacement!r}. "
                f"Use loss={replacement!r}.",
                DeprecationWarning, stacklevel=3,
            )
            identifier = replacement
        return _registry.get(identifier)
    if isinstance(identifier, dict):
        return _registry.get(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    builtin = getattr(identifier, "_minikeras_loss", None)
    if builtin is not None:
        return builtin()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(
        f"Expected a loss name, a minikeras.losses.Loss or a function f(y_true, y_pred) returning one "
        f"loss per sample; received {identifier!r} ({type(identifier).__name__}). "
        "Pass e.g. loss='mse' or loss=my_loss_function."
    )


def serialize(loss: Loss) -> str | dict[str, Any]:
    """Serializes a loss: its canonical function name when it has default settings.

    The canonical name (``"mean_squared_error"``, never the alias ``"mse"``) is what
    Keras 3's loader accepts.

    Raises:
        ValueError: For a :class:`LossFunctionWrapper`: a plain function cannot be
            written by name.

    Examples:
        >>> mk.losses.serialize(mk.losses.get("mse"))
        'mean_squared_error'
        >>> mk.losses.serialize(mk.losses.Huber(delta=2.0))["config"]
        {'name': 'huber_loss', 'reduction': 'sum_over_batch_size', 'delta': 2.0}
    """
    if isinstance(loss, LossFunctionWrapper):
        raise ValueError(
            f"The loss is the function {loss.name!r}, which cannot be saved in a training "
            "configuration: a saved model names its loss, and no loader (minikeras or Keras) can turn "
            "that name back into your function. Save the weights with model.save_weights('weights.h5') "
            "and compile the rebuilt model with the function again, or subclass minikeras.losses.Loss, "
            "implement call(), and register it with @minikeras.losses.register()."
        )
    cls = type(loss)
    if loss.fn_name in _registry and _registry.lookup(loss.fn_name) is cls:
        try:
            default = cls()
        except TypeError:
            default = None
        if default is not None and loss.get_config() == default.get_config():
            return loss.fn_name
    return _registry.serialize(loss)


deserialize = _registry.deserialize


def names() -> list[str]:
    """Returns every registered loss name and alias."""
    return _registry.names()


# -- function forms ---------------------------------------------------------------------------
def _apply(loss: Loss, y_true: Any, y_pred: Any) -> np.ndarray:
    p = loss._predictions(y_pred)
    return loss._elements(loss.prepare_targets(y_true, p), p)


def _builtin(cls: type[Loss]) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    def decorator(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        fn._minikeras_loss = cls  # lets compile(loss=losses.mse) use the class, as in Keras
        return fn

    return decorator


@_builtin(MeanSquaredError)
def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Mean squared error per sample, ``mean((y - p)^2)`` over the last axis.

    Examples:
        >>> mk.losses.mean_squared_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
        array([0.5])
    """
    return _apply(MeanSquaredError(), y_true, y_pred)


@_builtin(MeanAbsoluteError)
def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Mean absolute error per sample, ``mean(|y - p|)`` over the last axis.

    Examples:
        >>> mk.losses.mean_absolute_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
        array([0.5])
    """
    return _apply(MeanAbsoluteError(), y_true, y_pred)


@_builtin(MeanAbsolutePercentageError)
def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Mean absolute percentage error per sample; see :class:`MeanAbsolutePercentageError`.

    Examples:
        >>> mk.losses.mean_absolute_percentage_error(np.array([[2.0, 4.0]]), np.array([[1.0, 5.0]]))
        array([37.5])
    """
    return _apply(MeanAbsolutePercentageError(), y_true, y_pred)


@_builtin(MeanSquaredLogarithmicError)
def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Mean squared logarithmic error per sample; see :class:`MeanSquaredLogarithmicError`.

    Examples:
        >>> np.round(mk.losses.mean_squared_logarithmic_error(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]])), 4)
        array([0.4805])
    """
    return _apply(MeanSquaredLogarithmicError(), y_true, y_pred)


@_builtin(BinaryCrossentropy)
def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> np.ndarray:
    """Binary cross-entropy per sample; see :class:`BinaryCrossentropy`.

    Examples:
        >>> np.round(mk.losses.binary_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.6, 0.4]])), 4)
        array([0.9163])
    """
    return _apply(BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis),
                  y_true, y_pred)


@_builtin(CategoricalCrossentropy)
def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> np.ndarray:
    """Categorical cross-entropy per sample; see :class:`CategoricalCrossentropy`.

    Examples:
        >>> np.round(mk.losses.categorical_crossentropy(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        ...                                             np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 4)
        array([0.0513, 2.3026])
    """
    return _apply(CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis),
                  y_true, y_pred)


@_builtin(SparseCategoricalCrossentropy)
def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> np.ndarray:
    """Sparse categorical cross-entropy per sample; see :class:`SparseCategoricalCrossentropy`.

    Examples:
        >>> np.round(mk.losses.sparse_categorical_crossentropy(np.array([1, 2]),
        ...                                                    np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 4)
        array([0.0513, 2.3026])
    """
    return _apply(SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore_class, axis=axis),
                  y_true, y_pred)


@_builtin(Hinge)
def hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """Hinge loss per sample; see :class:`Hinge`.

    Examples:
        >>> np.round(mk.losses.hinge(np.array([[0.0, 1.0]]), np.array([[0.3, 0.8]])), 4)
        array([0.75])
    """
    return _apply(Hinge(), y_true, y_pred)


@_builtin(SquaredHinge)
def squared_hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """Squared hinge loss per sample; see :class:`SquaredHinge`.

    Examples:
        >>> np.round(mk.losses.squared_hinge(np.array([[0.0, 1.0]]), np.array([[0.3, 0.8]])), 4)
        array([0.865])
    """
    return _apply(SquaredHinge(), y_true, y_pred)


@_builtin(CategoricalHinge)
def categorical_hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """Categorical hinge loss per sample; see :class:`CategoricalHinge`.

    Examples:
        >>> np.round(mk.losses.categorical_hinge(np.array([[0.0, 1.0, 0.0]]), np.array([[0.3, 0.8, 0.6]])), 4)
        array([0.8])
    """
    return _apply(CategoricalHinge(), y_true, y_pred)


@_builtin(KLDivergence)
def kl_divergence(y_true: Any, y_pred: Any) -> np.ndarray:
    """Kullback-Leibler divergence per sample; see :class:`KLDivergence`.

    Examples:
        >>> np.round(mk.losses.kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])), 4)
        array([0.1438])
    """
    return _apply(KLDivergence(), y_true, y_pred)


@_builtin(Poisson)
def poisson(y_true: Any, y_pred: Any) -> np.ndarray:
    """Poisson loss per sample; see :class:`Poisson`.

    Examples:
        >>> np.round(mk.losses.poisson(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]])), 4)
        array([1.])
    """
    return _apply(Poisson(), y_true, y_pred)


@_builtin(LogCosh)
def log_cosh(y_true: Any, y_pred: Any) -> np.ndarray:
    """Log-cosh loss per sample; see :class:`LogCosh`.

    Examples:
        >>> np.round(mk.losses.log_cosh(np.array([[0.0, 0.0]]), np.array([[1.0, -2.0]])), 4)
        array([0.8794])
    """
    return _apply(LogCosh(), y_true, y_pred)


@_builtin(Huber)
def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> np.ndarray:
    """Huber loss per sample; see :class:`Huber`.

    Examples:
        >>> mk.losses.huber(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]]))
        array([1.3125])
    """
    return _apply(Huber(delta=delta), y_true, y_pred)


@_builtin(CosineSimilarity)
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> np.ndarray:
    """Negative cosine similarity per sample; see :class:`CosineSimilarity`.

    Examples:
        >>> np.round(mk.losses.cosine_similarity(np.array([[0.0, 1.0], [1.0, 1.0]]),
        ...                                      np.array([[1.0, 1.0], [-2.0, -2.0]])), 4)
        array([-0.7071,  1.    ])
    """
    return _apply(CosineSimilarity(axis=axis), y_true, y_pred)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "Hinge", "Huber",
    "KLD", "KLDivergence", "LogCosh", "Loss", "LossFunctionWrapper", "MAE", "MAPE", "MSE", "MSLE",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError",
    "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge", "binary_crossentropy", "categorical_crossentropy",
    "categorical_hinge", "cosine_similarity", "deserialize", "get", "hinge", "huber", "kl_divergence", "kld",
    "log_cosh", "mae", "mape", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "mse", "msle", "names", "poisson", "register", "serialize",
    "sparse_categorical_crossentropy", "squared_hinge",
]
