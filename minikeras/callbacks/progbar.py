"""``ProgbarLogger``: a tqdm bar per epoch (``verbose=1``) or one line per epoch (``2``).

This is the only module that imports tqdm, and only when a bar is shown.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from minikeras.callbacks.callback import Callback, register


def format_logs(logs: dict[str, Any]) -> str:
    """Formats logs as Keras does: `` - loss: 0.1234 - accuracy: 0.9000``."""
    parts = []
    for key, value in logs.items():
        if isinstance(value, float):
            text = f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"
        else:
            text = str(value)
        parts.append(f" - {key}: {text}")
    return "".join(parts)


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
            per_step = elapsed / steps
            unit = f"{per_step * 1e3:.0f}ms/step" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us/step"
            print(f"{steps}/{steps} - {elapsed:.0f}s - {unit}{format_logs(logs or {})}",
                  file=self._stream(), flush=True)

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
