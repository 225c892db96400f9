"""Keras 3 ``.keras`` archives: a zip of ``metadata.json``, ``config.json`` and ``model.weights.h5``.

Written as Keras 3.15 writes them: the three members in that order, stored
uncompressed; ``config.json`` is :meth:`Sequential.to_json` (architecture, build and
compile configuration), ``model.weights.h5`` the layout of
:mod:`minikeras.saving.keras_weights`, built in memory.

An archive is untrusted input. It is read with :mod:`zipfile` and never extracted:
only ``config.json``, ``metadata.json`` and ``model.weights.h5`` are read, each after
checking the size its header declares and reading at most one byte more than the
limit; ``assets/`` and any other member are left unread. The weights file is opened
from memory through :func:`minikeras.saving.safe_h5.open_h5`. Classes are looked up
by name among minikeras's own and ``custom_objects``; the ``module`` keys of the
configuration are never imported, and nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from minikeras._registry import get_registry
from minikeras.saving import keras_weights, safe_h5
from minikeras.saving._files import KERAS_VERSION, atomic_write
from minikeras.saving._files import h5py_module as _h5py
from minikeras.saving._files import minikeras_version as _version

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"

#: Largest ``model.weights.h5`` member read from an archive (bytes): a few arrays of
#: the largest size :mod:`~minikeras.saving.safe_h5` reads.
MAX_WEIGHTS_BYTES = 4 * safe_h5.MAX_ARRAY_BYTES
#: A compressed member may expand at most this many times its stored size (past 1 MiB);
#: Keras stores members uncompressed, so only a decompression bomb comes near it.
MAX_EXPANSION = 1100




# -- writing ---------------------------------------------------------------------------
def weights_bytes(model: Any, include_optimizer: bool = True) -> bytes:
    """Returns the ``model.weights.h5`` member: the model's weights as HDF5, built in memory.

    Examples:
        >>> data = weights_bytes(Sequential([Input((3,)), Dense(2)]))
        >>> data[:4]
        b'\\x89HDF'
    """
    buffer = io.BytesIO()
    with _h5py().File(buffer, "w") as f:
        keras_weights.write_weights(model, f, include_optimizer=include_optimizer)
    return buffer.getvalue()


def save_model(model: Any, filepath: Any, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Writes ``model`` as a Keras 3 ``.keras`` archive, atomically.

    Args:
        model: A built model.
        filepath: The target path, ending in ``.keras``.
        overwrite: Whether an existing file may be replaced.
        include_optimizer: Whether to store the optimizer state (the compile
            configuration is written either way).

    Examples:
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> save_model(model, tmp_dir / "m.keras")
        >>> import zipfile
        >>> zipfile.ZipFile(tmp_dir / "m.keras").namelist()
        ['metadata.json', 'config.json', 'model.weights.h5']
    """
    config_json = model.to_json()
    metadata_json = json.dumps({
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "minikeras_version": _version(),
    })
    weights = weights_bytes(model, include_optimizer=include_optimizer)

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w") as zf:
            with zf.open(METADATA, "w") as handle:
                handle.write(metadata_json.encode())
            with zf.open(CONFIG, "w") as handle:
                handle.write(config_json.encode())
            zf.writestr(WEIGHTS, weights)

    atomic_write(filepath, overwrite, write)


# -- reading ---------------------------------------------------------------------------
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, RuntimeError,
               NotImplementedError, ValueError)


@contextlib.contextmanager
def open_archive(path: str) -> Iterator[zipfile.ZipFile]:
    """Opens a ``.keras`` archive for reading; a damaged one raises ``ModelFileError``."""
    label = repr(os.path.basename(path))
    try:
        zf = zipfile.ZipFile(path, "r")
    except _ZIP_ERRORS as err:
        raise safe_h5.ModelFileError(
            f"Cannot read {label}: it is not a valid .keras archive ({err}). Save the model again, "
            "or check that the copy is complete."
        ) from None
    with zf:
        yield zf


