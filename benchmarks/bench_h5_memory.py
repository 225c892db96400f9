"""Benchmark: training on an HDF5 dataset that is never loaded into memory.

Usage:
    python benchmarks/bench_h5_memory.py [--rows 1000000] [--output benchmarks/results.json]
    python benchmarks/bench_h5_memory.py --rows 20000     # small, to check that it runs

Writes an HDF5 file with ``x`` of ``rows x 512`` float32 (about 2 GB at the default
size) and integer labels ``y`` into a temporary directory, deleted afterwards, then
trains a 512-64-10 softmax MLP (Adam, batch 256) on ``f["x"], f["y"]``, one fresh
process per configuration:

- ``shuffle=False``: one epoch of contiguous reads;
- ``shuffle="batch"`` with ``validation_split=0.1``: batch-sized blocks in random
  order, the last tenth of the rows read lazily for validation;
- ``shuffle=True``: ``--shuffle-steps`` batches of rows gathered from all over the
  file (random reads are slow, so not a whole epoch).

Each process reports how far its peak resident memory (``VmHWM``) rose above its
resident memory just before ``fit``. The same configurations are repeated on an
in-memory array of ``--memory-rows`` rows, and times are compared per row trained:
a ratio of 1.5 means the epoch on disk took 1.5 times as long as the same number of
rows in memory. The file was just written, so it is read from the operating system's
page cache, which does not count in a process's resident memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FEATURES, HIDDEN, CLASSES = 512, 64, 10
CHUNK_ROWS = 8192
MIB = 2**20

#: name -> (shuffle, validation_split, limited to --shuffle-steps batches)
CONFIGS = {
    "shuffle=False": (False, 0.0, False),
    "shuffle='batch', validation_split=0.1": ("batch", 0.1, False),
    "shuffle=True": (True, 0.0, True),
}


# -- the data -----------------------------------------------------------------------------
def fill_random(x: np.ndarray | object, y: np.ndarray | object, rows: int, seed: int = 0) -> None:
    """Writes random inputs and labels into ``x``, ``y`` (arrays or HDF5 datasets) in chunks.

    No more than ``CHUNK_ROWS`` rows exist in memory at once, so writing a dataset
    larger than the memory is possible.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, rows)
        x[start:stop] = rng.standard_normal((stop - start, FEATURES), dtype=np.float32)
        y[start:stop] = rng.integers(0, CLASSES, size=stop - start, dtype=np.int32)


def write_h5(path: Path, rows: int) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        fill_random(f.create_dataset("x", (rows, FEATURES), dtype="float32"),
                    f.create_dataset("y", (rows,), dtype="int32"), rows)


def check_disk(directory: Path, data_bytes: int) -> None:
    """Exits with a message unless ``directory`` has room for the data and 1 GiB to spare."""
    needed = data_bytes + 2**30
    free = shutil.disk_usage(directory).free
    if free < needed:
        sys.exit(f"bench_h5_memory: the dataset needs {needed / 1e9:.2f} GB free in {directory} "
                 f"({data_bytes / 1e9:.2f} GB of data and 1 GiB to spare), but only {free / 1e9:.2f} GB "
                 "is free. Free some space, choose another disk with --dir, or pass fewer --rows.")


# -- one configuration, in a fresh process -------------------------------------------------
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return None


