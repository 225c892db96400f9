"""Weight and activity regularizers: penalties added to the training loss.

A regularizer is a callable object: ``reg(x)`` returns the penalty of the array
``x`` as a float and ``reg.gradient(x)`` its derivative ``d penalty / d x``, an
array shaped like ``x``. Layers take them as ``kernel_regularizer``,
``bias_regularizer`` and ``activity_regularizer``; the training loop adds each
penalty to the loss it reports and its gradient to the weight gradients.

Kernel and bias penalties are added to the loss of every batch as they are. An
activity penalty is computed on the layer's output and divided by the batch size,
as in Keras 3, so its weight relative to the data loss does not depend on the
batch size.

Example:
    >>> from minikeras import regularizers
    >>> reg = regularizers.L2(0.5)
    >>> reg(np.array([1.0, -2.0]))
    2.5
    >>> reg.gradient(np.array([1.0, -2.0]))
    array([ 1., -2.])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minikeras._registry import Configurable, Registry
from minikeras._validation import shape_str
from minikeras.backend import config as _config

_registry = Registry("regularizer", "keras.regularizers")
register = _registry.register


def _factor(owner: str, name: str, value: Any) -> float:
    """Checks a penalty factor: a finite, non-negative number."""
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(float(value)) or value < 0):
        raise ValueError(
            f"{owner} expects `{name}` to be a non-negative finite number. "
            f"Received: {name}={value!r}. Pass e.g. {name}=0.01."
        )
    return float(value)


def _as_float32(value: float) -> float:
    """``value`` rounded to float32, as Keras 3 stores ``L1.l1`` and ``OrthogonalRegularizer.factor``."""
    return float(np.float32(value))


class Regularizer(Configurable):
    """Base class of regularizers.

    Subclasses implement ``__call__(x)`` (the penalty, a float), ``gradient(x)``
    (its derivative, shaped like ``x``) and ``get_config()``. Subclasses may
    override :meth:`add_gradient` to accumulate the gradient without a temporary.

    Examples:
        >>> class Squares(Regularizer):
        ...     def __call__(self, x):
        ...         return float(np.sum(x * x))
        ...     def gradient(self, x):
        ...         return 2 * x
        >>> Squares().gradient(np.array([3.0])).tolist()
        [6.0]
    """

    def __call__(self, x: np.ndarray) -> float:
        return 0.0

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Returns ``d penalty / d x``, an array shaped like ``x``."""
        return np.zeros_like(x)

    def add_gradient(self, x: np.ndarray, out: np.ndarray, scale: float = 1.0) -> None:
        """Adds ``scale * gradient(x)`` to ``out`` in place."""
        grad = self.gradient(x)
        out += grad if scale == 1.0 else grad * out.dtype.type(scale)



@register("l1l2")
class L1L2(Regularizer):
    """Both penalties: ``l1 * sum(|x|) + l2 * sum(x**2)``.

    The gradient is ``l1 * sign(x) + 2 * l2 * x`` (``sign(0) = 0``). As in Keras 3,
    both factors default to ``0.0``, also for the string ``"l1l2"`` and for
    :func:`l1_l2` (Keras 2 used ``0.01`` for both).

    Args:
        l1: L1 factor, a non-negative number. Defaults to ``0.0``.
        l2: L2 factor, a non-negative number. Defaults to ``0.0``.

    Examples:
        >>> L1L2(l1=0.1, l2=0.5)(np.array([1.0, -2.0]))
        2.8
    """

    def __init__(self, l1: float | None = 0.0, l2: float | None = 0.0) -> None:
        self.l1 = _factor("L1L2", "l1", 0.0 if l1 is None else l1)
        self.l2 = _factor("L1L2", "l2", 0.0 if l2 is None else l2)

    def __call__(self, x):
        x = np.asarray(x)
        penalty = 0.0
        if self.l1:
            penalty += _l1(self.l1, x)
        if self.l2:
            penalty += _l2(self.l2, x)
        return penalty

    def gradient(self, x):
        x = np.asarray(x)
        grad = np.zeros_like(x)
        self.add_gradient(x, grad)
        return grad

    def add_gradient(self, x, out, scale=1.0):
        if self.l1:
            out += x.dtype.type(self.l1 * scale) * np.sign(x)
        if self.l2:
            out += x.dtype.type(2.0 * self.l2 * scale) * x

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@register("l1")
class L1(Regularizer):
    """The L1 penalty ``l1 * sum(|x|)``; its gradient is ``l1 * sign(x)`` (``sign(0) = 0``).

    Keras 3 keeps the factor as a float32 number, so ``L1(0.01).l1`` is
    ``0.009999999776482582``, as in its configs.

    Args:
        l1: The factor, a non-negative number. Defaults to ``0.01``.

    Examples:
        >>> L1(0.5)(np.array([1.0, -2.0]))
        1.5
    """

    def __init__(self, l1: float | None = 0.01) -> None:
        self.l1 = _as_float32(_factor("L1", "l1", 0.01 if l1 is None else l1))

    def __call__(self, x):
        return _l1(self.l1, np.asarray(x))

    def gradient(self, x):
        x = np.asarray(x)
        grad = np.sign(x)
        grad *= x.dtype.type(self.l1)
        return grad

    def add_gradient(self, x, out, scale=1.0):
        out += x.dtype.type(self.l1 * scale) * np.sign(x)

    def get_config(self):
        return {"l1": self.l1}


