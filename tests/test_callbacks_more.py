"""ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN and LambdaCallback (Keras 3 semantics)."""

import json

import numpy as np
import pytest

from minikeras import callbacks, optimizers
from minikeras.callbacks import LambdaCallback, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN
from minikeras.layers import Dense, Input
from minikeras.models import Sequential


def compiled(lr=0.1, units=1, optimizer=None):
    model = Sequential([Input((2,)), Dense(units)])
    model.compile(optimizer=optimizer or optimizers.SGD(lr), loss="mse")
    return model


def drive(callback, values, model=None, key="val_loss"):
    """Feeds one monitored value per epoch; returns (logged lr, lr after the epoch) lists."""
    model = model or compiled()
    callback.set_model(model)
    callback.on_train_begin({})
    logged, after = [], []
    for epoch, value in enumerate(values):
        logs = {key: value}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
        after.append(model.optimizer.learning_rate)
    return logged, after


# Decisions of keras.callbacks.ReduceLROnPlateau (Keras 3.15.1, torch backend) for the same
# scripted values, starting from SGD(0.1): (logs["learning_rate"], optimizer lr after the epoch).
SCRIPT = [1.0, 0.995, 0.99, 0.95, 0.96, 0.97, 0.94, 0.945, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
F01, F005, F0025, F002 = 0.10000000149011612, 0.05000000074505806, 0.02500000037252903, 0.019999999552965164
KERAS_REFERENCE = [
    (dict(factor=0.5, patience=2, cooldown=1, min_lr=0.02, min_delta=0.01), SCRIPT,
     [F01, F01, F01, F005, F005, F005, F0025, F0025] + [F002] * 8,
     [F01, F01, F005, F005, F005, F0025, F0025] + [F002] * 9),
    (dict(factor=0.5, patience=1), SCRIPT,
     [F01] * 5 + [F005, F0025, F0025, 0.012500000186264515, 0.0062500000931322575,
                  0.0031250000465661287, 0.0015625000232830644, 0.0007812500116415322,
                  0.0003906250058207661, 0.00019531250291038305, 9.765625145519152e-05],
     [F01] * 4 + [F005, F0025, F0025, 0.012500000186264515, 0.0062500000931322575,
                  0.0031250000465661287, 0.0015625000232830644, 0.0007812500116415322,
                  0.0003906250058207661, 0.00019531250291038305, 9.765625145519152e-05,
                  4.882812572759576e-05]),
    # min_lr is compared in float32: 0.001 stored as float32 is not above float32(0.001).
    (dict(factor=0.1, patience=1, min_lr=0.001), [1.0] * 8,
     [F01, F01, 0.009999999776482582] + [0.0010000000474974513] * 5,
     [F01, 0.009999999776482582] + [0.0010000000474974513] * 6),
    (dict(factor=0.3, patience=0, cooldown=2, mode="max"), [1.0] * 6,
     [F01, F01, 0.030000001192092896, 0.030000001192092896, 0.009000000543892384, 0.009000000543892384],
     [F01, 0.030000001192092896, 0.030000001192092896, 0.009000000543892384, 0.009000000543892384,
      0.0027000000700354576]),
]


@pytest.mark.parametrize(("kwargs", "values", "logged", "after"), KERAS_REFERENCE)
def test_reduce_lr_on_plateau_matches_keras_decisions(kwargs, values, logged, after):
    got_logged, got_after = drive(ReduceLROnPlateau(**kwargs), values)
    np.testing.assert_allclose(got_logged, logged, rtol=1e-7)
    np.testing.assert_allclose(got_after, after, rtol=1e-7)


def test_reduce_lr_patience_cooldown_and_min_lr_by_hand():
    cb = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, min_lr=0.03)
    _, after = drive(cb, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    # Reduced at epoch 2 (epochs 1 and 2 did not improve). The cooldown counts down at the
    # start of epochs 3 and 4 and is over within epoch 4, which already counts (as in Keras
    # 3.15.1), so epoch 5 reduces again, to min_lr; min_lr itself is never reduced.
    np.testing.assert_allclose(after, [0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03, 0.03], rtol=1e-6)
    assert cb.best == 0.5 and cb.wait == 0


def test_reduce_lr_improvement_needs_more_than_min_delta():
    _, after = drive(ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.1), [1.0, 0.95])
    assert after[1] == pytest.approx(0.05)
    _, after = drive(ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.01), [1.0, 0.95])
    assert after[1] == pytest.approx(0.1)


def test_reduce_lr_auto_mode_follows_the_metric_direction():
    model = compiled()
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse", metrics=["accuracy"])
    _, after = drive(ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1),
                     [0.5, 0.6, 0.7], model=model, key="val_accuracy")
    assert after == pytest.approx([0.1, 0.1, 0.1])


