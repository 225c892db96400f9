"""Resuming an interrupted run with ``BackupAndRestore``, and keeping the best model with ``ModelCheckpoint``.

A long training job can die part-way (a crash, a killed process, Ctrl-C). With
``BackupAndRestore`` in the callbacks, the weights and the optimizer state are written
to a backup directory after every epoch; calling ``fit`` again with the same arguments
loads them and carries on from the first unfinished epoch. With a seed set by
``minikeras.utils.set_random_seed``, shuffling and dropout depend only on the seed and
the optimizer's step count, so the resumed run repeats exactly what the uninterrupted
run would have done. ``ModelCheckpoint(save_best_only=True)`` meanwhile keeps the
model of the epoch with the lowest validation loss in ``best.keras``.

The script trains the same seeded model (with dropout, shuffled batches, Adam) for 20
epochs twice: once straight through, and once with a callback that raises
``SimulatedCrash`` after the fourth batch of epoch 14, followed by a second ``fit``.

What to expect: the crash leaves the backup of epoch 13 on disk; the second ``fit``,
on a freshly built model, runs epochs 14 to 20 only; the final weights equal those of
the uninterrupted run bit for bit (largest difference 0.0); the best checkpoint,
loaded with ``load_model``, gives the same validation loss as the best epoch logged
during training (epoch 11, val_loss 0.1125, saved before the crash and kept through
it).

Run it with ``python examples/checkpoint_resume.py``; it takes about a second.
"""

import os
import tempfile

import numpy as np

from minikeras.callbacks import BackupAndRestore, Callback, LambdaCallback, ModelCheckpoint
from minikeras.layers import Dense, Dropout, Input
from minikeras.models import Sequential, load_model
from minikeras.optimizers import Adam
from minikeras.utils import set_random_seed

SEED = 3
EPOCHS = 20
CRASH_EPOCH, CRASH_BATCH = 13, 3  # counted from 0, as callbacks see them: epoch 14, batch 4


class SimulatedCrash(Exception):
    """Stands in for whatever stops a real job: an error, a killed process, Ctrl-C."""


class CrashAt(Callback):
    """Raises ``SimulatedCrash`` after training batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            raise SimulatedCrash(f"crashed after batch {batch + 1} of epoch {self.epoch + 1}")


def make_data(seed=0):
    """A seeded regression problem: 256 training and 64 validation rows, 8 features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(320, 8)).astype("float32")
    y = (np.tanh(x[:, :4]).sum(axis=1) + 0.1 * rng.normal(size=320))[:, None].astype("float32")
    return (x[:256], y[:256]), (x[256:], y[256:])


def make_model():
    """The same model every time: the seed fixes the initial weights and the later randomness."""
    set_random_seed(SEED)
    model = Sequential([Input((8,)), Dense(32, activation="relu"), Dropout(0.2), Dense(1)])
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
    return model


def train(model, callbacks):
    (x, y), validation = make_data()
    return model.fit(x, y, validation_data=validation, epochs=EPOCHS, batch_size=16, shuffle=True,
                     verbose=0, callbacks=callbacks)


def main():
    """Runs both trainings; returns (largest weight difference, best val_loss logged, val_loss of best.keras)."""
    reference = make_model()
    train(reference, [])

    with tempfile.TemporaryDirectory() as tmp:
        backup_dir = os.path.join(tmp, "backup")
        best_path = os.path.join(tmp, "best.keras")
        val_losses = {}  # epoch (from 1) -> val_loss, over both calls of fit
        callbacks = [
            BackupAndRestore(backup_dir),
            ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True),
            LambdaCallback(on_epoch_end=lambda epoch, logs: val_losses.update({epoch + 1: logs["val_loss"]})),
        ]

        model = make_model()
        try:
            train(model, callbacks + [CrashAt(CRASH_EPOCH, CRASH_BATCH)])
        except SimulatedCrash as crash:
            print(f"first fit: {crash}; backup on disk: {sorted(os.listdir(backup_dir))}")
        print(f"  epochs finished before the crash: 1 to {max(val_losses)}")

        # Start again as a restarted program would: a freshly built model, the same fit call
        # (without the crash). Its weights and optimizer state come from the backup. The
        # callbacks are reused so that ModelCheckpoint remembers the best val_loss so far;
        # new callbacks would need ModelCheckpoint(..., initial_value_threshold=that value).
        model = make_model()
        history = train(model, callbacks)
        resumed = [epoch + 1 for epoch in history.epoch]
        print(f"second fit: ran epochs {resumed[0]} to {resumed[-1]}; backup removed: {not os.path.exists(backup_dir)}")

        difference = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), reference.get_weights()))
        identical = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), reference.get_weights()))
        print(f"final weights equal the uninterrupted run's: {identical} (largest difference {difference})")

        best_epoch = min(val_losses, key=val_losses.get)
        best = load_model(best_path)
        checkpoint_loss = float(best.evaluate(*make_data()[1], verbose=0))
        print(f"best epoch: {best_epoch}, val_loss {val_losses[best_epoch]:.6f}; "
              f"load_model('best.keras') on the validation data: {checkpoint_loss:.6f}")
    return difference, val_losses[best_epoch], checkpoint_loss


if __name__ == "__main__":
    main()
