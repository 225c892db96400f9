"""Benchmark: one training epoch of an MNIST-shaped MLP, prediction, import time, memory.

Usage:
    python benchmarks/bench_mlp.py [--samples 60000] [--repeats 3] [--output results.json]
    python benchmarks/bench_mlp.py --quick      # small sizes, to check that it runs

Every figure is the median of ``--repeats`` runs; the runs of different
implementations are interleaved so that load on the machine affects all alike.
Ratios compare minikeras with the others measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import workloads  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def epoch_table(x, y, batch_sizes, optimizers, repeats, names):
    runners = {name: workloads.RUNNERS[name][0] for name in names}
    results = {}
    for optimizer in optimizers:
        for batch_size in batch_sizes:
            times = {name: [] for name in runners}
            for _ in range(repeats):
                for name, run in runners.items():
                    times[name].append(run(x, y, batch_size, optimizer))
            results[f"{optimizer}/{batch_size}"] = {name: statistics.median(t) for name, t in times.items()}
            row = results[f"{optimizer}/{batch_size}"]
            print(f"  {optimizer:4s} batch {batch_size:5d}: " + "  ".join(f"{k} {v:.3f}s" for k, v in row.items()),
                  flush=True)
    return results


def median_call_us(fn, repeats, calls=200):
    """Median microseconds per call of ``fn`` over ``5 * repeats`` timed runs, after a warm-up."""
    for _ in range(50):
        fn()
    samples = []
    for _ in range(repeats * 5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples) * 1e6


def predict_figures(x, repeats):
    from minikeras.layers import Dense, Input
    from minikeras.models import Sequential

    model = Sequential([Input((784,)), Dense(512, activation="relu"), Dense(512, activation="relu"),
                        Dense(10, activation="softmax")])
    kernels = [layer.kernel.value for layer in model.layers]
    data = x[:10000]
    predict, floor = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(data, batch_size=32, verbose=0)
        predict.append(time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(0, len(data), 32):
            h = data[i:i + 32]
            for k in kernels:
                h = h @ k
        floor.append(time.perf_counter() - start)
    one = data[:1]
    single = {}
    for label, fn in (("predict", lambda: model.predict(one, verbose=0)),
                      ("predict_on_batch", lambda: model.predict_on_batch(one))):
        single[label] = median_call_us(fn, repeats)
    return {"predict_10000_s": statistics.median(predict), "forward_floor_10000_s": statistics.median(floor),
            "single_sample_us": single}


def torch_single_sample_us(x, repeats):
    """PyTorch's time for one sample through the same MLP, for scale."""
    if not workloads.torch_available():
        return None
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10), torch.nn.Softmax(dim=-1)).eval()
    one = torch.from_numpy(x[:1])

    def predict():
        with torch.inference_mode():
            return model(one).numpy()

    return median_call_us(predict, repeats)


def float64_figures(samples, repeats):
    """The cost of float64: minikeras, the floor and the NumPy loop in both precisions."""
    rows = {}
    for dtype in ("float32", "float64"):
        x, y = workloads.make_data(samples, dtype=dtype)
        times = {name: [] for name in ("minikeras", "floor", "numpy_loop")}
        for _ in range(repeats):
            for name in times:
                times[name].append(workloads.RUNNERS[name][0](x, y, 128, "sgd"))
        rows[dtype] = {name: statistics.median(t) for name, t in times.items()}
        del x, y
    return rows


def import_time(repeats):
    """Median seconds of ``import minikeras`` (NumPy included) in a fresh process.

    Byte-code caching is switched on, as in a normal installation, and one import
    runs first to write the caches: otherwise every run would compile the sources.
    """
    code = "import time; t = time.perf_counter(); import minikeras; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 cwd=ROOT, env=env).stdout) for _ in range(max(3, repeats) + 1)]
    return statistics.median(runs[1:])


