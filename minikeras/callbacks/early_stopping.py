"""``EarlyStopping``: stop when a monitored value has stopped improving.

This is the stopping rule of the textbook's SGD algorithm ("repeat until the
error on the validation set stops falling"), with Keras 3's exact semantics.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras.callbacks.callback import Callback, register

_MAX_WORDS = ("acc", "accuracy", "auc", "precision", "recall")


def monitor_direction(monitor: str, mode: str, model: Any = None) -> str:
    """Resolves ``mode`` (``"auto"``, ``"min"``, ``"max"``) to ``"min"`` or ``"max"``.

    ``"auto"`` means ``"min"`` for losses and errors and ``"max"`` for accuracy-like
    metrics; a model's compiled metric of that name decides first.

    Raises:
        ValueError: For an unknown ``mode``, or ``"auto"`` with a name of unknown direction.
    """
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"Expected `mode` to be 'auto', 'min' or 'max'. Received: mode={mode!r}.")
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    for metric in getattr(model, "metrics", None) or []:
        if getattr(metric, "name", None) == name:
            return metric.direction
    if name.endswith(_MAX_WORDS) or name in _MAX_WORDS:
        return "max"
    if name.endswith(("error", "mse", "mae")):
        return "min"
    raise ValueError(
        f"Cannot tell whether '{monitor}' should go up or down. Pass mode='min' or mode='max'."
    )


@register()
class EarlyStopping(Callback):
    """Stops training once ``monitor`` has not improved for ``patience`` epochs.

    After each epoch (from ``start_from_epoch`` on) the value is compared with the
    best so far; it improves when it beats the best by more than ``min_delta``.
    Training stops after ``patience`` epochs in a row without improvement (never at
    epoch 0). With ``restore_best_weights=True`` the weights of the best epoch are
    put back when training ends, whether or not it stopped early (Keras 3).

    Args:
        monitor: Log key to watch. Defaults to ``"val_loss"``.
        min_delta: Smallest change that counts as improvement. Defaults to ``0``.
        patience: Epochs without improvement before stopping. Defaults to ``0``.
        verbose: ``1`` prints a message when stopping or restoring. Defaults to ``0``.
        mode: ``"auto"``, ``"min"`` or ``"max"``. Defaults to ``"auto"``.
        baseline: A value the monitor must beat; the wait only resets when it does.
        restore_best_weights: Restore the best epoch's weights at the end.
        start_from_epoch: Epochs to wait before monitoring. Defaults to ``0``.

    Examples:
        >>> stop = EarlyStopping(monitor="val_loss", patience=2)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Expected `mode` to be 'auto', 'min' or 'max'. Received: mode={mode!r}.")
        if int(patience) < 0:
            raise ValueError(f"Expected `patience` >= 0. Received: patience={patience!r}.")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self._direction: str | None = None
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights = None
        self.best_epoch = 0
        self._direction = None

    def _improved(self, current: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self._direction == "max":
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping is monitoring '{self.monitor}', which is not in the epoch logs. "
                f"Available keys: {', '.join(sorted(logs))}. Pass validation data to fit(), "
                "or monitor 'loss'.",
                UserWarning, stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self._direction is None:
            self._direction = monitor_direction(self.monitor, self.mode, self.model)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_config(self):
        return {
            "monitor": self.monitor, "min_delta": self.min_delta, "patience": self.patience,
            "verbose": self.verbose, "mode": self.mode, "baseline": self.baseline,
            "restore_best_weights": self.restore_best_weights,
            "start_from_epoch": self.start_from_epoch,
        }
