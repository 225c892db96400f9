"""``ModelCheckpoint``: save the model or its weights during training.

Keras 3's semantics: the file name is a ``str.format`` template filled with the
1-based ``epoch`` (and ``batch`` when saving every few batches) and the logs;
``save_best_only`` keeps only improvements of a monitored value.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from minikeras._validation import check_path
from minikeras.callbacks.callback import Callback, register
from minikeras.callbacks.early_stopping import monitor_direction


def _check_suffix(filepath: str, save_weights_only: bool) -> None:
    if save_weights_only:
        if not filepath.endswith(".h5"):
            raise ValueError(
                "ModelCheckpoint(save_weights_only=True) expects a file name ending in "
                "'.weights.h5' (Keras 3's weights layout) or '.h5' (the legacy HDF5 layout). "
                f"Received: filepath={filepath!r}. Rename it, e.g. 'ckpt-{{epoch:02d}}.weights.h5'."
            )
    elif not filepath.endswith((".keras", ".h5")) or filepath.endswith(".weights.h5"):
        raise ValueError(
            "ModelCheckpoint expects a whole-model file name ending in '.keras' (Keras 3 archive) "
            f"or '.h5' (legacy HDF5). Received: filepath={filepath!r}. Rename it, e.g. "
            "'ckpt-{epoch:02d}.keras', or pass save_weights_only=True with a '.weights.h5' name."
        )


@register()
class ModelCheckpoint(Callback):
    """Saves the model (or only its weights) after every epoch or every ``save_freq`` batches.

    ``filepath`` may hold ``str.format`` fields filled with ``epoch`` (1-based, so
    it counts on from ``fit(initial_epoch=...)``), ``batch`` (1-based, when
    ``save_freq`` is a number) and any key of the logs, e.g.
    ``"ckpt/m-{epoch:02d}-{val_loss:.3f}.keras"``. Missing directories are created.

    With ``save_best_only=True`` a file is written only when ``monitor`` improves on
    the best value seen so far (which starts at ``initial_value_threshold``, and is
    kept across calls to ``fit`` as in Keras 3). If ``monitor`` is not in the logs,
    a warning is issued and the model is saved anyway (Keras 3).

    File names: whole models need ``.keras`` or ``.h5``, as in Keras 3. With
    ``save_weights_only=True`` the name must end in ``.weights.h5`` (Keras 3's
    layout); minikeras also accepts any other ``.h5`` name and then writes Keras's
    legacy weights layout, which Keras 2 and 3 ``load_weights`` read too.

    Args:
        filepath: File name template (str or ``os.PathLike``).
        monitor: Log key compared by ``save_best_only``. Defaults to ``"val_loss"``.
        verbose: ``1`` prints a message for every save decision. Defaults to ``0``.
        save_best_only: Save only when ``monitor`` improves. Defaults to ``False``.
        save_weights_only: Call ``model.save_weights`` instead of ``model.save``.
        mode: ``"auto"``, ``"min"`` or ``"max"``; ``"auto"`` minimizes losses and
            errors and maximizes accuracy-like metrics. Defaults to ``"auto"``.
        save_freq: ``"epoch"`` (save at each epoch end) or a positive integer: save
            after every that many training batches (counted across epochs).
        initial_value_threshold: Starting "best" value for ``save_best_only``.

    Raises:
        ValueError: For a file name with the wrong suffix, an unknown ``mode`` or a
            bad ``save_freq``.

    Examples:
        >>> ckpt = ModelCheckpoint(str(tmp_dir / "m-{epoch:02d}.keras"))
        >>> model = Sequential([Dense(1, input_dim=2)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[ckpt])
        >>> sorted(p.name for p in tmp_dir.glob("m-*.keras"))
        ['m-01.keras', 'm-02.keras']
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__()
        path = check_path("ModelCheckpoint", "filepath", filepath)
        _check_suffix(path, bool(save_weights_only))
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Expected `mode` to be 'auto', 'min' or 'max'. Received: mode={mode!r}.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(
                "Expected `save_freq` to be 'epoch' or a positive integer number of batches. "
                f"Received: save_freq={save_freq!r}."
            )
        if initial_value_threshold is not None:
            initial_value_threshold = float(initial_value_threshold)
        self.filepath = path
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = mode
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best: float | None = initial_value_threshold
        self._direction: str | None = None
        self._current_epoch = 0
        self._batches_since_save = 0

    # -- hooks --------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    # -- saving -------------------------------------------------------------------------
    def file_path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        """Fills the template with ``epoch + 1``, ``batch + 1`` (if given) and ``logs``.

        Raises:
            KeyError: If the template names a key that is not available.

        Examples:
            >>> ModelCheckpoint("m-{epoch:02d}-{loss:.2f}.keras").file_path(4, None, {"loss": 0.5})
            'm-05-0.50.keras'
        """
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as err:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: the template '
                f"field {err} is not available. Available fields: {', '.join(sorted(fields))}. "
                "Use one of them, or pass validation data to fit() for 'val_' fields."
            ) from None
        except (ValueError, IndexError) as err:
            raise ValueError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {err}. '
                "Write fields as {name} or {name:format}, e.g. {epoch:02d}, and double literal "
                "braces ({{ and }})."
            ) from None

    def _should_save(self, epoch: int, logs: dict[str, Any], filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Can save best model only with {self.monitor} available. Available keys: "
                f"{', '.join(sorted(logs))}. Saving anyway; pass validation data to fit() or "
                "choose another `monitor`.",
                UserWarning, stacklevel=3,
            )
            return True
        if self._direction is None:
            self._direction = monitor_direction(self.monitor, self.mode, self.model)
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        improved = self.best is None or (
            current > self.best if self._direction == "max" else current < self.best
        )
        if improved:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = float(current)
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> None:
        filepath = self.file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                f"ModelCheckpoint cannot write to {filepath!r}: it is an existing directory. "
                "Give a file name, e.g. os.path.join(directory, 'ckpt-{epoch:02d}.keras')."
            )
        directory = os.path.dirname(filepath)
        if directory:
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as err:
                raise OSError(
                    f"ModelCheckpoint could not create the directory {directory!r} for "
                    f"{filepath!r}: {err.strerror or err}. Choose a writable location."
                ) from err
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def get_config(self) -> dict[str, Any]:
        return {
            "filepath": self.filepath, "monitor": self.monitor, "verbose": self.verbose,
            "save_best_only": self.save_best_only, "save_weights_only": self.save_weights_only,
            "mode": self.mode, "save_freq": self.save_freq,
            "initial_value_threshold": self.initial_value_threshold,
        }
