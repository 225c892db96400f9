"""Training on an h5py dataset reads it batch by batch: the peak memory does not grow with it.

The training runs in a fresh process, which reports how far its peak resident memory
(``VmHWM``) rose above its resident memory just before ``fit``. Reading the file fills
the page cache, which is not part of a process's resident memory.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ROWS, FEATURES = 32768, 512  # 64 MiB of float32
DATA_MIB = ROWS * FEATURES * 4 / 2**20

CHILD = r"""
import gc, json, sys
import h5py
from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.utils import set_random_seed

def kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

set_random_seed(0)
model = Sequential([Input((int(sys.argv[2]),)), Dense(16, activation="relu"), Dense(4, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
growth = {}
with h5py.File(sys.argv[1], "r") as f:
    for shuffle, validation_split in ((False, 0.0), ("batch", 0.25)):
        gc.collect()
        before = kib("VmRSS")
        try:  # resets the peak to the current resident memory (Linux 4.0 and later)
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")
        except OSError:  # the growth of the old peak is then a lower bound, still far above a full read
            before = kib("VmHWM")
        model.fit(f["x"], f["y"], batch_size=256, epochs=1, shuffle=shuffle, validation_split=validation_split,
                  verbose=0)
        growth[repr(shuffle)] = {"before_mib": before / 1024, "growth_mib": (kib("VmHWM") - before) / 1024}
print(json.dumps(growth))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS and VmHWM from /proc (Linux)")
def test_fit_on_h5_dataset_keeps_peak_memory_far_below_its_size(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "data.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        x = f.create_dataset("x", (ROWS, FEATURES), dtype="float32")
        for start in range(0, ROWS, 4096):
            x[start:start + 4096] = rng.random((4096, FEATURES), dtype=np.float32)
        f.create_dataset("y", data=rng.integers(0, 4, size=ROWS, dtype=np.int32))
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(FEATURES)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    growth = json.loads(out.stdout.splitlines()[-1])
    for shuffle, figures in growth.items():
        assert figures["growth_mib"] < 0.25 * DATA_MIB, (
            f"fit(shuffle={shuffle}) on a {DATA_MIB:.0f} MiB h5py dataset raised the peak resident memory by "
            f"{figures['growth_mib']:.1f} MiB (from {figures['before_mib']:.1f} MiB); reading batch by batch "
            f"should stay below {0.25 * DATA_MIB:.0f} MiB"
        )


def test_benchmark_adds_its_key_to_the_results_file(tmp_path, capsys):
    """bench_h5_memory.py keeps the figures other benchmarks wrote into the same file."""
    bench = str(ROOT / "benchmarks")
    sys.path.insert(0, bench)
    try:
        import bench_h5_memory
    finally:
        sys.path.remove(bench)
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"memory": {"fit_extra_mib": 8.7}}))
    bench_h5_memory.write_result(out, {"rows": 10})
    assert json.loads(out.read_text()) == {"memory": {"fit_extra_mib": 8.7}, "h5_memory": {"rows": 10}}
    assert "h5_memory" in capsys.readouterr().out
