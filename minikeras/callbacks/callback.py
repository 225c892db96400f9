"""``Callback``, the hooks ``fit``, ``evaluate`` and ``predict`` call, and ``CallbackList``.

Callbacks see the model only through a small protocol: ``stop_training``,
``get_weights()``, ``set_weights()``, ``save()``, ``optimizer`` and the ``logs``
dicts they receive.
"""

from __future__ import annotations

from typing import Any

from minikeras._registry import Registry

_registry = Registry("callback", "keras.callbacks")
register = _registry.register


class Callback:
    """Base class: override the hooks you need; each receives a ``logs`` dict.

    Attributes:
        model: The model being trained (set by :meth:`set_model`).
        params: ``{"verbose", "epochs", "steps"}`` (set by :meth:`set_params`).

    Examples:
        >>> class Printer(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, sorted(logs))
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Gives the callback its model."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Gives the callback the run's parameters."""
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once when ``fit`` ends, with the last epoch's logs."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of every epoch (0-based ``epoch``)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of every epoch with training and ``val_`` values."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each training batch."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each training batch with the epoch's running values."""
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Legacy name of :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Legacy name of :meth:`on_train_batch_end`."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called when evaluation (or validation inside ``fit``) starts."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called when evaluation ends, with its results."""

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each evaluation batch with running values."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called when ``predict`` starts."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called when ``predict`` ends."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each prediction batch."""

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {}


_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
    "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


class CallbackList:
    """Calls a hook on every callback, in list order, with the same ``logs`` dict.

    Args:
        callbacks: The callbacks.
        model: Given to each callback with ``set_model``.
        params: Given to each callback with ``set_params``.
    """

    def __init__(self, callbacks: list[Callback] | None = None, model: Any = None,
                 params: dict[str, Any] | None = None) -> None:
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"Expected minikeras.callbacks.Callback instances in `callbacks`; received {cb!r}."
                )
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)
        self._overridden = {
            hook: [cb for cb in self.callbacks if _overrides(cb, hook)] for hook in _HOOKS
        }

    def append(self, callback: Callback) -> None:
        """Adds a callback at the end."""
        self.callbacks.append(callback)
        for hook in _HOOKS:
            if _overrides(callback, hook):
                self._overridden[hook].append(callback)

    def call(self, hook: str, *args: Any) -> None:
        """Calls ``hook(*args)`` on every callback that implements it.

        The last argument is the logs dict. As in Keras 3, the callbacks of one call
        share a fresh copy of it: a key one callback writes is seen by the callbacks
        after it (and by ``History``), but not by the caller that passed the logs.

        Examples:
            >>> class Writer(Callback):
            ...     def on_epoch_end(self, epoch, logs=None):
            ...         logs["seen"] = 1.0
            >>> class Reader(Callback):
            ...     def on_epoch_end(self, epoch, logs=None):
            ...         print(logs)
            >>> logs = {"loss": 0.5}
            >>> CallbackList([Writer(), Reader()]).call("on_epoch_end", 0, logs)
            {'loss': 0.5, 'seen': 1.0}
            >>> logs
            {'loss': 0.5}
        """
        targets = self._overridden[hook]
        if not targets:
            return
        if args and isinstance(args[-1], dict):
            args = (*args[:-1], dict(args[-1]))
        for cb in targets:
            getattr(cb, hook)(*args)

    def wants(self, hook: str) -> bool:
        """Whether any callback implements ``hook`` (lets loops skip building logs)."""
        return bool(self._overridden[hook])


def _overrides(cb: Callback, hook: str) -> bool:
    if hook in ("on_train_batch_begin", "on_train_batch_end"):
        legacy = hook.replace("train_", "")
        if getattr(type(cb), legacy, None) is not getattr(Callback, legacy):
            return True
    return getattr(type(cb), hook, None) is not getattr(Callback, hook) or hook in vars(cb)
