"""Activation functions with their derivatives.

Each activation is a callable object: ``relu(x)`` computes the function,
``relu.derivative(x)`` its derivative, and ``relu.backward(grad, x, y)`` the
backward pass ``grad * f'(x)`` used by layers. Where the derivative can be written
in terms of the output ``y`` (sigmoid: ``y (1 - y)``, tanh: ``1 - y**2``, ReLU:
``y > 0``) the backward pass uses ``y``, so layers need not keep ``x``.

The names, aliases (``swish`` for ``silu``, ``hard_swish`` for ``hard_silu``),
formulas and default arguments are Keras 3's. Arguments go to the call, as with
Keras's functions: ``gelu(x, approximate=True)``, ``relu(x, max_value=6.0)``.

Example:
    >>> import numpy as np
    >>> from minikeras import activations
    >>> activations.relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> activations.sigmoid.derivative(np.array([0.0]))
    array([0.25])
    >>> activations.get("swish") is activations.silu
    True
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras._registry import Registry
from minikeras._validation import pop_legacy_kwarg
from minikeras.backend.config import floatx
from minikeras.backend.naming import to_snake_case

_registry = Registry("activation", "keras.activations", instantiate=False)

# SELU's constants, to the digits Keras 3 uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _as_float(x: Any) -> np.ndarray:
    """``x`` as an array; integer and boolean input becomes ``floatx()``."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(floatx())
    return x


def _elementwise(derivative: Callable[[Any, Any], np.ndarray]) -> Callable[[Any, Any], np.ndarray]:
    """Lets an elementwise ``derivative`` written for arrays take 0-d input too."""

    @functools.wraps(derivative)
    def wrapper(self: Any, x: Any) -> np.ndarray:
        x = _as_float(x)
        if x.ndim == 0:
            return derivative(self, x.reshape(1)).reshape(())
        return derivative(self, x)

    return wrapper


