"""``BatchNormalization``: normalizes each feature with batch or moving statistics."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras import constraints, initializers, regularizers
from minikeras._validation import pop_legacy_kwarg, shape_str
from minikeras.layers._checks import check_number, no_forward_error, normalize_axis
from minikeras.layers.base import Layer, register

_OWNER = "BatchNormalization"


@register()
class BatchNormalization(Layer):
    """Normalizes each feature to zero mean and unit variance, then scales and shifts it.

    With ``mean`` and ``var`` taken over every axis except ``axis``, the output is
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    * Training (``training=True`` and ``trainable``, i.e. inside ``fit``): ``mean``
      and ``var`` are the batch's mean and biased variance (divided by the number
      of values ``n``), and the moving statistics are updated in place:
      ``moving = moving * momentum + batch_stat * (1 - momentum)``.
    * Inference (``evaluate``, ``predict``, direct calls, and every call of a layer
      with ``trainable = False``, even inside ``fit``): ``moving_mean`` and
      ``moving_variance`` are used and left unchanged.

    The backward pass of training mode runs through the batch statistics. With
    ``x_hat = (x - mean) / sqrt(var + epsilon)`` and the upstream gradient ``g``:
    ``dbeta = sum(g)``, ``dgamma = sum(g * x_hat)`` and
    ``dx = gamma / (n * sqrt(var + epsilon)) * (n * g - dbeta - x_hat * dgamma)``.
    In inference mode ``dx = g * gamma / sqrt(moving_variance + epsilon)``.
    ``moving_mean`` and ``moving_variance`` are non-trainable: optimizers never
    change them.

    Args:
        axis: The feature axis, normalized separately per index. Defaults to ``-1``.
        momentum: Weight of the old value in the moving statistics, in ``[0, 1]``.
            Defaults to ``0.99``.
        epsilon: Positive number added to the variance. Defaults to ``1e-3``.
        center: Whether to add the learned offset ``beta``. Defaults to ``True``.
        scale: Whether to multiply by the learned ``gamma``. Defaults to ``True``.
        beta_initializer: Defaults to ``"zeros"``.
        gamma_initializer: Defaults to ``"ones"``.
        moving_mean_initializer: Defaults to ``"zeros"``.
        moving_variance_initializer: Defaults to ``"ones"``.
        beta_regularizer: Optional regularizer of ``beta``.
        gamma_regularizer: Optional regularizer of ``gamma``.
        beta_constraint: Optional constraint applied to ``beta`` after each update.
        gamma_constraint: Optional constraint applied to ``gamma`` after each update.
        **kwargs: Common layer arguments, and the Keras 1 names ``beta_init``,
            ``gamma_init`` and ``mode=0``, which warn. ``renorm=True`` and
            ``synchronized=True`` are refused.

    Input shape:
        Any, with a known size on ``axis``.

    Output shape:
        Same as the input.

    Weights:
        ``gamma`` (if ``scale``), ``beta`` (if ``center``), ``moving_mean``,
        ``moving_variance``, each of shape ``(input_shape[axis],)``.

    Examples:
        >>> from minikeras.layers import BatchNormalization
        >>> layer = BatchNormalization()
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]], dtype="float32")
        >>> layer(x, training=True).round(3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> list(w.name for w in layer.weights)
        ['gamma', 'beta', 'moving_mean', 'moving_variance']
        >>> layer.moving_mean.value.round(4)  # 0.99 * 0 + 0.01 * batch mean
        array([0.02, 0.2 ], dtype=float32)
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, renorm: bool = False, renorm_clipping: Any = None,
                 renorm_momentum: float = 0.99, synchronized: bool = False, **kwargs: Any) -> None:
        beta_initializer = pop_legacy_kwarg(_OWNER, kwargs, "beta_init", "beta_initializer", beta_initializer, "zeros")
        gamma_initializer = pop_legacy_kwarg(_OWNER, kwargs, "gamma_init", "gamma_initializer", gamma_initializer,
                                             "ones")
        if "mode" in kwargs:
            mode = kwargs.pop("mode")
            if mode != 0:
                raise TypeError(
                    f"BatchNormalization(mode={mode!r}) is a Keras 1 mode that Keras 2 and 3 removed. "
                    "Only mode=0 (feature-wise normalization) exists now; remove the argument."
                )
            warnings.warn("`mode=0` is a Keras 1 argument of BatchNormalization and is the only behaviour "
                          "now; remove it.", DeprecationWarning, stacklevel=2)
        if renorm:
            raise NotImplementedError(
                "BatchNormalization(renorm=True) (batch renormalization) is not supported by this version of "
                "minikeras. Remove the argument."
            )
        if synchronized:
            raise ValueError(
                "BatchNormalization(synchronized=True) synchronizes statistics across devices, which minikeras "
                "does not use. Remove the argument."
            )
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]  # Keras 2 files store the axis as a one-element list
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"BatchNormalization expects `axis` to be an integer, e.g. -1. Received: axis={axis!r}.")
        self.axis = int(axis)
        self.momentum = check_number(_OWNER, "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = check_number(_OWNER, "epsilon", epsilon, low=0.0, low_open=True)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = check_number(_OWNER, "renorm_momentum", renorm_momentum, low=0.0, high=1.0)
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._reduce: tuple[int, ...] = ()
        self._bshape: tuple[int, ...] = ()
        self._x_hat: np.ndarray | None = None  # training mode: the normalized input
        self._inv_std: np.ndarray | None = None  # training mode: 1 / sqrt(var + epsilon)
        self._scale_b: np.ndarray | None = None  # inference mode: gamma / sqrt(moving_variance + epsilon)

    def build(self, input_shape):
        ndim = len(input_shape)
        axis = normalize_axis(_OWNER, "axis", self.axis, ndim, input_shape)
        if axis == 0 or input_shape[axis] is None:
            what = "the batch axis" if axis == 0 else "an axis of unknown size"
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) normalizes features along axis={self.axis}, which is "
                f"{what} of inputs of shape {shape_str(input_shape)}. Choose a feature axis of known size "
                "(axis=-1 for the last one)."
            )
        size = int(input_shape[axis])
        if self.scale:
            self.gamma = self.add_weight("gamma", (size,), self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", (size,), self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", (size,), self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (size,), self.moving_variance_initializer,
                                               trainable=False)
        self._reduce = tuple(i for i in range(ndim) if i != axis)
        self._bshape = tuple(size if i == axis else 1 for i in range(ndim))
        super().build(input_shape)

    def _b(self, vector: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """A per-feature vector shaped to broadcast against the inputs."""
        return vector.reshape(self._bshape).astype(dtype, copy=False)

    def call(self, x, training=False):
        if training and self.trainable:
            return self._call_batch_statistics(x)
        scale_b = 1.0 / np.sqrt(self._b(self.moving_variance.value, x.dtype) + self.epsilon)
        if self.scale:
            scale_b *= self._b(self.gamma.value, x.dtype)
        out = np.subtract(x, self._b(self.moving_mean.value, x.dtype))
        out *= scale_b
        if self.center:
            out += self._b(self.beta.value, x.dtype)
        if training:
            self._scale_b, self._x_hat = scale_b, None
        return out

    def _call_batch_statistics(self, x: np.ndarray) -> np.ndarray:
        mean = np.mean(x, axis=self._reduce, keepdims=True)
        x_hat = np.subtract(x, mean)
        var = np.mean(np.square(x_hat), axis=self._reduce, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        x_hat *= inv_std
        if self.scale:
            out = x_hat * self._b(self.gamma.value, x.dtype)
            if self.center:
                out += self._b(self.beta.value, x.dtype)
        elif self.center:
            out = x_hat + self._b(self.beta.value, x.dtype)
        else:
            out = x_hat
        for moving, batch in ((self.moving_mean.value, mean), (self.moving_variance.value, var)):
            moving *= self.momentum
            moving += batch.reshape(-1) * (1.0 - self.momentum)
        self._x_hat, self._inv_std, self._scale_b = x_hat, inv_std, None
        return out

    def backward(self, grad):
        if self._scale_b is not None:  # inference mode (a frozen layer inside fit)
            if not self.need_input_grad:
                return None
            grad *= self._scale_b
            return grad
        x_hat = self._x_hat
        if x_hat is None:
            raise no_forward_error(self)
        dbeta = np.sum(grad, axis=self._reduce, keepdims=True)
        work = np.multiply(grad, x_hat)
        dgamma = np.sum(work, axis=self._reduce, keepdims=True)
        if self.scale:
            np.copyto(self.gamma.grad, dgamma.reshape(-1), casting="unsafe")
        if self.center:
            np.copyto(self.beta.grad, dbeta.reshape(-1), casting="unsafe")
        if not self.need_input_grad:
            return None
        n = x_hat.size // max(1, int(np.prod(self._bshape)))
        factor = self._inv_std / n
        if self.scale:
            factor = factor * self._b(self.gamma.value, grad.dtype)
        # dx = factor * (n g - dbeta - x_hat dgamma), in place in grad.
        np.multiply(x_hat, dgamma, out=work)
        grad *= n
        grad -= dbeta
        grad -= work
        grad *= factor
        return grad

    def clear_cache(self):
        self._x_hat = self._inv_std = self._scale_b = None

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": False,
            "renorm": False,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config
