"""Weight initializers: callables ``init(shape, dtype)`` returning a new array.

Random initializers draw from their own generator when given a ``seed`` and from
the global one (see :func:`minikeras.utils.set_random_seed`) otherwise. An
initializer with a seed returns the same values at every call, bit for bit.

Example:
    >>> from minikeras import initializers
    >>> initializers.get("zeros")((2, 3)).shape
    (2, 3)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras._registry import Registry
from minikeras._validation import shape_str
from minikeras.backend import config as _config
from minikeras.backend import random as _random

_registry = Registry("initializer", "keras.initializers")
register = _registry.register


class Initializer:
    """Base class. Subclasses implement ``__call__(shape, dtype=None)``."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """Builds the initializer from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _dtype(dtype: Any) -> np.dtype:
    return np.dtype(_config.standardize_dtype(dtype))


@register("zeros", "zero")
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=_dtype(dtype))


@register("ones", "one")
class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=_dtype(dtype))


@register("constant")
class Constant(Initializer):
    """Every element equal to ``value``.

    Args:
        value: The constant. Defaults to ``0.0``.
    """

    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class _Seeded(Initializer):
    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(
                f"{type(self).__name__} expects `seed` to be None or a non-negative integer. "
                f"Received: seed={seed!r}."
            )
        self.seed = None if seed is None else int(seed)

    def _rng(self) -> np.random.Generator:
        return _random.make_generator(self.seed)


@register("random_uniform", "uniform")
class RandomUniform(_Seeded):
    """Uniform on ``[minval, maxval)``.

    Args:
        minval: Lower bound. Defaults to ``-0.05``.
        maxval: Upper bound. Defaults to ``0.05``.
        seed: Optional seed of a generator of its own.
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, size=shape).astype(_dtype(dtype), copy=False)

    def get_config(self):
        return {"seed": self.seed, "minval": self.minval, "maxval": self.maxval}


class _MeanStddev(_Seeded):
    """Shared arguments of the normal initializers: ``mean``, ``stddev`` and ``seed``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def get_config(self):
        return {"seed": self.seed, "mean": self.mean, "stddev": self.stddev}


@register("random_normal", "normal")
class RandomNormal(_MeanStddev):
    """Normal with mean ``mean`` and standard deviation ``stddev``.

    Args:
        mean: Defaults to ``0.0``.
        stddev: Defaults to ``0.05``.
        seed: Optional seed of a generator of its own.
    """

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, size=shape).astype(_dtype(dtype), copy=False)


def _truncated_normal(rng: np.random.Generator, stddev: float, shape: tuple[int, ...]) -> np.ndarray:
    """Normal values with everything outside two standard deviations re-drawn."""
    values = rng.normal(0.0, stddev, size=shape)
    bad = np.abs(values) > 2 * stddev
    while bad.any():
        values[bad] = rng.normal(0.0, stddev, size=int(bad.sum()))
        bad = np.abs(values) > 2 * stddev
    return values


@register("truncated_normal")
class TruncatedNormal(_MeanStddev):
    """Normal truncated at two standard deviations (values beyond are re-drawn).

    Args:
        mean: Defaults to ``0.0``.
        stddev: Defaults to ``0.05``.
        seed: Optional seed of a generator of its own.
    """

    def __call__(self, shape, dtype=None):
        values = _truncated_normal(self._rng(), self.stddev, shape)
        values += self.mean
        return values.astype(_dtype(dtype), copy=False)