def test_reduce_lr_warns_when_the_monitor_is_missing_and_still_logs_the_rate():
    cb = ReduceLROnPlateau(patience=0)
    model = compiled()
    cb.set_model(model)
    cb.on_train_begin({})
    logs = {"loss": 1.0}
    with pytest.warns(UserWarning, match="'val_loss'.*Available keys: loss, learning_rate"):
        cb.on_epoch_end(0, logs)
    assert logs["learning_rate"] == pytest.approx(0.1) and model.optimizer.learning_rate == pytest.approx(0.1)


def test_reduce_lr_verbose_message(capsys):
    drive(ReduceLROnPlateau(factor=0.05, patience=1, verbose=1), [1.0, 1.0])
    assert capsys.readouterr().out == "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.005000000074505806.\n"


def test_reduce_lr_end_to_end_in_fit():
    scripted = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    inject = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(score=scripted[epoch]))
    reduce = ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=1)
    model = compiled()
    x = np.ones((8, 2), dtype="float32")
    history = model.fit(x, x[:, :1], epochs=6, batch_size=4, verbose=0, callbacks=[inject, reduce])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.05, 0.025, 0.025, 0.0125],
                               rtol=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(0.00625)


def test_reduce_lr_refuses_a_schedule_optimizer_clearly():
    schedule = optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model = compiled(optimizer=optimizers.SGD(schedule))
    with pytest.raises(TypeError, match="schedule; it cannot be set"):
        drive(ReduceLROnPlateau(patience=0, min_lr=0.0), [1.0, 1.0], model=model)


def test_reduce_lr_bad_arguments():
    with pytest.raises(ValueError, match="factor >= 1.0. Received: factor=1.0"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        ReduceLROnPlateau(mode="up")
    with pytest.raises(ValueError, match="patience"):
        ReduceLROnPlateau(patience=-1)
    with pytest.raises(TypeError, match="unknown keyword argument.*`pateince`"):
        ReduceLROnPlateau(pateince=3)
    with pytest.warns(DeprecationWarning, match="`epsilon`.*`min_delta`"):
        assert ReduceLROnPlateau(epsilon=0.01).min_delta == 0.01
    cb = ReduceLROnPlateau(patience=0)
    cb.set_model(Sequential([Input((2,)), Dense(1)]))
    with pytest.raises(RuntimeError, match="compile"):
        cb.on_epoch_end(0, {"val_loss": 1.0})


def test_reduce_lr_config_round_trips_through_json():
    cb = ReduceLROnPlateau(monitor="loss", factor=0.2, patience=3, min_delta=-0.01, cooldown=1, min_lr=1e-5)
    config = json.loads(json.dumps(callbacks.callback._registry.serialize(cb)))
    again = callbacks.callback._registry.deserialize(config)
    assert type(again) is ReduceLROnPlateau and again.get_config() == cb.get_config()
    assert again.min_delta == 0.01
    again = callbacks.callback._registry.deserialize(json.loads(json.dumps(
        callbacks.callback._registry.serialize(TerminateOnNaN(raise_error=True)))))
    assert again.raise_error is True


# -- LearningRateScheduler ----------------------------------------------------------------

def test_scheduler_two_argument_and_one_argument_schedules():
    model = compiled(0.2)
    x = np.ones((4, 2), dtype="float32")
    seen = []

    def halve(epoch, lr):
        seen.append((epoch, round(lr, 6)))
        return lr / 2 if epoch else lr

    history = model.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[LearningRateScheduler(halve)])
    assert seen == [(0, 0.2), (1, 0.2), (2, 0.1)]
    np.testing.assert_allclose(history.history["learning_rate"], [0.2, 0.1, 0.05], rtol=1e-6)

    history = model.fit(x, x[:, :1], epochs=2, verbose=0,
                        callbacks=[LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.02], rtol=1e-6)


def test_scheduler_rate_is_used_by_the_optimizer():
    model = compiled(0.1)
    x = np.ones((4, 2), dtype="float32")
    model.fit(x, x[:, :1] * 3, epochs=1, verbose=0)
    before = model.get_weights()
    model.fit(x, x[:, :1] * 3, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: 0.0)])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_scheduler_verbose_message(capsys):
    model = compiled()
    cb = LearningRateScheduler(lambda epoch, lr: 0.01, verbose=1)
    cb.set_model(model)
    cb.on_epoch_begin(0, {})
    assert capsys.readouterr().out == "\nEpoch 1: LearningRateScheduler setting learning rate to 0.01.\n"


