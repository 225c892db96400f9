"""GradientMonitor: gradient norms, dead ReLU units and saturated units, per layer and epoch."""

import csv
import json
import warnings

import numpy as np
import pytest

from minikeras import optimizers
from minikeras.callbacks import CSVLogger, GradientMonitor
from minikeras.callbacks.gradient_monitor import activation_kind
from minikeras.layers import Activation, Dense, Input, LeakyReLU, ReLU
from minikeras.models import Sequential


def tiny_model(lr=0.0, **optimizer_args):
    model = Sequential([Input((3,)), Dense(4, activation="tanh", name="hidden"), Dense(2, name="out")])
    model.compile(optimizer=optimizers.SGD(lr, **optimizer_args), loss="mse")
    return model


def hand_gradients(model, x, y):
    """dL/dweight of the mean squared error of ``tiny_model``, written out with the chain rule."""
    w1, b1, w2, b2 = model.get_weights()
    h = np.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    d_out = 2.0 * (out - y) / out.size  # mse: mean over the outputs, then over the samples
    d_z = (d_out @ w2.T) * (1.0 - h * h)
    return {"hidden/kernel": x.T @ d_z, "hidden/bias": d_z.sum(0), "out/kernel": h.T @ d_out, "out/bias": d_out.sum(0)}


def norms(gradients):
    return {key: float(np.linalg.norm(g)) for key, g in gradients.items()}


@pytest.fixture
def data(rng):
    return rng.normal(size=(8, 3)), rng.normal(size=(8, 2))


def test_gradient_norm_equals_the_hand_computed_one(float64, data):
    x, y = data
    model = tiny_model()  # lr 0: the weights, hence the gradient, stay those of the start
    expected = norms(hand_gradients(model, x, y))
    monitor = GradientMonitor()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    assert sorted(k for k in monitor.history if k.startswith("grad_norm/")) == sorted(
        f"grad_norm/{key}" for key in expected)
    # Without a probe, the activation statistics come from the epoch's last training batch.
    assert sorted(k for k in monitor.history if not k.startswith("grad_norm/")) == ["saturated/hidden"]
    for key, value in expected.items():
        assert monitor.history[f"grad_norm/{key}"] == [pytest.approx(value, rel=1e-12)]


def test_norms_are_averaged_over_batches_and_read_before_clipping(float64, data):
    x, y = data
    model = tiny_model(clipnorm=1e-6)  # clipping would shrink every norm to 1e-6
    halves = [norms(hand_gradients(model, x[i:i + 4], y[i:i + 4])) for i in (0, 4)]
    monitor = GradientMonitor()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[monitor])
    for key in halves[0]:
        mean = (halves[0][key] + halves[1][key]) / 2
        assert mean > 1e-3
        assert monitor.history[f"grad_norm/{key}"] == [pytest.approx(mean, rel=1e-12)] * 2


def deep_model(activation, depth=6):
    hidden = [Dense(32, activation=activation, name=f"h{i}") for i in range(depth)]
    model = Sequential([Input((16,)), *hidden, Dense(4, activation="softmax", name="out")])
    model.compile(optimizer=optimizers.SGD(0.01), loss="categorical_crossentropy")
    return model


def test_deep_sigmoid_network_shows_vanishing_gradients_and_relu_does_not(rng):
    x = rng.normal(size=(128, 16)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 128)]
    ratios = {}
    for activation in ("sigmoid", "relu"):
        monitor = GradientMonitor()
        deep_model(activation).fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[monitor])
        ratios[activation] = monitor.history["grad_norm/h0/kernel"][0] / monitor.history["grad_norm/h5/kernel"][0]
    assert ratios["sigmoid"] < 1e-2  # each sigmoid layer multiplies the gradient by at most 1/4
    assert 0.2 < ratios["relu"] < 5.0


def test_far_too_large_learning_rate_kills_relu_units(rng):
    x = rng.normal(size=(256, 8)).astype("float32")
    y = 2 * x[:, :1] + x[:, 1:2]
    dead = {}
    for lr in (0.01, 0.3):
        model = Sequential([Input((8,)), Dense(64, activation="relu", name="h0"),
                            Dense(64, activation="relu", name="h1"), Dense(1, name="out")])
        model.compile(optimizer=optimizers.SGD(lr), loss="mse")
        monitor = GradientMonitor(probe=x)
        model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[monitor])
        dead[lr] = monitor.history["dead_relu/h1"][-1]
    assert dead[0.01] < 0.05
    assert dead[0.3] > 0.5


def test_sigmoid_layer_fed_huge_inputs_saturates(rng):
    x = rng.normal(size=(64, 10))
    model = Sequential([Input((10,)), Dense(16, activation="sigmoid", name="s"), Dense(16, activation="tanh", name="t"),
                        Dense(1, name="out")])
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    small, huge = GradientMonitor(probe=x * 1e-3), GradientMonitor(probe=x * 1e3)
    model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[small, huge])
    assert small.history["saturated/s"] == [0.0]
    assert huge.history["saturated/s"][0] > 0.95
    assert huge.history["saturated/t"][0] >= 0.0  # tanh layers are monitored too
    assert small.history["grad_norm/s/kernel"] == huge.history["grad_norm/s/kernel"]