def compute_fans(shape: tuple[int, ...], input_axes: list[int] | None = None,
                 output_axes: list[int] | None = None) -> tuple[float, float]:
    """Returns ``(fan_in, fan_out)`` as Keras computes them for a weight shape.

    Given both ``input_axes`` and ``output_axes``, the fans are the products of
    those dimensions. Otherwise: a scalar has fans 1, a vector its length, a
    matrix ``(fan_in, fan_out)``, and a higher-rank kernel ``(..., in, out)``
    multiplies ``in`` and ``out`` by the size of the leading (receptive field) axes.

    Examples:
        >>> compute_fans((3, 3, 16, 32))
        (144.0, 288.0)
    """
    if input_axes is not None and output_axes is not None:
        return float(math.prod(shape[a] for a in input_axes)), float(math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


@register("variance_scaling")
class VarianceScaling(_Seeded):
    """Scales the spread of the distribution to the number of inputs and/or outputs.

    With ``n`` = fan_in, fan_out or their mean (``mode``), at least 1, and
    ``s = scale / n``: ``"truncated_normal"`` draws N(0, sqrt(s) / 0.8796...)
    truncated at 2 sigma (the divisor restores the standard deviation sqrt(s)
    that truncation removes), ``"untruncated_normal"`` N(0, sqrt(s)) and
    ``"uniform"`` U(-sqrt(3 s), sqrt(3 s)).

    Args:
        scale: Positive scale. Defaults to ``1.0``.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``. Defaults to ``"fan_in"``.
        distribution: See above (any case; ``"normal"`` means ``"truncated_normal"``).
            Defaults to ``"truncated_normal"``.
        seed: Optional seed of a generator of its own.
        input_axes: Optional axes whose sizes multiply to fan_in (with ``output_axes``).
        output_axes: Optional axes whose sizes multiply to fan_out (with ``input_axes``).

    Examples:
        >>> init = VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=1)
        >>> bool(np.abs(init((50, 10))).max() <= np.sqrt(3 * 2.0 / 50))
        True
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, input_axes: list[int] | None = None,
                 output_axes: list[int] | None = None) -> None:
        super().__init__(seed)
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) or not scale > 0:
            raise ValueError(f"VarianceScaling expects `scale` > 0. Received: scale={scale!r}.")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling expects `mode` in {self._MODES}. Received: mode={mode!r}.")
        if isinstance(distribution, str):
            distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling expects `distribution` in {self._DISTRIBUTIONS}. "
                f"Received: distribution={distribution!r}."
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.input_axes = _axes_list("input_axes", input_axes)
        self.output_axes = _axes_list("output_axes", output_axes)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(tuple(shape), self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        s = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(rng, math.sqrt(s) / 0.87962566103423978, shape)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(s), size=shape)
        else:
            limit = math.sqrt(3.0 * s)
            values = rng.uniform(-limit, limit, size=shape)
        return values.astype(_dtype(dtype), copy=False)

    def get_config(self):
        return {"seed": self.seed, "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _axes_list(name: str, axes: Any) -> list[int] | None:
    if axes is None:
        return None
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        return [int(axes)]
    if isinstance(axes, (list, tuple)) and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                               for a in axes):
        return [int(a) for a in axes]
    raise ValueError(f"VarianceScaling expects `{name}` to be None or a list of integers. Received: {name}={axes!r}.")


def _preset(class_name: str, alias: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    def __init__(self, seed: int | None = None, input_axes: list[int] | None = None,
                 output_axes: list[int] | None = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    cls = type(class_name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc, "__module__": __name__})
    return register(alias, name=class_name)(cls)


GlorotUniform = _preset("GlorotUniform", "glorot_uniform", 1.0, "fan_avg", "uniform",
                        "Xavier uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _preset("GlorotNormal", "glorot_normal", 1.0, "fan_avg", "truncated_normal",
                       "Xavier normal: truncated normal, stddev sqrt(2 / (fan_in + fan_out)).")
HeUniform = _preset("HeUniform", "he_uniform", 2.0, "fan_in", "uniform",
                    "He uniform: U(-limit, limit), limit = sqrt(6 / fan_in).")
HeNormal = _preset("HeNormal", "he_normal", 2.0, "fan_in", "truncated_normal",
                   "He normal: truncated normal, stddev sqrt(2 / fan_in).")
LecunUniform = _preset("LecunUniform", "lecun_uniform", 1.0, "fan_in", "uniform",
                       "LeCun uniform: U(-limit, limit), limit = sqrt(3 / fan_in).")
LecunNormal = _preset("LecunNormal", "lecun_normal", 1.0, "fan_in", "truncated_normal",
                      "LeCun normal: truncated normal, stddev sqrt(1 / fan_in).")


def _gain(owner: str, gain: Any) -> float:
    """Returns the ``gain`` argument as a float or raises ``ValueError``."""
    if isinstance(gain, bool) or not isinstance(gain, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner} expects `gain` to be a number. Received: gain={gain!r}.")
    return float(gain)


@register("orthogonal", "OrthogonalInitializer")
class Orthogonal(_Seeded):
    """A random orthogonal matrix times ``gain``.

    The weight is viewed as a matrix of ``r = prod(shape[:-1])`` rows and
    ``c = shape[-1]`` columns. A standard normal matrix of shape
    ``(max(r, c), min(r, c))`` is factored as ``Q R``; each column of ``Q`` is
    multiplied by the sign of the matching diagonal entry of ``R`` (which makes
    the result uniformly distributed over orthogonal matrices), and ``Q`` is
    transposed when ``r < c``. So the columns are orthonormal when ``r >= c``, the
    rows otherwise.

    Args:
        gain: Factor applied to the matrix. Defaults to ``1.0``.
        seed: Optional seed of a generator of its own.

    Raises:
        ValueError: When called for a shape of fewer than two dimensions.

    Examples:
        >>> q = Orthogonal(seed=0)((4, 3), dtype="float64")
        >>> np.allclose(q.T @ q, np.eye(3))
        True
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = _gain("Orthogonal", gain)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal needs a weight of at least two dimensions. Received: shape={shape_str(shape)} "
                f"of rank {len(shape)}. Use it for kernels, e.g. of shape (input_dim, units), "
                "and another initializer (such as 'zeros') for biases."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        q *= self.gain
        return q.reshape(shape).astype(_dtype(dtype), copy=False)

    def get_config(self):
        return {"seed": self.seed, "gain": self.gain}


@register("identity", "IdentityInitializer")
class Identity(Initializer):
    """``gain`` times the identity matrix (ones on the main diagonal of a 2-D weight).

    For a non-square shape ``(r, c)`` the first ``min(r, c)`` diagonal entries are
    ``gain`` and everything else zero, as ``np.eye(r, c)``.

    Args:
        gain: Factor applied to the matrix. Defaults to ``1.0``.

    Raises:
        ValueError: When called for a shape that is not two-dimensional.

    Examples:
        >>> Identity(gain=2.0)((2, 3)).tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = _gain("Identity", gain)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) != 2:
            raise ValueError(
                f"Identity can only initialize 2-D weights. Received: shape={shape_str(shape)} of rank "
                f"{len(shape)}. Use it for Dense kernels, of shape (input_dim, units), and another "
                "initializer (such as 'zeros') for biases."
            )
        values = np.eye(*shape, dtype=_dtype(dtype))
        if self.gain != 1.0:
            values *= values.dtype.type(self.gain)
        return values

    def get_config(self):
        return {"gain": self.gain}


class _FromArray(Initializer):
    """Returns a copy of a given array; the shape asked for must be the array's."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if shape != self.value.shape:
            raise ValueError(
                f"An array used as an initializer must have the weight's shape {shape_str(shape)}. "
                f"Received an array of shape {shape_str(self.value.shape)}."
            )
        return np.array(self.value, dtype=_dtype(dtype))

    def get_config(self):
        raise TypeError(
            "An array used as an initializer cannot be saved in a configuration. Create the layer with "
            "a named initializer and assign the array with layer.set_weights(...) instead."
        )

    def __repr__(self) -> str:
        return f"<array initializer of shape {shape_str(self.value.shape)}>"


def get(identifier: Any) -> Initializer:
    """Returns an initializer for a name, a config dict, an initializer, a function or an array.

    Names are Keras 3's class names and their snake_case forms, plus ``"zero"``,
    ``"one"``, ``"uniform"`` and ``"normal"``. An array becomes an initializer
    that returns a copy of it (for weights of its shape only).

    Raises:
        ValueError: For an unknown name, listing the valid ones.

    Examples:
        >>> get("he_normal")
        HeNormal(seed=None, input_axes=None, output_axes=None)
    """
    if identifier is None:
        raise ValueError("Expected an initializer name or object. Received: None.")
    if isinstance(identifier, (np.ndarray, np.generic)):
        return _FromArray(np.asarray(identifier))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier) and not isinstance(identifier, (str, dict)):
        return identifier
    init = _registry.get(identifier)
    if not callable(init):
        raise TypeError(
            f"Expected an initializer name (e.g. 'glorot_uniform'), a config dict, a callable "
            f"init(shape, dtype) or an array. Received: {identifier!r}."
        )
    return init


serialize = _registry.serialize
deserialize = _registry.deserialize

def names() -> list[str]:
    """Returns the registered initializer names."""
    return _registry.names()


__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "Initializer",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "deserialize", "get", "names",
    "register", "serialize",
]
