"""Callbacks: code that ``fit`` runs at the start and end of training, epochs and batches."""

from __future__ import annotations

from minikeras.callbacks.backup_and_restore import BackupAndRestore
from minikeras.callbacks.callback import Callback, CallbackList, register
from minikeras.callbacks.csv_logger import CSVLogger
from minikeras.callbacks.early_stopping import EarlyStopping
from minikeras.callbacks.gradient_monitor import GradientMonitor
from minikeras.callbacks.history import History
from minikeras.callbacks.lambda_callback import LambdaCallback
from minikeras.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from minikeras.callbacks.model_checkpoint import ModelCheckpoint
from minikeras.callbacks.progbar import ProgbarLogger
from minikeras.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "GradientMonitor", "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau",
           "TerminateOnNaN", "register"]
