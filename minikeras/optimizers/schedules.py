"""Learning-rate schedules: functions of the optimizer's step counter.

Each schedule is evaluated at ``step = iterations`` before the optimizer counts the
step, so the first update uses ``schedule(0)``. Values are computed in float64
and rounded once to the weights' dtype.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from minikeras._registry import Registry

_registry = Registry("schedule", "keras.optimizers.schedules")
register = _registry.register


def _number(owner: str, name: str, value: Any, *, positive: bool = False) -> float:
    """Returns ``value`` as a finite float (> 0 with ``positive``) or raises ``ValueError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or (positive and number <= 0):
        expected = "a number > 0" if positive else "a finite number"
        raise ValueError(f"{owner} expects `{name}` to be {expected}. Received: {name}={value!r}.")
    return number


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate for ``step``.

    Subclass it, implement ``__call__`` and ``get_config``, and register the class
    with :func:`register` so that optimizers using it can be saved and loaded.

    Examples:
        >>> @register()
        ... class Halving(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / 2 ** step
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> opt = mk.optimizers.SGD(learning_rate=Halving(0.4))
        >>> opt.get_config()["learning_rate"].get("class_name")
        'Halving'
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must implement __call__(step).")

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must implement get_config() to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Builds the schedule from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        try:
            config = self.get_config()
        except NotImplementedError:
            return f"<{type(self).__name__}>"
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"


class _DecayByRate(LearningRateSchedule):
    """Shared arguments of the schedules that decay by ``decay_rate`` per ``decay_steps`` steps."""

    def __init__(self, owner: str, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool, name: str) -> None:
        self.initial_learning_rate = _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "decay_steps", decay_steps, positive=True)
        self.decay_steps = decay_steps
        self.decay_rate = _number(owner, "decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def _progress(self, step: int) -> float:
        """``step / decay_steps``, floored with ``staircase``."""
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return p

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@register()
class ExponentialDecay(_DecayByRate):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Positive number of steps per factor of ``decay_rate``.
        decay_rate: Factor per ``decay_steps`` steps.
        staircase: Whether to floor ``step / decay_steps``, so the rate changes
            every ``decay_steps`` steps. Defaults to ``False``.
        name: Defaults to ``"ExponentialDecay"``.

    Examples:
        >>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
        >>> schedule(9), schedule(10), schedule(25)
        (0.1, 0.05, 0.025)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        super().__init__("ExponentialDecay", initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.decay_rate**self._progress(step)


@register()
class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate on each interval between ``boundaries``.

    ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the last
    boundary.

    Args:
        boundaries: Strictly increasing steps.
        values: One more rate than there are boundaries.
        name: Defaults to ``"PiecewiseConstant"``.

    Raises:
        ValueError: If the lengths do not fit or the boundaries do not increase.

    Examples:
        >>> schedule = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
        >>> schedule(10), schedule(11), schedule(21)
        (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries: list[float], values: list[float], name: str = "PiecewiseConstant") -> None:
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay expects one more value than boundaries. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                f"{len(values)}."
            )
        for b in boundaries:
            _number("PiecewiseConstantDecay", "boundaries", b)
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"PiecewiseConstantDecay expects strictly increasing `boundaries`. Received: boundaries={boundaries}."
            )
        for v in values:
            _number("PiecewiseConstantDecay", "values", v)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: int) -> float:
        return float(self.values[bisect.bisect_left(self.boundaries, step)])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@register()
class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    ```
    s = min(step, decay_steps)                 (cycle=False)
    D = decay_steps * max(1, ceil(step / decay_steps)),  s = step   (cycle=True)
    lr = (initial - end) * (1 - s / D) ** power + end       (D = decay_steps without cycle)
    ```

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Positive number of steps to reach ``end_learning_rate``.
        end_learning_rate: Final rate. Defaults to ``0.0001``.
        power: Exponent of the polynomial. Defaults to ``1.0``.
        cycle: Whether to restart the decay after ``decay_steps``, stretching the
            period to the next multiple of ``decay_steps``. Defaults to ``False``.
        name: Defaults to ``"PolynomialDecay"``.

    Examples:
        >>> schedule = PolynomialDecay(1.0, decay_steps=4, end_learning_rate=0.0)
        >>> schedule(1), schedule(4), schedule(8)
        (0.75, 0.0, 0.0)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        owner = "PolynomialDecay"
        self.initial_learning_rate = _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "decay_steps", decay_steps, positive=True)
        self.decay_steps = decay_steps
        self.end_learning_rate = _number(owner, "end_learning_rate", end_learning_rate)
        self.power = _number(owner, "power", power)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step: int) -> float:
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power + self.end_learning_rate

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


