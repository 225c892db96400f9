"""``ProgbarLogger``: a tqdm bar per epoch (``verbose=1``) or one line per epoch (``2``).

This is the only module that imports tqdm, and only when a bar is shown.
"""

from __future__ import annotations

import numbers
import sys
import time
from typing import Any

from minikeras.callbacks.callback import Callback, register


def format_logs(logs: dict[str, Any], verbose: int = 1) -> str:
    """Formats logs as Keras's progress bar does: `` - name: value`` for each entry.

    Numbers print with four decimals, or in scientific notation when they are close
    to zero: ``|value| <= 1e-3`` for the bar (``verbose=1``) and, as in Keras's
    one-line-per-epoch mode (``verbose=2``), ``value <= 1e-3``.

    Examples:
        >>> format_logs({"accuracy": 0.5, "loss": 0.0})
        ' - accuracy: 0.5000 - loss: 0.0000e+00'
        >>> format_logs({"loss": -2.0}, verbose=1), format_logs({"loss": -2.0}, verbose=2)
        (' - loss: -2.0000', ' - loss: -2.0000e+00')
    """
    parts = []
    for key, value in logs.items():
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
            plain = abs(value) > 1e-3 if verbose == 1 else value > 1e-3
            text = f"{value:.4f}" if plain else f"{value:.4e}"
        else:
            text = str(value)
        parts.append(f" - {key}: {text}")
    return "".join(parts)


def format_step_time(seconds: float) -> str:
    """Formats the time of one step as Keras does: ``s``, ``ms`` or ``us`` per step.

    Examples:
        >>> format_step_time(0.0042), format_step_time(2.4), format_step_time(0.0)
        ('4ms/step', '2s/step', '0s/step')
    """
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def resolve_verbose(verbose: Any) -> int:
    """Maps ``"auto"`` to 1 on a terminal and to 2 otherwise (clean log files)."""
    if verbose == "auto":
        stream = sys.stdout
        return 1 if hasattr(stream, "isatty") and stream.isatty() else 2
    if verbose not in (0, 1, 2):
        raise ValueError(f"Expected `verbose` to be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}.")
    return int(verbose)


@register()
class ProgbarLogger(Callback):
    """Shows training progress; ``fit`` adds it unless ``verbose=0``.

    ``verbose=1`` draws a tqdm bar per epoch with the running loss and metrics;
    ``verbose=2`` prints one plain line per epoch with no control characters.
    """

    def __init__(self) -> None:
        super().__init__()
        self._bar: Any = None
        self._start = 0.0

    def _stream(self):
        return sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        verbose, epochs = self.params.get("verbose", 1), self.params.get("epochs", 1)
        if epochs > 1:
            print(f"Epoch {epoch + 1}/{epochs}", file=self._stream(), flush=verbose == 2)
        self._start = time.perf_counter()
        if verbose == 1:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.params.get("steps"), file=self._stream(), unit="step",
                             leave=True, dynamic_ncols=True, mininterval=0.05)

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            if logs:
                self._bar.set_postfix_str(format_logs(logs)[3:], refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start
        steps = self.params.get("steps") or 1
        if self._bar is not None:
            if logs:
                self._bar.set_postfix_str(format_logs(logs)[3:], refresh=False)
            self._bar.close()
            self._bar = None
        elif self.params.get("verbose") == 2:
            print(f"{steps}/{steps} - {elapsed:.0f}s - {format_step_time(elapsed / steps)}"
                  f"{format_logs(logs or {}, verbose=2)}", file=self._stream(), flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._in_fit = False

    # -- evaluate() and predict() show their own progress (not the validation in fit) --
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def _start_single(self) -> None:
        if getattr(self, "_in_fit", False):
            return
        self._start = time.perf_counter()
        if self.params.get("verbose") == 1:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.params.get("steps"), file=self._stream(), unit="step",
                             leave=True, dynamic_ncols=True, mininterval=0.05)

    def _step_single(self, logs: dict | None) -> None:
        if self._bar is not None and not getattr(self, "_in_fit", False):
            self._bar.update(1)
            if logs:
                self._bar.set_postfix_str(format_logs(logs)[3:], refresh=False)

    def _end_single(self, logs: dict | None) -> None:
        if getattr(self, "_in_fit", False):
            return
        self.on_epoch_end(0, logs)

    def on_test_begin(self, logs=None):
        self._start_single()

    def on_test_batch_end(self, batch, logs=None):
        self._step_single(logs)

    def on_test_end(self, logs=None):
        self._end_single(logs)

    def on_predict_begin(self, logs=None):
        self._start_single()

    def on_predict_batch_end(self, batch, logs=None):
        self._step_single(None)

    def on_predict_end(self, logs=None):
        self._end_single({})
