"""ModelCheckpoint and CSVLogger: file names, best-only rules, weights-only files, CSV text as Keras writes it."""

import json
import os

import numpy as np
import pytest

from minikeras import load_model
from minikeras._registry import get_registry
from minikeras.callbacks import Callback, CSVLogger, ModelCheckpoint
from minikeras.layers import Dense, Input
from minikeras.models import Sequential


def make_model(metrics=None):
    model = Sequential([Input((3,)), Dense(4, activation="relu"), Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=metrics or [])
    return model


def data(n=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def drive(callback, values, model=None, key="val_loss"):
    """Feeds `values` as epoch logs; returns the model."""
    model = model or make_model()
    callback.set_model(model)
    callback.on_train_begin({})
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch, {})
        callback.on_epoch_end(epoch, {"loss": 1.0, key: value})
    callback.on_train_end({})
    return model


def names(directory):
    return sorted(os.listdir(directory))


# -- file names -----------------------------------------------------------------------------
def test_template_uses_one_based_epoch_and_logs(tmp_path):
    x, y = data()
    ckpt = ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}-{val_loss:.3f}.keras")
    history = make_model().fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[ckpt])
    expected = [f"ckpt-{e + 1:02d}-{v:.3f}.keras" for e, v in enumerate(history.history["val_loss"])]
    assert names(tmp_path) == expected


def test_template_counts_on_from_initial_epoch(tmp_path):
    x, y = data()
    model = make_model()
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}.keras"))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
    model.fit(x, y, epochs=4, initial_epoch=2, verbose=0, callbacks=[ckpt])
    assert names(tmp_path) == ["m-1.keras", "m-2.keras", "m-3.keras", "m-4.keras"]


def test_unknown_template_field_names_available_ones(tmp_path):
    x, y = data()
    ckpt = ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match=r"val_acc.*is not available. Available fields: epoch, loss"):
        make_model().fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])
    with pytest.raises(ValueError, match="Failed to format"):
        ModelCheckpoint("m-{epoch:02d.keras").file_path(0, None, {})


@pytest.mark.parametrize("kwargs, path", [
    ({}, "m.hdf5"), ({}, "m"), ({}, "m.weights.h5"),
    ({"save_weights_only": True}, "m.keras"), ({"save_weights_only": True}, "m.hdf5"),
])
def test_suffix_rules(kwargs, path):
    with pytest.raises(ValueError, match=r"Received: filepath="):
        ModelCheckpoint(path, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "maximum"}, "mode"), ({"save_freq": 0}, "save_freq"), ({"save_freq": "batch"}, "save_freq"),
    ({"save_freq": True}, "save_freq"),
])
def test_bad_arguments_fail_early(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint("m.keras", **kwargs)
    with pytest.raises(TypeError, match="filepath"):
        ModelCheckpoint(3)


# -- what gets saved ------------------------------------------------------------------------
def test_files_load_back_with_the_checkpointed_weights(tmp_path):
    x, y = data()
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    model = make_model()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "m-{epoch}.keras"), Snap()])
    for epoch, expected in enumerate(snapshots):
        loaded = load_model(tmp_path / f"m-{epoch + 1}.keras")
        for got, want in zip(loaded.get_weights(), expected):
            np.testing.assert_array_equal(got, want)
    # The last checkpoint carries the optimizer state too, so training resumes the same way.
    resumed = load_model(tmp_path / "m-3.keras")
    np.testing.assert_array_equal(resumed.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", ["w-{epoch}.weights.h5", "w-{epoch}.h5"])
def test_weights_only(tmp_path, name):
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ModelCheckpoint(tmp_path / name, save_weights_only=True)])
    fresh = make_model()
    fresh.load_weights(tmp_path / name.format(epoch=2))
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):  # weights files are not models
        load_model(tmp_path / name.format(epoch=1))


def test_full_model_h5(tmp_path):
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "m.h5")])
    np.testing.assert_array_equal(load_model(tmp_path / "m.h5").get_weights()[0], model.get_weights()[0])


