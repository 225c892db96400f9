"""Optimizers: turn gradients into weight updates, in place."""

from __future__ import annotations

from minikeras.optimizers import schedules
from minikeras.optimizers.adam import Adam
from minikeras.optimizers.base import Optimizer, deserialize, get, register, serialize
from minikeras.optimizers.sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer", "deserialize", "get", "register", "schedules", "serialize"]
