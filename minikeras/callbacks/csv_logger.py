"""``CSVLogger``: write every epoch's logs as a row of a CSV file, as Keras 3 does."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from minikeras._validation import check_path
from minikeras.callbacks.callback import Callback, register


def _cell(value: Any) -> Any:
    """Formats one log value as Keras 3 does (numbers as Python floats, sequences as ``"[a, b]"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return float(value)
    if isinstance(value, np.generic):
        return float(value) if np.issubdtype(type(value), np.number) else value
    if isinstance(value, Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


@register()
class CSVLogger(Callback):
    """Streams epoch results to a CSV file: a header, then one row per epoch.

    The columns are ``epoch`` (0-based, as passed to ``on_epoch_end``) followed by
    the sorted log keys of the first epoch; when those hold no ``val_`` key,
    ``val_<key>`` columns are added for every key and filled with ``NA``, as in
    Keras 3. Rows use the ``excel`` dialect (``\\r\\n`` line ends) with
    ``separator`` between fields, so files match Keras's byte for byte. The file is
    flushed after every epoch, so a job that is killed keeps the rows written so far.

    Args:
        filename: The CSV file (str or ``os.PathLike``).
        separator: One character between fields. Defaults to ``","``.
        append: Continue an existing file (the header is written only if the file
            is empty or new) instead of overwriting it. Defaults to ``False``.

    Examples:
        >>> logger = CSVLogger(tmp_dir / "log.csv")
        >>> logger.on_train_begin()
        >>> logger.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
        >>> logger.on_train_end()
        >>> (tmp_dir / "log.csv").read_bytes()
        b'epoch,loss,val_loss\\r\\n0,0.5,0.75\\r\\n'
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        path = check_path("CSVLogger", "filename", filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"CSVLogger expects `separator` to be a single character, e.g. ',' or ';'. "
                f"Received: separator={separator!r}."
            )
        self.filename = path
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.csv_file: Any = None
        self.writer: csv.DictWriter | None = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self.append_header = not f.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        try:
            self.csv_file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        except FileNotFoundError:
            raise FileNotFoundError(
                f"CSVLogger cannot create {self.filename!r}: the directory "
                f"{os.path.dirname(self.filename)!r} does not exist. Create it first."
            ) from None
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None or self.csv_file.closed:
            raise RuntimeError(
                "CSVLogger received on_epoch_end() before on_train_begin() opened its file. "
                "Pass it to fit(callbacks=[...]) or call on_train_begin() first."
            )
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self.writer is None:
            sep = self.sep

            class _Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None

    def get_config(self) -> dict[str, Any]:
        return {"filename": self.filename, "separator": self.sep, "append": self.append}
