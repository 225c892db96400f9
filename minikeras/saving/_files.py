"""File plumbing shared by every format: atomic writes and telling formats apart.

A save never leaves a half-written file under the user's name: the new file is
written next to the target under a temporary name, flushed to disk and renamed
over the target in one step. A file is recognised by its first bytes, never by
its name, so a ``.keras`` archive renamed to ``.h5`` is still read correctly.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

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


def atomic_write(filepath: Any, overwrite: bool, write: Callable[[str], None]) -> None:
    """Calls ``write(temporary_path)`` and renames the result to ``filepath``.

    Args:
        filepath: Where the file should end up.
        overwrite: Whether an existing file may be replaced.
        write: Writes the whole file to the path it is given.

    Raises:
        FileExistsError: If the file exists and ``overwrite`` is false.
        FileNotFoundError: If the target directory does not exist.
    """
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} already exists. Pass overwrite=True to replace it.")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {path}: the directory {directory} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=".minikeras-", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
