"""Writing files so that a crash never leaves a half-written file under the user's name.

The new file is written next to the target under a temporary name (``.minikeras-*.tmp``,
which no checkpoint pattern matches), flushed to disk and renamed over the target
in one step. If the process dies in the middle, the previous file is untouched.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from typing import Any

_UMASK: int | None = None


def _file_mode(path: str) -> int:
    """Permission bits for a new file at ``path``: the existing file's, else 0o666 minus the umask."""
    global _UMASK
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


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
        # mkstemp creates the file readable by its owner only; give it the mode a plain
        # open() would (or the mode of the file it replaces).
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
