"""Callbacks: code that ``fit`` runs at the start and end of training, epochs and batches."""

from __future__ import annotations

from minikeras.callbacks.callback import Callback, CallbackList, register
from minikeras.callbacks.early_stopping import EarlyStopping
from minikeras.callbacks.history import History
from minikeras.callbacks.progbar import ProgbarLogger

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "ProgbarLogger", "register"]
