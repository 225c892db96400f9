"""Loss functions: each gives the loss value and its gradient.

A :class:`Loss` reduces per-sample losses ``l_i`` as Keras 3 does:
``sum(w_i * l_i) / N`` over a batch of ``N`` samples (``w_i = 1`` without sample
weights). :meth:`Loss.gradient` returns ``dL/dy_pred`` of that reduced value.
Cross-entropies clip probabilities to ``[eps, 1 - eps]`` with ``eps = 1e-7``.

When the model's output activation is the loss's natural partner (softmax for
categorical cross-entropy, sigmoid for binary cross-entropy),
:meth:`Loss.logits_gradient` gives the gradient with respect to the logits
directly, ``a - y``, which stays finite however large the logits are.

Example:
    >>> import numpy as np
    >>> from minikeras import losses
    >>> float(losses.get("mse")(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]])))
    2.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import activations
from minikeras._registry import Registry
from minikeras._validation import shape_str
from minikeras.backend import config as _config

_registry = Registry("loss", "keras.losses")
register = _registry.register


class Loss:
    """Base class. Subclasses implement :meth:`call` and :meth:`per_sample_gradient`.

    Args:
        name: Name used in logs. Defaults to the loss's function name.
        reduction: Only ``"sum_over_batch_size"`` (Keras's default) is supported.
    """

    fn_name = "loss"
    target_kind = "dense"

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size", dtype: Any = None) -> None:
        if reduction not in ("sum_over_batch_size", "mean", "auto"):
            raise ValueError(
                f"{type(self).__name__} supports reduction='sum_over_batch_size'. "
                f"Received: reduction={reduction!r}."
            )
        self.name = name or self.fn_name
        self.reduction = "sum_over_batch_size"

    # -- per-sample values and gradients ----------------------------------------------
    def call(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Returns the per-sample losses, shape ``(N,)``."""
        raise NotImplementedError

    def per_sample_gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Returns ``d l_i / d y_pred`` for each sample, shape of ``y_pred``."""
        raise NotImplementedError

    def prepare_targets(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Brings ``y_true`` to the layout :meth:`call` expects."""
        y_true = np.asarray(y_true)
        if y_true.ndim == y_pred.ndim - 1:
            y_true = y_true[..., None]
        return y_true.astype(y_pred.dtype, copy=False)

    # -- reduced values ---------------------------------------------------------------
    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        y_pred = np.asarray(y_pred)
        per_sample = self.call(self.prepare_targets(y_true, y_pred), y_pred)
        return _reduce(per_sample, sample_weight)

    def gradient(self, y_true: Any, y_pred: np.ndarray, sample_weight: Any = None) -> np.ndarray:
        """Returns ``dL/dy_pred`` of the reduced loss."""
        grad = self.per_sample_gradient(self.prepare_targets(y_true, y_pred), y_pred)
        return _scale(grad, sample_weight)

    def logits_gradient(self, y_true: Any, y_pred: np.ndarray, activation: activations.Activation,
                        sample_weight: Any = None) -> np.ndarray | None:
        """Returns ``dL/dz`` for ``y_pred = activation(z)``, or ``None`` if not fused.

        Only pairs with a simple closed form are fused; for all others the caller
        chains :meth:`gradient` through the activation's backward pass.
        """
        return None

    def check_targets(self, y_shape: tuple[int, ...], y_dtype: np.dtype, output_shape: tuple[int | None, ...]) -> None:
        """Raises ``ValueError`` if targets of this shape do not fit this loss."""
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


def _reduce(per_sample: np.ndarray, sample_weight: Any) -> float:
    n = per_sample.shape[0]
    if n == 0:
        return 0.0
    if sample_weight is None:
        return float(per_sample.sum(dtype=np.float64) / n)
    w = np.asarray(sample_weight, dtype=per_sample.dtype).reshape(n)
    return float(np.dot(w, per_sample) / n)


def _scale(grad: np.ndarray, sample_weight: Any) -> np.ndarray:
    n = grad.shape[0]
    if sample_weight is None:
        grad *= grad.dtype.type(1.0 / n)
        return grad
    w = np.asarray(sample_weight, dtype=grad.dtype).reshape((n,) + (1,) * (grad.ndim - 1))
    grad *= w / grad.dtype.type(n)
    return grad


def _clip(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    eps = _config.epsilon()
    clipped = np.clip(p, eps, 1.0 - eps)
    inside = (p > eps) & (p < 1.0 - eps)
    return clipped, inside


@register("mean_squared_error", "mse", "MSE")
class MeanSquaredError(Loss):
    """Mean of squared errors over the last axis: ``l = mean((y - p)^2)``."""

    fn_name = "mean_squared_error"

    def call(self, y_true, y_pred):
        d = y_pred - y_true
        return np.mean(d * d, axis=-1).reshape(len(d), -1).mean(axis=-1)

    def per_sample_gradient(self, y_true, y_pred):
        k = y_pred[0].size if len(y_pred) else 1
        grad = y_pred - y_true
        grad *= y_pred.dtype.type(2.0 / k)
        return grad


@register("mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(Loss):
    """Mean of absolute errors over the last axis: ``l = mean(|y - p|)``."""

    fn_name = "mean_absolute_error"

    def call(self, y_true, y_pred):
        return np.abs(y_pred - y_true).reshape(len(y_pred), -1).mean(axis=-1)

    def per_sample_gradient(self, y_true, y_pred):
        k = y_pred[0].size if len(y_pred) else 1
        return np.sign(y_pred - y_true) * y_pred.dtype.type(1.0 / k)


class _CrossEntropy(Loss):
    partner = ""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 name: str | None = None, reduction: str = "sum_over_batch_size", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction)
        if axis != -1:
            raise ValueError(f"{type(self).__name__} supports axis=-1 only. Received: axis={axis!r}.")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"{type(self).__name__} expects `label_smoothing` in [0, 1]. "
                f"Received: label_smoothing={label_smoothing!r}."
            )
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = axis

    def get_config(self):
        config = super().get_config()
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing, "axis": self.axis})
        return config

    def logits_gradient(self, y_true, y_pred, activation, sample_weight=None):
        if self.from_logits or activation.name != self.partner or activation.get_config():
            return None
        y = self.prepare_targets(y_true, y_pred)
        return _scale(self._probs_minus_targets(y, y_pred), sample_weight)

    def _probs_minus_targets(self, y: np.ndarray, probs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@register("binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(_CrossEntropy):
    """Binary cross-entropy averaged over the last axis.

    ``l = mean(-(y log p + (1 - y) log(1 - p)))`` with ``p`` clipped to
    ``[eps, 1 - eps]``; with ``from_logits=True`` the stable form
    ``max(z, 0) - z y + log(1 + exp(-|z|))`` is used.

    Args:
        from_logits: Whether predictions are logits. Defaults to ``False``.
        label_smoothing: Squeezes targets towards 0.5: ``y (1 - ls) + 0.5 ls``.
    """

    fn_name = "binary_crossentropy"
    partner = "sigmoid"

    def prepare_targets(self, y_true, y_pred):
        y = super().prepare_targets(y_true, y_pred)
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return y

    def call(self, y_true, y_pred):
        n = len(y_pred)
        if self.from_logits:
            z = y_pred
            values = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        else:
            p, _ = _clip(y_pred)
            values = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
        return values.reshape(n, -1).mean(axis=-1)

    def per_sample_gradient(self, y_true, y_pred):
        k = y_pred[0].size if len(y_pred) else 1
        if self.from_logits:
            grad = activations.sigmoid.forward(y_pred.copy())
            grad -= y_true
        else:
            p, inside = _clip(y_pred)
            grad = (p - y_true) / (p * (1.0 - p))
            grad *= inside
        grad *= grad.dtype.type(1.0 / k)
        return grad.astype(y_pred.dtype, copy=False)

    def _probs_minus_targets(self, y, probs):
        k = probs[0].size if len(probs) else 1
        grad = probs - y
        grad *= probs.dtype.type(1.0 / k)
        return grad


@register("categorical_crossentropy")
class CategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy between one-hot (or soft) targets and predicted probabilities.

    ``l = -sum(y log p)`` over the last axis, where ``p`` is the prediction
    rescaled to sum to one and clipped to ``[eps, 1 - eps]``.

    Args:
        from_logits: Whether predictions are logits (log-softmax is applied).
        label_smoothing: Mixes targets with the uniform distribution:
            ``y (1 - ls) + ls / num_classes``.
    """

    fn_name = "categorical_crossentropy"
    partner = "softmax"

    def prepare_targets(self, y_true, y_pred):
        y = np.asarray(y_true).astype(y_pred.dtype, copy=False)
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + self.label_smoothing / y_pred.shape[-1]
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

    def call(self, y_true, y_pred):
        if self.from_logits:
            return -np.einsum("ij,ij->i", y_true, _log_softmax(y_pred))
        q = y_pred / y_pred.sum(axis=-1, keepdims=True)
        p, _ = _clip(q)
        return -np.einsum("ij,ij->i", y_true, np.log(p))

    def per_sample_gradient(self, y_true, y_pred):
        if self.from_logits:
            return self._probs_minus_targets(y_true, activations.softmax.forward(y_pred.copy()))
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        p, inside = _clip(q)
        g = -y_true / p
        g *= inside
        g -= np.einsum("ij,ij->i", g, q)[:, None]
        g /= total
        return g

    def _probs_minus_targets(self, y, probs):
        grad = probs * y.sum(axis=-1, keepdims=True)
        grad -= y
        return grad


@register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(_CrossEntropy):
    """Categorical cross-entropy with integer class labels instead of one-hot rows.

    ``l = -log p[label]`` with ``p`` rescaled to sum to one and clipped.

    Args:
        from_logits: Whether predictions are logits.
    """

    fn_name = "sparse_categorical_crossentropy"
    partner = "softmax"
    target_kind = "sparse"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1,
                 name: str | None = None, reduction: str = "sum_over_batch_size", dtype: Any = None) -> None:
        if ignore_class is not None:
            raise NotImplementedError("SparseCategoricalCrossentropy(ignore_class=...) is not supported yet.")
        super().__init__(from_logits=from_logits, axis=axis, name=name, reduction=reduction)

    def get_config(self):
        config = super().get_config()
        del config["label_smoothing"]
        config["ignore_class"] = None
        return config

    def prepare_targets(self, y_true, y_pred):
        y = np.asarray(y_true)
        if y.ndim == y_pred.ndim:
            y = y.reshape(y.shape[:-1])
        return y.astype(np.intp, copy=False)

    def check_targets(self, y_shape, y_dtype, output_shape):
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
        """Raises ``ValueError`` unless every label is an integer in ``[0, num_classes)``."""
        if y.size == 0:
            return
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            example = y.ravel()[np.flatnonzero(y.ravel() != np.round(y.ravel()))[0]]
            raise ValueError(
                f"Loss '{self.name}' expects integer class labels; received non-integer values such "
                f"as {example}. Pass class indices 0, 1, 2, ... (e.g. y.astype(int)), or use "
                "loss='categorical_crossentropy' for soft targets."
            )
        low, high = y.min(), y.max()
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"Loss '{self.name}' expects class labels in [0, {num_classes - 1}] for a model "
                f"with {num_classes} outputs. Received labels from {low} to {high}. Give the last "
                "layer one unit per class, or number the classes from 0."
            )

    def call(self, y_true, y_pred):
        rows = np.arange(len(y_pred))
        if self.from_logits:
            return -_log_softmax(y_pred)[rows, y_true]
        q = y_pred[rows, y_true] / y_pred.sum(axis=-1)
        p, _ = _clip(q)
        return -np.log(p)

    def per_sample_gradient(self, y_true, y_pred):
        rows = np.arange(len(y_pred))
        if self.from_logits:
            return self._probs_minus_targets(y_true, activations.softmax.forward(y_pred.copy()))
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        picked = q[rows, y_true]
        p, inside = _clip(picked)
        g_picked = -(inside / p)
        g = -(g_picked * picked)[:, None] * np.ones_like(q)
        g[rows, y_true] += g_picked
        g /= total
        return g

    def _probs_minus_targets(self, y, probs):
        grad = probs.copy()
        grad[np.arange(len(grad)), y] -= 1.0
        return grad


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def get(identifier: Any) -> Loss:
    """Returns a loss for a name, a config dict or a :class:`Loss`.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
        TypeError: For a plain function, which gives no gradient (minikeras's own
            loss functions, such as ``losses.mean_squared_error``, are accepted).
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, (str, dict)):
        return _registry.get(identifier)
    builtin = getattr(identifier, "_minikeras_loss", None)
    if builtin is not None:
        return builtin()
    raise TypeError(
        f"Expected a loss name or a minikeras.losses.Loss; received {identifier!r}. "
        "A plain function gives no gradient: subclass Loss and implement call and "
        "per_sample_gradient."
    )


def serialize(loss: Loss) -> str | dict[str, Any]:
    """Serializes a loss: its canonical function name when it has default settings."""
    default = type(loss)()
    if loss.get_config() == default.get_config():
        return loss.fn_name
    return _registry.serialize(loss)


def _function(cls: type[Loss]) -> Any:
    instance = cls()

    def fn(y_true: Any, y_pred: Any) -> np.ndarray:
        y_pred = np.asarray(y_pred)
        return instance.call(instance.prepare_targets(y_true, y_pred), y_pred)

    fn.__name__ = cls.fn_name
    fn._minikeras_loss = cls  # lets compile(loss=losses.mse) use the class, as in Keras
    fn.__doc__ = f"Per-sample {cls.fn_name.replace('_', ' ')}, shape ``(N,)``. See :class:`{cls.__name__}`."
    return fn


mean_squared_error = _function(MeanSquaredError)
mean_absolute_error = _function(MeanAbsoluteError)
binary_crossentropy = _function(BinaryCrossentropy)
categorical_crossentropy = _function(CategoricalCrossentropy)
sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy)
mse = mean_squared_error
mae = mean_absolute_error

deserialize = _registry.deserialize


def names() -> list[str]:
    """Returns every registered loss name and alias."""
    return _registry.names()


__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "Loss", "MeanAbsoluteError",
    "MeanSquaredError", "SparseCategoricalCrossentropy", "binary_crossentropy",
    "categorical_crossentropy", "deserialize", "get", "mae", "mean_absolute_error",
    "mean_squared_error", "mse", "names", "register", "serialize",
    "sparse_categorical_crossentropy",
]
