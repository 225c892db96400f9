"""Reading HDF5 model files as untrusted input.

Every read of a model file goes through these functions. They never follow a
link into another file, never read an array whose stored shape differs from the
one the model expects, refuse anything but plain numbers where numbers belong,
and check the size an array claims before allocating memory for it. Damaged or
truncated files fail with :class:`ModelFileError` naming the file and the part
that could not be read, instead of an HDF5 traceback.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from minikeras._validation import shape_str
from minikeras.backend.limits import weight_size_limit
from minikeras.saving._files import h5py_module as _h5py

#: Largest array a model file may hold (bytes). An array claiming more is refused
#: before anything is allocated.
MAX_ARRAY_BYTES = 1 << 32
#: Largest string attribute (a model or training configuration), in bytes.
MAX_ATTRIBUTE_BYTES = 64 << 20
#: Largest number of entries in a list attribute such as ``layer_names``.
MAX_LIST_ENTRIES = 1 << 16


class ModelFileError(ValueError):
    """A model file is damaged, inconsistent or holds something minikeras will not read."""



def describe(obj: Any) -> str:
    """``'file.h5' at /model_weights/dense``: where in which file ``obj`` lives."""
    try:
        name = os.path.basename(obj.file.filename)
    except Exception:  # noqa: BLE001 - a closed or in-memory file has no usable name
        name = "<file>"
    return f"{name!r} at {obj.name}"


def open_h5(source: Any, filename: str | None = None) -> Any:
    """Opens an HDF5 file (a path or a binary file object) for reading.

    Raises:
        ModelFileError: If the file is truncated, damaged or not HDF5.
    """
    h5py = _h5py()
    label = filename or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<file>")
    try:
        return h5py.File(source, "r")
    except OSError as err:
        raise ModelFileError(
            f"Cannot read {label!r}: it is damaged, truncated or not an HDF5 file ({err}). "
            "Save the model again, or check that the copy is complete."
        ) from None


def child(group: Any, name: str) -> Any:
    """Returns ``group[name]``, refusing links that point into other files.

    Raises:
        ModelFileError: If the entry is missing, is an external link, or cannot be read.
    """
    h5py = _h5py()
    try:
        link = group.get(name, getlink=True)
    except (OSError, KeyError, ValueError) as err:
        raise ModelFileError(f"Cannot read {name!r} in {describe(group)}: {err}.") from None
    if link is None:
        raise ModelFileError(
            f"{describe(group)} has no entry {name!r}. The file is incomplete or was not written "
            "for this model."
        )
    if isinstance(link, h5py.ExternalLink):
        raise ModelFileError(
            f"{describe(group)}/{name} links to another file ({link.filename!r}). minikeras "
            "reads model files only from themselves; refusing to follow the link."
        )
    try:
        return group[name]
    except (OSError, KeyError, ValueError, RuntimeError) as err:
        raise ModelFileError(f"Cannot read {name!r} in {describe(group)}: it is damaged ({err}).") from None


def has(group: Any, name: str) -> bool:
    """Whether ``group`` has an entry ``name`` (without following it)."""
    try:
        return group.get(name, getlink=True) is not None
    except (OSError, KeyError, ValueError):
        return False


def read_array(dataset: Any, expected_shape: tuple[int, ...] | None = None,
               dtype: Any = None, what: str = "array") -> np.ndarray:
    """Reads a numeric dataset after checking its kind, shape and size.

    Args:
        dataset: An ``h5py.Dataset`` (anything else is refused).
        expected_shape: The shape the model needs; a stored array of another shape
            is refused before it is read.
        dtype: Casts the result to this dtype when given.
        what: Names the array in error messages, e.g. ``"weight 'dense/kernel'"``.

    Raises:
        ModelFileError: If the dataset is not plain numbers, has the wrong shape,
            is too large, lives outside the file, or cannot be read.
    """
    shape = declared_shape(dataset, what)
    where = describe(dataset)
    if dataset.is_virtual or dataset.external:
        raise ModelFileError(
            f"{what} at {where} is stored in other files. minikeras reads arrays only from "
            "the model file itself."
        )
    stored = dataset.dtype
    if stored.kind not in "fiub" or stored.fields is not None or stored.subdtype is not None:
        raise ModelFileError(
            f"{what} at {where} holds values of type {stored}; expected real numbers "
            "(float, int or bool)."
        )
    if expected_shape is not None and shape != tuple(expected_shape):
        raise ModelFileError(
            f"{what} at {where} has shape {shape_str(shape)}, but the model needs "
            f"{shape_str(expected_shape)}. The file was written for a different architecture."
        )
    nbytes = math.prod(shape) * stored.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise ModelFileError(
            f"{what} at {where} claims shape {shape_str(shape)} ({nbytes:,} bytes), more than "
            f"minikeras reads from a model file ({MAX_ARRAY_BYTES:,} bytes). The file is damaged "
            "or not a model file."
        )
    try:
        value = dataset[()]
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelFileError(f"Cannot read {what} at {where}: the file is damaged or truncated ({err}).") from None
    value = np.asarray(value)
    return value if dtype is None else value.astype(dtype, copy=False)


def declared_shape(dataset: Any, what: str = "array") -> tuple[int, ...]:
    """The shape a dataset declares, read from its metadata only (nothing is allocated).

    Raises:
        ModelFileError: If ``dataset`` is a group or has no dataspace.

    Examples:
        >>> import h5py
        >>> with h5py.File(tmp_dir / "a.h5", "w") as f:
        ...     declared_shape(f.create_dataset("a", shape=(2, 3), dtype="f4"))
        (2, 3)
    """
    if not isinstance(dataset, _h5py().Dataset):
        raise ModelFileError(f"{what} at {describe(dataset)} is a group, expected an array of numbers.")
    if dataset.shape is None:
        raise ModelFileError(f"{what} at {describe(dataset)} is empty (no dataspace); expected an array.")
    return tuple(int(d) for d in dataset.shape)


def allocation_limit(group: Any, label: str, container: str = "file") -> Any:
    """A :func:`~minikeras.backend.limits.weight_size_limit` for building a model from a file.

    No weight may be larger than the largest array under ``group`` (see
    :func:`largest_array_elements`), so a configuration asking for an absurd layer is
    refused before its memory is allocated.

    Args:
        group: The part of the file that holds the weights.
        label: Names the file in the message.
        container: What the file is called in the message ("file", "archive").
    """
    largest = largest_array_elements(group)
    reason = (f"{label} holds no array larger than {largest:,} elements, so its configuration does not "
              f"match its weights (the {container} is damaged or was altered)")
    return weight_size_limit(largest, reason)


def _to_str(value: Any, where: str) -> str:
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf8")
        except UnicodeDecodeError:
            raise ModelFileError(f"{where} holds bytes that are not UTF-8 text.") from None
    if isinstance(value, str):
        return value
    raise ModelFileError(f"{where} holds {type(value).__name__} {str(value):.60}; expected text.")


def read_attr_str(obj: Any, name: str) -> str:
    """Reads a text attribute stored as ``str``, ``bytes`` or ``numpy.bytes_``.

    Raises:
        ModelFileError: If it is missing, not text, or larger than ``MAX_ATTRIBUTE_BYTES``.
    """
    where = f"attribute {name!r} of {describe(obj)}"
    try:
        value = obj.attrs[name]
    except KeyError:
        raise ModelFileError(f"{describe(obj)} has no attribute {name!r}.") from None
    except (OSError, TypeError, ValueError) as err:
        raise ModelFileError(f"Cannot read {where}: {err}.") from None
    text = _to_str(value, where)
    if len(text) > MAX_ATTRIBUTE_BYTES:
        raise ModelFileError(f"{where} is {len(text):,} characters long, more than a model file needs.")
    return text


def read_json_attr(obj: Any, name: str) -> Any:
    """Reads and parses a JSON text attribute (``model_config``, ``training_config``)."""
    return parse_json(read_attr_str(obj, name), f"attribute {name!r} of {describe(obj)}")


def parse_json(text: str | bytes, where: str) -> Any:
    """Parses JSON from a model file; malformed or absurdly nested text is refused."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{where} is not valid JSON ({err}). The file is damaged.") from None
    except RecursionError:
        raise ModelFileError(f"{where} is nested too deeply to be a model configuration.") from None


