"""File plumbing shared by every format: atomic writes and telling formats apart.

A save never leaves a half-written file under the user's name
(:func:`minikeras._atomic.atomic_write`). A file is recognised by its first bytes,
never by its name, so a ``.keras`` archive renamed to ``.h5`` is still read correctly.
"""

from __future__ import annotations

import os
from typing import Any

from minikeras._atomic import atomic_write

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
#: The Keras version minikeras's files declare: the one whose layouts they follow.
KERAS_VERSION = "3.15.1"


def h5py_module() -> Any:
    """h5py, imported on first use so that ``import minikeras`` does not load it."""
    import h5py

    return h5py


def minikeras_version() -> str:
    """The installed minikeras version, recorded in the files it writes."""
    from minikeras import __version__

    return __version__


def file_kind(filepath: Any) -> str:
    """Returns ``"hdf5"`` or ``"zip"`` from a file's first bytes.

    Raises:
        FileNotFoundError: If there is no file at ``filepath``.
        ValueError: If the file is neither HDF5 nor a zip archive.
    """
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file found at {path!r}. Check the path.")
    if os.path.isdir(path):
        raise ValueError(
            f"{path!r} is a directory. minikeras reads model files (.keras, .h5, .weights.h5); "
            "a TensorFlow SavedModel directory cannot be read."
        )
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_SIGNATURE):
        return "zip"
    if head == HDF5_SIGNATURE:
        return "hdf5"
    if h5py_module().is_hdf5(path):  # HDF5 files may start after a user block of 512, 1024, ... bytes
        return "hdf5"
    raise ValueError(
        f"{path!r} is neither an HDF5 file nor a .keras archive (its first bytes are {head!r}). "
        "minikeras reads files written by model.save() or model.save_weights(), by minikeras or Keras."
    )


__all__ = ["HDF5_SIGNATURE", "KERAS_VERSION", "ZIP_SIGNATURE", "atomic_write", "file_kind",
           "h5py_module", "minikeras_version"]