def test_save_freq_counts_batches_across_epochs(tmp_path):
    x, y = data(10)  # batch_size 4 -> 3 batches per epoch
    saved = []

    class Watch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            saved.append(names(tmp_path))

    ckpt = ModelCheckpoint(tmp_path / "e{epoch}-b{batch}.keras", save_freq=2)
    make_model().fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[ckpt, Watch()])
    # batches seen: e1 b1 b2* b3, e2 b1* b2 b3* -> saved after the 2nd, 4th and 6th batch.
    assert names(tmp_path) == ["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"]
    assert [len(s) for s in saved] == [0, 1, 1, 2, 2, 3]


def test_creates_missing_directories_and_reports_uncreatable_ones(tmp_path):
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "a" / "b" / "m.keras")])
    assert names(tmp_path / "a" / "b") == ["m.keras"]
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(OSError, match="could not create the directory"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "file" / "sub" / "m.keras")])
    (tmp_path / "d.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="existing directory"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "d.keras")])


# -- save_best_only -------------------------------------------------------------------------
@pytest.mark.parametrize("mode, key, values, saved", [
    ("min", "val_loss", [1.0, 0.8, 0.9, 0.7], [1, 2, 4]),
    ("auto", "val_loss", [1.0, 0.8, 0.8, 0.7], [1, 2, 4]),
    ("max", "val_loss", [1.0, 0.8, 1.2, 0.7], [1, 3]),
    ("auto", "val_accuracy", [0.5, 0.75, 0.6, 0.8], [1, 2, 4]),
    ("auto", "val_mae", [0.5, 0.75, 0.4, 0.8], [1, 3]),
])
def test_best_only_modes(tmp_path, mode, key, values, saved):
    ckpt = ModelCheckpoint(tmp_path / "m-{epoch}.keras", monitor=key, mode=mode, save_best_only=True)
    drive(ckpt, values, make_model(["accuracy", "mae"]), key=key)
    assert names(tmp_path) == [f"m-{e}.keras" for e in saved]
    assert ckpt.best == pytest.approx(values[saved[-1] - 1])


def test_initial_value_threshold_is_the_first_best(tmp_path):
    ckpt = ModelCheckpoint(tmp_path / "m-{epoch}.keras", save_best_only=True, initial_value_threshold=0.85)
    drive(ckpt, [1.0, 0.9, 0.8, 0.82])
    assert names(tmp_path) == ["m-3.keras"]
    # The best value carries over to the next fit (Keras 3): 0.81 does not beat 0.8.
    drive(ckpt, [0.81, 0.79], ckpt.model)
    assert names(tmp_path) == ["m-2.keras", "m-3.keras"]


def test_best_only_overwrites_a_fixed_name(tmp_path):
    x, y = data()
    snaps = {}

    class Snap(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snaps[epoch] = (logs["val_loss"], self.model.get_weights())

    ckpt = ModelCheckpoint(tmp_path / "best.weights.h5", save_best_only=True, save_weights_only=True)
    make_model().fit(x, y, epochs=4, verbose=0, validation_data=(x[:4], -y[:4]), callbacks=[ckpt, Snap()])
    best_epoch = min(snaps, key=lambda e: snaps[e][0])
    fresh = make_model()
    fresh.load_weights(tmp_path / "best.weights.h5")
    for got, want in zip(fresh.get_weights(), snaps[best_epoch][1]):
        np.testing.assert_array_equal(got, want)


def test_missing_monitor_warns_and_saves(tmp_path):
    ckpt = ModelCheckpoint(tmp_path / "m.keras", save_best_only=True)
    ckpt.set_model(make_model())
    with pytest.warns(UserWarning, match=r"only with val_loss available\. Available keys: loss"):
        ckpt.on_epoch_end(0, {"loss": 0.5})
    assert names(tmp_path) == ["m.keras"]


def test_auto_mode_of_unknown_direction_asks_for_a_mode(tmp_path):
    ckpt = ModelCheckpoint(tmp_path / "m.keras", monitor="score", save_best_only=True)
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        drive(ckpt, [1.0], key="score")


def test_verbose_messages_match_keras(tmp_path, capsys):
    path = tmp_path / "m.keras"
    ckpt = ModelCheckpoint(path, verbose=1, save_best_only=True)
    drive(ckpt, [1.0, 0.8, 0.9])
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from None to 1.00000, saving model to {path}\n"
        f"\nEpoch 1: finished saving model to {path}\n"
        f"\nEpoch 2: val_loss improved from 1.00000 to 0.80000, saving model to {path}\n"
        f"\nEpoch 2: finished saving model to {path}\n"
        "\nEpoch 3: val_loss did not improve from 0.80000\n"
    )
    drive(ModelCheckpoint(path, verbose=1), [1.0])
    assert capsys.readouterr().out == (
        f"\nEpoch 1: saving model to {path}\n\nEpoch 1: finished saving model to {path}\n"
    )


# -- CSVLogger --------------------------------------------------------------------------------
def test_csv_matches_keras_bytes_with_append(tmp_path):
    # Expected bytes written by keras.callbacks.CSVLogger 3.15.1 for the same calls.
    path = tmp_path / "log.csv"
    logger = CSVLogger(path, append=True)
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 0.25, "accuracy": 0.5, "learning_rate": 0.009999999776482582})
    logger.on_epoch_end(1, {"loss": 0.125, "accuracy": np.float32(0.75), "learning_rate": 0.009999999776482582})
    logger.on_train_end()
    logger.on_train_begin()
    logger.on_epoch_end(2, {"loss": 0.0625, "accuracy": 1.0, "learning_rate": 0.0010000000474974513, "val_loss": 1.5})
    logger.on_train_end()
    assert path.read_bytes() == (
        b"epoch,accuracy,learning_rate,loss,val_accuracy,val_learning_rate,val_loss\r\n"
        b"0,0.5,0.009999999776482582,0.25,NA,NA,NA\r\n"
        b"1,0.75,0.009999999776482582,0.125,NA,NA,NA\r\n"
        b"2,1.0,0.0010000000474974513,0.0625,1.5\r\n"
    )


