"""Saving and loading entry points: pick the file format and hand over to its module.

Writing goes by the file name's suffix, as in Keras 3: ``.keras`` writes a Keras 3
archive, ``.weights.h5`` Keras 3's weights layout, and any other ``.h5``/``.hdf5``
name the legacy HDF5 layout. Reading goes by the file's contents, so every
layout Keras has written (Keras 1 to 3) is recognised whatever the file is called.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from minikeras.saving import keras_archive, keras_weights, legacy_h5, safe_h5
from minikeras.saving._files import file_kind

_SUFFIX_HELP = (
    "Use '.keras' for a Keras 3 archive (recommended), '.h5' for Keras's legacy HDF5 "
    "layout, or '.weights.h5' with save_weights() for weights only."
)


def hdf5_layout(f: Any) -> str:
    """What an open HDF5 file holds: ``"model"`` (a legacy ``.h5`` model), ``"legacy-weights"``
    (``save_weights`` to ``.h5``), ``"keras3-weights"`` (a ``.weights.h5`` file) or ``"other"``."""
    if "model_config" in f.attrs:
        return "model"
    if _has_legacy_weight_names(f):
        return "legacy-weights"
    if _has_keras3_weight_groups(f):
        return "keras3-weights"
    return "other"


def _has_legacy_weight_names(f: Any) -> bool:
    return "layer_names" in f.attrs or "layer_names0" in f.attrs


def _has_keras3_weight_groups(f: Any) -> bool:
    return any(safe_h5.has(f, name) for name in ("layers", "vars", "_layer_checkpoint_dependencies"))


def _path(filepath: Any, caller: str) -> str:
    try:
        return os.fspath(filepath)
    except TypeError:
        raise TypeError(f"{caller} expects a file path (str or os.PathLike). Received: {filepath!r}.") from None


def save_model(model: Any, filepath: Any, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Saves architecture, weights, training configuration and optimizer state.

    Args:
        model: A built model.
        filepath: A name ending in ``.keras`` (Keras 3 archive) or ``.h5`` (legacy HDF5).
        overwrite: Whether an existing file may be replaced.
        include_optimizer: Whether to store the optimizer state, so training can resume.

    Raises:
        ValueError: If the suffix names no model format, or the model is not built.

    Examples:
        >>> model = Sequential([Dense(2, input_dim=3)])
        >>> save_model(model, tmp_dir / "m.keras")
    """
    path = _path(filepath, "save()")
    if path.endswith(".weights.h5"):
        raise ValueError(
            f"save() writes a whole model, but {path!r} names a weights-only file. Call "
            "model.save_weights() for '.weights.h5' files, or save the model to a '.keras' name."
        )
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet; build it (or fit it) before saving.")
    if path.endswith(".keras"):
        keras_archive.save_model(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
    elif path.endswith((".h5", ".hdf5")):
        legacy_h5.save_model(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
    else:
        raise ValueError(f"save() cannot tell the file format from the name {path!r}. {_SUFFIX_HELP}")


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Saves only the weights: Keras 3's layout for ``.weights.h5``, else the legacy one.

    Examples:
        >>> model = Sequential([Dense(2, input_dim=3)])
        >>> save_weights(model, tmp_dir / "m.weights.h5")
    """
    path = _path(filepath, "save_weights()")
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet; build it before saving its weights.")
    if path.endswith(".weights.h5"):
        keras_weights.save_weights(model, path, overwrite=overwrite)
    elif path.endswith(".keras"):
        raise ValueError(
            f"save_weights() writes weights only, but {path!r} names a whole-model archive. Call "
            "model.save() for '.keras' files, or use a name ending in '.weights.h5'."
        )
    elif path.endswith((".h5", ".hdf5")):
        legacy_h5.save_weights(model, path, overwrite=overwrite)
    else:
        raise ValueError(f"save_weights() cannot tell the file format from the name {path!r}. {_SUFFIX_HELP}")


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Loads a model saved by minikeras or by Keras 1, 2 or 3 (``.keras`` or ``.h5``).

    Loading never runs code from the file: classes are looked up by name among
    minikeras's own and ``custom_objects``, nothing is unpickled or imported.

    Args:
        filepath: The model file.
        custom_objects: Extra classes or functions by name (custom layers, losses, ...).
        compile: Whether to compile from the saved training configuration and restore
            the optimizer state, so training continues where it stopped.
        safe_mode: Accepted for Keras compatibility. minikeras never deserializes code
            (such as ``Lambda`` layers), so ``False`` does not lift that.

    Raises:
        FileNotFoundError: If there is no file.
        ValueError: If the file is not a model file, is damaged, or names classes
            minikeras does not know (pass them in ``custom_objects``).

    Examples:
        >>> Sequential([Dense(2, input_dim=3)]).save(tmp_dir / "m.keras")
        >>> load_model(tmp_dir / "m.keras", compile=False).layers[0].units
        2
    """
    path = _path(filepath, "load_model()")
    if not safe_mode:
        warnings.warn(
            "load_model(safe_mode=False) changes nothing in minikeras: code stored in a file "
            "(Lambda layers) is never run. Rebuild such layers in code and pass them in custom_objects.",
            UserWarning, stacklevel=2,
        )
    kind = file_kind(path)
    if kind == "zip":
        return keras_archive.load_model(path, custom_objects=custom_objects, compile=compile)
    return legacy_h5.load_model(path, custom_objects=custom_objects, compile=compile)


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Loads weights into a built model from any weights or model file Keras or minikeras wrote.

    Args:
        model: The model to load into; it must have the saved architecture.
        filepath: A ``.weights.h5`` file (Keras 3), a legacy weights ``.h5`` file, a full
            model ``.h5`` file or a ``.keras`` archive.
        skip_mismatch: Skip layers whose weight count or shapes differ (with a warning)
            instead of failing.
        by_name: Legacy ``.h5`` files only: match layers by name instead of position.

    Examples:
        >>> model = Sequential([Dense(2, input_dim=3)])
        >>> model.save_weights(tmp_dir / "w.weights.h5")
        >>> model.load_weights(tmp_dir / "w.weights.h5")
    """
    path = _path(filepath, "load_weights()")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' must be built before load_weights(): give the first layer an "
            "input shape (Input((features,)) or input_dim=) or call model.build((None, features))."
        )
    kind = file_kind(path)
    if kind == "zip":
        if by_name:
            raise ValueError("load_weights(by_name=True) applies to legacy '.h5' files only, not to .keras archives.")
        keras_archive.load_weights(model, path, skip_mismatch=skip_mismatch)
        return
    with safe_h5.open_h5(path) as f:
        legacy = _has_legacy_weight_names(f) or safe_h5.has(f, "model_weights")
        keras3 = _has_keras3_weight_groups(f)
    if not legacy and not keras3:
        raise ValueError(
            f"{path!r} holds no layer weights. load_weights() reads files written by "
            "model.save_weights() or model.save(), by minikeras or Keras."
        )
    if legacy:
        legacy_h5.load_weights(model, path, skip_mismatch=skip_mismatch, by_name=by_name)
    elif by_name:
        raise ValueError(
            f"load_weights(by_name=True) applies to legacy '.h5' files only; {path!r} uses Keras 3's "
            "'.weights.h5' layout, whose weights are matched by position."
        )
    else:
        keras_weights.load_weights(model, path, skip_mismatch=skip_mismatch)
