"""Training jobs run as separate processes by ``test_resume_processes.py``.

Usage (cwd = the repository root)::

    python tests/_job.py first DIR        # train N epochs per configuration, save a checkpoint
    python tests/_job.py rest DIR         # load each checkpoint, train epochs N .. N+M, write .npz
    python tests/_job.py whole DIR        # train N+M epochs in one go per optimizer, write .npz
    python tests/_job.py killed DIR FMT   # checkpoint every epoch; hang in the middle of the 2nd save

Importing this module has no side effects; the test module imports it for the
shared model, data and configuration lists.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

SEED = 77
FIRST_EPOCHS = 3  # N
MORE_EPOCHS = 2  # M
OPTIMIZERS = ("adam", "sgd", "rmsprop")
#: Checkpoint kinds: whole model as .keras, whole model as legacy .h5, weights only as .weights.h5.
FORMATS = ("keras", "h5", "weights")
SUFFIX = {"keras": ".keras", "h5": ".h5", "weights": ".weights.h5"}
#: Printed by the ``killed`` job once part of the second checkpoint is on disk.
MARKER = "SAVE-INTERRUPTED"


def data() -> tuple[np.ndarray, np.ndarray]:
    """Forty samples, the same in every process."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x @ np.array([[0.5], [-1.0], [0.25], [2.0]], dtype="float32")).astype("float32")
    return x, y


def make_optimizer(name: str):
    from minikeras import optimizers

    if name == "adam":
        return optimizers.Adam(learning_rate=0.01)
    if name == "sgd":
        return optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)
    if name == "rmsprop":
        return optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True)
    raise ValueError(f"Expected one of {OPTIMIZERS}. Received: {name!r}.")


def build_model(optimizer: str):
    """A compiled Dense + Dropout model; call after ``set_random_seed`` for identical weights."""
    from minikeras.layers import Dense, Dropout, Input
    from minikeras.models import Sequential

    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dropout(0.3), Dense(1)])
    model.compile(optimizer=make_optimizer(optimizer), loss="mse")
    return model


def fit(model, epochs: int, initial_epoch: int = 0, callbacks=None):
    x, y = data()
    return model.fit(x, y, batch_size=8, epochs=epochs, initial_epoch=initial_epoch, shuffle=True,
                     validation_split=0.2, verbose=0, callbacks=callbacks)


def state(model) -> dict[str, np.ndarray]:
    """The model's weights as ``w0, w1, ...`` and the optimizer's state as ``o0 (iterations), o1, ...``."""
    arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(model.optimizer.get_weights())})
    return arrays


def checkpoint_path(directory: str, optimizer: str, fmt: str) -> str:
    return os.path.join(directory, f"{optimizer}-{fmt}{SUFFIX[fmt]}")


def _first(directory: str) -> None:
    from minikeras.utils import set_random_seed

    for optimizer in OPTIMIZERS:
        for fmt in FORMATS:
            set_random_seed(SEED)
            model = build_model(optimizer)
            fit(model, FIRST_EPOCHS)
            path = checkpoint_path(directory, optimizer, fmt)
            if fmt == "weights":
                model.save_weights(path)
            else:
                model.save(path)


def _rest(directory: str) -> None:
    from minikeras.models import load_model
    from minikeras.utils import set_random_seed

    for optimizer in OPTIMIZERS:
        for fmt in FORMATS:
            set_random_seed(SEED)
            path = checkpoint_path(directory, optimizer, fmt)
            if fmt == "weights":
                model = build_model(optimizer)
                model.load_weights(path)
            else:
                model = load_model(path)
            loaded_iterations = model.optimizer.iterations
            history = fit(model, FIRST_EPOCHS + MORE_EPOCHS, initial_epoch=FIRST_EPOCHS)
            np.savez(os.path.join(directory, f"rest-{optimizer}-{fmt}.npz"), **state(model),
                     loss=history.history["loss"], val_loss=history.history["val_loss"],
                     epoch=history.epoch, loaded_iterations=loaded_iterations)


def _whole(directory: str) -> None:
    from minikeras.utils import set_random_seed

    for optimizer in OPTIMIZERS:
        set_random_seed(SEED)
        model = build_model(optimizer)
        history = fit(model, FIRST_EPOCHS + MORE_EPOCHS)
        np.savez(os.path.join(directory, f"whole-{optimizer}.npz"), **state(model),
                 loss=history.history["loss"], val_loss=history.history["val_loss"])


def _hang() -> None:
    print(MARKER, flush=True)
    time.sleep(120)  # killed by the parent long before this ends
    sys.exit("the parent did not kill this process")


def _interrupt_second_save(fmt: str, progress: dict[str, int]) -> None:
    """Makes the second checkpoint write part of its data, then hang until killed.

    ``.keras`` archives are written with ``zipfile`` (the weights member last, with
    ``writestr``); HDF5 files with ``h5py`` (one ``create_dataset`` per array).
    """
    if fmt == "keras":
        import zipfile

        original_writestr = zipfile.ZipFile.writestr

        def writestr(self, name, data, *args, **kwargs):
            if progress["epoch"] == 1:
                self.fp.write(data[: len(data) // 2])  # half of model.weights.h5, no member header
                self.fp.flush()
                _hang()
            return original_writestr(self, name, data, *args, **kwargs)

        zipfile.ZipFile.writestr = writestr
    else:
        import h5py

        original_create = h5py.Group.create_dataset

        def create_dataset(self, *args, **kwargs):
            result = original_create(self, *args, **kwargs)
            if progress["epoch"] == 1:
                progress["datasets"] += 1
                if progress["datasets"] == 2:  # two arrays written, the rest missing
                    self.file.flush()
                    _hang()
            return result

        h5py.Group.create_dataset = create_dataset


def _killed(directory: str, fmt: str) -> None:
    from minikeras.callbacks import Callback, ModelCheckpoint
    from minikeras.utils import set_random_seed

    progress = {"epoch": 0, "datasets": 0}

    class Recorder(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            progress["epoch"] = epoch

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # runs after the checkpoint's first save
                np.savez(os.path.join(directory, "first.npz"), **state(self.model))

    _interrupt_second_save(fmt, progress)
    set_random_seed(SEED)
    model = build_model("adam")
    checkpoint = ModelCheckpoint(os.path.join(directory, f"ckpt{SUFFIX[fmt]}"),
                                 save_weights_only=fmt == "weights")
    fit(model, 3, callbacks=[checkpoint, Recorder()])


def main(argv: list[str]) -> None:
    jobs = {"first": _first, "rest": _rest, "whole": _whole, "killed": _killed}
    if len(argv) < 2 or argv[0] not in jobs:
        sys.exit(f"usage: _job.py {{{','.join(jobs)}}} DIR [FORMAT]. Received: {argv!r}")
    jobs[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
