"""Training survives being stopped: resuming in a new process, and SIGKILL in the middle of a save.

The training jobs live in ``tests/_job.py`` and run as separate Python processes.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _job import FIRST_EPOCHS, FORMATS, MARKER, MORE_EPOCHS, OPTIMIZERS, SUFFIX, build_model, fit, state

from minikeras.models import load_model

ROOT = Path(__file__).resolve().parents[1]
JOB = Path(__file__).resolve().parent / "_job.py"
STEPS_PER_EPOCH = 4  # 32 training samples (40 minus the validation split) in batches of 8
TIMEOUT = 120


def _start(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, "-W", "error", str(JOB), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, f"{proc.args} exited with {proc.returncode}:\n{out.decode()}\n{err.decode()}"


def _assert_same_arrays(actual, expected, keys) -> None:
    for key in keys:
        assert actual[key].dtype == expected[key].dtype, key
        assert np.array_equal(actual[key], expected[key]), f"{key} differs"


# -- resuming in a new process --------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Runs the three processes once: A (first N epochs, save) and C (N+M epochs) side by side, then B."""
    directory = tmp_path_factory.mktemp("resume")
    first, whole = _start("first", str(directory)), _start("whole", str(directory))
    _finish(first)
    _finish(whole)
    _finish(_start("rest", str(directory)))
    return directory


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_resumed_in_new_process_matches_uninterrupted_run(runs, optimizer, fmt):
    resumed = np.load(runs / f"rest-{optimizer}-{fmt}.npz")
    whole = np.load(runs / f"whole-{optimizer}.npz")
    assert int(resumed["loaded_iterations"]) == FIRST_EPOCHS * STEPS_PER_EPOCH
    assert int(whole["o0"]) == (FIRST_EPOCHS + MORE_EPOCHS) * STEPS_PER_EPOCH
    arrays = [k for k in whole.files if k[0] in "wo"]
    assert len([k for k in arrays if k[0] == "o"]) > 1 + len([k for k in arrays if k[0] == "w"])  # slots present
    assert sorted(k for k in resumed.files if k[0] in "wo") == sorted(arrays)
    _assert_same_arrays(resumed, whole, arrays)
    assert list(resumed["epoch"]) == list(range(FIRST_EPOCHS, FIRST_EPOCHS + MORE_EPOCHS))
    assert np.array_equal(resumed["loss"], whole["loss"][FIRST_EPOCHS:])
    assert np.array_equal(resumed["val_loss"], whole["val_loss"][FIRST_EPOCHS:])


# -- SIGKILL in the middle of a save -------------------------------------------------------
def _wait_for_marker(proc: subprocess.Popen) -> None:
    """Reads the child's stdout until the marker line; fails if the child ends or takes too long."""
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    fd = proc.stdout.fileno()
    while MARKER.encode() not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            proc.kill()
            pytest.fail(f"no {MARKER!r} line from the child within {TIMEOUT} s")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                _, err = proc.communicate()
                pytest.fail(f"the child ended (code {proc.returncode}) before the save was interrupted:\n"
                            f"{seen.decode()}\n{err.decode()}")
            seen += chunk


def _is_temporary(name: str) -> bool:
    return name.startswith(".minikeras-") and name.endswith(".tmp")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("fmt", FORMATS)
def test_sigkill_during_checkpoint_save_keeps_previous_checkpoint(tmp_path, fmt):
    target = tmp_path / f"ckpt{SUFFIX[fmt]}"
    proc = _start("killed", str(tmp_path), fmt, bufsize=0)
    try:
        _wait_for_marker(proc)
        during = sorted(os.listdir(tmp_path))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    # The checkpoint is the complete first-epoch save.
    first = np.load(tmp_path / "first.npz")
    if fmt == "weights":
        model = build_model("adam")
        model.load_weights(target)
    else:
        model = load_model(target)
    assert model.optimizer.iterations == STEPS_PER_EPOCH
    restored = state(model)
    assert sorted(restored) == sorted(first.files)
    _assert_same_arrays(restored, first, first.files)

    # The second save had started writing its temporary file when the process died.
    temporary = [name for name in during if _is_temporary(name)]
    assert len(temporary) == 1 and (tmp_path / temporary[0]).stat().st_size > 0
    assert sorted(during) == sorted([target.name, "first.npz", *temporary])

    # Nothing cleans up after SIGKILL: the partial file stays, under a name no checkpoint pattern matches.
    after = sorted(os.listdir(tmp_path))
    assert after == during
    leftovers = [name for name in after if name not in (target.name, "first.npz")]
    assert all(_is_temporary(name) and not name.endswith((".keras", ".h5")) for name in leftovers)
    assert [p.name for p in tmp_path.glob("*.keras")] + [p.name for p in tmp_path.glob("*.h5")] == [target.name]

    # Saving to the same path again works and replaces the checkpoint.
    fit(model, 1)
    if fmt == "weights":
        model.save_weights(target)
        reloaded = build_model("adam")
        reloaded.load_weights(target)
    else:
        model.save(target)
        reloaded = load_model(target)
    assert reloaded.optimizer.iterations == 2 * STEPS_PER_EPOCH
    _assert_same_arrays(state(reloaded), state(model), first.files)
    assert sorted(os.listdir(tmp_path)) == after
