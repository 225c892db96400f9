"""``History``: records every epoch's logs; ``fit`` returns it."""

from __future__ import annotations

from minikeras.callbacks.callback import Callback, register


@register()
class History(Callback):
    """Collects epoch logs into ``history`` (key -> list of floats) and ``epoch``.

    Examples:
        >>> h = History()
        >>> h.on_train_begin()
        >>> h.on_epoch_end(0, {"loss": 0.5})
        >>> h.history
        {'loss': [0.5]}
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
