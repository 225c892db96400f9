"""The benchmark script runs (no timings are asserted: benchmarks are not tests)."""

import json
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).parent.parent / "benchmarks"


def test_quick_benchmark_writes_its_table(tmp_path, capsys):
    sys.path.insert(0, str(BENCH))
    try:
        import bench_mlp
    finally:
        sys.path.remove(str(BENCH))
    out = tmp_path / "r.json"
    bench_mlp.main(["--quick", "--optimizers", "sgd", "adam", "--implementations", "minikeras", "floor",
                    "numpy_loop", "--output", str(out)])
    result = json.loads(out.read_text())
    assert set(result["epoch_seconds"]) == {"sgd/128", "adam/128"}
    assert set(result["epoch_seconds"]["sgd/128"]) == {"minikeras", "floor", "numpy_loop"}
    assert all(v > 0 for row in result["epoch_seconds"].values() for v in row.values())
    assert set(result["predict"]["single_sample_us"]) == {"predict", "predict_on_batch"}
    assert result["memory"]["data_mib"] > 0
    assert "| sgd/128 |" in capsys.readouterr().out


def test_reference_loop_runs_both_optimizers():
    """The hand-written reference loop runs with both update rules."""
    sys.path.insert(0, str(BENCH))
    try:
        import workloads
    finally:
        sys.path.remove(str(BENCH))
    x, y = workloads.make_data(256)
    assert x.dtype == np.float32 and y.shape == (256, 10)
    for optimizer in ("sgd", "adam"):
        assert workloads.run_numpy_loop(x, y, 32, optimizer) > 0
