"""Learning-curve plots (matplotlib is an optional extra)."""

import sys

import numpy as np
import pytest

from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.utils import plotting


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if 'matplotlib.pyplot' in sys.modules and sys.modules['matplotlib.pyplot'] is not None:
        sys.modules['matplotlib.pyplot'].close('all')


def fitted(**kwargs):
    model = Sequential([Input((3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    return model, model.fit(x, (x[:, 0] > 0).astype("int64"), epochs=4, verbose=0, **kwargs)


def test_one_panel_per_quantity_with_training_and_validation_lines(tmp_path):
    pytest.importorskip("matplotlib")
    _, history = fitted(validation_split=0.25)
    figure = plotting.plot_history(history, title="run")
    panels = figure.get_axes()
    assert [ax.get_ylabel() for ax in panels] == ["accuracy", "loss"]
    loss_panel = panels[1]
    lines = {line.get_label(): line for line in loss_panel.get_lines()}
    assert sorted(lines) == ["training", "validation"]
    np.testing.assert_allclose(lines["training"].get_ydata(), history.history["loss"])
    assert list(lines["validation"].get_xdata()) == [1, 2, 3, 4]
    figure.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_validation_every_other_epoch_is_drawn_at_its_epochs():
    pytest.importorskip("matplotlib")
    model, history = fitted(validation_split=0.25, validation_freq=2)
    figure = plotting.plot_history(model, keys="loss")
    lines = {line.get_label(): line for line in figure.get_axes()[0].get_lines()}
    assert list(lines["validation"].get_xdata()) == [2, 4]


def test_unknown_keys_and_empty_histories_are_refused():
    with pytest.raises(ValueError, match=r"cannot plot \['auc'\]: they were not logged. Logged keys: \['loss'\]"):
        plotting.plot_history({"loss": [1.0]}, keys=["auc"])
    with pytest.raises(ValueError, match="expects the History that fit\\(\\) returns"):
        plotting.plot_history({})


def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install minikeras\[plot\]"):
        plotting.plot_history({"loss": [1.0, 0.5]})


def test_gradient_norms_one_line_per_layer_on_a_log_scale():
    pytest.importorskip("matplotlib")
    from minikeras.callbacks import GradientMonitor

    model = Sequential([Input((3,)), Dense(4, activation="sigmoid"), Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.random.default_rng(1).normal(size=(20, 3)).astype("float32")
    history = model.fit(x, (x[:, :1] > 0).astype("float32"), epochs=3, verbose=0, callbacks=[GradientMonitor()])
    figure = plotting.plot_gradient_norms(history)
    ax = figure.get_axes()[0]
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert sorted(lines) == sorted(layer.name for layer in model.layers)
    first = model.layers[0].name
    np.testing.assert_allclose(lines[first].get_ydata(), history.history[f"grad_norm/{first}/kernel"])
    with pytest.raises(ValueError, match="found no gradient norms of `kernel` weights"):
        plotting.plot_gradient_norms({"loss": [1.0]})