def _emit(y: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """Returns ``y``, copied into ``out`` when one is given."""
    if out is None or out is y:
        return y
    np.copyto(out, y)
    return out


def _number(owner: str, arg: str, value: Any) -> float:
    """Returns ``value`` as a finite ``float`` or raises naming the argument."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"The '{owner}' activation expects `{arg}` to be a number. "
            f"Received: {arg}={value!r} of type {type(value).__name__}."
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"The '{owner}' activation expects a finite `{arg}`. Received: {arg}={value!r}.")
    return value


def _axis(owner: str, axis: Any) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(
            f"The '{owner}' activation expects `axis` to be an integer (the axis to normalise "
            f"over, -1 for the last). Received: axis={axis!r}."
        )
    return int(axis)


def _parameters(cls: type) -> tuple[str, ...] | None:
    """The keyword arguments ``cls`` accepts, or ``None`` if it takes ``**kwargs``."""
    if cls.__init__ is object.__init__:
        return ()
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL)


_UNSET = object()


def _build(cls: type[Activation], params: dict[str, Any], name: str, stacklevel: int = 4) -> Activation:
    """``cls(**params)``, with a clear message for arguments it does not take.

    Keras 2 argument names listed in ``cls.legacy_arguments`` are renamed with a
    ``DeprecationWarning`` pointing ``stacklevel`` frames up (the user's call).
    """
    for old, new in cls.legacy_arguments:
        if old in params:
            value = pop_legacy_kwarg(f"activations.{name}", params, old, new, params.get(new, _UNSET), _UNSET,
                                     stacklevel=stacklevel)
            params[new] = value
    accepted = _parameters(cls)
    if accepted is not None:
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            received = ", ".join(f"{k}={params[k]!r}" for k in unknown)
            takes = (f"takes only {', '.join(f'`{a}`' for a in accepted)}" if accepted
                     else "takes no arguments")
            close = difflib.get_close_matches(unknown[0], accepted, n=1)
            fix = f"Did you mean `{close[0]}`?" if close else "Remove the argument."
            raise TypeError(f"The '{name}' activation {takes}. Received: {received}. {fix}")
    return cls(**params)


class Activation:
    """Base class: an elementwise (or row-wise) function and its derivative.

    Subclasses implement :meth:`forward`, :meth:`derivative` and :meth:`backward`;
    set ``uses_input = True`` when the backward pass needs ``x`` rather than ``y``.
    Subclasses with arguments take them in ``__init__`` and return the non-default
    ones from :meth:`get_config`.

    Examples:
        >>> class Cube(mk.activations.Activation):
        ...     name = "cube"
        ...     uses_input = True
        ...     def forward(self, x, out=None):
        ...         return np.power(x, 3, out=out)
        ...     def derivative(self, x):
        ...         return 3 * np.asarray(x) ** 2
        ...     def backward(self, grad, x, y):
        ...         grad *= 3 * x * x
        ...         return grad
        >>> Cube()(np.array([2.0]))
        array([8.])
    """

    name = "activation"
    uses_input = False
    aliases: tuple[str, ...] = ()
    legacy_arguments: tuple[tuple[str, str], ...] = ()

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments that differ from their defaults."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Activation:
        """Builds the activation from :meth:`get_config` output."""
        return _build(cls, dict(config), cls.name, stacklevel=4)

    def __call__(self, x: Any, **params: Any) -> np.ndarray:
        """Applies the activation; ``params`` are the activation's arguments.

        Integer input is converted to ``floatx()``; float input keeps its dtype.
        """
        act = _build(type(self), params, self.name, stacklevel=4) if params else self
        x = _as_float(x)
        if x.ndim == 0:
            return act.forward(x.reshape(1)).reshape(())
        return act.forward(x)

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
        args = "".join(f" {k}={v!r}" for k, v in self.get_config().items())
        return f"<activation {self.name}{args}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.get_config().items()))))


def _register(cls: type[Activation]) -> type[Activation]:
    instance = cls()
    _registry.add(cls.name, instance)
    for alias in cls.aliases:
        _registry.add(alias, instance, alias=True)
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

    @_elementwise
    def derivative(self, x):
        return np.ones_like(_as_float(x))

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

    @_elementwise
    def derivative(self, x):
        y = self.forward(_as_float(x))
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

    @_elementwise
    def derivative(self, x):
        y = np.tanh(_as_float(x))
        return 1.0 - y * y

    def backward(self, grad, x, y):
        grad *= 1.0 - y * y
        return grad


@_register
class ReLU(Activation):
    """Rectified linear unit ``max(x, 0)``, with Keras 3's optional arguments.

    With arguments the output is ``p - negative_slope * max(threshold - x, 0)``,
    where ``p`` is ``x`` for ``x > threshold`` and ``0`` otherwise (``max(x, 0)``
    when ``threshold == 0``), clipped to ``[0, max_value]`` when ``max_value`` is
    given. The derivative is ``1`` where ``p`` follows ``x``, ``negative_slope``
    below ``threshold`` and ``0`` elsewhere.

    Args:
        negative_slope: Slope below ``threshold``. Defaults to ``0.0``. Keras 2
            called it ``alpha``, which is accepted with a ``DeprecationWarning``.
        max_value: Upper cap of the output, or ``None``. Defaults to ``None``.
        threshold: Values up to it are set to zero (or damped by
            ``negative_slope``). Defaults to ``0.0``.

    Examples:
        >>> mk.activations.relu(np.array([-2.0, 1.0, 8.0]), negative_slope=0.5, max_value=6.0)
        array([-1.,  1.,  6.])
    """

    name = "relu"
    legacy_arguments = (("alpha", "negative_slope"),)

    def __init__(self, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> None:
        self.negative_slope = _number(self.name, "negative_slope", negative_slope)
        self.max_value = None if max_value is None else _number(self.name, "max_value", max_value)
        self.threshold = _number(self.name, "threshold", threshold)
        self._plain = self.negative_slope == 0.0 and self.max_value is None and self.threshold == 0.0
        self.uses_input = not self._plain

    def get_config(self):
        if self._plain:
            return {}
        return {"negative_slope": self.negative_slope, "max_value": self.max_value, "threshold": self.threshold}

    def forward(self, x, out=None):
        if self._plain:
            return np.maximum(x, 0, out=out)
        t = self.threshold
        y = np.where(x > t, x, 0) if t != 0.0 else np.maximum(x, 0)
        if self.max_value is not None:
            np.clip(y, 0, self.max_value, out=y)
        if self.negative_slope != 0.0:
            below = np.subtract(t, x)
            np.maximum(below, 0, out=below)
            below *= self.negative_slope
            y -= below
        return _emit(y, out)

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        follows = x > self.threshold
        if self.max_value is not None:
            follows &= (x > 0) & (x < self.max_value)
        d = follows.astype(x.dtype)
        if self.negative_slope != 0.0:
            d += np.where(x < self.threshold, self.negative_slope, 0).astype(x.dtype, copy=False)
        return d

    def backward(self, grad, x, y):
        if self._plain:
            np.multiply(grad, y > 0, out=grad)
            return grad
        grad *= self.derivative(x)
        return grad


@_register
class LeakyReLU(Activation):
    """Leaky ReLU: ``x if x >= 0 else negative_slope * x``.

    Args:
        negative_slope: Slope for negative inputs. Defaults to ``0.2`` (Keras 3's
            function default; the ``LeakyReLU`` layer uses ``0.3``).

    Examples:
        >>> mk.activations.leaky_relu(np.array([-1.0, 2.0]))
        array([-0.2,  2. ])
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.2) -> None:
        self.negative_slope = _number(self.name, "negative_slope", negative_slope)
        self.uses_input = self.negative_slope <= 0.0

    def get_config(self):
        return {} if self.negative_slope == 0.2 else {"negative_slope": self.negative_slope}

    def forward(self, x, out=None):
        return _emit(np.where(x >= 0, x, x * self.negative_slope), out)

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        return np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype, copy=False)

    def backward(self, grad, x, y):
        positive = (x > 0) if self.uses_input else (y > 0)
        return np.where(positive, grad, grad * self.negative_slope)


