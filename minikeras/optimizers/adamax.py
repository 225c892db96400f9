"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.optimizers.base import Optimizer, check_epsilon, check_fraction, register


@register("adamax")
class Adamax(Optimizer):
    """Adamax (Kingma and Ba, 2015, section 7) with Keras 3's update rule.

    With ``t`` the 1-based step:

    ```
    m = m + (g - m) * (1 - beta_1)
    u = max(beta_2 * u, |g|)
    w = w - lr * m / ((1 - beta_1^t) * (u + epsilon))
    ```

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.001``.
        beta_1: Decay of the first-moment average. Defaults to ``0.9``.
        beta_2: Decay of the infinity norm. Defaults to ``0.999``.
        epsilon: Small constant for stability. Defaults to ``1e-7``.
        name: Defaults to ``"adamax"``.
        **kwargs: See :class:`~minikeras.optimizers.Optimizer`.

    Examples:
        >>> Adamax().get_config()["beta_1"]
        0.9

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    uses_scratch = True

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name or "adamax", **kwargs)
        self.beta_1 = check_fraction("Adamax", "beta_1", beta_1)
        self.beta_2 = check_fraction("Adamax", "beta_2", beta_2)
        self.epsilon = check_epsilon("Adamax", epsilon)
        self._slot_names = ["momentum", "norm"]

    def build_slots(self, value):
        return [np.zeros_like(value), np.zeros_like(value)]

    def update_step(self, value, grad, slots, lr, scratch=None):
        dtype = value.dtype.type
        m, u = slots
        correction = dtype(1) - dtype(self.beta_1) ** (self.iterations + 1)
        u *= dtype(self.beta_2)
        np.abs(grad, out=scratch)
        np.maximum(u, scratch, out=u)
        grad -= m
        grad *= dtype(1 - self.beta_1)
        m += grad
        np.add(u, dtype(self.epsilon), out=scratch)
        scratch *= correction
        np.multiply(m, lr, out=grad)
        grad /= scratch
        value -= grad
        self.flush_tiny(slots, scratch)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