def test_relu_and_activation_layers_are_recognised():
    assert activation_kind(Dense(2, activation="relu")) == "relu"
    assert activation_kind(Activation("relu")) == "relu"
    assert activation_kind(ReLU()) == "relu"
    assert activation_kind(ReLU(negative_slope=0.1)) is None
    assert activation_kind(LeakyReLU()) is None
    assert activation_kind(Activation("sigmoid")) == "sigmoid"
    assert activation_kind(Dense(2, activation="tanh")) == "tanh"
    assert activation_kind(Dense(2, activation="softmax")) is None


def test_dead_fraction_of_a_relu_layer_counts_units_zero_on_every_sample():
    model = Sequential([Input((2,)), Dense(4, name="d", kernel_initializer="ones", bias_initializer="zeros"),
                        ReLU(name="r")])
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    model.set_weights([np.array([[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, -1.0, 0.0]]), np.zeros(4)])
    probe = np.array([[1.0, 2.0], [2.0, 1.0]])  # unit 1 is negative on both, unit 3 on both
    monitor = GradientMonitor(probe=probe)
    model.fit(probe, np.zeros((2, 4)), epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.history["dead_relu/r"] == [0.5]


def test_keys_reach_history_and_csv_logger(tmp_path, rng):
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    model = Sequential([Input((3,)), Dense(4, activation="relu", name="dense_1"),
                        Dense(1, activation="sigmoid", name="dense_2")])
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "log.csv"
    monitor = GradientMonitor(probe=x)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[monitor, CSVLogger(path)])
    keys = ["dead_relu/dense_1", "grad_norm/dense_1/bias", "grad_norm/dense_1/kernel", "grad_norm/dense_2/bias",
            "grad_norm/dense_2/kernel", "saturated/dense_2"]
    assert sorted(monitor.history) == keys
    for key in keys:
        assert history.history[key] == monitor.history[key]
        assert len(history.history[key]) == 2
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for key in keys:
        assert float(rows[1][key]) == pytest.approx(monitor.history[key][1])
    assert monitor.epoch == [0, 1]


def test_verbose_prints_a_table_per_epoch(capsys, rng):
    x = rng.normal(size=(8, 3))
    model = Sequential([Input((3,)), Dense(4, activation="relu", name="hid"), Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[GradientMonitor(probe=x, verbose=1)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Gradient monitor, epoch 1:"
    assert lines[1].split()[:2] == ["hid", "kernel"] and "dead relu" in lines[1]
    assert lines[2].split()[:2] == ["out", "kernel"]
    assert lines[3] == "Gradient monitor, epoch 2:"


def test_nothing_is_left_attached_after_fit(data):
    x, y = data
    model = tiny_model(lr=0.1)
    first, second = GradientMonitor(), GradientMonitor()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[first, second])
    assert first.history == second.history
    assert model._gradient_watchers == [] and "apply" not in vars(model.optimizer)

    class Boom(Exception):
        pass

    def explode(*args):
        raise Boom

    from minikeras.callbacks import LambdaCallback
    with pytest.raises(Boom):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[first, LambdaCallback(on_batch_end=explode)])
    assert model._gradient_watchers == []
    model.fit(x, y, epochs=1, verbose=0, callbacks=[first])  # a run after a crash starts clean
    assert "apply" not in vars(model.optimizer)
    assert len(first.history["grad_norm/out/kernel"]) == 2


def test_get_config_round_trips_through_json():
    monitor = GradientMonitor(probe=np.arange(12.0).reshape(6, 2), max_probe=4, verbose=1)
    config = json.loads(json.dumps(monitor.get_config()))
    assert config == {"probe": [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]], "max_probe": 4, "verbose": 1}
    assert GradientMonitor.from_config(config).get_config() == config
    assert GradientMonitor().get_config() == {"probe": None, "max_probe": 256, "verbose": 0}


@pytest.mark.parametrize("kwargs, error, message", [
    ({"max_probe": 0}, ValueError, "`max_probe` to be a positive integer"),
    ({"max_probe": 2.5}, ValueError, "max_probe=2.5"),
    ({"verbose": 2}, ValueError, "`verbose` to be 0 or 1"),
    ({"probe": "abc"}, TypeError, "array of numbers"),
    ({"probe": np.ones(3)}, ValueError, "x.reshape(1, -1)"),
    ({"probe": np.zeros((0, 3))}, ValueError, "at least one sample"),
    ({"probe": [[1.0, np.nan]]}, ValueError, "NaN"),
    ({"prob": np.ones((2, 3))}, TypeError, "prob"),
])
def test_bad_arguments_give_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        GradientMonitor(**kwargs)


def test_probe_that_does_not_fit_the_model_and_uncompiled_model_are_rejected(data):
    x, y = data
    model = tiny_model()
    with pytest.raises(ValueError, match=r"probe of shape \(2, 5\).*expects inputs of shape \(None, 3\)"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradientMonitor(probe=np.ones((2, 5)))])
    monitor = GradientMonitor()
    monitor.set_model(Sequential([Input((3,)), Dense(1)]))
    with pytest.raises(RuntimeError, match="compiled model"):
        monitor.on_train_begin({})


def test_nan_gradients_are_recorded_not_hidden(data):
    x, y = data
    model = tiny_model(lr=1e30)
    monitor = GradientMonitor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[monitor])
    assert not np.isfinite(monitor.history["grad_norm/out/kernel"][-1])