@register()
class InverseTimeDecay(_DecayByRate):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    With ``decay_steps=1`` this is the ``decay`` argument of Keras 1/2 optimizers.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Positive number of steps per unit of decay.
        decay_rate: Decay factor.
        staircase: Whether to floor ``step / decay_steps``. Defaults to ``False``.
        name: Defaults to ``"InverseTimeDecay"``.

    Examples:
        >>> InverseTimeDecay(0.1, decay_steps=1, decay_rate=1.0)(1)
        0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__("InverseTimeDecay", initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


@register()
class CosineDecay(LearningRateSchedule):
    """Cosine decay, after an optional linear warm-up.

    Without ``warmup_target``, with ``s = min(step, decay_steps)``:

    ```
    lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)
    ```

    With ``warmup_target``, the rate first rises linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps`` steps,
    then decays as above from ``warmup_target`` (to ``warmup_target * alpha``)
    over the next ``decay_steps`` steps.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Positive number of steps to decay over.
        alpha: Final rate as a fraction of the rate decay starts from.
            Defaults to ``0.0``.
        name: Defaults to ``"CosineDecay"``.
        warmup_target: Rate reached at the end of the warm-up, or ``None`` for no
            warm-up. Defaults to ``None``.
        warmup_steps: Number of warm-up steps. Defaults to ``0``.

    Examples:
        >>> schedule = CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
        >>> schedule(2), schedule(4), schedule(9), schedule(100)
        (0.5, 1.0, 0.5, 0.0)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: float = 0) -> None:
        owner = "CosineDecay"
        self.initial_learning_rate = _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "decay_steps", decay_steps, positive=True)
        self.decay_steps = decay_steps
        self.alpha = _number(owner, "alpha", alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else _number(owner, "warmup_target", warmup_target)
        if _number(owner, "warmup_steps", warmup_steps) < 0:
            raise ValueError(f"CosineDecay expects `warmup_steps` >= 0. Received: warmup_steps={warmup_steps!r}.")
        self.warmup_steps = warmup_steps

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


@register()
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov and Hutter, 2017).

    The first period lasts ``first_decay_steps`` steps, each next one ``t_mul``
    times longer; period ``i`` (from 0) starts at ``m_mul ** i`` times the initial
    rate. Within a period, at fraction ``f`` of it:

    ```
    lr = initial * ((1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * f)) + alpha)
    ```

    Args:
        initial_learning_rate: Rate at step 0.
        first_decay_steps: Positive length of the first period.
        t_mul: Factor by which each period is longer than the last. Defaults to ``2.0``.
        m_mul: Factor by which each period starts lower than the last. Defaults to ``1.0``.
        alpha: Lowest rate as a fraction of ``initial_learning_rate``. Defaults to ``0.0``.
        name: Defaults to ``"SGDRDecay"``.

    Examples:
        >>> schedule = CosineDecayRestarts(1.0, first_decay_steps=4, t_mul=2.0, m_mul=0.5)
        >>> schedule(0), schedule(2), schedule(4), schedule(8)
        (1.0, 0.5, 0.5, 0.25)
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: float, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        owner = "CosineDecayRestarts"
        self.initial_learning_rate = _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "first_decay_steps", first_decay_steps, positive=True)
        self.first_decay_steps = first_decay_steps
        self.t_mul = _number(owner, "t_mul", t_mul, positive=True)
        self.m_mul = _number(owner, "m_mul", m_mul)
        self.alpha = _number(owner, "alpha", alpha)
        self.name = name

    def __call__(self, step: int) -> float:
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul))
            elapsed = (1.0 - self.t_mul**restart) / (1.0 - self.t_mul)
            fraction = (fraction - elapsed) / self.t_mul**restart
        cosine = 0.5 * self.m_mul**restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


serialize = _registry.serialize
deserialize = _registry.deserialize

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "register",
    "serialize",
]
