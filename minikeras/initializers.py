"""Weight initializers: callables ``init(shape, dtype)`` returning a new array.

Random initializers draw from their own generator when given a ``seed`` and from
the global one (see :func:`minikeras.utils.set_random_seed`) otherwise.

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
        self.seed = seed

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
        return self._rng().uniform(self.minval, self.maxval, size=shape).astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@register("random_normal", "normal")
class RandomNormal(_Seeded):
    """Normal with mean ``mean`` and standard deviation ``stddev``.

    Args:
        mean: Defaults to ``0.0``.
        stddev: Defaults to ``0.05``.
        seed: Optional seed of a generator of its own.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, size=shape).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng: np.random.Generator, stddev: float, shape: tuple[int, ...]) -> np.ndarray:
    """Normal values with everything outside two standard deviations re-drawn."""
    values = rng.normal(0.0, stddev, size=shape)
    bad = np.abs(values) > 2 * stddev
    while bad.any():
        values[bad] = rng.normal(0.0, stddev, size=int(bad.sum()))
        bad = np.abs(values) > 2 * stddev
    return values


@register("truncated_normal")
class TruncatedNormal(_Seeded):
    """Normal truncated at two standard deviations (values beyond are re-drawn).

    Args:
        mean: Defaults to ``0.0``.
        stddev: Defaults to ``0.05``.
        seed: Optional seed of a generator of its own.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        return (self.mean + _truncated_normal(self._rng(), self.stddev, shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """Returns ``(fan_in, fan_out)`` as Keras computes them for a weight shape."""
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

    With ``n`` = fan_in, fan_out or their mean (``mode``) and ``s = scale / n``:
    ``"truncated_normal"`` draws N(0, sqrt(s) / 0.8796...) truncated at 2 sigma,
    ``"untruncated_normal"`` N(0, sqrt(s)), ``"uniform"`` U(-sqrt(3 s), sqrt(3 s)).

    Args:
        scale: Positive scale. Defaults to ``1.0``.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``. Defaults to ``"fan_in"``.
        distribution: See above. Defaults to ``"truncated_normal"``.
        seed: Optional seed of a generator of its own.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed: int | None = None) -> None:
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling expects `scale` > 0. Received: scale={scale!r}.")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling expects `mode` in {self._MODES}. Received: mode={mode!r}.")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling expects `distribution` in {self._DISTRIBUTIONS}. "
                f"Received: distribution={distribution!r}."
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(tuple(shape))
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
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _preset(class_name: str, alias: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    def __init__(self, seed: int | None = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

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


def get(identifier: Any) -> Initializer:
    """Returns an initializer for a name, a config dict or an initializer.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    if identifier is None:
        raise ValueError("Expected an initializer name or object. Received: None.")
    if callable(identifier) and not isinstance(identifier, (str, dict)):
        return identifier
    return _registry.get(identifier)


serialize = _registry.serialize
deserialize = _registry.deserialize

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Initializer",
    "LecunNormal", "LecunUniform", "Ones", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Zeros", "compute_fans", "deserialize", "get", "register", "serialize",
]
