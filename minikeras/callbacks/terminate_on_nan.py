"""``TerminateOnNaN``: stop training as soon as a batch loss is NaN or infinite."""

from __future__ import annotations

import math
from typing import Any

from minikeras.callbacks.callback import Callback, register


@register()
class TerminateOnNaN(Callback):
    """Stops training after the first training batch whose loss is NaN or ``±inf``.

    The check runs after every training batch on ``logs["loss"]`` (the running
    mean of the epoch, which turns NaN or infinite with the first such batch).
    By default it prints ``Batch {batch}: Invalid loss, terminating training`` and
    sets ``model.stop_training``: ``fit`` ends after that batch and still calls
    ``on_epoch_end`` and ``on_train_end``. With ``raise_error=True`` it raises
    instead, so no other hook runs.

    Args:
        raise_error: Raise a ``RuntimeError`` instead of stopping gracefully.
            Defaults to ``False``.

    Examples:
        >>> stop = TerminateOnNaN()
        >>> model = Sequential([Input((1,)), Dense(1)])
        >>> stop.set_model(model)
        >>> stop.on_train_batch_end(4, {"loss": float("nan")})
        Batch 4: Invalid loss, terminating training
        >>> model.stop_training
        True
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        if not isinstance(raise_error, bool):
            raise TypeError(f"TerminateOnNaN expects `raise_error` to be a bool. Received: raise_error={raise_error!r}.")
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"raise_error": self.raise_error}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TerminateOnNaN:
        """Builds the callback from :meth:`get_config` output."""
        return cls(**config)
