"""Saving and loading models and weights in Keras's HDF5 layout."""

from __future__ import annotations

from minikeras.saving.legacy_h5 import load_model, load_weights, save_model, save_weights

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
