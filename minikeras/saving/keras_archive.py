"""Keras 3 ``.keras`` archives: a zip of ``config.json``, ``metadata.json`` and ``model.weights.h5``."""

from __future__ import annotations

from typing import Any


def save_model(model: Any, filepath: str, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Writes ``model`` as a Keras 3 ``.keras`` archive."""
    raise NotImplementedError("'.keras' archives are not written yet; use a '.h5' name.")


def load_model(filepath: str, custom_objects: dict[str, Any] | None = None, compile: bool = True) -> Any:
    """Reads a model from a ``.keras`` archive."""
    raise NotImplementedError("'.keras' archives are not read yet.")


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False) -> None:
    """Reads the weights of a ``.keras`` archive into ``model``."""
    raise NotImplementedError("'.keras' archives are not read yet.")
