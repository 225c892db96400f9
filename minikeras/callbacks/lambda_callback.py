"""``LambdaCallback``: a callback made of plain functions, one per hook."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from minikeras.callbacks.callback import _HOOKS, Callback, register

# Hooks called as hook(logs); every other hook is called as hook(index, logs).
_LOGS_ONLY = ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
              "on_predict_begin", "on_predict_end")
_LEGACY = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}
_NAMES = tuple(_HOOKS) + tuple(_LEGACY)


def _check_hook(name: str, fn: Any) -> None:
    """Refuses a value that is not a function callable the way ``name`` is called."""
    form = f"{name}(logs)" if name in _LOGS_ONLY else f"{name}({'epoch' if 'epoch' in name else 'batch'}, logs)"
    if not callable(fn):
        raise TypeError(f"LambdaCallback expects `{name}` to be a function {form}. Received: {name}={fn!r}.")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return
    args = ({},) if name in _LOGS_ONLY else (0, {})
    try:
        signature.bind(*args)
    except TypeError:
        raise TypeError(
            f"LambdaCallback calls `{name}` as {form}, but the function given has the signature "
            f"{signature}. Received: {name}={fn!r}. Pass e.g. `{name}=lambda "
            f"{'logs' if name in _LOGS_ONLY else 'i, logs'}: ...`."
        ) from None


@register()
class LambdaCallback(Callback):
    """A callback whose hooks are the functions given.

    Epoch hooks are called as ``fn(epoch, logs)``, batch hooks as ``fn(batch, logs)``
    and the begin/end hooks of training, evaluation and prediction as ``fn(logs)``.
    Any other hook of :class:`Callback` (``on_test_end``, ``on_predict_batch_end``,
    the legacy ``on_batch_end``, ...) can be given by keyword.

    Args:
        on_epoch_begin: Called at the start of every epoch.
        on_epoch_end: Called at the end of every epoch.
        on_train_begin: Called when training starts.
        on_train_end: Called when training ends.
        on_train_batch_begin: Called before every training batch.
        on_train_batch_end: Called after every training batch.
        **kwargs: Other hooks, by name.

    Raises:
        TypeError: For a keyword that names no hook, or a value that is not a
            function taking the hook's arguments.

    Examples:
        >>> losses = []
        >>> record = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
        >>> model = Sequential([Input((1,)), Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[record])
        >>> len(losses)
        2
    """

    def __init__(self, on_epoch_begin: Callable[..., Any] | None = None,
                 on_epoch_end: Callable[..., Any] | None = None,
                 on_train_begin: Callable[..., Any] | None = None,
                 on_train_end: Callable[..., Any] | None = None,
                 on_train_batch_begin: Callable[..., Any] | None = None,
                 on_train_batch_end: Callable[..., Any] | None = None,
                 **kwargs: Callable[..., Any] | None) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - set(_NAMES))
        if unknown:
            raise TypeError(
                f"LambdaCallback received unknown hook name(s): {', '.join(unknown)}. "
                f"Valid names: {', '.join(_NAMES)}."
            )
        hooks = {
            "on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin, "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin, "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for name, fn in hooks.items():
            if fn is None:
                continue
            _check_hook(name, fn)
            setattr(self, name, fn)
        # A legacy batch hook runs through the default on_train_batch_* (as in Keras),
        # which is then marked as given so that fit() calls it.
        for legacy, modern in _LEGACY.items():
            if legacy in vars(self) and modern not in vars(self):
                setattr(self, modern, functools.partial(getattr(Callback, modern), self))

    def get_config(self) -> dict[str, Any]:
        """Refuses: the hooks are Python functions, which a config cannot rebuild.

        Raises:
            TypeError: Always.
        """
        raise TypeError(
            "LambdaCallback cannot be serialized: its hooks are Python functions. "
            "Create the callback again in the training script."
        )
