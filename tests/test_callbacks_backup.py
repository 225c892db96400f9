"""BackupAndRestore: files it writes, exact resumes, batch backups, the .bkp fallback, errors, config."""

import csv
import json
import os

import h5py
import numpy as np
import pytest

import minikeras
from minikeras._registry import get_registry
from minikeras.callbacks import BackupAndRestore, Callback, CSVLogger, ModelCheckpoint
from minikeras.layers import Dense, Dropout, Input
from minikeras.models import Sequential

SEED = 7
EPOCHS = 6
BATCH = 8  # 24 samples: 3 batches per epoch


def make_model():
    minikeras.utils.set_random_seed(SEED)
    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dropout(0.25), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def fit(model, callbacks, epochs=EPOCHS):
    x, y = data()
    return model.fit(x, y, epochs=epochs, batch_size=BATCH, shuffle=True, verbose=0, callbacks=callbacks)


class Interrupt(Callback):
    """Raises after batch ``batch`` of epoch ``epoch`` (or at the start of the epoch if ``batch`` is None)."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch == self.epoch and self.batch is None:
            raise RuntimeError("interrupted")

    def on_train_batch_end(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            raise RuntimeError("interrupted")


class Spy(Callback):
    """Records the epochs begun, the weights and step count right after restoring, and backups seen."""

    def __init__(self, backup=None):
        super().__init__()
        self.backup, self.epochs, self.metadata = backup, [], []
        self.current = None
        self.start_weights = self.start_iterations = None

    def on_train_begin(self, logs=None):
        self.start_weights = self.model.get_weights()
        self.start_iterations = int(self.model.optimizer.iterations)

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        self.epochs.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        path = self.backup and self.backup._training_metadata_path
        if path and os.path.exists(path):
            with open(path) as f:
                metadata = json.load(f)
            with h5py.File(self.backup._weights_path, "r") as f:
                steps = int(f["optimizer/vars/0"][()])
            self.metadata.append(((self.current, batch), metadata, steps))


def equal(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def reference_run():
    model = make_model()
    history = fit(model, [])
    return model, history


# -- exact resume ---------------------------------------------------------------------------
@pytest.mark.parametrize("same_model", [True, False], ids=["same-model", "new-model"])
def test_interrupted_run_resumes_bit_identically(tmp_path, same_model):
    reference, ref_history = reference_run()
    backup_dir = tmp_path / "backup"

    model = make_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        fit(model, [BackupAndRestore(backup_dir), Interrupt(epoch=3, batch=1)])
    assert sorted(os.listdir(backup_dir)) == ["latest.weights.h5", "training_metadata.json"]
    with open(backup_dir / "training_metadata.json") as f:
        assert f.read() == '{"epoch": 3, "batch": 0}'
    assert int(model.optimizer.iterations) == 3 * 3 + 2  # it trained into epoch 3 before failing

    if not same_model:  # a new process: same seed, fresh model whose weights differ
        model = make_model()
        model.set_weights([w + 1.0 for w in model.get_weights()])
    spy = Spy()
    history = fit(model, [BackupAndRestore(backup_dir), spy])

    assert history.epoch == [3, 4, 5]
    assert spy.epochs == [3, 4, 5]
    assert history.history["loss"] == ref_history.history["loss"][3:]
    assert equal(model.get_weights(), reference.get_weights())
    assert equal(model.optimizer.get_weights(), reference.optimizer.get_weights())
    assert not backup_dir.exists()


def test_restore_loads_weights_and_optimizer_into_untrained_model(tmp_path):
    trained = make_model()
    saver = BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    fit(trained, [saver], epochs=2)
    fresh = make_model()
    assert int(fresh.optimizer.iterations) == 0
    spy = Spy()
    history = fit(fresh, [BackupAndRestore(tmp_path / "b"), spy], epochs=3)
    assert spy.start_iterations == 6
    assert equal(spy.start_weights, trained.get_weights())
    assert history.epoch == [2]


def test_no_backup_starts_from_initial_epoch(tmp_path):
    history = fit(make_model(), [BackupAndRestore(tmp_path / "b")], epochs=3)
    assert history.epoch == [0, 1, 2]


# -- deleting ---------------------------------------------------------------------------------
def test_completed_run_deletes_backup_dir(tmp_path):
    backup_dir = tmp_path / "backup"
    seen = []

    class Look(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(sorted(os.listdir(backup_dir)))

    fit(make_model(), [BackupAndRestore(backup_dir), Look()], epochs=2)
    assert seen == [["latest.weights.h5", "training_metadata.json"]] * 2
    assert not backup_dir.exists()


def test_delete_checkpoint_false_keeps_the_final_backup(tmp_path):
    backup_dir = tmp_path / "backup"
    model = make_model()
    fit(model, [BackupAndRestore(backup_dir, delete_checkpoint=False)], epochs=2)
    assert sorted(os.listdir(backup_dir)) == ["latest.weights.h5", "training_metadata.json"]
    with open(backup_dir / "training_metadata.json") as f:
        assert json.load(f) == {"epoch": 2, "batch": 0}
    # As in Keras, a later fit with the same directory resumes after the last epoch: nothing to run.
    again = fit(make_model(), [BackupAndRestore(backup_dir, delete_checkpoint=False)], epochs=2)
    assert again.epoch == []
    assert backup_dir.exists()


def test_interrupted_run_keeps_backup_even_with_delete_checkpoint(tmp_path):
    with pytest.raises(RuntimeError):
        fit(make_model(), [BackupAndRestore(tmp_path / "b"), Interrupt(epoch=1)])
    assert (tmp_path / "b" / "latest.weights.h5").exists()


# -- save_freq in batches ---------------------------------------------------------------------
def test_save_freq_batches_writes_every_n_batches_without_epoch_end_saves(tmp_path):
    backup = BackupAndRestore(tmp_path / "b", save_freq=2, delete_checkpoint=False)
    spy = Spy(backup)
    fit(make_model(), [backup, spy], epochs=2)
    # (epoch, batch) -> metadata, step count stored in the weights file; saves at batches 2, 4 and 6.
    assert spy.metadata == [
        ((0, 1), {"epoch": 0, "batch": 1}, 2),
        ((0, 2), {"epoch": 0, "batch": 1}, 2),
        ((1, 0), {"epoch": 1, "batch": 0}, 4),
        ((1, 1), {"epoch": 1, "batch": 0}, 4),
        ((1, 2), {"epoch": 1, "batch": 2}, 6),
    ]
    # Keras writes no backup at the end of an epoch when saving by batches, so the final
    # backup still names epoch 1 and a resume would replay it.
    with open(tmp_path / "b" / "training_metadata.json") as f:
        assert json.load(f) == {"epoch": 1, "batch": 2}


def test_save_freq_batches_resume_replays_the_interrupted_epoch(tmp_path):
    backup_dir = tmp_path / "b"
    model = make_model()
    with pytest.raises(RuntimeError):
        fit(model, [BackupAndRestore(backup_dir, save_freq=2), Interrupt(epoch=1, batch=1)], epochs=3)
    with open(backup_dir / "training_metadata.json") as f:
        assert json.load(f) == {"epoch": 1, "batch": 0}  # last save after 4 batches

    backup = BackupAndRestore(backup_dir, save_freq=1)
    spy = Spy(backup)
    history = fit(make_model(), [backup, spy], epochs=3)
    assert spy.start_iterations == 4  # the state after the 4th batch, taken inside epoch 1
    assert history.epoch == [1, 2]  # epoch 1 is replayed from its first batch
    assert spy.metadata[0] == ((1, 0), {"epoch": 1, "batch": 0}, 5)
    assert not backup_dir.exists()


def test_save_freq_false_never_writes(tmp_path):
    history = fit(make_model(), [BackupAndRestore(tmp_path / "b", save_freq=False)], epochs=2)
    assert history.epoch == [0, 1]
    assert not (tmp_path / "b").exists()


# -- double checkpoint ------------------------------------------------------------------------
def _interrupted_double(tmp_path):
    backup = BackupAndRestore(tmp_path / "b", double_checkpoint=True)
    weights = {}

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch] = self.model.get_weights()

    with pytest.raises(RuntimeError):
        fit(make_model(), [backup, Keep(), Interrupt(epoch=3)])
    return backup, weights


@pytest.mark.parametrize("damage", ["one-byte", "truncated", "empty-metadata"])
def test_double_checkpoint_falls_back_to_previous_backup(tmp_path, damage):
    backup, weights = _interrupted_double(tmp_path)
    assert sorted(os.listdir(tmp_path / "b")) == [
        "latest.weights.h5", "latest.weights.h5.bkp", "training_metadata.json", "training_metadata.json.bkp",
    ]
    with open(backup._prev_training_metadata_path) as f:
        assert json.load(f) == {"epoch": 2, "batch": 0}
    if damage == "one-byte":  # Keras's own test writes "0" over the weights
        with open(backup._weights_path, "w") as f:
            f.write("0")
    elif damage == "truncated":
        with open(backup._weights_path, "rb") as f:
            content = f.read()
        with open(backup._weights_path, "wb") as f:
            f.write(content[: len(content) // 2])
    else:
        open(backup._training_metadata_path, "w").close()

    spy = Spy()
    with pytest.warns(UserWarning, match="restoring the previous one"):
        history = fit(make_model(), [BackupAndRestore(tmp_path / "b", double_checkpoint=True), spy])
    assert equal(spy.start_weights, weights[1])
    assert history.epoch == [2, 3, 4, 5]


def test_without_double_checkpoint_a_damaged_backup_raises(tmp_path):
    backup_dir = tmp_path / "b"
    with pytest.raises(RuntimeError):
        fit(make_model(), [BackupAndRestore(backup_dir), Interrupt(epoch=2)])
    assert sorted(os.listdir(backup_dir)) == ["latest.weights.h5", "training_metadata.json"]
    with open(backup_dir / "latest.weights.h5", "w") as f:
        f.write("0")
    with pytest.raises(ValueError, match="latest.weights.h5"):
        fit(make_model(), [BackupAndRestore(backup_dir)])


def test_both_backups_damaged_raises(tmp_path):
    backup, _ = _interrupted_double(tmp_path)
    for path in (backup._weights_path, backup._prev_weights_path):
        with open(path, "w") as f:
            f.write("0")
    with pytest.warns(UserWarning, match="previous one"), pytest.raises(ValueError, match="latest.weights.h5"):
        fit(make_model(), [BackupAndRestore(tmp_path / "b", double_checkpoint=True)])


# -- argument errors --------------------------------------------------------------------------
@pytest.mark.parametrize("save_freq", ["batch", 0.15, 0, -3, True, None])
def test_bad_save_freq(tmp_path, save_freq):
    with pytest.raises(ValueError, match=r"Invalid value for argument `save_freq`.*'epoch'.*positive integer") as err:
        BackupAndRestore(tmp_path, save_freq=save_freq)
    assert f"save_freq={save_freq!r}" in str(err.value)


@pytest.mark.parametrize("backup_dir", ["", None])
def test_empty_backup_dir(backup_dir):
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed.*Received"):
        BackupAndRestore(backup_dir)


def test_backup_dir_of_wrong_type():
    with pytest.raises(TypeError, match="str or os.PathLike. Received: 12"):
        BackupAndRestore(12)


# -- config -----------------------------------------------------------------------------------
def test_get_config_round_trips_through_json(tmp_path):
    cb = BackupAndRestore(tmp_path / "b", save_freq=5, double_checkpoint=True, delete_checkpoint=False)
    config = json.loads(json.dumps(cb.get_config()))
    assert config == {"backup_dir": str(tmp_path / "b"), "save_freq": 5, "double_checkpoint": True,
                      "delete_checkpoint": False}
    assert BackupAndRestore(**config).get_config() == config
    assert get_registry("callback").lookup("BackupAndRestore") is BackupAndRestore


# -- with other callbacks ---------------------------------------------------------------------
def test_resume_with_model_checkpoint_and_csv_logger(tmp_path):
    _, ref_history = reference_run()
    log = tmp_path / "log.csv"
    ckpt = str(tmp_path / "ckpt" / "m-{epoch:02d}.weights.h5")

    # The same instances go on (as after catching the error): CSVLogger closes the file the
    # interrupted run left open when the next run begins.
    callbacks = [BackupAndRestore(tmp_path / "b"), ModelCheckpoint(ckpt, save_weights_only=True),
                 CSVLogger(log, append=True)]
    with pytest.raises(RuntimeError):
        fit(make_model(), [*callbacks, Interrupt(epoch=3, batch=1)])
    fit(make_model(), callbacks)

    with open(log, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == list(range(EPOCHS))
    assert [float(r[1]) for r in rows[1:]] == ref_history.history["loss"]
    assert sorted(os.listdir(tmp_path / "ckpt")) == [f"m-{e:02d}.weights.h5" for e in range(1, EPOCHS + 1)]
    assert not (tmp_path / "b").exists()
