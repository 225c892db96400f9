"""RMSprop: divide the step by a running root mean square of the gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.optimizers.base import Optimizer, check_epsilon, check_fraction, register


@register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop (Tieleman and Hinton, 2012) with Keras 3's update rule.

    ```
    v = rho * v + (1 - rho) * g^2
    centered:   mg = rho * mg + (1 - rho) * g;   den = v - mg^2 + epsilon
    otherwise:  den = v + epsilon
    inc = lr * g / sqrt(den)
    momentum > 0:  mom = momentum * mom + inc;   w = w - mom
    otherwise:     w = w - inc
    ```

    ``epsilon`` is added inside the square root (Keras 2 added it outside).

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.001``.
        rho: Decay of the average of squared gradients, in ``[0, 1)``.
            Defaults to ``0.9``.
        momentum: Momentum factor in ``[0, 1]``; ``0`` keeps no momentum state.
            Defaults to ``0.0``.
        epsilon: Small constant for stability. Defaults to ``1e-7``.
        centered: Whether to divide by an estimate of the gradients' variance
            rather than of their second moment. Defaults to ``False``.
        name: Defaults to ``"rm_sprop"`` (Keras 3's automatic name).
        **kwargs: See :class:`~minikeras.optimizers.Optimizer`.

    Examples:
        >>> opt = RMSprop(momentum=0.9, centered=True)
        >>> opt.get_config()["rho"], opt.name
        (0.9, 'rm_sprop')
    """

    uses_scratch = True

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name or "rm_sprop", **kwargs)
        self.rho = check_fraction("RMSprop", "rho", rho)
        self.momentum = check_fraction("RMSprop", "momentum", momentum, include_one=True)
        self.epsilon = check_epsilon("RMSprop", epsilon)
        self.centered = bool(centered)
        self._slot_names = (["velocity"] + (["momentum"] if self.momentum > 0 else [])
                            + (["average_gradient"] if self.centered else []))
        # Keras 3 creates all velocities, then all momenta, then all average gradients.
        self._slot_groups = [[name] for name in self._slot_names]

    def build_slots(self, value):
        return [np.zeros_like(value) for _ in self._slot_names]

    def update_step(self, value, grad, slots, lr, scratch=None):
        dtype = value.dtype.type
        rho = dtype(self.rho)
        v = slots[0]
        v *= rho
        np.multiply(grad, grad, out=scratch)
        scratch *= dtype(1 - self.rho)
        v += scratch
        if self.centered:
            mg = slots[-1]
            mg *= rho
            np.multiply(grad, dtype(1 - self.rho), out=scratch)
            mg += scratch
            np.multiply(mg, mg, out=scratch)
            np.subtract(v, scratch, out=scratch)
            scratch += dtype(self.epsilon)
        else:
            np.add(v, dtype(self.epsilon), out=scratch)
        np.sqrt(scratch, out=scratch)
        grad *= lr
        grad /= scratch
        if self.momentum > 0:
            mom = slots[1]
            mom *= dtype(self.momentum)
            mom += grad
            value -= mom
        else:
            value -= grad
        self.flush_tiny(slots, scratch)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