def test_csv_separator_sequences_and_missing_values_match_keras(tmp_path):
    path = tmp_path / "log.tsv"
    logger = CSVLogger(str(path), separator="\t")
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1 / 3, "val_loss": 2 / 3, "cm": [1, 2], "note": "a,b"})
    logger.on_epoch_end(1, {"loss": 0.1, "cm": np.array([3, 4]), "note": "c"})
    logger.on_train_end()
    assert path.read_bytes() == (
        b"epoch\tcm\tloss\tnote\tval_loss\r\n"
        b'0\t"""[1, 2]"""\t0.3333333333333333\ta,b\t0.6666666666666666\r\n'
        b'1\t"""[3, 4]"""\t0.1\tc\tNA\r\n'
    )


def test_csv_append_across_two_fits_and_rows_are_flushed(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    path.write_text("stale\n")
    seen = []

    class Peek(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(path.read_text().count("\n"))

    model = make_model(["mae"])
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[CSVLogger(path), Peek()])
    logger = CSVLogger(path, append=True)
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0, validation_data=(x, y), callbacks=[logger, Peek()])
    assert seen == [2, 3, 4, 5]  # header + one row per epoch, on disk before the epoch ends
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,mae,val_loss,val_mae"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "2", "3"]
    assert lines[-1] == "3," + ",".join(repr(history.history[k][-1]) for k in ("loss", "mae", "val_loss", "val_mae"))


def test_csv_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="single character"):
        CSVLogger(tmp_path / "a.csv", separator=", ")
    logger = CSVLogger(tmp_path / "missing" / "a.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        logger.on_train_begin()


# -- configs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("callback", [
    ModelCheckpoint("ckpt/{epoch:02d}.weights.h5", monitor="val_accuracy", verbose=1, save_best_only=True,
                    save_weights_only=True, mode="max", save_freq=5, initial_value_threshold=0.5),
    CSVLogger("log.csv", separator=";", append=True),
])
def test_config_round_trips_through_json(callback):
    registry = get_registry("callback")
    config = json.loads(json.dumps(registry.serialize(callback)))
    assert config["module"] == "keras.callbacks"
    assert config["registered_name"] is None
    rebuilt = registry.deserialize(config)
    assert type(rebuilt) is type(callback)
    assert rebuilt.get_config() == callback.get_config()