@_register
class ELU(Activation):
    """Exponential linear unit: ``x if x > 0 else alpha * (exp(x) - 1)``.

    The derivative is ``1`` for ``x > 0`` and ``alpha * exp(x) = f(x) + alpha``
    otherwise.

    Args:
        alpha: Scale of the negative part; must be positive. Defaults to ``1.0``.

    Examples:
        >>> mk.activations.elu(np.array([-1.0, 2.0]), alpha=2.0).round(4)
        array([-1.2642,  2.    ])
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        alpha = _number(self.name, "alpha", alpha)
        if alpha <= 0:
            raise ValueError(f"elu expects `alpha` > 0. Received: alpha={alpha!r}.")
        self.alpha = alpha

    def get_config(self):
        return {} if self.alpha == 1.0 else {"alpha": self.alpha}

    def forward(self, x, out=None):
        neg = np.minimum(x, 0)
        np.expm1(neg, out=neg)
        neg *= self.alpha
        return _emit(np.where(x > 0, x, neg), out)

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        return np.where(x > 0, 1.0, self.alpha * np.exp(np.minimum(x, 0))).astype(x.dtype, copy=False)

    def backward(self, grad, x, y):
        grad *= np.where(y > 0, 1.0, y + self.alpha)
        return grad


@_register
class SELU(Activation):
    """Scaled ELU: ``scale * x`` for ``x > 0``, ``scale * alpha * (exp(x) - 1)`` otherwise.

    ``alpha = 1.6732632423543772`` and ``scale = 1.0507009873554805`` (Keras 3's
    constants, :data:`SELU_ALPHA` and :data:`SELU_SCALE`). The derivative is
    ``scale`` for ``x > 0`` and ``scale * alpha * exp(x) = f(x) + scale * alpha``
    otherwise.

    Examples:
        >>> mk.activations.selu(np.array([-1.0, 0.0, 1.0])).round(6)
        array([-1.111331,  0.      ,  1.050701])
    """

    name = "selu"

    def forward(self, x, out=None):
        neg = np.minimum(x, 0)
        np.expm1(neg, out=neg)
        neg *= SELU_ALPHA
        y = _emit(np.where(x > 0, x, neg), out)
        y *= SELU_SCALE
        return y

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        d = np.exp(np.minimum(x, 0))
        d *= SELU_SCALE * SELU_ALPHA
        return np.where(x > 0, SELU_SCALE, d).astype(x.dtype, copy=False)

    def backward(self, grad, x, y):
        grad *= np.where(y > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA)
        return grad


@_register
class Softplus(Activation):
    """Softplus ``log(1 + exp(x))``; its derivative is the sigmoid.

    Evaluated as ``max(x, 0) + log1p(exp(-|x|))``, which cannot overflow. The
    sigmoid is recovered from the output as ``1 - exp(-f(x))``, so layers need not
    keep ``x``.

    Examples:
        >>> mk.activations.softplus(np.array([0.0, 1000.0])).round(6).tolist()
        [0.693147, 1000.0]
    """

    name = "softplus"

    def forward(self, x, out=None):
        positive = np.maximum(x, 0)
        out = np.abs(x, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        np.log1p(out, out=out)
        out += positive
        return out

    @_elementwise
    def derivative(self, x):
        return _REGISTERED_SIGMOID.forward(_as_float(x))

    def backward(self, grad, x, y):
        s = np.negative(y)
        np.expm1(s, out=s)
        np.negative(s, out=s)
        grad *= s
        return grad


@_register
class Softsign(Activation):
    """Softsign ``x / (1 + |x|)``; ``f'(x) = 1 / (1 + |x|)^2``.

    Examples:
        >>> mk.activations.softsign(np.array([-3.0, 1.0]))
        array([-0.75,  0.5 ])
    """

    name = "softsign"
    uses_input = True

    def forward(self, x, out=None):
        denominator = np.abs(x)
        denominator += 1.0
        return np.divide(x, denominator, out=out)

    @_elementwise
    def derivative(self, x):
        r = np.abs(_as_float(x))
        r += 1.0
        np.reciprocal(r, out=r)
        r *= r
        return r

    def backward(self, grad, x, y):
        grad *= self.derivative(x)
        return grad


# Chebyshev coefficients of g(t) = z**2 + log(erfc(z) / t) in u = 2 t - 1, where
# t = 2 / (2 + z) maps z in [0, inf] onto t in [0, 1]. g is smooth on the whole
# interval, so erfc(z) = t * exp(g(t) - z**2) holds for every z >= 0 without
# cancellation. The coefficients were computed to 40 digits from the Chebyshev
# interpolant of g at 64 nodes; the terms left out after degree 24 sum to 2.5e-16,
# after degree 14 to 3.4e-10 (ample for float32 and float16).
_ERFC_CHEBYSHEV = (
    -0.6513268598908547, 0.6419697923564902, 0.019476473204185836, -0.009561514786808632,
    -0.0009465953444820369, 0.00036683949785276145, 4.252332480690777e-05, -2.0278578112534242e-05,
    -1.6242900046470256e-06, 1.3036558355805232e-06, 1.5626441722066142e-08, -8.523809591492654e-08,
    6.5290544390988515e-09, 5.059343495551469e-09, -9.91364156493033e-10, -2.273651222931836e-10,
    9.646791102015527e-11, 2.3940380830391146e-12, -6.886027526497553e-12, 8.944879273090725e-13,
    3.130921399342958e-13, -1.1270822361367252e-13, 3.810905255189232e-16, 7.106097613609237e-15,
    -1.5230282014571043e-15,
)
# The same series as power series in u, highest power first, for Horner's rule. The
# power coefficients stay below 0.7, so the change of basis loses no accuracy.
def _chebyshev_to_powers(coefficients: tuple[float, ...]) -> tuple[float, ...]:
    """Power-series coefficients (highest power first) of ``sum c_k T_k(u)``.

    Uses ``T_{k+1} = 2 u T_k - T_{k-1}`` on coefficient lists; plain Python keeps
    ``numpy.polynomial`` (slow to import) out of ``import minikeras``.
    """
    powers = [0.0] * len(coefficients)
    previous, current = [1.0], [0.0, 1.0]  # T_0 and T_1
    for k, c in enumerate(coefficients):
        term = previous if k == 0 else current
        for i, t in enumerate(term):
            powers[i] += c * t
        if k >= 1:
            following = [0.0] + [2.0 * t for t in current]
            for i, t in enumerate(previous):
                following[i] -= t
            previous, current = current, following
    return tuple(powers[::-1])


_ERFC_POWERS = {
    "float64": _chebyshev_to_powers(_ERFC_CHEBYSHEV),
    "float32": _chebyshev_to_powers(_ERFC_CHEBYSHEV[:15]),
}
# Beyond |x| = 40 the normal density underflows and the CDF rounds to 0 or 1 in
# float64; clipping there keeps x**2 from overflowing.
_CDF_CLIP = 40.0


def _scaled_half_erfc(z: np.ndarray, precision: str = "float64") -> np.ndarray:
    """``exp(z**2) * erfc(z) / 2`` for float64 ``z >= 0``: the series part of ``erfc``.

    With ``precision="float64"`` the relative error is about 1e-15; ``"float32"``
    uses a shorter series, accurate to about 4e-10, which is all a float32 or float16
    result needs.
    """
    powers = _ERFC_POWERS[precision]
    t = np.add(z, 2.0)
    np.divide(2.0, t, out=t)
    u = np.multiply(t, 2.0)
    u -= 1.0
    acc = u * powers[0]
    acc += powers[1]
    for c in powers[2:]:
        acc *= u
        acc += c
    np.exp(acc, out=acc)
    acc *= t
    acc *= 0.5
    return acc


def _gaussian(v: np.ndarray, scale: float) -> np.ndarray:
    """``exp(-scale * v**2)`` for float64 ``v`` and ``scale`` in ``{0.5, 1}``.

    ``v**2`` is split as ``r**2 + (v - r)(v + r)`` with ``r`` = ``v`` rounded to
    sixteenths, so ``scale * r**2`` is exact and the rounding error of the square
    (which ``exp`` would magnify by ``v**2``) stays out of the result: the relative
    error is a few units in the last place even where the result is tiny.
    """
    r = np.multiply(v, 16.0)
    np.rint(r, out=r)
    r *= 1.0 / 16.0
    rest = np.subtract(v, r)
    rest *= np.add(v, r)
    rest *= -scale
    np.exp(rest, out=rest)
    np.square(r, out=r)
    r *= -scale
    np.exp(r, out=r)
    r *= rest
    return r


def _half_erfc(z: np.ndarray, precision: str = "float64") -> np.ndarray:
    """``erfc(z) / 2`` for float64 ``z >= 0``."""
    h = _scaled_half_erfc(z, precision)
    h *= _gaussian(z, 1.0)
    return h


def _erfc_of_abs(x: np.ndarray) -> np.ndarray:
    """``erfc(|x|)`` for a float64 array ``x`` of any shape."""
    h = _half_erfc(np.abs(x).reshape(-1)).reshape(x.shape)
    h *= 2.0
    return h


def _erfc(x: Any) -> np.ndarray:
    """The complementary error function ``1 - erf(x)`` in float64, to about 1e-15 relative.

    Examples:
        >>> import math
        >>> bool(abs(_erfc(1.0) - math.erfc(1.0)) < 1e-16)
        True
    """
    x = np.asarray(x, dtype=np.float64)
    h = _erfc_of_abs(x)
    return np.where(x >= 0, h, 2.0 - h)


def _erf(x: Any) -> np.ndarray:
    """The error function in float64, to an absolute error of about 2e-16.

    Examples:
        >>> import math
        >>> bool(abs(_erf(0.5) - math.erf(0.5)) < 1e-16)
        True
    """
    x = np.asarray(x, dtype=np.float64)
    return np.copysign(1.0 - _erfc_of_abs(x), x)


def _normal_cdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P(X <= x)`` for a standard normal ``X`` and ``exp(-x**2 / 2)``, both in float64.

    The CDF is ``1 - erfc(|x| / sqrt(2)) / 2`` for ``x >= 0`` and ``erfc(|x| / sqrt(2)) / 2``
    otherwise, so that tiny left-tail probabilities keep their relative accuracy; the
    Gaussian factor is taken from ``x`` itself, not from the rounded ``x / sqrt(2)``,
    and is returned for the density ``exp(-x**2 / 2) / sqrt(2 pi)``.
    """
    precision = "float64" if x.dtype == np.float64 else "float32"
    a = np.abs(x, dtype=np.float64)
    np.minimum(a, _CDF_CLIP, out=a)
    if precision == "float64":
        gauss = _gaussian(a, 0.5)
    else:
        # The square of a float32 or float16 number is exact in float64.
        gauss = np.square(a)
        gauss *= -0.5
        np.exp(gauss, out=gauss)
    a *= _SQRT_HALF
    tail = _scaled_half_erfc(a, precision)
    tail *= gauss
    np.subtract(1.0, tail, out=a)
    return np.where(x >= 0, a, tail), gauss