def _peak_kib() -> int:
    peak = _status_kib("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss // 1024 if sys.platform == "darwin" else maxrss  # bytes on macOS, KiB elsewhere


def _reset_peak() -> bool:
    """Sets this process's peak resident memory to its current value (Linux 4.0 and later)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def run_child(config: dict) -> dict:
    """Trains one epoch as ``config`` says and returns the time and the memory figures."""
    import h5py

    from minikeras.layers import Dense, Input
    from minikeras.models import Sequential
    from minikeras.utils import set_random_seed

    set_random_seed(0)
    model = Sequential([Input((FEATURES,)), Dense(HIDDEN, activation="relu"),
                        Dense(CLASSES, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    file = None
    if config["path"]:
        file = h5py.File(config["path"], "r")
        x, y = file["x"], file["y"]
    else:
        x = np.empty((config["rows"], FEATURES), dtype=np.float32)
        y = np.empty(config["rows"], dtype=np.int32)
        fill_random(x, y, config["rows"])
    gc.collect()
    rss_before = _status_kib("VmRSS")
    reset = _reset_peak()
    if rss_before is None or not reset:  # no way to reset: the growth of the peak is a lower bound
        rss_before = _peak_kib()
    start = time.perf_counter()
    model.fit(x, y, batch_size=config["batch_size"], epochs=1, verbose=0, shuffle=config["shuffle"],
              validation_split=config["validation_split"], steps_per_epoch=config["steps"])
    seconds = time.perf_counter() - start
    peak = _peak_kib()
    if file is not None:
        file.close()
    weights = sum(w.value.nbytes for w in model.weights)
    return {"seconds": seconds, "rss_before_fit_mib": rss_before / 1024, "peak_rss_mib": peak / 1024,
            "fit_extra_mib": (peak - rss_before) / 1024, "model_params": model.count_params(),
            "model_mib": weights / MIB}


def measure(name: str, path: Path | None, rows: int, args: argparse.Namespace) -> dict:
    """Runs configuration ``name`` in a fresh interpreter and adds rows trained and rows/s."""
    shuffle, validation_split, limited = CONFIGS[name]
    train_rows = int(np.floor(rows * (1.0 - validation_split)))
    steps = args.shuffle_steps if limited and path is not None else None
    if steps is not None:
        steps = min(steps, -(-train_rows // args.batch_size))
        train_rows = min(train_rows, steps * args.batch_size)
    config = {"path": str(path) if path else None, "rows": rows, "batch_size": args.batch_size,
              "shuffle": shuffle, "validation_split": validation_split, "steps": steps}
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(config)], capture_output=True,
                         text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(f"the run of {name!r} failed:\n{out.stderr}")
    result = json.loads(out.stdout.splitlines()[-1])
    result.update(rows_trained=train_rows, steps=steps, rows_per_second=train_rows / result["seconds"])
    return result


# -- the report -----------------------------------------------------------------------------
def print_table(result: dict) -> None:
    print(f"\ndataset: x {result['rows']:,} x {FEATURES} float32 = {result['dataset_mib']:,.0f} MiB, "
          f"y {result['rows']:,} int32; batch {result['batch_size']} rows = {result['batch_mib']:.2f} MiB; "
          f"model {result['model_params']:,} parameters = {result['model_mib']:.2f} MiB "
          f"({3 * result['model_mib']:.2f} MiB with Adam's two moments)")
    print("| configuration | rows trained | h5 s | h5 rows/s | memory rows/s | h5 / memory per row "
          "| h5 peak RSS growth MiB | memory peak RSS growth MiB |")
    print("| --- " * 8 + "|")
    for name, row in result["runs"].items():
        h5, mem = row["h5"], row["memory"]
        print(f"| {name} | {h5['rows_trained']:,} | {h5['seconds']:.2f} | {h5['rows_per_second']:,.0f} | "
              f"{mem['rows_per_second']:,.0f} | {row['time_ratio']:.2f} | {h5['fit_extra_mib']:.1f} | "
              f"{mem['fit_extra_mib']:.1f} |")


def write_result(output: Path, result: dict) -> None:
    """Stores ``result`` under the key ``"h5_memory"``, keeping the file's other keys."""
    data = json.loads(output.read_text()) if output.exists() else {}
    data["h5_memory"] = result
    output.write_text(json.dumps(data, indent=2) + "\n")
    print(f"written to {output} (key 'h5_memory')")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the HDF5 dataset")
    parser.add_argument("--memory-rows", type=int, default=100_000, help="rows of the in-memory reference")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--shuffle-steps", type=int, default=400, help="batches trained with shuffle=True")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the temporary directory for the HDF5 file is made")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(run_child(json.loads(args.child))))
        return {}
    for option in ("rows", "memory_rows", "batch_size", "shuffle_steps"):
        if getattr(args, option) < 2:
            parser.error(f"--{option.replace('_', '-')} must be at least 2; received {getattr(args, option)}.")
    data_bytes = args.rows * (FEATURES + 1) * 4
    check_disk(args.dir, data_bytes)
    # A terminated run still removes its temporary directory (SystemExit unwinds the `with`).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    runs = {}
    with tempfile.TemporaryDirectory(prefix="bench_h5_", dir=args.dir) as tmp:
        path = Path(tmp) / "data.h5"
        start = time.perf_counter()
        write_h5(path, args.rows)
        print(f"wrote {path.stat().st_size / MIB:,.0f} MiB in {time.perf_counter() - start:.1f}s", flush=True)
        for name in CONFIGS:
            h5 = measure(name, path, args.rows, args)
            mem = measure(name, None, args.memory_rows, args)
            runs[name] = {"h5": h5, "memory": mem, "time_ratio": mem["rows_per_second"] / h5["rows_per_second"]}
            print(f"  {name}: {h5['rows_per_second']:,.0f} rows/s from HDF5, {mem['rows_per_second']:,.0f} "
                  f"in memory; peak RSS +{h5['fit_extra_mib']:.1f} MiB", flush=True)
    first = next(iter(runs.values()))["h5"]
    result = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.processor() or platform.machine()},
        "rows": args.rows, "memory_rows": args.memory_rows, "features": FEATURES, "batch_size": args.batch_size,
        "dataset_mib": args.rows * FEATURES * 4 / MIB, "batch_mib": args.batch_size * FEATURES * 4 / MIB,
        "model_params": first["model_params"], "model_mib": first["model_mib"], "runs": runs,
    }
    print_table(result)
    write_result(args.output, result)
    return result


if __name__ == "__main__":
    main()
