"""Nadam: Adam with Nesterov momentum, with Keras 3's momentum schedule."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras.optimizers.base import Optimizer, check_epsilon, check_fraction, move_toward, register, step_over_root


@register("nadam")
class Nadam(Optimizer):
    """Nadam (Dozat, 2016) with Keras 3's update rule.

    With ``t`` the 1-based step, the momentum schedule ``u_t`` and its running
    product ``u_prod`` (one number for all weights, starting at 1) are:

    ```
    u_t    = beta_1 * (1 - 0.5 * 0.96^t)
    u_t1   = beta_1 * (1 - 0.5 * 0.96^(t + 1))
    u_prod = u_prod * u_t                        (once per step)
    ```

    and each weight is updated by:

    ```
    m = m + (g - m) * (1 - beta_1)
    v = v + (g^2 - v) * (1 - beta_2)
    m_hat = u_t1 * m / (1 - u_prod * u_t1) + (1 - u_t) * g / (1 - u_prod)
    v_hat = v / (1 - beta_2^t)
    w = w - lr * m_hat / (sqrt(v_hat) + epsilon)
    ```

    ``u_prod`` is saved after the slots, under Keras 3's name ``"variable"``, in
    the dtype of the first weight. Keras 2 used ``0.96^(t * schedule_decay)``;
    its ``schedule_decay`` argument is accepted with a warning and not used.

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.001``.
        beta_1: Decay of the first-moment average. Defaults to ``0.9``.
        beta_2: Decay of the second-moment average. Defaults to ``0.999``.
        epsilon: Small constant for stability. Defaults to ``1e-7``.
        name: Defaults to ``"nadam"``.
        **kwargs: See :class:`~minikeras.optimizers.Optimizer`.

    Examples:
        >>> opt = Nadam()
        >>> opt.get_config()["beta_2"]
        0.999

    References:
        Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.
    """

    uses_scratch = True

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, name: str | None = None, **kwargs: Any) -> None:
        if "schedule_decay" in kwargs:
            schedule_decay = kwargs.pop("schedule_decay")
            warnings.warn(
                f"`schedule_decay` is a Keras 2 argument of Nadam and is ignored (received "
                f"schedule_decay={schedule_decay!r}): Keras 3's momentum schedule 0.96^t is used. "
                "Remove the argument.",
                DeprecationWarning, stacklevel=2,
            )
        super().__init__(learning_rate=learning_rate, name=name or "nadam", **kwargs)
        self.beta_1 = check_fraction("Nadam", "beta_1", beta_1)
        self.beta_2 = check_fraction("Nadam", "beta_2", beta_2)
        self.epsilon = check_epsilon("Nadam", epsilon)
        self._slot_names = ["momentum", "velocity"]

    def build_slots(self, value):
        return [np.zeros_like(value), np.zeros_like(value)]

    def build_extra_state(self, values):
        dtype = values[0].dtype if values else np.dtype("float32")
        return {"variable": np.ones((), dtype=dtype)}

    def prepare_step(self, lr):
        u_product = self._extra_state["variable"]
        dtype = u_product.dtype.type
        t = self.iterations + 1
        beta_1, decay, half = dtype(self.beta_1), dtype(0.96), dtype(0.5)
        u_t = beta_1 * (dtype(1) - half * decay ** dtype(t))
        u_t1 = beta_1 * (dtype(1) - half * decay ** dtype(t + 1))
        u_product *= u_t
        # Per-step coefficients, kept in float64 and cast to each weight's dtype.
        self._coefficients = (float(u_t), float(u_t1), float(u_product), float(u_product * u_t1))

    def update_step(self, value, grad, slots, lr, scratch=None):
        dtype = value.dtype.type
        u_t, u_t1, u_prod, u_prod_1 = (dtype(c) for c in self._coefficients)
        beta_2_power = dtype(self.beta_2) ** (self.iterations + 1)
        m, v = slots
        np.multiply(grad, grad, out=scratch)
        move_toward(v, scratch, dtype(1 - self.beta_2), scratch)
        move_toward(m, grad, dtype(1 - self.beta_1), scratch)
        # grad becomes lr * m_hat.
        grad *= (dtype(1) - u_t) / (dtype(1) - u_prod)
        np.multiply(m, u_t1 / (dtype(1) - u_prod_1), out=scratch)
        grad += scratch
        grad *= lr
        np.multiply(v, dtype(1) / (dtype(1) - beta_2_power), out=scratch)
        step_over_root(value, grad, scratch, dtype(self.epsilon), scratch)
        self.flush_tiny(slots, scratch)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