def read_str_list(group: Any, name: str) -> list[str]:
    """Reads a list of names (``layer_names``, ``weight_names``) as Keras writes it.

    Accepts ``str``, ``bytes`` and ``numpy.bytes_`` entries, the empty float64 array
    Keras writes for "no entries", and lists split over ``name0``, ``name1``, ...
    attributes. A missing attribute reads as an empty list.
    """
    where = f"attribute {name!r} of {describe(group)}"
    try:
        if name in group.attrs:
            chunks = [group.attrs[name]]
        else:
            chunks, i = [], 0
            while f"{name}{i}" in group.attrs and i < MAX_LIST_ENTRIES:
                chunks.append(group.attrs[f"{name}{i}"])
                i += 1
    except (OSError, TypeError, ValueError) as err:
        raise ModelFileError(f"Cannot read {where}: {err}.") from None
    names: list[str] = []
    for chunk in chunks:
        array = np.asarray(chunk)
        if array.size == 0:
            continue
        if array.dtype.kind not in "SUO":
            raise ModelFileError(f"{where} holds {array.dtype} values; expected a list of names.")
        names.extend(_to_str(v, where) for v in array.ravel())
        if len(names) > MAX_LIST_ENTRIES:
            raise ModelFileError(f"{where} lists more than {MAX_LIST_ENTRIES:,} names.")
    return names


def largest_array_elements(group: Any) -> int:
    """The element count of the largest array under ``group``, read from metadata only.

    Used as the limit for building layers from the file's configuration: a layer
    whose weights are larger than every array in the file cannot be loaded from it,
    so it is refused before its memory is allocated. The count is capped at the
    largest float32 array :func:`read_array` accepts, so an array that merely claims
    to be huge does not lift the limit.
    """
    h5py = _h5py()
    largest = 0

    def visit(_name: str, obj: Any) -> None:
        nonlocal largest
        if isinstance(obj, h5py.Dataset) and obj.shape is not None:
            largest = max(largest, math.prod(int(d) for d in obj.shape))

    try:
        group.visititems(visit)
    except (OSError, RuntimeError, ValueError) as err:
        raise ModelFileError(f"Cannot read {describe(group)}: the file is damaged or truncated ({err}).") from None
    return min(largest, MAX_ARRAY_BYTES // 4)