@pytest.mark.parametrize("bad", [1, "0.1", None, float("nan"), -0.1])
def test_scheduler_refuses_a_result_that_is_not_a_float(bad):
    cb = LearningRateScheduler(lambda epoch: bad)
    cb.set_model(compiled())
    with pytest.raises(ValueError, match="should be a non-negative float. Received"):
        cb.on_epoch_begin(0, {})


def test_scheduler_refuses_bad_schedules():
    with pytest.raises(TypeError, match="function of the epoch"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="take the epoch"):
        LearningRateScheduler(lambda: 0.1)
    with pytest.raises(TypeError, match="cannot be serialized"):
        LearningRateScheduler(lambda epoch: 0.1).get_config()
    cb = LearningRateScheduler(lambda epoch: 0.1)
    cb.set_model(compiled(optimizer=optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))))
    with pytest.raises(TypeError, match="schedule; it cannot be set"):
        cb.on_epoch_begin(0, {})


# -- TerminateOnNaN -----------------------------------------------------------------------

def test_terminate_on_nan_stops_after_the_bad_batch(capsys):
    x = np.ones((8, 2), dtype="float32")
    x[4:6] = 1e30  # batch 2 overflows float32: its loss is inf
    batches = []
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch),
                            on_epoch_end=lambda epoch, logs: batches.append(f"end {epoch}"))
    model = compiled()
    with np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(x, np.ones((8, 1), dtype="float32"), epochs=3, batch_size=2, shuffle=False,
                            verbose=0, callbacks=[TerminateOnNaN(), record])
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"
    assert batches == [0, 1, 2, "end 0"]
    assert model.stop_training is True and history.epoch == [0]
    assert not np.isfinite(history.history["loss"][0])


def test_terminate_on_nan_ignores_finite_losses_and_can_raise():
    model = compiled()
    cb = TerminateOnNaN()
    cb.set_model(model)
    cb.on_train_batch_end(0, {"loss": 1e30})
    cb.on_train_batch_end(1, {})
    assert model.stop_training is False
    cb = TerminateOnNaN(raise_error=True)
    cb.set_model(model)
    with pytest.raises(RuntimeError, match="batch 3. Loss value: -inf"):
        cb.on_train_batch_end(3, {"loss": -np.inf})
    with pytest.raises(TypeError, match="raise_error"):
        TerminateOnNaN(raise_error="yes")


# -- LambdaCallback -----------------------------------------------------------------------

def test_lambda_callback_hooks_are_called_in_order():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_train_batch_begin=lambda batch, logs: calls.append(f"batch_begin {batch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch_end {batch} {sorted(logs)}"),
        on_test_begin=lambda logs: calls.append("test_begin"),
        on_test_end=lambda logs: calls.append(f"test_end {sorted(logs)}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    x = np.ones((4, 2), dtype="float32")
    model = compiled()
    model.fit(x, x[:, :1], epochs=2, batch_size=2, verbose=0, validation_data=(x, x[:, :1]), callbacks=[cb])
    epoch = ["batch_begin 0", "batch_end 0 ['loss']", "batch_begin 1", "batch_end 1 ['loss']",
             "test_begin", "test_end ['loss']"]
    assert calls == ["train_begin",
                     "epoch_begin 0", *epoch, "epoch_end 0 ['loss', 'val_loss']",
                     "epoch_begin 1", *epoch, "epoch_end 1 ['loss', 'val_loss']",
                     "train_end"]


def test_lambda_callback_other_hooks_by_keyword_including_legacy_names():
    calls = []
    cb = LambdaCallback(on_batch_end=lambda batch, logs: calls.append(("batch", batch)),
                        on_predict_end=lambda logs: calls.append("predict_end"))
    model = compiled()
    x = np.ones((4, 2), dtype="float32")
    model.fit(x, x[:, :1], epochs=1, batch_size=2, verbose=0, callbacks=[cb])
    model.predict(x, verbose=0, callbacks=[cb])
    assert calls == [("batch", 0), ("batch", 1), "predict_end"]


def test_lambda_callback_refuses_unknown_names_and_bad_functions():
    with pytest.raises(TypeError, match="unknown hook name.*on_epoch_ends.*Valid names: on_train_begin"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="`on_epoch_end` to be a function"):
        LambdaCallback(on_epoch_end=3)
    with pytest.raises(TypeError, match=r"calls `on_epoch_end` as on_epoch_end\(epoch, logs\)"):
        LambdaCallback(on_epoch_end=lambda logs: None)
    with pytest.raises(TypeError, match="cannot be serialized"):
        LambdaCallback().get_config()
