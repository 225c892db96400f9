"""``BackupAndRestore``: keep the training state on disk so an interrupted ``fit`` can go on.

Keras 3's semantics: the backup directory holds ``latest.weights.h5`` (weights and
optimizer state) and ``training_metadata.json`` (``{"epoch": e, "batch": b}``, where
``e`` is the epoch a resumed run starts from); with ``double_checkpoint=True`` the
previous pair is kept as ``*.bkp``. ``on_train_begin`` restores the state and tells
``fit`` where to continue; ``on_train_end`` removes the directory.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from typing import Any

from minikeras._atomic import atomic_write
from minikeras._validation import check_path
from minikeras.callbacks.callback import Callback, register

WEIGHTS_FILE = "latest.weights.h5"
METADATA_FILE = "training_metadata.json"
PREVIOUS_SUFFIX = ".bkp"


def _check_save_freq(save_freq: Any) -> None:
    if save_freq == "epoch" and isinstance(save_freq, str):
        return
    if save_freq is False:
        return
    if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
        raise ValueError(
            "Invalid value for argument `save_freq`. Expected 'epoch' (save at the end of every "
            "epoch), a positive integer (save every that many training batches) or False (never "
            f"save; only restore and clean up). Received: save_freq={save_freq!r}."
        )


def _copy_atomically(source: str, target: str) -> None:
    atomic_write(target, True, lambda tmp: shutil.copyfile(source, tmp))


def _read_epoch(path: str) -> int:
    """Reads the epoch to resume from out of a metadata file.

    Raises:
        ValueError: If the file is not JSON holding a non-negative integer ``"epoch"``.
    """
    with open(path) as f:
        text = f.read()
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"The backup metadata {path!r} is not valid JSON ({err}).") from None
    epoch = metadata.get("epoch") if isinstance(metadata, dict) else None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(
            f"The backup metadata {path!r} should hold a non-negative integer 'epoch', e.g. "
            f'{{"epoch": 3, "batch": 0}}. Received: {text[:200]!r}.'
        )
    return epoch


@register()
class BackupAndRestore(Callback):
    """Backs up the training state so that an interrupted ``fit`` resumes where it stopped.

    After every epoch (or every ``save_freq`` batches) the model's weights and
    optimizer state are written to ``backup_dir/latest.weights.h5`` and the number of
    finished epochs to ``backup_dir/training_metadata.json``, each replacing the
    previous backup. When ``fit`` starts with this callback and a backup exists, the
    weights and optimizer state are loaded and ``fit`` continues from the recorded
    epoch (whatever ``initial_epoch`` it was given). When ``fit`` completes, the whole
    ``backup_dir`` is deleted (unless ``delete_checkpoint=False``); a run that raises
    leaves it in place for the next attempt.

    The resumed run must use the same model, ``compile`` and ``fit`` arguments. With
    ``save_freq="epoch"`` and a seed set by ``minikeras.utils.set_random_seed``, the
    resumed run trains exactly as an uninterrupted one would. With a number of
    batches, a backup taken inside epoch ``e`` records ``e``: a resumed run replays
    that epoch from its first batch, starting from the weights saved mid-epoch (as
    in Keras 3).

    ``backup_dir`` belongs to this callback: it is deleted as a whole, so do not
    share it with another run or another callback such as ``ModelCheckpoint``.

    Args:
        backup_dir: Directory for the backup (str or ``os.PathLike``); created when
            the first backup is written.
        save_freq: ``"epoch"`` (back up after every epoch), a positive integer (back up
            after every that many training batches, counted across epochs) or
            ``False`` (never back up; only restore and clean up). Defaults to ``"epoch"``.
        double_checkpoint: Keep the previous backup as ``*.bkp`` files and restore it
            when the latest one cannot be read (a damaged or truncated file).
            Defaults to ``False``.
        delete_checkpoint: Delete ``backup_dir`` when ``fit`` completes. Defaults to ``True``.

    Raises:
        ValueError: For an empty ``backup_dir`` or a bad ``save_freq``.

    Examples:
        >>> class Interrupt(Callback):
        ...     def on_epoch_begin(self, epoch, logs=None):
        ...         if epoch == 2:
        ...             raise RuntimeError("interrupted")
        >>> model = Sequential([Input((2,)), Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> backup = BackupAndRestore(tmp_dir / "backup")
        >>> x, y = np.ones((4, 2)), np.ones((4, 1))
        >>> try:
        ...     model.fit(x, y, epochs=4, verbose=0, callbacks=[backup, Interrupt()])
        ... except RuntimeError:
        ...     pass
        >>> sorted(p.name for p in (tmp_dir / "backup").iterdir())
        ['latest.weights.h5', 'training_metadata.json']
        >>> model.fit(x, y, epochs=4, verbose=0, callbacks=[backup]).epoch
        [2, 3]
        >>> (tmp_dir / "backup").exists()
        False
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int | bool = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if backup_dir is None or (isinstance(backup_dir, str) and not backup_dir):
            raise ValueError(
                "Empty `backup_dir` argument passed. BackupAndRestore expects the path of a "
                f"directory it may own, e.g. '/tmp/run-1/backup'. Received: backup_dir={backup_dir!r}."
            )
        path = check_path("BackupAndRestore", "backup_dir", backup_dir)
        _check_save_freq(save_freq)
        self.backup_dir = path
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._weights_path = os.path.join(path, WEIGHTS_FILE)
        self._training_metadata_path = os.path.join(path, METADATA_FILE)
        self._prev_weights_path = self._weights_path + PREVIOUS_SUFFIX
        self._prev_training_metadata_path = self._training_metadata_path + PREVIOUS_SUFFIX
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    # -- restoring ----------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if not getattr(self.model, "built", True):
            raise ValueError(
                f"BackupAndRestore needs a built model, but model '{self.model.name}' is not built. "
                "Give its first layer an input shape (Input((features,))) or call model.build() "
                "before fit()."
            )
        try:
            self._restore()
        except (OSError, ValueError) as err:
            if not os.path.exists(self._prev_weights_path):
                raise
            warnings.warn(
                f"BackupAndRestore could not load the latest backup in {self.backup_dir!r} ({err}); "
                "restoring the previous one.", UserWarning, stacklevel=2,
            )
            _copy_atomically(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                _copy_atomically(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._restore()

    def _restore(self) -> None:
        """Loads whatever backup files exist and sets the epoch ``fit`` continues from."""
        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._training_metadata_path):
            self.model._initial_epoch = _read_epoch(self._training_metadata_path)

    # -- saving -------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch" or self.save_freq is False:
            return
        self._last_batch_seen = batch
        self._batches_seen_since_last_saving += 1
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def _save(self) -> None:
        try:
            os.makedirs(self.backup_dir, exist_ok=True)
        except OSError as err:
            raise OSError(
                f"BackupAndRestore could not create the directory {self.backup_dir!r}: "
                f"{err.strerror or err}. Choose a writable location."
            ) from err
        if self.double_checkpoint:
            if os.path.exists(self._weights_path):
                _copy_atomically(self._weights_path, self._prev_weights_path)
            if os.path.exists(self._training_metadata_path):
                _copy_atomically(self._training_metadata_path, self._prev_training_metadata_path)
        self.model.save_weights(self._weights_path, overwrite=True)
        metadata = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})

        def write(tmp: str) -> None:
            with open(tmp, "w") as f:
                f.write(metadata)

        atomic_write(self._training_metadata_path, True, write)

    # -- cleaning up --------------------------------------------------------------------
    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    def get_config(self) -> dict[str, Any]:
        return {
            "backup_dir": self.backup_dir, "save_freq": self.save_freq,
            "double_checkpoint": self.double_checkpoint, "delete_checkpoint": self.delete_checkpoint,
        }
