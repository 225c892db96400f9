"""Activation functions with their derivatives.

Each activation is a callable object: ``relu(x)`` computes the function,
``relu.derivative(x)`` its derivative, and ``relu.backward(grad, x, y)`` the
backward pass ``grad * f'(x)`` used by layers. Where the derivative can be written
in terms of the output ``y`` (sigmoid: ``y (1 - y)``, tanh: ``1 - y**2``, ReLU:
``y > 0``) the backward pass uses ``y``, so layers need not keep ``x``.

Example:
    >>> import numpy as np
    >>> from minikeras import activations
    >>> activations.relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> activations.sigmoid.derivative(np.array([0.0]))
    array([0.25])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras._registry import Registry
from minikeras.backend.naming import to_snake_case

_registry = Registry("activation", "keras.activations", instantiate=False)


class Activation:
    """Base class: an elementwise (or row-wise) function and its derivative.

    Subclasses implement :meth:`forward`, :meth:`derivative` and :meth:`backward`;
    set ``uses_input = True`` when the backward pass needs ``x`` rather than ``y``.
    """

    name = "activation"
    uses_input = False

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments (empty for the plain functions)."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Activation:
        """Builds the activation from :meth:`get_config` output."""
        return cls(**config)

    def __call__(self, x: Any, **params: Any) -> np.ndarray:
        if params:
            return type(self)(**params).forward(np.asarray(x))
        return self.forward(np.asarray(x))

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Computes the activation, into ``out`` when given (may be ``x`` itself)."""
        raise NotImplementedError

    def derivative(self, x: Any) -> np.ndarray:
        """Returns ``f'(x)`` elementwise (the Jacobian for row-wise functions)."""
        raise NotImplementedError

    def backward(self, grad: np.ndarray, x: np.ndarray | None, y: np.ndarray) -> np.ndarray:
        """Returns ``dL/dx`` from ``grad = dL/dy``; may overwrite ``grad``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<activation {self.name}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.get_config().items()))))


def _register(cls: type[Activation]) -> type[Activation]:
    instance = cls()
    _registry.add(cls.name, instance)
    return cls


@_register
class Linear(Activation):
    """Identity: ``f(x) = x``, ``f'(x) = 1``."""

    name = "linear"

    def forward(self, x, out=None):
        if out is None or out is x:
            return x
        np.copyto(out, x)
        return out

    def derivative(self, x):
        return np.ones_like(np.asarray(x))

    def backward(self, grad, x, y):
        return grad


@_register
class Sigmoid(Activation):
    """Logistic function ``1 / (1 + exp(-x))``; ``f'(x) = f(x) (1 - f(x))``."""

    name = "sigmoid"

    def forward(self, x, out=None):
        with np.errstate(over="ignore"):
            out = np.negative(x, out=out)
            np.exp(out, out=out)
            out += 1.0
            return np.reciprocal(out, out=out)

    def derivative(self, x):
        y = self.forward(np.asarray(x, dtype=float))
        return y * (1.0 - y)

    def backward(self, grad, x, y):
        grad *= y
        grad *= 1.0 - y
        return grad


@_register
class Tanh(Activation):
    """Hyperbolic tangent; ``f'(x) = 1 - f(x)^2``."""

    name = "tanh"

    def forward(self, x, out=None):
        return np.tanh(x, out=out)

    def derivative(self, x):
        y = np.tanh(np.asarray(x, dtype=float))
        return 1.0 - y * y

    def backward(self, grad, x, y):
        grad *= 1.0 - y * y
        return grad