@register("l2")
class L2(Regularizer):
    """The L2 penalty ``l2 * sum(x**2)`` (no factor 1/2); its gradient is ``2 * l2 * x``.

    Args:
        l2: The factor, a non-negative number. Defaults to ``0.01``.

    Examples:
        >>> L2(0.5)(np.array([1.0, -2.0]))
        2.5
    """

    def __init__(self, l2: float | None = 0.01) -> None:
        self.l2 = _factor("L2", "l2", 0.01 if l2 is None else l2)

    def __call__(self, x):
        return _l2(self.l2, np.asarray(x))

    def gradient(self, x):
        x = np.asarray(x)
        return x * x.dtype.type(2.0 * self.l2)

    def add_gradient(self, x, out, scale=1.0):
        out += x.dtype.type(2.0 * self.l2 * scale) * x

    def get_config(self):
        return {"l2": self.l2}


@register("orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight towards being orthogonal.

    With ``u_i`` the rows (``mode="rows"``) or columns (``mode="columns"``) of ``x``
    scaled to unit length (``x_i / max(||x_i||, 1e-7)``) and ``m`` their number, the
    penalty is ``factor * sum_{i != j} |u_i . u_j| / (m (m - 1))``: ``factor`` times
    the mean absolute cosine between distinct pairs. A single row (or column) has
    no pairs and a penalty of zero.

    Args:
        factor: Non-negative factor. Defaults to ``0.01``; kept as a float32 number, as in Keras 3.
        mode: ``"rows"`` or ``"columns"``. Defaults to ``"rows"``.

    Examples:
        >>> OrthogonalRegularizer(factor=1.0)(np.array([[1.0, 0.0], [1.0, 1.0]]))
        0.7071067811865475
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _as_float32(_factor("OrthogonalRegularizer", "factor", factor))
        if mode not in ("rows", "columns"):
            raise ValueError(
                "OrthogonalRegularizer expects `mode` to be 'rows' or 'columns'. "
                f"Received: mode={mode!r}."
            )
        self.mode = mode

    def _vectors(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer expects a 2-D weight. Received an array of shape "
                f"{shape_str(x.shape)}. Use it on Dense kernels, of shape (input_dim, units)."
            )
        return x if self.mode == "rows" else x.T

    def _unit(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Returns the unit vectors, the denominators ``max(||v_i||, eps)`` and where eps won."""
        eps = v.dtype.type(_config.epsilon())
        norms = np.sqrt(np.sum(v * v, axis=1, keepdims=True))
        denom = np.maximum(norms, eps)
        return v / denom, denom, norms[:, 0] <= eps

    def __call__(self, x):
        v = self._vectors(x)
        m = v.shape[0]
        if m < 2:
            return 0.0
        u, _, _ = self._unit(v)
        gram = u @ u.T
        np.fill_diagonal(gram, 0.0)
        return float(v.dtype.type(self.factor) * np.abs(gram).sum() / (m * (m - 1.0)))

    def gradient(self, x):
        v = self._vectors(x)
        m = v.shape[0]
        if m < 2:
            return np.zeros_like(np.asarray(x))
        u, denom, clipped = self._unit(v)
        signs = np.sign(u @ u.T)
        np.fill_diagonal(signs, 0.0)
        signs *= v.dtype.type(self.factor / (m * (m - 1.0)))
        du = 2.0 * (signs @ u)  # the Gram matrix is symmetric
        # Through u = v / max(||v||, eps): project out the radial part where the norm is used.
        radial = np.sum(u * du, axis=1, keepdims=True)
        radial[clipped] = 0.0
        dv = (du - u * radial) / denom
        return dv if self.mode == "rows" else dv.T

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def _l1(factor: float, x: np.ndarray) -> float:
    return float(x.dtype.type(factor) * np.abs(x).sum())


def _l2(factor: float, x: np.ndarray) -> float:
    flat = x.reshape(-1)
    return float(x.dtype.type(factor) * np.dot(flat, flat))


# Keras 3 exports the classes under these lower-case names as well.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer


def get(identifier: Any) -> Regularizer | None:
    """Returns a regularizer for a name, a config dict, a regularizer or ``None``.

    Names are Keras 3's: ``"l1"``, ``"l2"``, ``"l1l2"``, ``"orthogonal_regularizer"``
    and the class names. Objects need ``__call__(x)`` and ``gradient(x)``.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
        TypeError: For an object without a ``gradient`` method.

    Examples:
        >>> get("l2")
        L2(l2=0.01)
    """
    if identifier is None:
        return None
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    reg = _registry.get(identifier)
    if not callable(reg) or not callable(getattr(reg, "gradient", None)):
        raise TypeError(
            f"Expected a regularizer name (e.g. 'l2'), a config dict or a "
            f"minikeras.regularizers.Regularizer. Received: {identifier!r}. A plain function "
            "has no derivative: subclass Regularizer and implement __call__(x) and gradient(x)."
        )
    return reg


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """Serializes a regularizer to Keras 3's schema (``None`` stays ``None``)."""
    return None if regularizer is None else _registry.serialize(regularizer)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Regularizer:
    """Builds a regularizer from :func:`serialize` output (Keras 2 or 3 schema)."""
    return _registry.deserialize(config, custom_objects)


def names() -> list[str]:
    """Returns the registered regularizer names."""
    return _registry.names()


class Penalties:
    """The regularization penalties of a stack of layers during one pass.

    Collects the layers with an ``activity_regularizer`` and the variables with a
    ``regularizer``; :meth:`forward` runs the layers, keeping the outputs the
    activity penalties need, and the ``*_gradient`` methods add the penalties'
    derivatives during the backward pass. Use :meth:`of`, which returns ``None``
    when nothing is regularized, so unregularized models do no extra work.

    Args:
        layers: The layers, in the order they run.
        variables: The variables whose ``regularizer`` counts (Keras counts
            trainable weights only).

    Examples:
        >>> layer = Dense(2, kernel_initializer="ones", activity_regularizer=L2(0.5))
        >>> layer.build((None, 3))
        >>> penalties = Penalties.of([layer], layer.trainable_weights)
        >>> out, penalty = penalties.forward([layer], np.ones((4, 3)), training=False)
        >>> penalty  # 0.5 * sum(out ** 2) / 4 with every output equal to 3
        9.0
        >>> Penalties.of([Dense(2)], []) is None
        True
    """

    def __init__(self, layers: Sequence[Any], variables: Sequence[Any]) -> None:
        self.activity = {i: layer.activity_regularizer for i, layer in enumerate(layers)
                         if getattr(layer, "activity_regularizer", None) is not None}
        self.variables = [v for v in variables if getattr(v, "regularizer", None) is not None]
        self._outputs: dict[int, np.ndarray] = {}

    @classmethod
    def of(cls, layers: Sequence[Any], variables: Sequence[Any]) -> Penalties | None:
        """Returns the penalties of ``layers`` and ``variables``, or ``None`` if there are none."""
        penalties = cls(layers, variables)
        return penalties if penalties.activity or penalties.variables else None

    def weight_penalty(self) -> float:
        """The sum of the variables' penalties at their current values."""
        return float(sum(v.regularizer(v.value) for v in self.variables))

    def forward(self, layers: Sequence[Any], x: np.ndarray, training: bool) -> tuple[np.ndarray, float]:
        """Runs ``layers`` on ``x``; returns the output and the activity penalty.

        Each activity penalty is divided by the batch size (the output's first dimension).
        """
        outputs = self._outputs
        outputs.clear()
        penalty = 0.0
        for i, layer in enumerate(layers):
            x = layer.call(x, training=training)
            reg = self.activity.get(i)
            if reg is not None:
                outputs[i] = x
                if x.shape[0]:
                    penalty += reg(x) / x.shape[0]
        return x, penalty

    def output_gradient(self, index: int, grad: np.ndarray) -> np.ndarray:
        """Returns ``grad`` (``dL/d output`` of layer ``index``) plus its activity penalty's gradient."""
        reg = self.activity.get(index)
        if reg is None:
            return grad
        out = self._outputs[index]
        # A new array: a custom gradient may return (a view of) the output itself.
        extra = (reg.gradient(out) * grad.dtype.type(1.0 / out.shape[0])).astype(grad.dtype, copy=False)
        return grad + extra.reshape(grad.shape)

    def logits_gradient(self, index: int, delta: np.ndarray, activation: Any) -> np.ndarray:
        """Adds the activity penalty of layer ``index`` to ``delta = dL/dz``, the gradient
        before its output activation, through the activation's backward pass."""
        reg = self.activity.get(index)
        if reg is None:
            return delta
        if activation.uses_input:
            raise RuntimeError(
                f"The fused output gradient needs an activation computed from its output; "
                f"{activation!r} needs its input."
            )
        out = self._outputs[index]
        extra = (reg.gradient(out) * delta.dtype.type(1.0 / out.shape[0])).astype(delta.dtype, copy=False)
        return delta + activation.backward(extra.reshape(delta.shape), None, out.reshape(delta.shape))

    def add_weight_gradients(self) -> None:
        """Adds each regularized variable's penalty gradient to its ``grad``."""
        for var in self.variables:
            var.regularizer.add_gradient(var.value, var.grad)

    def clear(self) -> None:
        """Drops the outputs kept by :meth:`forward`."""
        self._outputs.clear()


__all__ = [
    "L1", "L1L2", "L2", "OrthogonalRegularizer", "Penalties", "Regularizer", "deserialize", "get",
    "l1", "l1_l2", "l2", "names", "orthogonal_regularizer", "register", "serialize",
]