_BLOCK = 16384


def _blockwise(fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray], x: np.ndarray,
               out: np.ndarray | None = None) -> np.ndarray:
    """``fn(x, out)`` for an elementwise ``fn``, run over blocks of a large array.

    Blocks of 16384 elements keep the float64 temporaries of a long formula in the
    processor cache, which makes the exact GELU about 1.6x faster on a 256 x 512 batch.
    """
    if x.size <= 2 * _BLOCK or not x.flags.c_contiguous or (out is not None and not out.flags.c_contiguous):
        return fn(x, out)
    if out is None:
        out = np.empty_like(x)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for start in range(0, flat_x.size, _BLOCK):
        fn(flat_x[start:start + _BLOCK], flat_out[start:start + _BLOCK])
    return out


@_register
class GELU(Activation):
    """Gaussian error linear unit ``x * P(X <= x)`` for a standard normal ``X``.

    Exact (the default, as in Keras 3): ``0.5 * x * (1 + erf(x / sqrt(2)))``, with
    derivative ``Phi(x) + x * phi(x)`` (normal CDF and density). The error function
    is evaluated in float64 from a Chebyshev series of ``erfc`` accurate to about
    1e-15 relative, so float32 results are correctly rounded up to one unit in the
    last place.

    Approximate: ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``.

    Args:
        approximate: Whether to use the tanh approximation. Defaults to ``False``.

    Examples:
        >>> mk.activations.gelu(np.array([-1.0, 1.0])).round(6)
        array([-0.158655,  0.841345])
        >>> mk.activations.gelu(np.array([-1.0, 1.0]), approximate=True).round(6)
        array([-0.158808,  0.841192])
    """

    name = "gelu"
    uses_input = True

    def __init__(self, approximate: bool = False) -> None:
        if not isinstance(approximate, (bool, np.bool_)):
            raise TypeError(
                "The 'gelu' activation expects `approximate` to be True or False. "
                f"Received: approximate={approximate!r}."
            )
        self.approximate = bool(approximate)

    def get_config(self):
        return {"approximate": True} if self.approximate else {}

    def _tanh_part(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Beyond |x| = 10 the tanh is exactly +-1 in every float type, so clipping
        # there changes nothing but keeps x**3 from overflowing.
        xc = np.clip(x, -10.0, 10.0)
        inner = np.square(xc)
        inner *= _GELU_CUBIC
        inner += 1.0
        inner *= xc
        inner *= _SQRT_2_OVER_PI
        return xc, np.tanh(inner, out=inner)

    def forward(self, x, out=None):
        if self.approximate:
            _, th = self._tanh_part(x)
            th += 1.0
            th *= 0.5
            return np.multiply(x, th, out=out)
        return _blockwise(_gelu_exact, x, out)

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        if self.approximate:
            xc, th = self._tanh_part(x)
            slope = np.square(xc)
            slope *= 3.0 * _GELU_CUBIC
            slope += 1.0
            slope *= xc
            slope *= 0.5 * _SQRT_2_OVER_PI
            slope *= 1.0 - th * th
            th += 1.0
            th *= 0.5
            th += slope
            return th
        return _blockwise(_gelu_exact_derivative, x)

    def backward(self, grad, x, y):
        grad *= self.derivative(x)
        return grad


def _gelu_exact(x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    cdf, _ = _normal_cdf(x)
    if out is not None:
        return np.multiply(x, cdf, out=out)
    cdf *= x
    return cdf.astype(x.dtype, copy=False)


def _gelu_exact_derivative(x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    cdf, d = _normal_cdf(x)
    d *= x
    d *= _INV_SQRT_2PI
    d += cdf
    if out is not None:
        np.copyto(out, d, casting="same_kind")
        return out
    return d.astype(x.dtype, copy=False)


@_register
class SiLU(Activation):
    """Sigmoid linear unit (swish) ``x * sigmoid(x)``.

    The derivative is ``s + x s (1 - s) = s (1 + x (1 - s))`` with ``s = sigmoid(x)``.

    Examples:
        >>> mk.activations.silu(np.array([-1.0, 1.0])).round(6)
        array([-0.268941,  0.731059])
    """

    name = "silu"
    aliases = ("swish",)
    uses_input = True

    def forward(self, x, out=None):
        s = _REGISTERED_SIGMOID.forward(x)
        return np.multiply(x, s, out=out)

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        s = _REGISTERED_SIGMOID.forward(x)
        d = np.subtract(1.0, s)
        d *= x
        d += 1.0
        d *= s
        return d

    def backward(self, grad, x, y):
        grad *= self.derivative(x)
        return grad


@_register
class HardSigmoid(Activation):
    """Keras 3's hard sigmoid ``relu6(x + 3) / 6``.

    ``0`` for ``x <= -3``, ``1`` for ``x >= 3`` and ``x / 6 + 0.5`` in between,
    where the derivative is ``1 / 6`` (Keras 2 used ``clip(0.2 x + 0.5, 0, 1)``).

    Examples:
        >>> mk.activations.hard_sigmoid(np.array([-4.0, 0.0, 1.5, 4.0]))
        array([0.  , 0.5 , 0.75, 1.  ])
    """

    name = "hard_sigmoid"

    def forward(self, x, out=None):
        out = np.add(x, 3.0, out=out)
        np.clip(out, 0.0, 6.0, out=out)
        out /= 6.0
        return out

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        return np.where((x > -3.0) & (x < 3.0), 1.0 / 6.0, 0.0).astype(x.dtype, copy=False)

    def backward(self, grad, x, y):
        np.multiply(grad, (y > 0) & (y < 1), out=grad)
        grad *= 1.0 / 6.0
        return grad


@_register
class HardSiLU(Activation):
    """Hard SiLU (hard swish) ``x * hard_sigmoid(x) = x * relu6(x + 3) / 6``.

    ``0`` for ``x <= -3``, ``x`` for ``x >= 3``; in between the derivative is
    ``(2 x + 3) / 6``.

    Examples:
        >>> mk.activations.hard_silu(np.array([-4.0, 1.5, 4.0]))
        array([-0.   ,  1.125,  4.   ])
    """

    name = "hard_silu"
    aliases = ("hard_swish",)
    uses_input = True

    def forward(self, x, out=None):
        gate = np.add(x, 3.0)
        np.clip(gate, 0.0, 6.0, out=gate)
        gate /= 6.0
        return np.multiply(x, gate, out=out)

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        inside = x * (1.0 / 3.0)
        inside += 0.5
        return np.where(x <= -3.0, 0.0, np.where(x >= 3.0, 1.0, inside)).astype(x.dtype, copy=False)

    def backward(self, grad, x, y):
        grad *= self.derivative(x)
        return grad


@_register
class ReLU6(Activation):
    """ReLU capped at 6: ``min(max(x, 0), 6)``; ``f'(x) = 1`` for ``0 < x < 6``.

    Examples:
        >>> mk.activations.relu6(np.array([-1.0, 3.0, 7.0]))
        array([0., 3., 6.])
    """

    name = "relu6"

    def forward(self, x, out=None):
        return np.clip(x, 0.0, 6.0, out=out)

    @_elementwise
    def derivative(self, x):
        x = _as_float(x)
        return ((x > 0) & (x < 6.0)).astype(x.dtype)

    def backward(self, grad, x, y):
        np.multiply(grad, (y > 0) & (y < 6.0), out=grad)
        return grad


@_register
class Mish(Activation):
    """Mish ``x * tanh(softplus(x))``.

    With ``t = tanh(softplus(x))`` the derivative is ``t + x (1 - t^2) sigmoid(x)``.
    ``t`` is evaluated as ``n / (n + 2)`` with ``n = e (e + 2)``, ``e = exp(x)``: the
    same number without the logarithm. ``x`` is capped where ``t`` has become 1 in
    the input's precision (20 for float32 and float64, 5.5 for float16), so no
    intermediate overflows.

    Examples:
        >>> mk.activations.mish(np.array([-1.0, 1.0])).round(6)
        array([-0.303401,  0.865098])
    """

    name = "mish"
    uses_input = True

    @staticmethod
    def _gate(x: np.ndarray) -> np.ndarray:
        e = np.minimum(x, 20.0 if x.dtype.itemsize >= 4 else 5.5)
        np.exp(e, out=e)
        n = np.add(e, 2.0)
        n *= e
        np.add(n, 2.0, out=e)
        np.divide(n, e, out=n)
        return n

    def forward(self, x, out=None):
        return np.multiply(x, self._gate(x), out=out)

    @_elementwise
    def derivative(self, x):
        t = self._gate(x)
        d = np.multiply(t, t)
        np.subtract(1.0, d, out=d)
        d *= x
        d *= _REGISTERED_SIGMOID.forward(x)
        d += t
        return d

    def backward(self, grad, x, y):
        grad *= self.derivative(x)
        return grad


@_register
class Exponential(Activation):
    """Exponential ``exp(x)``, its own derivative.

    Overflow gives ``inf`` without a warning, as in Keras.

    Examples:
        >>> mk.activations.exponential(np.array([0.0, 1.0])).round(6)
        array([1.      , 2.718282])
    """

    name = "exponential"

    def forward(self, x, out=None):
        with np.errstate(over="ignore"):
            return np.exp(x, out=out)

    @_elementwise
    def derivative(self, x):
        return self.forward(_as_float(x))

    def backward(self, grad, x, y):
        grad *= y
        return grad


class _AlongAxis(Activation):
    """A function of whole vectors along ``axis`` (softmax, log-softmax)."""

    def __init__(self, axis: int = -1) -> None:
        self.axis = _axis(self.name, axis)

    def get_config(self):
        return {} if self.axis == -1 else {"axis": self.axis}

    def _last(self, x: np.ndarray) -> bool:
        return self.axis == -1 or self.axis == x.ndim - 1

    def _sum(self, v: np.ndarray) -> np.ndarray:
        return np.add.reduce(v, axis=self.axis, keepdims=True)


@_register
class Softmax(_AlongAxis):
    """Softmax along ``axis``: ``exp(x_i - max x) / sum_j exp(x_j - max x)``.

    Its Jacobian is ``diag(y) - y y^T``, so the backward pass is the
    vector-Jacobian product ``y * (grad - sum(grad * y))``.

    Args:
        axis: The axis to normalise over. Defaults to ``-1``.

    Examples:
        >>> mk.activations.softmax(np.array([[0.0, np.log(3.0)]]))
        array([[0.25, 0.75]])
    """

    name = "softmax"

    def forward(self, x, out=None):
        with np.errstate(over="ignore"):  # x - max x = -inf only where exp gives 0 anyway
            out = np.subtract(x, np.maximum.reduce(x, axis=self.axis, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= self._sum(out)
        return out

    def derivative(self, x):
        """Returns the Jacobian, shape ``x.shape + (k,)`` with ``axis`` moved last."""
        y = np.moveaxis(self.forward(_as_float(x)), self.axis, -1)
        return y[..., :, None] * np.eye(y.shape[-1], dtype=y.dtype) - y[..., :, None] * y[..., None, :]

    def backward(self, grad, x, y):
        if self._last(y):
            dot = np.einsum("...i,...i->...", grad, y)[..., None]
        else:
            dot = self._sum(grad * y)
        grad -= dot
        grad *= y
        return grad


@_register
class LogSoftmax(_AlongAxis):
    """Log-softmax along ``axis``: ``x - max x - log(sum(exp(x - max x)))``.

    Its Jacobian is ``I - softmax(x)`` broadcast over rows; the backward pass is
    ``grad - exp(y) * sum(grad)``, computed from the output ``y``.

    Args:
        axis: The axis to normalise over. Defaults to ``-1``.

    Examples:
        >>> mk.activations.log_softmax(np.array([[0.0, 0.0]])).round(6)
        array([[-0.693147, -0.693147]])
    """

    name = "log_softmax"

    def forward(self, x, out=None):
        with np.errstate(over="ignore"):  # -inf is the rounded log-probability there
            out = np.subtract(x, np.maximum.reduce(x, axis=self.axis, keepdims=True), out=out)
        total = self._sum(np.exp(out))
        out -= np.log(total, out=total)
        return out

    def derivative(self, x):
        """Returns the Jacobian, shape ``x.shape + (k,)`` with ``axis`` moved last."""
        p = np.exp(np.moveaxis(self.forward(_as_float(x)), self.axis, -1))
        return np.eye(p.shape[-1], dtype=p.dtype) - p[..., None, :]

    def backward(self, grad, x, y):
        total = self._sum(grad)
        p = np.exp(y)
        p *= total
        grad -= p
        return grad


_REGISTERED_SIGMOID = Sigmoid()

linear = _registry.lookup("linear")
sigmoid = _registry.lookup("sigmoid")
tanh = _registry.lookup("tanh")
relu = _registry.lookup("relu")
leaky_relu = _registry.lookup("leaky_relu")
elu = _registry.lookup("elu")
selu = _registry.lookup("selu")
softplus = _registry.lookup("softplus")
softsign = _registry.lookup("softsign")
gelu = _registry.lookup("gelu")
silu = _registry.lookup("silu")
swish = _registry.lookup("swish")
hard_sigmoid = _registry.lookup("hard_sigmoid")
hard_silu = _registry.lookup("hard_silu")
hard_swish = _registry.lookup("hard_swish")
relu6 = _registry.lookup("relu6")
mish = _registry.lookup("mish")
exponential = _registry.lookup("exponential")
softmax = _registry.lookup("softmax")
log_softmax = _registry.lookup("log_softmax")


def get(identifier: Any) -> Activation:
    """Returns the activation for a name, a config, an :class:`Activation` or ``None`` (linear).

    Names are Keras 3's, with its aliases ``swish`` and ``hard_swish``. A config is
    what :func:`serialize` writes, or Keras's ``{"class_name": "function",
    "config": "<name>"}`` form for a plain function.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
        TypeError: For a plain function, which has no derivative to backpropagate,
            or for an argument the activation does not take.

    Examples:
        >>> mk.activations.get("hard_swish").name
        'hard_silu'
        >>> mk.activations.get(None).name
        'linear'
    """
    if identifier is None:
        return linear
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str):
        return _registry.lookup(identifier)
    if isinstance(identifier, dict):
        return _from_dict(identifier)
    raise TypeError(
        f"Expected an activation name or a minikeras.activations.Activation; received "
        f"{identifier!r}. A plain function has no derivative for backpropagation: subclass "
        "Activation and implement forward, derivative and backward."
    )


def _from_dict(identifier: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Activation:
    name = identifier.get("class_name")
    inner = identifier.get("config")
    if name == "function" and isinstance(inner, str):
        # Keras's serialized form of a plain function: the name is the config.
        name, inner = inner, None
    inner = dict(inner or {})
    if name is None:
        name = inner.get("name")
    if not isinstance(name, str):
        raise ValueError(
            f"Cannot read an activation from {identifier!r}: expected a name or a dict with "
            "'class_name' and 'config', as written by minikeras.activations.serialize "
            "(e.g. {'class_name': 'relu', 'config': {'max_value': 6.0}})."
        )
    params = {k: v for k, v in inner.items() if k != "name"}
    if custom_objects and name in custom_objects:
        entry = custom_objects[name]
        if isinstance(entry, type) and issubclass(entry, Activation):
            return _build(entry, params, name, stacklevel=5)
        if isinstance(entry, Activation):
            return _build(type(entry), params, name, stacklevel=5) if params else entry
        return get(entry)
    entry = _registry.lookup(_snake(name))
    return _build(type(entry), params, entry.name, stacklevel=5) if params else entry


def serialize(activation: Activation) -> str | dict[str, Any]:
    """Returns the activation as Keras writes it in layer configs.

    A built-in activation without arguments is its name (``"relu"``; the aliases
    give their canonical names, ``"silu"`` and ``"hard_silu"``). Keras 3 cannot
    record arguments of an activation function; minikeras writes them in Keras's
    object schema, ``{"module": "keras.activations", "class_name": <name>,
    "config": <arguments>, "registered_name": None}``, which Keras 3 reads as the
    plain function.

    Examples:
        >>> mk.activations.serialize(mk.activations.swish)
        'silu'
        >>> mk.activations.serialize(mk.activations.GELU(approximate=True))["config"]
        {'approximate': True}
    """
    config = activation.get_config()
    if not config:
        return activation.name
    return {"module": "keras.activations", "class_name": activation.name, "config": config, "registered_name": None}


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Activation:
    """Inverse of :func:`serialize`.

    Args:
        config: A name or a dict written by :func:`serialize` (or by Keras).
        custom_objects: Optional mapping of names to :class:`Activation`
            subclasses or instances, consulted before the built-in names.

    Examples:
        >>> act = mk.activations.deserialize({"class_name": "relu", "config": {"max_value": 6.0}})
        >>> act(np.array([-1.0, 9.0]))
        array([0., 6.])
    """
    if isinstance(config, dict):
        return _from_dict(config, custom_objects)
    if isinstance(config, str) and custom_objects and config in custom_objects:
        return deserialize({"class_name": config, "config": {}}, custom_objects)
    return get(config)


def names() -> list[str]:
    """Returns the names of the built-in activations, aliases included.

    Examples:
        >>> "swish" in mk.activations.names()
        True
    """
    return _registry.names()


def _snake(name: str) -> str:
    return name if name in _registry else to_snake_case(name)


__all__ = [
    "Activation", "deserialize", "elu", "exponential", "gelu", "get", "hard_sigmoid", "hard_silu",
    "hard_swish", "leaky_relu", "linear", "log_softmax", "mish", "names", "relu", "relu6", "selu",
    "serialize", "sigmoid", "silu", "softmax", "softplus", "softsign", "swish", "tanh",
]
