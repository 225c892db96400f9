"""Stochastic gradient descent with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.optimizers.base import Optimizer, register


@register("sgd")
class SGD(Optimizer):
    """Gradient descent, with momentum if asked, following Keras 3's rule.

    ```
    momentum == 0:  w = w - lr * g
    otherwise:      m = momentum * m - lr * g
                    w = w + m                         (plain)
                    w = w + momentum * m - lr * g     (nesterov)
    ```

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.01``.
        momentum: Momentum factor in ``[0, 1]``. Defaults to ``0.0``.
        nesterov: Whether to use Nesterov momentum. Defaults to ``False``.
        name: Defaults to ``"SGD"``.
        **kwargs: See :class:`~minikeras.optimizers.Optimizer` (``weight_decay``,
            ``clipnorm``, ``clipvalue``, ``global_clipnorm``; legacy ``lr``, ``decay``).

    Examples:
        >>> opt = SGD(learning_rate=0.1)
        >>> opt.learning_rate
        0.10000000149011612
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"SGD expects `momentum` in [0, 1]. Received: momentum={momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self._slot_names = ["momentum"] if self.momentum else []

    @classmethod
    def _default_learning_rate(cls) -> float:
        return 0.01

    def build_slots(self, value):
        return [np.zeros_like(value)] if self.momentum else []

    def update_step(self, value, grad, slots, lr, scratch=None):
        grad *= lr
        if not self.momentum:
            value -= grad
            return
        (m,) = slots
        momentum = value.dtype.type(self.momentum)
        m *= momentum
        m -= grad
        if self.nesterov:
            # w + momentum * m - lr * g, without a temporary: grad is free once m is updated.
            value -= grad
            np.multiply(m, momentum, out=grad)
            value += grad
        else:
            value += m
        self.flush_tiny(slots, grad)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
