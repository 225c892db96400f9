"""Keras 3's weights layout (``model.save_weights("m.weights.h5")`` and ``.keras`` archives)."""

from __future__ import annotations

from typing import Any


def save_weights(model: Any, filepath: str, overwrite: bool = True) -> None:
    """Writes ``model``'s weights (and optimizer state) in Keras 3's ``.weights.h5`` layout."""
    raise NotImplementedError("Keras 3 '.weights.h5' files are not written yet; use a '.h5' name.")


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False) -> None:
    """Reads a Keras 3 ``.weights.h5`` file into ``model``."""
    raise NotImplementedError("Keras 3 '.weights.h5' files are not read yet.")
