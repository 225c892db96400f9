"""Saving and loading models and weights in the file formats Keras reads and writes."""

from __future__ import annotations

from minikeras.saving.api import load_model, load_weights, save_model, save_weights
from minikeras.saving.safe_h5 import ModelFileError

__all__ = ["ModelFileError", "load_model", "load_weights", "save_model", "save_weights"]
