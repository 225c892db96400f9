"""Callbacks that change the optimizer's learning rate between epochs.

``ReduceLROnPlateau`` divides the learning rate when a monitored value stops
improving; ``LearningRateScheduler`` sets it from a function of the epoch. Both
write the learning rate into the epoch logs as ``learning_rate``, so ``History``
records the rate used during each epoch. The optimizer's learning rate must be a
float: one given as a schedule cannot be set, and the optimizer refuses.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras._validation import check_no_unknown_kwargs, pop_legacy_kwarg, positional_arity
from minikeras.callbacks.callback import Callback, register
from minikeras.callbacks.early_stopping import monitor_direction

_DEFAULT_MIN_DELTA = 1e-4


def _optimizer_of(callback: Callback) -> Any:
    """The model's optimizer, or a ``RuntimeError`` saying that ``compile`` comes first."""
    optimizer = getattr(callback.model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise RuntimeError(
            f"{type(callback).__name__} needs a compiled model with an optimizer that has a "
            f"`learning_rate`; received optimizer={optimizer!r}. Call model.compile(...) before fit()."
        )
    return optimizer


def _non_negative_number(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"{owner} expects `{name}` to be a non-negative number. Received: {name}={value!r}.")
    return float(value)


def _non_negative_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{owner} expects `{name}` to be an integer >= 0. Received: {name}={value!r}.")
    return int(value)


@register()
class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` stops improving.

    At the end of every epoch the current learning rate is written to
    ``logs["learning_rate"]``, then (Keras 3's rule):

    * during a cooldown, the cooldown counter counts down and ``wait`` is reset;
    * if the value beats the best so far by more than ``min_delta``, it becomes
      the best and ``wait`` is reset;
    * otherwise, outside a cooldown, ``wait`` grows by one; once it reaches
      ``patience`` and the learning rate is above ``min_lr``, the rate becomes
      ``max(lr * factor, min_lr)``, a cooldown of ``cooldown`` epochs starts and
      ``wait`` is reset.

    Args:
        monitor: Log key to watch. Defaults to ``"val_loss"``.
        factor: Multiplier of the learning rate, in ``[0, 1)``. Defaults to ``0.1``.
        patience: Epochs without improvement before reducing. Defaults to ``10``.
        verbose: ``1`` prints a message at every reduction. Defaults to ``0``.
        mode: ``"auto"``, ``"min"`` or ``"max"``; ``"auto"`` means ``"min"`` for
            losses and errors, ``"max"`` for accuracy-like metrics. Defaults to ``"auto"``.
        min_delta: Smallest change that counts as improvement. Defaults to ``1e-4``.
        cooldown: Epochs after a reduction during which nothing is counted.
            Defaults to ``0``.
        min_lr: Lower bound of the learning rate. Defaults to ``0.0``.
        **kwargs: The Keras 2 name ``epsilon`` (for ``min_delta``), with a warning.

    Raises:
        ValueError: For ``factor >= 1`` or another invalid argument.

    Examples:
        >>> reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
        >>> model = Sequential([Input((1,)), Dense(1)])
        >>> model.compile(optimizer=mk.optimizers.SGD(0.1), loss="mse")
        >>> reduce.set_model(model)
        >>> reduce.on_train_begin()
        >>> for epoch, loss in enumerate([1.0, 1.0, 0.5]):
        ...     logs = {"loss": loss}
        ...     reduce.on_epoch_end(epoch, logs)
        ...     print(round(logs["learning_rate"], 4), round(model.optimizer.learning_rate, 4))
        0.1 0.1
        0.1 0.05
        0.05 0.05
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = _DEFAULT_MIN_DELTA,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs: Any) -> None:
        super().__init__()
        owner = "ReduceLROnPlateau"
        min_delta = pop_legacy_kwarg(owner, kwargs, "epsilon", "min_delta", min_delta, _DEFAULT_MIN_DELTA)
        check_no_unknown_kwargs(owner, kwargs)
        if not isinstance(monitor, str):
            raise TypeError(f"{owner} expects `monitor` to be a log key (a string). Received: monitor={monitor!r}.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Expected `mode` to be 'auto', 'min' or 'max'. Received: mode={mode!r}.")
        factor = _non_negative_number(owner, "factor", factor)
        if factor >= 1.0:
            raise ValueError(
                f"{owner} does not support a factor >= 1.0. Received: factor={factor}. "
                "Pass a factor in [0, 1), e.g. factor=0.5 to halve the learning rate."
            )
        self.monitor = monitor
        self.factor = factor
        self.patience = _non_negative_int(owner, "patience", patience)
        self.verbose = verbose
        self.mode = mode
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(min_delta)):
            raise ValueError(f"{owner} expects `min_delta` to be a finite number. Received: min_delta={min_delta!r}.")
        self.min_delta = abs(float(min_delta))
        self.cooldown = _non_negative_int(owner, "cooldown", cooldown)
        self.min_lr = _non_negative_number(owner, "min_lr", min_lr)
        self._direction: str | None = None
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        """Whether the callback is waiting out the cooldown after a reduction."""
        return self.cooldown_counter > 0

    def _improved(self, current: float) -> bool:
        if self.best is None:
            return True
        if self._direction == "max":
            return current - self.min_delta > self.best
        return current + self.min_delta < self.best

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        optimizer = _optimizer_of(self)
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau is monitoring '{self.monitor}', which is not in the epoch logs. "
                f"Available keys: {', '.join(logs)}. Pass validation data to fit(), or monitor 'loss'.",
                UserWarning, stacklevel=2,
            )
            return
        if self._direction is None:
            self._direction = monitor_direction(self.monitor, self.mode, self.model)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                # Keras compares with min_lr rounded to float32, the dtype of its variable.
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {
            "monitor": self.monitor, "factor": self.factor, "patience": self.patience,
            "verbose": self.verbose, "mode": self.mode, "min_delta": self.min_delta,
            "cooldown": self.cooldown, "min_lr": self.min_lr,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ReduceLROnPlateau:
        """Builds the callback from :meth:`get_config` output."""
        return cls(**config)


def _schedule_arity(schedule: Callable[..., Any]) -> int | None:
    """2 if ``schedule(epoch, lr)`` binds, 1 if only ``schedule(epoch)``, ``None`` if unknown."""
    try:
        return positional_arity(schedule, (2, 1))
    except TypeError as signature:
        raise ValueError(
            "LearningRateScheduler expects `schedule` to take the epoch, or the epoch and the current "
            f"learning rate. Received: schedule={schedule!r} with signature {signature}. "
            "Pass e.g. `lambda epoch, lr: lr * 0.9`."
        ) from None


@register()
class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch from ``schedule``.

    ``schedule(epoch, lr)`` receives the epoch (0-based) and the current learning
    rate; a function of the epoch alone, ``schedule(epoch)``, works too. It must
    return a float.

    Args:
        schedule: The function giving the learning rate.
        verbose: ``1`` prints the new learning rate at every epoch. Defaults to ``0``.

    Raises:
        TypeError: If ``schedule`` is not callable.
        ValueError: If ``schedule`` takes neither form, or (during training)
            returns something other than a non-negative float.

    Examples:
        >>> model = Sequential([Input((1,)), Dense(1)])
        >>> model.compile(optimizer=mk.optimizers.SGD(0.1), loss="mse")
        >>> halve = LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr / 2)
        >>> history = model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=3, verbose=0,
        ...                     callbacks=[halve])
        >>> list(round(lr, 4) for lr in history.history["learning_rate"])
        [0.1, 0.05, 0.025]
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "LearningRateScheduler expects `schedule` to be a function of the epoch "
                f"(and the current learning rate). Received: schedule={schedule!r}."
            )
        self.schedule = schedule
        self.verbose = verbose
        self._arity = _schedule_arity(schedule)

    def _call_schedule(self, epoch: int, lr: float) -> Any:
        if self._arity == 2:
            return self.schedule(epoch, lr)
        if self._arity == 1:
            return self.schedule(epoch)
        try:  # no signature to inspect: try both forms, as Keras does
            return self.schedule(epoch, lr)
        except TypeError:
            return self.schedule(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _optimizer_of(self)
        value = self._call_schedule(epoch, float(optimizer.learning_rate))
        if not isinstance(value, (float, np.floating)) or not math.isfinite(value) or value < 0:
            raise ValueError(
                "The output of the `schedule` function should be a non-negative float. "
                f"Received: {value!r} (type {type(value).__name__}) at epoch {epoch}. "
                "Return a float, e.g. `float(value)`."
            )
        optimizer.learning_rate = value
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {value}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(_optimizer_of(self).learning_rate)

    def get_config(self) -> dict[str, Any]:
        """Refuses: the schedule is a Python function, which a config cannot rebuild.

        Raises:
            TypeError: Always.
        """
        raise TypeError(
            "LearningRateScheduler cannot be serialized: its `schedule` is a Python function. "
            "Create the callback again in the training script."
        )