@_register
class ReLU(Activation):
    """Rectified linear unit ``max(x, 0)``; ``f'(x) = 1 if x > 0 else 0``.

    Args:
        negative_slope: Slope below ``threshold``. Defaults to ``0.0``.
        max_value: Upper cap of the output, or ``None``. Defaults to ``None``.
        threshold: Values below it are damped. Defaults to ``0.0``.
    """

    name = "relu"

    def __init__(self, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> None:
        self.negative_slope = float(negative_slope)
        self.max_value = None if max_value is None else float(max_value)
        self.threshold = float(threshold)
        self._plain = self.negative_slope == 0.0 and self.max_value is None and self.threshold == 0.0
        self.uses_input = not self._plain

    def get_config(self):
        if self._plain:
            return {}
        return {"negative_slope": self.negative_slope, "max_value": self.max_value, "threshold": self.threshold}

    def forward(self, x, out=None):
        if self._plain:
            return np.maximum(x, 0, out=out)
        y = np.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        if self.max_value is not None:
            np.minimum(y, self.max_value, out=y)
        y = y.astype(np.asarray(x).dtype, copy=False)
        if out is not None:
            np.copyto(out, y)
            return out
        return y

    def derivative(self, x):
        x = np.asarray(x, dtype=float)
        d = np.where(x > self.threshold, 1.0, self.negative_slope)
        if self.max_value is not None:
            d = np.where(x >= self.max_value, 0.0, d)
        return d

    def backward(self, grad, x, y):
        if self._plain:
            np.multiply(grad, y > 0, out=grad)
            return grad
        grad *= self.derivative(x).astype(grad.dtype, copy=False)
        return grad


@_register
class LeakyReLU(Activation):
    """Leaky ReLU: ``x if x >= 0 else negative_slope * x``.

    Args:
        negative_slope: Slope for negative inputs. Defaults to ``0.2`` (Keras 3's
            function default; the ``LeakyReLU`` layer uses ``0.3``).
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.2) -> None:
        self.negative_slope = float(negative_slope)
        self.uses_input = self.negative_slope <= 0.0

    def get_config(self):
        return {} if self.negative_slope == 0.2 else {"negative_slope": self.negative_slope}

    def forward(self, x, out=None):
        y = np.where(x >= 0, x, x * self.negative_slope).astype(np.asarray(x).dtype, copy=False)
        if out is not None:
            np.copyto(out, y)
            return out
        return y

    def derivative(self, x):
        return np.where(np.asarray(x) > 0, 1.0, self.negative_slope)

    def backward(self, grad, x, y):
        positive = (x > 0) if self.uses_input else (y > 0)
        return np.where(positive, grad, grad * self.negative_slope).astype(grad.dtype, copy=False)


@_register
class ELU(Activation):
    """Exponential linear unit: ``x if x > 0 else alpha * (exp(x) - 1)``.

    The derivative is ``1`` for ``x > 0`` and ``alpha * exp(x) = f(x) + alpha``
    otherwise.

    Args:
        alpha: Scale of the negative part; must be positive. Defaults to ``1.0``.
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        if alpha <= 0:
            raise ValueError(f"elu expects `alpha` > 0. Received: alpha={alpha!r}.")
        self.alpha = float(alpha)

    def get_config(self):
        return {} if self.alpha == 1.0 else {"alpha": self.alpha}

    def forward(self, x, out=None):
        y = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0))).astype(np.asarray(x).dtype, copy=False)
        if out is not None:
            np.copyto(out, y)
            return out
        return y

    def derivative(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, 1.0, self.alpha * np.exp(np.minimum(x, 0)))

    def backward(self, grad, x, y):
        grad *= np.where(y > 0, 1.0, y + self.alpha).astype(grad.dtype, copy=False)
        return grad


@_register
class Softplus(Activation):
    """Softplus ``log(1 + exp(x))``; its derivative is the sigmoid."""

    name = "softplus"
    uses_input = True

    def forward(self, x, out=None):
        return np.logaddexp(x, 0, out=out)

    def derivative(self, x):
        return _REGISTERED_SIGMOID.forward(np.asarray(x, dtype=float))

    def backward(self, grad, x, y):
        grad *= _REGISTERED_SIGMOID.forward(x)
        return grad


@_register
class Softmax(Activation):
    """Softmax along the last axis: ``exp(x_i - max x) / sum_j exp(x_j - max x)``.

    Its Jacobian is ``diag(y) - y y^T``, so the backward pass is the
    vector-Jacobian product ``y * (grad - sum(grad * y))``.
    """

    name = "softmax"

    def forward(self, x, out=None):
        out = np.subtract(x, np.maximum.reduce(x, axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= np.add.reduce(out, axis=-1, keepdims=True)
        return out

    def derivative(self, x):
        y = self.forward(np.asarray(x, dtype=float))
        return y[..., :, None] * np.eye(y.shape[-1]) - y[..., :, None] * y[..., None, :]

    def backward(self, grad, x, y):
        dot = np.einsum("...i,...i->...", grad, y)[..., None]
        grad -= dot
        grad *= y
        return grad


_REGISTERED_SIGMOID = Sigmoid()

linear = _registry.lookup("linear")
sigmoid = _registry.lookup("sigmoid")
tanh = _registry.lookup("tanh")
relu = _registry.lookup("relu")
leaky_relu = _registry.lookup("leaky_relu")
elu = _registry.lookup("elu")
softplus = _registry.lookup("softplus")
softmax = _registry.lookup("softmax")


def get(identifier: Any) -> Activation:
    """Returns the activation for a name, an :class:`Activation` or ``None`` (linear).

    Raises:
        ValueError: For an unknown name, listing the valid ones.
        TypeError: For a plain function, which has no derivative to backpropagate.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str):
        return _registry.lookup(identifier)
    if isinstance(identifier, dict):
        name = identifier.get("class_name", identifier.get("config", {}).get("name"))
        entry = _registry.lookup(_snake(name))
        params = {k: v for k, v in identifier.get("config", {}).items() if k != "name"}
        return type(entry)(**params) if params else entry
    raise TypeError(
        f"Expected an activation name or a minikeras.activations.Activation; received "
        f"{identifier!r}. A plain function has no derivative for backpropagation: subclass "
        "Activation and implement forward, derivative and backward."
    )


def serialize(activation: Activation) -> str | dict[str, Any]:
    """Returns the name of a built-in activation, as Keras writes it in configs."""
    config = activation.get_config()
    if not config:
        return activation.name
    return {"module": "keras.activations", "class_name": activation.name, "config": config, "registered_name": None}


def deserialize(config: Any) -> Activation:
    """Inverse of :func:`serialize`."""
    return get(config)


def names() -> list[str]:
    """Returns the names of the built-in activations."""
    return _registry.names()


def _snake(name: str) -> str:
    return name if name in _registry else to_snake_case(name)


__all__ = [
    "Activation", "deserialize", "elu", "get", "leaky_relu", "linear", "names", "relu",
    "serialize", "sigmoid", "softmax", "softplus", "tanh",
]
