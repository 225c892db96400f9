"""Adam: adaptive moment estimation, with Keras 3's update rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.optimizers.base import Optimizer, check_epsilon, check_fraction, move_toward, register, step_over_root


@register("adam")
class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with Keras 3's placement of ``epsilon``.

    With ``t`` the 1-based step:

    ```
    m = m + (g - m) * (1 - beta_1)
    v = v + (g^2 - v) * (1 - beta_2)
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    w = w - alpha * m / (sqrt(v) + epsilon)
    ```

    ``epsilon`` is added to ``sqrt(v)`` of the uncorrected ``v``. With
    ``amsgrad=True``, ``v_hat = max(v_hat, v)`` replaces ``v`` in the last line.

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.001``.
        beta_1: Decay of the first-moment average. Defaults to ``0.9``.
        beta_2: Decay of the second-moment average. Defaults to ``0.999``.
        epsilon: Small constant for stability. Defaults to ``1e-7``.
        amsgrad: Whether to use the AMSGrad variant. Defaults to ``False``.
        name: Defaults to ``"adam"``.
        **kwargs: See :class:`~minikeras.optimizers.Optimizer` (``weight_decay``,
            ``clipnorm``, ``clipvalue``, ``global_clipnorm``; legacy ``lr``, ``decay``).

    Examples:
        >>> Adam().get_config()["beta_2"]
        0.999

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    uses_scratch = True

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name or "adam", **kwargs)
        owner = type(self).__name__
        self.beta_1 = check_fraction(owner, "beta_1", beta_1)
        self.beta_2 = check_fraction(owner, "beta_2", beta_2)
        self.epsilon = check_epsilon(owner, epsilon)
        self.amsgrad = bool(amsgrad)
        self._slot_names = ["momentum", "velocity"] + (["velocity_hat"] if self.amsgrad else [])
        self._alphas: dict[type, np.floating] = {}
        # Keras 3 creates the velocity_hat slots after all the others.
        self._slot_groups = [["momentum", "velocity"]] + ([["velocity_hat"]] if self.amsgrad else [])

    def build_slots(self, value):
        return [np.zeros_like(value) for _ in self._slot_names]

    def prepare_step(self, lr):
        self._alphas = {}  # bias-corrected step size of this step, per weight dtype

    def update_step(self, value, grad, slots, lr, scratch=None):
        dtype = value.dtype.type
        alpha = self._alphas.get(dtype)
        if alpha is None:
            t = self.iterations + 1
            alpha = self._alphas[dtype] = (
                lr * np.sqrt(dtype(1) - dtype(self.beta_2) ** t) / (dtype(1) - dtype(self.beta_1) ** t))
        m, v = slots[0], slots[1]
        np.multiply(grad, grad, out=scratch)
        move_toward(v, scratch, dtype(1 - self.beta_2), scratch)
        move_toward(m, grad, dtype(1 - self.beta_1), grad)
        if self.amsgrad:
            np.maximum(slots[2], v, out=slots[2])
            v = slots[2]
        np.multiply(m, alpha, out=grad)
        step_over_root(value, grad, v, dtype(self.epsilon), scratch)
        self.flush_tiny(slots, scratch)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
