"""Learning-rate schedules: functions of the optimizer's step counter."""

from __future__ import annotations

import math
from typing import Any

from minikeras._registry import Registry

_registry = Registry("schedule", "keras.optimizers.schedules")
register = _registry.register


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate for ``step``.

    The optimizer evaluates it at ``step = iterations`` before incrementing, so
    the first update uses ``schedule(0)``.
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Builds the schedule from :meth:`get_config` output."""
        return cls(**config)


@register()
class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    With ``decay_steps=1`` this is the ``decay`` argument of Keras 1/2 optimizers.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Positive number of steps per unit of decay.
        decay_rate: Decay factor.
        staircase: Whether to floor ``step / decay_steps``. Defaults to ``False``.

    Example:
        >>> InverseTimeDecay(0.1, decay_steps=1, decay_rate=1.0)(1)
        0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        if decay_steps <= 0:
            raise ValueError(f"InverseTimeDecay expects `decay_steps` > 0. Received: decay_steps={decay_steps!r}.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


serialize = _registry.serialize
deserialize = _registry.deserialize

__all__ = ["InverseTimeDecay", "LearningRateSchedule", "deserialize", "register", "serialize"]
