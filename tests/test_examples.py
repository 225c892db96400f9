"""The example scripts run as programs and print the numbers their docstrings promise."""

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(name, capsys):
    """Runs ``examples/<name>.py`` as ``python examples/<name>.py`` would; returns what it printed."""
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    return capsys.readouterr().out


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return float(match.group(1))


def test_xor_is_learned(capsys):
    out = run("xor", capsys)
    outputs = [float(v) for v in re.findall(r"network: ([0-9.]+)", out)]
    assert len(outputs) == 4
    assert outputs[0] < 0.1 and outputs[1] > 0.9 and outputs[2] > 0.9 and outputs[3] < 0.1
    assert number(r"accuracy: ([0-9.]+)", out) == 1.0


def test_slow_learning_quadratic_starts_far_slower(capsys):
    out = run("slow_learning", capsys)
    rows = {int(e): (float(q), float(c)) for e, q, c in re.findall(r"^\s*(\d+)\s+([0-9.]+)\s+([0-9.]+)$", out, re.M)}
    assert sorted(rows) == [50, 100, 150, 200, 250, 300]
    quadratic, cross_entropy = rows[50]
    assert quadratic > 0.95, "the saturated neuron barely moves under the quadratic cost"
    assert cross_entropy < 0.15, "cross-entropy's first steps are large"
    assert rows[300][0] < 0.3 and rows[300][1] < rows[300][0], "the quadratic cost gets there in the end"
    # the Nielsen numbers: 0.98 at the start, about 0.2 after 300 epochs
    assert number(r"epoch 0: a = ([0-9.]+)", out) == 0.982
    assert abs(rows[300][0] - 0.2028) < 1e-3
    assert number(r"by hand: ([0-9.e+-]+)", out) < 1e-5, "minikeras takes the steps of eq. 1 and eq. 16"


def test_regression_stops_early_and_restores_the_best_epoch(capsys):
    out = run("regression_early_stopping", capsys)
    stopped = number(r"stopped after epoch (\d+) of at most", out)
    best_epoch = number(r"best epoch: (\d+)", out)
    assert stopped < number(r"of at most (\d+)", out)
    assert best_epoch == stopped - 20, "patience=20"
    best_val, last_val = number(r"best val_loss \(MSE\): ([0-9.]+)", out), number(r"last val_loss: ([0-9.]+)", out)
    assert best_val < last_val
    test_mse = number(r"best epoch's weights \(restored\): ([0-9.]+)", out)
    assert 0.09 < test_mse < 0.25, "above the noise floor, well below the target's variance"
    assert test_mse < number(r"last epoch's weights:\s+([0-9.]+)", out)


def test_checkpoint_resume_is_bit_identical(capsys):
    out = run("checkpoint_resume", capsys)
    assert "crashed after batch 4 of epoch 14" in out
    assert "epochs finished before the crash: 1 to 13" in out
    assert "second fit: ran epochs 14 to 20; backup removed: True" in out
    assert "final weights equal the uninterrupted run's: True (largest difference 0.0)" in out
    logged = number(r"best epoch: \d+, val_loss ([0-9.]+)", out)
    assert number(r"on the validation data: ([0-9.]+)", out) == pytest.approx(logged, abs=2e-6)


def test_digits_reaches_95_percent(capsys):
    pytest.importorskip("sklearn")
    out = run("digits", capsys)
    assert number(r"test accuracy: ([0-9.]+)", out) >= 0.95
    rows = re.findall(r"^\s+\d: ((?:\s*\d+){10})$", out, re.M)
    assert len(rows) == 10
    assert sum(int(n) for row in rows for n in row.split()) == 450


def test_digits_without_sklearn_says_how_to_install_it(monkeypatch):
    module = runpy.run_path(str(EXAMPLES / "digits.py"))
    for name in ("sklearn", "sklearn.datasets", "sklearn.model_selection"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import sklearn...` raise ImportError
    with pytest.raises(SystemExit, match=r"needs scikit-learn: pip install -e \"\.\[examples\]\""):
        module["load_data"]()


def test_mnist1d_trains_the_papers_mlp(capsys):
    pytest.importorskip("mnist1d")
    module = runpy.run_path(str(EXAMPLES / "mnist1d_mlp.py"))
    mean = module["main"](seeds=(0,), epochs=5)  # the full run (150 epochs, 3 seeds) gives about 0.66
    out = capsys.readouterr().out
    assert "5 epochs of 4000" in out and "seed 0: train accuracy" in out
    assert number(r"mean test accuracy ([0-9.]+)", out) == pytest.approx(mean, abs=5e-4)
    assert mean > 0.3  # ten classes: chance is 0.1


def test_mnist1d_without_the_package_says_how_to_install_it(monkeypatch):
    module = runpy.run_path(str(EXAMPLES / "mnist1d_mlp.py"))
    for name in ("mnist1d", "mnist1d.data"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(SystemExit, match=r"needs mnist1d: pip install -e \"\.\[examples\]\""):
        module["load"]()


def test_vanishing_gradient_sigmoid_shrinks_relu_keeps(capsys):
    out = run("vanishing_gradient", capsys)
    rows = re.findall(r"^(hidden_\d|output)\s+([0-9.e+-]+)\s+([0-9.e+-]+)", out, re.M)
    assert [name for name, _, _ in rows] == [f"hidden_{i}" for i in range(1, 7)] + ["output"]
    sigmoid = [float(s) for _, s, _ in rows]
    assert all(a < b for a, b in zip(sigmoid, sigmoid[1:])), "each sigmoid layer shrinks the gradient"
    sigmoid_ratio = number(r"first/last layer ratio: sigmoid ([0-9.e+-]+)", out)
    relu_ratio = number(r"first/last layer ratio: sigmoid [0-9.e+-]+, relu ([0-9.e+-]+)", out)
    assert sigmoid_ratio < 1e-2
    assert 0.1 <= relu_ratio <= 10
    assert sigmoid_ratio == pytest.approx(sigmoid[0] / sigmoid[-1], rel=0.06)
    sigmoid_accuracy = number(r"accuracy after \d+ epochs: sigmoid ([0-9.]+)", out)
    relu_accuracy = number(r"accuracy after \d+ epochs: sigmoid [0-9.]+, relu ([0-9.]+)", out)
    assert sigmoid_accuracy < 0.45 and relu_accuracy > 0.9


def test_dying_relu_large_rate_kills_most_units(capsys):
    out = run("dying_relu", capsys)
    rows = re.findall(r"^hidden_\d\s+(\d+)%\s+(\d+)%$", out, re.M)
    assert len(rows) == 3
    assert all(int(sane) < 10 for sane, _ in rows)
    sane_dead = number(r"learning rate 0.1: dead fraction ([0-9.]+)", out)
    large_dead = number(r"learning rate 2.0: dead fraction ([0-9.]+)", out)
    assert sane_dead < 0.1 and large_dead > 0.5
    assert number(r"learning rate 0.1: .* accuracy ([0-9.]+)", out) > 0.9
    large_loss = number(r"learning rate 2.0: .* loss ([0-9.]+)", out)
    assert large_loss > 1.0986, "worse than a uniform guess over three classes"
    assert number(r"learning rate 2.0: .* accuracy ([0-9.]+)", out) == number(r"most frequent class: ([0-9.]+)", out)