def member(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """The member ``name`` of the archive, or ``None`` if there is none."""
    try:
        return zf.getinfo(name)
    except KeyError:
        return None


def read_member(zf: zipfile.ZipFile, name: str, limit: int, label: str) -> bytes:
    """Reads one archive member into memory, refusing more than ``limit`` bytes.

    The size the member's header declares is checked first; then at most
    ``limit + 1`` bytes are read, so a header that lies cannot make the read
    larger. Damaged, encrypted or oddly compressed members are refused.

    Raises:
        ModelFileError: If the member is missing, too large or damaged.

    Examples:
        >>> import zipfile
        >>> Sequential([Input((3,)), Dense(2)]).save(tmp_dir / "m.keras")
        >>> with zipfile.ZipFile(tmp_dir / "m.keras") as zf:
        ...     json.loads(read_member(zf, "config.json", 1 << 20, "m.keras"))["class_name"]
        'Sequential'
    """
    info = member(zf, name)
    if info is None:
        raise safe_h5.ModelFileError(f"{label} has no member {name!r}.")
    if info.is_dir():
        raise safe_h5.ModelFileError(f"{label}: {name!r} is a directory, expected a file.")
    if info.file_size > limit:
        raise safe_h5.ModelFileError(
            f"{label}: the member {name!r} declares {info.file_size:,} bytes, more than minikeras reads "
            f"from a .keras archive ({limit:,} bytes). The archive is damaged or not a model file."
        )
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > (1 << 20) \
            and info.file_size > MAX_EXPANSION * info.compress_size:
        raise safe_h5.ModelFileError(
            f"{label}: the member {name!r} declares {info.file_size:,} bytes from only "
            f"{info.compress_size:,} stored bytes; refusing to expand it (a decompression bomb)."
        )
    try:
        with zf.open(info, "r") as handle:
            data = handle.read(limit + 1)
    except _ZIP_ERRORS as err:
        raise safe_h5.ModelFileError(
            f"Cannot read {name!r} from {label}: the archive is damaged ({err}). Save the model again."
        ) from None
    if len(data) > limit:
        raise safe_h5.ModelFileError(f"{label}: the member {name!r} holds more than {limit:,} bytes.")
    return data


def read_json(zf: zipfile.ZipFile, name: str, label: str) -> Any:
    """Reads and parses a JSON member (``config.json``, ``metadata.json``) within the size limit."""
    data = read_member(zf, name, safe_h5.MAX_ATTRIBUTE_BYTES, label)
    return safe_h5.parse_json(data, f"{name!r} in {label}")


def _read_archive(path: str, need_config: bool) -> tuple[Any, bytes]:
    """Returns ``(config, weights)`` of an archive (``config`` is ``None`` unless needed)."""
    label = repr(os.path.basename(path))
    with open_archive(path) as zf:
        missing = [n for n in ((CONFIG, WEIGHTS) if need_config else (WEIGHTS,)) if member(zf, n) is None]
        if missing:
            hint = ""
            if WEIGHTS in missing and member(zf, "model.weights.npz") is not None:
                hint = (" It stores its weights as 'model.weights.npz', which minikeras does not read; "
                        "save the model again with Keras's default weights format (HDF5).")
            raise safe_h5.ModelFileError(
                f"{label} is not a complete .keras archive: it has no {' and no '.join(repr(m) for m in missing)}."
                f"{hint} A .keras archive written by model.save() holds config.json, metadata.json and "
                "model.weights.h5."
            )
        if member(zf, METADATA) is not None:
            metadata = read_json(zf, METADATA, label)
            if not isinstance(metadata, dict):
                raise safe_h5.ModelFileError(f"'metadata.json' in {label} is not a JSON object. The archive is damaged.")
        config = read_json(zf, CONFIG, label) if need_config else None
        weights = read_member(zf, WEIGHTS, MAX_WEIGHTS_BYTES, label)
    return config, weights


@contextlib.contextmanager
def _open_weights(weights: bytes, path: str) -> Iterator[Any]:
    """Opens the weights member from memory; errors name the archive, not the buffer."""
    buffer = io.BytesIO(weights)
    where = f"{os.path.basename(path)}/{WEIGHTS}"
    try:
        with safe_h5.open_h5(buffer, filename=where) as f:
            yield f
    except safe_h5.ModelFileError as err:
        # safe_h5 names in-memory files by the buffer's repr; name the archive member instead.
        message = str(err).replace(repr(repr(buffer)), repr(where))
        if message == str(err):
            raise
        raise safe_h5.ModelFileError(message) from None


def _build(config: Any, weights_file: Any, custom_objects: dict[str, Any] | None, label: str) -> Any:
    if not isinstance(config, dict) or not isinstance(config.get("config"), (dict, list)):
        raise safe_h5.ModelFileError(
            f"'config.json' in {label} is not a model configuration (expected a JSON object with "
            "'class_name' and 'config'). The archive is damaged or not a model file."
        )
    class_name = config.get("class_name")
    if class_name != "Sequential":
        kind = " (a functional or subclassed Keras model)" if class_name in ("Functional", "Model") else ""
        raise ValueError(
            f"{label} holds a {class_name!r} model{kind}; minikeras reads Sequential models only. "
            "Rebuild the model as a Sequential stack of layers in Keras and save it again."
        )
    cls = get_registry("model").lookup("Sequential")
    with safe_h5.allocation_limit(weights_file, label, "archive"):
        model = cls.from_config(config["config"], custom_objects=custom_objects)
        build_config = config.get("build_config")
        if not model.built and isinstance(build_config, dict) and build_config.get("input_shape"):
            model.build(tuple(build_config["input_shape"]))
    if not model.built:
        raise ValueError(
            f"{label} does not record the model's input shape, so its weights cannot be loaded. "
            "Save the model again after building it (declare an Input or fit it once)."
        )
    return model


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True) -> Any:
    """Reads a model from a ``.keras`` archive written by minikeras or Keras 3.

    Args:
        filepath: The archive.
        custom_objects: Extra classes by name, for custom layers.
        compile: Whether to compile from the saved compile configuration and restore
            the optimizer state, so training continues where it stopped.

    Raises:
        ModelFileError: If the archive is damaged, incomplete or too large.
        ValueError: If it holds something other than a Sequential model, names
            classes minikeras does not know, or its weights do not fit its configuration.

    Examples:
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> model.save(tmp_dir / "m.keras")
        >>> load_model(tmp_dir / "m.keras").get_compile_config()["loss"]
        'mean_squared_error'
    """
    path = os.fspath(filepath)
    label = repr(os.path.basename(path))
    config, weights = _read_archive(path, need_config=True)
    with _open_weights(weights, path) as f:
        model = _build(config, f, custom_objects, label)
        keras_weights.load_weights_from_group(model, f, include_optimizer=False, label=label)
        compile_config = config.get("compile_config")
        if compile and compile_config:
            model.compile_from_config(compile_config)
            keras_weights.load_optimizer_from_group(model, f, label=label)
        elif compile:
            warnings.warn("No training configuration found in the file, so the model was not compiled.",
                          UserWarning, stacklevel=3)
    return model


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """Reads the weights (and optimizer state) of a ``.keras`` archive into ``model``.

    Args:
        model: A built model with the saved architecture.
        filepath: The archive.
        skip_mismatch: Skip layers that do not fit, with a warning, instead of failing.

    Examples:
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> model.save(tmp_dir / "m.keras")
        >>> load_weights(Sequential([Input((3,)), Dense(2)]), tmp_dir / "m.keras")
    """
    path = os.fspath(filepath)
    label = repr(os.path.basename(path))
    _, weights = _read_archive(path, need_config=False)
    with _open_weights(weights, path) as f:
        keras_weights.load_weights_from_group(model, f, skip_mismatch=skip_mismatch, label=label)
