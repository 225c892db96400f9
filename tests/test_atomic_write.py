"""Atomic writes: the permissions of saved files, and no debris when a write fails."""

import os
import stat
import sys

import numpy as np
import pytest

from minikeras._atomic import atomic_write
from minikeras.layers import Dense, Input
from minikeras.models import Sequential

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def _write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.weights.h5"])
def test_saved_files_get_the_mode_a_plain_open_gives(tmp_path, name):
    model = Sequential([Input((2,)), Dense(1)])
    path = tmp_path / name
    (model.save_weights if name.endswith(".weights.h5") else model.save)(path)
    with open(tmp_path / "plain", "w"):
        pass
    assert _mode(path) == _mode(tmp_path / "plain")


@posix_only
def test_replacing_a_file_keeps_its_mode(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write(path, True, lambda tmp: _write(tmp, b"new"))
    assert path.read_bytes() == b"new" and _mode(path) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def fail(tmp):
        with open(tmp, "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, True, fail)
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]


def test_overwrite_false_refuses_an_existing_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        atomic_write(path, False, lambda tmp: None)
    assert np.frombuffer(path.read_bytes(), dtype=np.uint8).tobytes() == b"old"
