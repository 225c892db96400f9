"""What fit, evaluate and predict print for each ``verbose``: Keras 3's one-line format for
``verbose=2``, a tqdm bar for ``verbose=1``, nothing for ``0``, and clean lines for ``"auto"``
when stdout is not a terminal."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minikeras
from minikeras.callbacks.progbar import format_logs, format_step_time
from minikeras.layers import Dense, Input
from minikeras.models import Sequential

CONTROL = re.compile(r"[\r\b\x1b]")
NUM = r"-?\d+\.\d{4}(e[+-]\d\d)?"
LINE = r"3/3 - \d+s - \d+(s|ms|us)/step"
FIT_LINE = re.compile(
    rf"^{LINE} - accuracy: {NUM} - loss: {NUM} - val_accuracy: {NUM} - val_loss: {NUM}$"
)
EVAL_LINE = re.compile(rf"^{LINE} - accuracy: {NUM} - loss: {NUM}$")
PREDICT_LINE = re.compile(rf"^{LINE}$")


def make_model():
    model = Sequential([Input((3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 3)).astype("float32")
    y = np.eye(2, dtype="float32")[[0, 1, 1, 0, 1, 0]]
    return x, y


def run_all(verbose, epochs=2):
    """fit (3 batches, 2 validation batches), evaluate and predict (3 batches each)."""
    x, y = data()
    model = make_model()
    model.fit(x, y, batch_size=2, epochs=epochs, verbose=verbose, validation_data=(x[:4], y[:4]))
    model.evaluate(x, y, batch_size=2, verbose=verbose)
    model.predict(x, batch_size=2, verbose=verbose)


# -- verbose=2 ------------------------------------------------------------------------------------
def test_verbose_2_prints_one_keras_line_per_epoch_then_evaluate_and_predict(capsys):
    run_all(2)
    out, err = capsys.readouterr()
    assert err == ""
    assert not CONTROL.search(out)
    lines = out.splitlines()
    assert len(lines) == 6
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert FIT_LINE.match(lines[1]) and FIT_LINE.match(lines[3])
    assert EVAL_LINE.match(lines[4])
    assert PREDICT_LINE.match(lines[5])


def test_verbose_2_with_one_epoch_has_no_epoch_header(capsys):
    x, y = data()
    make_model().fit(x, y, batch_size=2, epochs=1, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert re.match(rf"^{LINE} - accuracy: {NUM} - loss: {NUM}$", lines[0])


def test_verbose_2_values_are_the_epoch_logs(capsys):
    x, y = data()
    history = make_model().fit(x, y, batch_size=2, epochs=1, verbose=2, validation_data=(x[:4], y[:4]))
    line = capsys.readouterr().out.strip()
    expected = format_logs({k: v[0] for k, v in history.history.items()}, verbose=2)
    assert line.endswith(expected)


@pytest.mark.parametrize("logs, verbose, text", [
    ({"accuracy": 0.5, "loss": 0.72061}, 2, " - accuracy: 0.5000 - loss: 0.7206"),
    ({"loss": 0.0}, 1, " - loss: 0.0000e+00"),
    ({"loss": 0.0}, 2, " - loss: 0.0000e+00"),
    ({"loss": 0.0005}, 2, " - loss: 5.0000e-04"),
    ({"loss": 0.001}, 1, " - loss: 1.0000e-03"),
    ({"loss": -0.5}, 1, " - loss: -0.5000"),
    ({"loss": -0.5}, 2, " - loss: -5.0000e-01"),  # Keras's verbose=2 test is `value > 1e-3`
    ({"loss": np.float32(0.25)}, 2, " - loss: 0.2500"),
    ({"loss": float("nan")}, 2, " - loss: nan"),
    ({"name": "x"}, 2, " - name: x"),
])
def test_values_are_formatted_as_keras_formats_them(logs, verbose, text):
    assert format_logs(logs, verbose=verbose) == text


@pytest.mark.parametrize("seconds, text", [
    (0.0, "0s/step"), (2e-6, "2us/step"), (0.000999, "999us/step"), (0.001, "1ms/step"),
    (0.0054, "5ms/step"), (0.9994, "999ms/step"), (1.0, "1s/step"), (2.6, "3s/step"),
])
def test_step_time_units_follow_keras(seconds, text):
    assert format_step_time(seconds) == text


# -- verbose=0 ------------------------------------------------------------------------------------
def test_verbose_0_prints_nothing(capsys):
    run_all(0)
    assert capsys.readouterr() == ("", "")


# -- verbose=1 ------------------------------------------------------------------------------------
@pytest.fixture
def bars(monkeypatch):
    """Records the totals of the tqdm.auto bars that are opened."""
    import tqdm.auto

    opened = []

    class Recording(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    return opened


def test_verbose_1_draws_tqdm_auto_bars_with_epoch_headers(capsys, bars):
    run_all(1)
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2\n") == 1 and out.count("Epoch 2/2\n") == 1
    assert out.index("Epoch 1/2") < out.index("Epoch 2/2")
    # Two epochs, then evaluate, then predict: four bars, each of the 3 training batches.
    assert [(bar.total, bar.n) for bar in bars] == [(3, 3)] * 4
    assert out.count("3/3") >= 4
    assert "/2 [" not in out  # the 2 validation batches inside fit draw no bar
    assert "val_loss: " in out and "loss: " in out


def test_verbose_1_with_one_epoch_has_no_header(capsys, bars):
    x, y = data()
    make_model().fit(x, y, batch_size=2, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch" not in out
    assert len(bars) == 1 and "3/3" in out


def test_evaluate_and_predict_verbose_1_show_their_own_bar(capsys, bars):
    x, y = data()
    model = make_model()
    model.evaluate(x, y, batch_size=2, verbose=1)
    model.predict(x, batch_size=4, verbose=1)
    out = capsys.readouterr().out
    assert [(bar.total, bar.n) for bar in bars] == [(3, 3), (2, 2)]
    assert "accuracy: " in out and "Epoch" not in out


# -- verbose="auto" when stdout is a file -----------------------------------------------------------
def test_auto_verbose_writes_clean_lines_when_stdout_is_not_a_terminal(tmp_path):
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from minikeras.layers import Dense, Input
        from minikeras.models import Sequential

        assert not sys.stdout.isatty()
        x = np.random.default_rng(3).normal(size=(6, 3)).astype("float32")
        y = np.eye(2, dtype="float32")[[0, 1, 1, 0, 1, 0]]
        model = Sequential([Input((3,)), Dense(2, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=2, epochs=2, validation_data=(x[:4], y[:4]))
        model.evaluate(x, y, batch_size=2)
        model.predict(x, batch_size=2)
    """)
    out_path = tmp_path / "out.txt"
    with open(out_path, "wb") as out:
        done = subprocess.run([sys.executable, "-c", script], stdout=out, stderr=subprocess.PIPE,
                              cwd=str(tmp_path), timeout=120, check=False,
                              env={"PATH": "", "PYTHONPATH": str(Path(minikeras.__file__).resolve().parent.parent), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    text = out_path.read_bytes().decode()
    assert not CONTROL.search(text)
    lines = text.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert FIT_LINE.match(lines[1]) and FIT_LINE.match(lines[3])
    assert EVAL_LINE.match(lines[4]) and PREDICT_LINE.match(lines[5])
    assert len(lines) == 6
