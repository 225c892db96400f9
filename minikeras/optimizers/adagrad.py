"""Adagrad: per-coordinate steps scaled by the accumulated squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.optimizers.base import Optimizer, check_epsilon, register


@register("adagrad")
class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011) with Keras 3's update rule.

    ```
    acc = acc + g^2                      (acc starts at initial_accumulator_value)
    w = w - lr * g / sqrt(acc + epsilon)
    ```

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.001``.
        initial_accumulator_value: Starting value of every accumulator, ``>= 0``.
            Defaults to ``0.1``.
        epsilon: Small constant for stability, added inside the square root.
            Defaults to ``1e-7``.
        name: Defaults to ``"adagrad"``.
        **kwargs: See :class:`~minikeras.optimizers.Optimizer`.

    Examples:
        >>> Adagrad().get_config()["initial_accumulator_value"]
        0.1

    References:
        Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online Learning
        and Stochastic Optimization", JMLR 2011.
    """

    uses_scratch = True

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name or "adagrad", **kwargs)
        try:
            initial = float(initial_accumulator_value)
        except (TypeError, ValueError):
            initial = -1.0
        if isinstance(initial_accumulator_value, bool) or not initial >= 0 or not np.isfinite(initial):
            raise ValueError(
                "Adagrad expects `initial_accumulator_value` to be a float >= 0. "
                f"Received: initial_accumulator_value={initial_accumulator_value!r}."
            )
        self.initial_accumulator_value = initial
        self.epsilon = check_epsilon("Adagrad", epsilon)
        self._slot_names = ["accumulator"]

    def build_slots(self, value):
        return [np.full_like(value, self.initial_accumulator_value)]

    def update_step(self, value, grad, slots, lr, scratch=None):
        (acc,) = slots
        np.multiply(grad, grad, out=scratch)
        acc += scratch
        np.add(acc, value.dtype.type(self.epsilon), out=scratch)
        np.sqrt(scratch, out=scratch)
        grad *= lr
        grad /= scratch
        value -= grad

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
