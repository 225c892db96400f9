"""The fully connected ``Dense`` layer and the ``Activation`` layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import activations, constraints, initializers, regularizers
from minikeras._validation import check_positive_int, pop_legacy_kwarg
from minikeras.layers.base import Layer, register


@register()
class Dense(Layer):
    """Fully connected layer: ``a = activation(x @ kernel + bias)``.

    The kernel has shape ``(input_dim, units)``. With ``delta = dL/dz`` the
    backward pass computes ``dkernel = x^T delta``, ``dbias = sum(delta, axis=0)``
    and ``dx = delta kernel^T``, the matrix form of
    ``delta_l = f'(z_l) * (W_{l+1}^T delta_{l+1})``.

    Args:
        units: Number of output units, a positive integer.
        activation: Activation name or object; ``None`` means linear.
        use_bias: Whether to add a bias vector. Defaults to ``True``.
        kernel_initializer: Defaults to ``"glorot_uniform"``.
        bias_initializer: Defaults to ``"zeros"``.
        kernel_regularizer: Optional regularizer of the kernel (``"l1"``, ``"l2"``, ``L2(1e-4)``, ...).
        bias_regularizer: Optional regularizer of the bias.
        activity_regularizer: Optional regularizer of the output; its penalty is divided
            by the batch size.
        kernel_constraint: Optional constraint applied to the kernel after each
            update (``"max_norm"``, ``"non_neg"``, ``"unit_norm"``, ``"min_max_norm"``, ...).
        bias_constraint: Optional constraint applied to the bias after each update.
        **kwargs: Common layer arguments (``name``, ``input_dim``, ``input_shape``, ...)
            and the Keras 1 names ``output_dim`` (for ``units``), ``init`` (for
            ``kernel_initializer``), ``bias`` (for ``use_bias``), ``W_regularizer``,
            ``b_regularizer``, ``W_constraint`` and ``b_constraint`` (for the
            ``kernel_*``/``bias_*`` arguments), which warn.

    Input shape:
        ``(batch_size, ..., input_dim)``.

    Output shape:
        ``(batch_size, ..., units)``.

    Examples:
        >>> layer = Dense(3, input_dim=2)
        >>> layer(np.ones((4, 2), dtype="float32")).shape
        (4, 3)
    """

    def __init__(self, units: int | None = None, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        units = pop_legacy_kwarg("Dense", kwargs, "output_dim", "units", units, None)
        kernel_initializer = pop_legacy_kwarg(
            "Dense", kwargs, "init", "kernel_initializer", kernel_initializer, "glorot_uniform")
        use_bias = pop_legacy_kwarg("Dense", kwargs, "bias", "use_bias", use_bias, True)
        kernel_regularizer = pop_legacy_kwarg(
            "Dense", kwargs, "W_regularizer", "kernel_regularizer", kernel_regularizer, None)
        bias_regularizer = pop_legacy_kwarg("Dense", kwargs, "b_regularizer", "bias_regularizer", bias_regularizer, None)
        kernel_constraint = pop_legacy_kwarg(
            "Dense", kwargs, "W_constraint", "kernel_constraint", kernel_constraint, None)
        bias_constraint = pop_legacy_kwarg("Dense", kwargs, "b_constraint", "bias_constraint", bias_constraint, None)
        quantization_config = kwargs.pop("quantization_config", None)
        if quantization_config is not None:
            raise NotImplementedError(
                "Dense(`quantization_config=...`) is not supported by this version of minikeras. "
                f"Received: quantization_config={quantization_config!r}. Remove the argument."
            )
        if units is None:
            raise TypeError("Dense is missing the required argument `units` (e.g. Dense(64)).")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = check_positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = None
        self.bias = None
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None
        self._in_shape: tuple[int, ...] = ()
        self._ones_cache: np.ndarray | None = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs a known last input dimension. "
                f"Received input shape {tuple(input_shape)}."
            )
        self.kernel = self.add_weight("kernel", (int(input_dim), self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x, training=False):
        flat = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        z = flat @ self.kernel.value
        if self.use_bias:
            z += self.bias.value
        act = self.activation
        if training:
            self._x = flat
            self._in_shape = x.shape
            self._z = z if act.uses_input else None
        a = act.forward(z, out=None if act.uses_input else z)
        if training:
            self._a = a
        return a.reshape(x.shape[:-1] + (self.units,)) if x.ndim != 2 else a

    def backward(self, grad):
        grad = grad.reshape(-1, self.units)
        delta = self.activation.backward(grad, self._z, self._a)
        return self.backward_logits(delta)

    def backward_logits(self, delta: np.ndarray) -> np.ndarray | None:
        """Backward pass from ``delta = dL/dz``, the gradient before the activation."""
        x = self._x
        if x is None:
            raise RuntimeError(
                f"Layer '{self.name}' (Dense): backward() needs a preceding call with training=True."
            )
        np.matmul(x.T, delta, out=self.kernel.grad)
        if self.use_bias:
            # ones @ delta sums the rows in BLAS, about twice as fast as np.sum(axis=0).
            np.matmul(self._ones(delta.shape[0], delta.dtype), delta, out=self.bias.grad)
        if not self.need_input_grad:
            return None
        dx = delta @ self.kernel.value.T
        return dx.reshape(self._in_shape) if len(self._in_shape) != 2 else dx

    def _ones(self, n: int, dtype: np.dtype) -> np.ndarray:
        ones = self._ones_cache
        if ones is None or ones.shape[0] < n or ones.dtype != dtype:
            ones = self._ones_cache = np.ones(n, dtype=dtype)
        return ones[:n]

    def clear_cache(self):
        self._x = self._z = self._a = None

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("quantization_config", "lora_rank", "lora_alpha"):
            if config.get(key, 0) is None:
                del config[key]
        return super().from_config(config)


@register()
class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: Activation name (``"relu"``, ``"softmax"``, ...) or object.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Examples:
        >>> Activation("relu")(np.array([[-1.0, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._x: np.ndarray | None = None
        self._a: np.ndarray | None = None

    def call(self, x, training=False):
        act = self.activation
        a = act.forward(x)
        if a is x:
            a = x.copy()
        if training:
            self._x = x if act.uses_input else None
            self._a = a
        return a

    def backward(self, grad):
        if self._a is None:
            raise RuntimeError(
                f"Layer '{self.name}' (Activation): backward() needs a preceding call with training=True."
            )
        return self.activation.backward(grad, self._x, self._a)

    def backward_logits(self, delta: np.ndarray) -> np.ndarray:
        """Backward pass from the gradient before the activation: passes it through."""
        return delta

    def clear_cache(self):
        self._x = self._a = None

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