def peak_memory(samples):
    """Peak resident memory of a fresh process before and after one ``fit`` epoch, in MiB.

    Reads the kernel's high-water mark of this process (``VmHWM``) where there is
    one: ``ru_maxrss`` may report a larger parent's peak, since Linux keeps it
    across ``exec``.
    """
    code = f"""
import resource, sys
sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); sys.path.insert(0, {str(ROOT)!r})
import workloads
import minikeras

def peak_kib():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

x, y = workloads.make_data({samples})
base = peak_kib()
workloads.run_minikeras(x, y, 128, "sgd")
peak = peak_kib()
print((x.nbytes + y.nbytes) / 2**20, base / 1024, peak / 1024)
"""
    data_mib, base_mib, peak_mib = map(float, subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    return {"data_mib": data_mib, "rss_after_data_mib": base_mib, "peak_rss_mib": peak_mib,
            "fit_extra_mib": peak_mib - base_mib}


def print_table(epochs):
    print("\nseconds per epoch (median) and ratios of minikeras to each")
    names = list(next(iter(epochs.values())))
    print("| workload | " + " | ".join(names) + " | " + " | ".join(f"mk/{n}" for n in names if n != "minikeras") + " |")
    print("| --- " * (len(names) * 2) + "|")
    for key, row in epochs.items():
        ratios = [row["minikeras"] / row[n] for n in names if n != "minikeras"]
        print(f"| {key} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " | "
              + " | ".join(f"{r:.2f}" for r in ratios) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024])
    parser.add_argument("--optimizers", nargs="+", default=["sgd", "adam"])
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results.json"))
    parser.add_argument("--implementations", nargs="+", default=list(workloads.RUNNERS),
                        help="which of %(default)s to run (those not installed are skipped)")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat: checks that it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.repeats, args.batch_sizes = 2048, 1, [128]
    names = [name for name, (_, available) in workloads.RUNNERS.items()
             if name in args.implementations and available()]
    if "minikeras" not in names:
        parser.error("--implementations must include minikeras, the subject of every ratio.")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"implementations: {', '.join(names)}")
    x, y = workloads.make_data(args.samples)
    epochs = epoch_table(x, y, args.batch_sizes, args.optimizers, args.repeats, names)
    print_table(epochs)
    result = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.processor() or platform.machine(), "samples": args.samples,
                    "repeats": args.repeats},
        "epoch_seconds": epochs,
        "predict": predict_figures(x, args.repeats),
        "torch_single_sample_us": torch_single_sample_us(x, args.repeats) if "torch" in names else None,
        "float64_sgd_128": float64_figures(args.samples, args.repeats),
        "import_seconds": import_time(args.repeats),
        "memory": peak_memory(args.samples),
    }
    print(f"\npredict 10,000: {result['predict']['predict_10000_s']:.4f}s, forward floor "
          f"{result['predict']['forward_floor_10000_s']:.4f}s; single sample: "
          + ", ".join(f"{k} {v:.0f} us" for k, v in result["predict"]["single_sample_us"].items()))
    if result["torch_single_sample_us"] is not None:
        print(f"single sample with PyTorch: {result['torch_single_sample_us']:.0f} us")
    f32, f64 = result["float64_sgd_128"]["float32"], result["float64_sgd_128"]["float64"]
    print("float64 / float32, SGD batch 128: " + ", ".join(f"{k} {f64[k] / f32[k]:.2f}" for k in f32)
          + f"; minikeras / floor: float32 {f32['minikeras'] / f32['floor']:.2f}, "
          f"float64 {f64['minikeras'] / f64['floor']:.2f}")
    print(f"import minikeras: {result['import_seconds']:.3f}s")
    mem = result["memory"]
    print(f"memory: data {mem['data_mib']:.0f} MiB, fit adds {mem['fit_extra_mib']:.0f} MiB to the peak RSS")
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")
    return result


if __name__ == "__main__":
    main()
