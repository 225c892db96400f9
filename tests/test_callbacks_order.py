"""Callback hooks: call order and logs as real Keras 3 records them, shared logs, list order,
``stop_training``, learning-rate changes, ``initial_epoch`` numbering and errors raised by callbacks."""

import csv
import importlib.util
import json
import types
from pathlib import Path

import numpy as np
import pytest

import minikeras
from minikeras.callbacks import Callback, CSVLogger, History, ModelCheckpoint, ProgbarLogger
from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.utils import set_random_seed

FIXTURES = Path(__file__).parent / "fixtures" / "keras3"
KERAS = json.loads((FIXTURES / "callback_order.json").read_text())


def _generator():
    """The fixture's generator module: its recording code runs here on minikeras."""
    spec = importlib.util.spec_from_file_location("make_callback_order", FIXTURES / "make_callback_order.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def _as_keras():
    """A namespace with the few ``keras`` attributes the generator uses, taken from minikeras."""
    return types.SimpleNamespace(
        callbacks=minikeras.callbacks, Sequential=Sequential, Input=Input,
        layers=types.SimpleNamespace(Dense=Dense), utils=types.SimpleNamespace(set_random_seed=set_random_seed),
    )


@pytest.fixture(scope="module")
def recorded():
    return GEN.record(_as_keras())


def make_model(lr=0.1):
    model = Sequential([Input((3,)), Dense(2, activation="softmax")])
    model.compile(optimizer=minikeras.optimizers.SGD(learning_rate=lr), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


# -- order and log keys against Keras 3 ------------------------------------------------------------
def test_fixture_comes_from_keras_3_with_torch():
    assert KERAS["keras_version"] == "3.15.1"
    assert KERAS["backend"] == "torch"


@pytest.mark.parametrize("scenario", ["fit", "evaluate", "predict", "fit_stop", "shared_logs"])
def test_hooks_indices_and_log_keys_match_keras(recorded, scenario):
    assert recorded[scenario] == KERAS[scenario]


def test_stop_training_in_a_batch_still_validates_and_ends_the_epoch():
    class Stop(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    x, y, x_val, y_val = GEN.data()
    model = make_model()
    history = model.fit(x, y, batch_size=2, epochs=3, verbose=0, validation_data=(x_val, y_val),
                        callbacks=[Stop()])
    assert history.epoch == [0]
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert int(model.optimizer.iterations) == 2


# -- the callback list -------------------------------------------------------------------------------
def _class_order(monkeypatch, verbose, capsys):
    calls = []
    for cls in (History, ProgbarLogger):
        original = cls.on_epoch_end

        def spy(self, epoch, logs=None, _original=original, _name=cls.__name__):
            calls.append(_name)
            _original(self, epoch, logs)

        monkeypatch.setattr(cls, "on_epoch_end", spy)

    class User(Callback):
        def on_epoch_end(self, epoch, logs=None):
            calls.append("Callback")

    x, y, _, _ = GEN.data()
    make_model().fit(x, y, batch_size=2, epochs=1, verbose=verbose, callbacks=[User()])
    capsys.readouterr()
    return calls


@pytest.mark.parametrize("verbose", [0, 1])
def test_user_callbacks_then_history_then_progbar_as_in_keras(monkeypatch, capsys, verbose):
    assert _class_order(monkeypatch, verbose, capsys) == KERAS["callbacks_in_fit"][str(verbose)]


def test_a_history_or_progbar_in_the_list_is_used_not_added_again(capsys):
    x, y, _, _ = GEN.data()
    mine = History()
    bar = ProgbarLogger()
    model = make_model()
    returned = model.fit(x, y, batch_size=2, epochs=2, verbose=2, callbacks=[bar, mine])
    assert returned is mine and model.history is mine
    assert mine.epoch == [0, 1]
    assert capsys.readouterr().out.count("Epoch 2/2") == 1


def test_every_callback_of_one_call_gets_the_same_logs_dict():
    seen = []

    class Writer(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs)
            logs["note"] = 10.0 + epoch

    class Reader(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs)

    x, y, _, _ = GEN.data()
    history = make_model().fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[Writer(), Reader()])
    assert seen[0] is seen[1] and seen[2] is seen[3]
    assert seen[1]["note"] == 10.0 and seen[3]["note"] == 11.0
    assert history.history["note"] == [10.0, 11.0]


# -- the learning rate, read and changed by callbacks --------------------------------------------------
def test_a_learning_rate_set_in_a_batch_applies_from_the_next_step():
    weights, rates = [], []

    class Freeze(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rates.append(float(self.model.optimizer.learning_rate))

        def on_train_batch_end(self, batch, logs=None):
            weights.append([w.copy() for w in self.model.get_weights()])
            if batch == 0:
                self.model.optimizer.learning_rate = 0.0

    x, y, _, _ = GEN.data()
    model = make_model(lr=0.5)
    before = model.get_weights()
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[Freeze()])
    assert rates == [0.5, 0.0, 0.0]
    assert not np.allclose(weights[0][0], before[0])
    for later in weights[1:]:
        for a, b in zip(later, weights[0]):
            np.testing.assert_array_equal(a, b)


def test_a_learning_rate_set_at_epoch_begin_is_used_for_that_epoch():
    class Halve(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate = 0.0

    x, y, _, _ = GEN.data()
    model = make_model(lr=0.5)
    epoch_ends = []
    grab = minikeras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epoch_ends.append(model.get_weights()))
    model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[Halve(), grab])
    for a, b in zip(epoch_ends[0], epoch_ends[1]):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.learning_rate) == 0.0


