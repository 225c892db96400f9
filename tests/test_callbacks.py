"""EarlyStopping (Keras 3 semantics, Algorithm 4.1's stopping rule) and History."""

import numpy as np
import pytest

from minikeras import callbacks
from minikeras.callbacks import EarlyStopping, History
from minikeras.layers import Dense, Input
from minikeras.models import Sequential


class FakeModel:
    """The protocol callbacks use: stop_training, get_weights, set_weights, metrics."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(1)]
        self.metrics = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def drive(callback, values, key="val_loss"):
    """Feeds one value per epoch, changing the weights to the epoch index; returns stop epoch."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin({})
    last = None
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, {key: value})
        last = epoch
        if model.stop_training:
            break
    callback.on_train_end({})
    return last, model


def test_stops_after_patience_non_improving_epochs():
    stop = EarlyStopping(patience=2)
    last, _ = drive(stop, [1.0, 0.8, 0.85, 0.9, 0.7])
    assert last == 3 and stop.stopped_epoch == 3 and stop.best_epoch == 1


def test_patience_zero_stops_at_first_non_improvement_but_never_epoch_zero():
    last, _ = drive(EarlyStopping(patience=0), [1.0, 1.2, 0.5])
    assert last == 1
    last, _ = drive(EarlyStopping(patience=0, mode="max"), [1.0, 1.0, 1.0])
    assert last == 1


def test_min_delta_counts_small_changes_as_no_improvement():
    # 0.95 is not 0.1 better than 1.0, so with patience 1 training stops at epoch 1.
    last, _ = drive(EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95, 0.93, 0.5])
    assert last == 1
    last, _ = drive(EarlyStopping(patience=1, min_delta=0.01), [1.0, 0.95, 0.93, 0.5])
    assert last is None or last == 3


def test_restore_best_weights_even_without_stopping():
    stop = EarlyStopping(patience=10, restore_best_weights=True)
    last, model = drive(stop, [1.0, 0.5, 0.7, 0.9])
    assert last == 3 and stop.stopped_epoch == 0
    assert model.weights[0][0] == 1.0  # weights of epoch 1, the best


def test_auto_mode_maximizes_accuracy():
    stop = EarlyStopping(monitor="val_accuracy", patience=1)
    last, _ = drive(stop, [0.5, 0.6, 0.55, 0.54], key="val_accuracy")
    assert last == 2 and stop.best == 0.6


def test_baseline_must_be_beaten_to_reset_patience():
    # Improvements that do not beat the baseline do not reset the wait (Keras 3).
    last, _ = drive(EarlyStopping(patience=2, baseline=0.5), [0.9, 0.8, 0.85, 0.9])
    assert last == 2
    last, _ = drive(EarlyStopping(patience=2), [0.9, 0.8, 0.85, 0.9])
    assert last == 3


def test_start_from_epoch_ignores_early_epochs():
    stop = EarlyStopping(patience=0, start_from_epoch=2)
    last, _ = drive(stop, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert last == 3


def test_unknown_direction_needs_explicit_mode():
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        drive(EarlyStopping(monitor="val_widget"), [1.0, 2.0], key="val_widget")


def test_early_stopping_inside_fit_restores_best_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    model = Sequential([Input((3,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    # A validation set the model cannot fit: val_loss gets worse as training fits x -> y.
    x_val, y_val = x[:16], -y[:16]
    snapshots = []

    class Snap(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["val_loss"], self.model.get_weights()))

    stop = EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=50, validation_data=(x_val, y_val), verbose=0, callbacks=[Snap(), stop])
    best = int(np.argmin(history.history["val_loss"]))
    assert len(history.epoch) == best + 3
    for got, expected in zip(model.get_weights(), snapshots[best][1]):
        np.testing.assert_array_equal(got, expected)


def test_history_collects_values():
    history = History()
    history.on_train_begin()
    history.on_epoch_end(0, {"loss": 1.0, "acc": 0.5})
    history.on_epoch_end(1, {"loss": 0.5, "acc": 0.75})
    assert history.history == {"loss": [1.0, 0.5], "acc": [0.5, 0.75]}
    assert history.epoch == [0, 1]


def test_legacy_on_batch_end_hook_is_called():
    calls = []

    class Old(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(batch)

    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=2, verbose=0, callbacks=[Old()])
    assert calls == [0, 1]
