"""AdamW: Adam with decoupled weight decay, as Keras 3 defines it."""

from __future__ import annotations

from typing import Any

from minikeras.optimizers.adam import Adam
from minikeras.optimizers.base import register


@register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    Before each Adam update, every weight not excluded with
    :meth:`~minikeras.optimizers.Optimizer.exclude_from_weight_decay` is shrunk:

    ```
    w = w - w * weight_decay * lr
    ```

    then the Adam rule of :class:`~minikeras.optimizers.Adam` follows, with the same
    ``lr``. This is the ``weight_decay`` every minikeras optimizer accepts; AdamW
    only makes it required, with Keras 3's default.

    Args:
        learning_rate: Step size or schedule. Defaults to ``0.001``.
        weight_decay: Fraction of ``lr`` by which weights shrink per step.
            Defaults to ``0.004``.
        beta_1: Decay of the first-moment average. Defaults to ``0.9``.
        beta_2: Decay of the second-moment average. Defaults to ``0.999``.
        epsilon: Small constant for stability. Defaults to ``1e-7``.
        amsgrad: Whether to use the AMSGrad variant. Defaults to ``False``.
        name: Defaults to ``"adam_w"`` (Keras 3's automatic name).
        **kwargs: See :class:`~minikeras.optimizers.Optimizer`.

    Raises:
        ValueError: If ``weight_decay`` is ``None``.

    Examples:
        >>> opt = AdamW()
        >>> opt.weight_decay, opt.name
        (0.004, 'adam_w')

    References:
        Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, name: str | None = None,
                 **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError(
                "Argument `weight_decay` must be a float. Received: weight_decay=None. "
                "Pass a float (AdamW's default is 0.004), or use Adam for no weight decay."
            )
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name or "adam_w", weight_decay=weight_decay, **kwargs)
