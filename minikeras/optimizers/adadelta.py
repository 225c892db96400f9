"""Adadelta: steps scaled by running averages of squared gradients and squared steps."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.optimizers.base import Optimizer, check_epsilon, check_fraction, register


@register("adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012) with Keras 3's update rule.

    ```
    Eg = rho * Eg + (1 - rho) * g^2
    d  = -sqrt(Ed + epsilon) * g / sqrt(Eg + epsilon)
    Ed = rho * Ed + (1 - rho) * d^2
    w  = w + lr * d
    ```

    Keras 3 keeps a learning rate (default ``0.001``); the original method, and
    Keras 2's default ``lr=1.0``, use ``lr = 1``.

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.001``.
        rho: Decay of both running averages, in ``[0, 1)``. Defaults to ``0.95``.
        epsilon: Small constant for stability, added inside both square roots.
            Defaults to ``1e-7``.
        name: Defaults to ``"adadelta"``.
        **kwargs: See :class:`~minikeras.optimizers.Optimizer`.

    Examples:
        >>> Adadelta().get_config()["rho"]
        0.95

    References:
        Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701.
    """

    uses_scratch = True

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name or "adadelta", **kwargs)
        self.rho = check_fraction("Adadelta", "rho", rho)
        self.epsilon = check_epsilon("Adadelta", epsilon)
        self._slot_names = ["accumulated_grad", "accumulated_delta_var"]

    def build_slots(self, value):
        return [np.zeros_like(value), np.zeros_like(value)]

    def update_step(self, value, grad, slots, lr, scratch=None):
        dtype = value.dtype.type
        rho, one_minus_rho, eps = dtype(self.rho), dtype(1 - self.rho), dtype(self.epsilon)
        eg, ed = slots
        eg *= rho
        np.multiply(grad, grad, out=scratch)
        scratch *= one_minus_rho
        eg += scratch
        # grad becomes -d = sqrt(Ed + eps) * g / sqrt(Eg + eps).
        np.add(ed, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        grad *= scratch
        np.add(eg, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        grad /= scratch
        ed *= rho
        np.multiply(grad, grad, out=scratch)
        scratch *= one_minus_rho
        ed += scratch
        grad *= lr
        value -= grad
        self.flush_tiny(slots, scratch)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