# -- initial_epoch ----------------------------------------------------------------------------------
def test_initial_epoch_numbers_hooks_history_header_csv_and_checkpoints(tmp_path, capsys):
    hooks = []

    class Numbers(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            hooks.append(("begin", epoch))

        def on_epoch_end(self, epoch, logs=None):
            hooks.append(("end", epoch))

    x, y, x_val, y_val = GEN.data()
    csv_path = tmp_path / "log.csv"
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}.weights.h5"), save_weights_only=True)
    history = make_model().fit(x, y, batch_size=2, epochs=4, initial_epoch=2, verbose=2,
                               validation_data=(x_val, y_val), callbacks=[Numbers(), CSVLogger(csv_path), ckpt])
    assert hooks == [("begin", 2), ("end", 2), ("begin", 3), ("end", 3)]
    assert history.epoch == [2, 3]
    assert all(len(values) == 2 for values in history.history.values())
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert headers == ["Epoch 3/4", "Epoch 4/4"]
    rows = read_csv(csv_path)
    assert [row[0] for row in rows] == ["epoch", "2", "3"]
    assert sorted(p.name for p in tmp_path.glob("m-*")) == ["m-3.weights.h5", "m-4.weights.h5"]


def test_initial_epoch_equal_to_epochs_runs_nothing(capsys):
    x, y, _, _ = GEN.data()
    seen = []
    end = minikeras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e),
                                             on_train_end=lambda logs: seen.append(("end", logs)))
    history = make_model().fit(x, y, batch_size=2, epochs=2, initial_epoch=2, verbose=2, callbacks=[end])
    assert seen == [("end", {})]
    assert history.epoch == [] and history.history == {}
    assert capsys.readouterr().out == ""


# -- a callback that raises -------------------------------------------------------------------------
class Boom(Exception):
    pass


def _raising(hook, epoch, batch=None):
    class Raiser(Callback):
        def __init__(self):
            super().__init__()
            self.epoch = -1

        def on_epoch_begin(self, e, logs=None):
            self.epoch = e

    def fail(self, *args):
        index = args[0]
        if self.epoch == epoch and (batch is None or index == batch):
            raise Boom(f"{hook} {epoch}")

    setattr(Raiser, hook, fail)
    return Raiser()


class Snapshot(Callback):
    """After each epoch, keeps the bytes of the checkpoint just written and the weights saved in it."""

    def __init__(self, ckpt_dir):
        super().__init__()
        self.ckpt_dir, self.files, self.weights = ckpt_dir, {}, {}

    def on_epoch_end(self, epoch, logs=None):
        name = f"m-{epoch + 1}.weights.h5"
        self.files[name] = (self.ckpt_dir / name).read_bytes()
        self.weights[name] = [w.copy() for w in self.model.get_weights()]


@pytest.mark.parametrize("hook, batch", [("on_epoch_end", None), ("on_train_batch_end", 1)])
def test_an_exception_in_a_callback_stops_fit_and_keeps_earlier_files(tmp_path, hook, batch):
    ckpt_dir = tmp_path / "ckpt"
    csv_path = tmp_path / "log.csv"
    raiser = _raising(hook, epoch=1, batch=batch)
    logger = CSVLogger(csv_path)
    snap = Snapshot(ckpt_dir)
    ckpt = ModelCheckpoint(str(ckpt_dir / "m-{epoch}.weights.h5"), save_weights_only=True)
    x, y, x_val, y_val = GEN.data()
    model = make_model()
    # The raiser comes first, so nothing after it sees the failing epoch's end.
    with pytest.raises(Boom, match=f"^{hook} 1$") as info:
        model.fit(x, y, batch_size=2, epochs=3, verbose=0, validation_data=(x_val, y_val),
                  callbacks=[raiser, logger, ckpt, snap])
    assert type(info.value) is Boom
    try:
        assert sorted(p.name for p in ckpt_dir.iterdir()) == ["m-1.weights.h5"]
        assert (ckpt_dir / "m-1.weights.h5").read_bytes() == snap.files["m-1.weights.h5"]
        fresh = make_model()
        fresh.load_weights(str(ckpt_dir / "m-1.weights.h5"))
        for a, b in zip(fresh.get_weights(), snap.weights["m-1.weights.h5"]):
            np.testing.assert_array_equal(a, b)
        # As in Keras, on_train_end is not called, but every finished epoch's row is on disk.
        rows = read_csv(csv_path)
        assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
        assert [row[0] for row in rows[1:]] == ["0"]
        assert all(len(row) == len(rows[0]) for row in rows)
    finally:
        logger.on_train_end()
