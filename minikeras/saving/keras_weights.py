"""Keras 3's weights layout: ``model.save_weights("m.weights.h5")`` and the weights of ``.keras`` archives.

Layout (what Keras 3.15 writes for a ``Sequential`` model)::

    /vars                   attr name=<model name>; no datasets (a Sequential has no variables of its own)
    /layers/<key>/vars      attr name=<layer name>; datasets "0", "1", ... (trainable variables first,
                            then non-trainable, each in creation order, whether or not the layer is frozen)
    /optimizer/vars         attr name=<optimizer name>; "0" iteration (int32), "1" learning rate (unless it
                            is a schedule), then the optimizer's slots in Keras 3's order

``<key>`` is not the layer's name but its class name in snake_case, made unique in layer
order: the first ``Dense`` is ``dense``, the second ``dense_1``, whatever the layers are
called. A weightless layer still gets its group, with an empty ``vars``; the input layer
gets none. The file holds no configuration: reading walks the model's own layers,
computes the same keys and takes their variables by position.

Reading treats the file as untrusted input: every array goes through
:func:`minikeras.saving.safe_h5.read_array` with the shape the model expects, and
every layer is checked before any weight is assigned, so a mismatch leaves the model
unchanged. h5py is imported only when a file is read or written.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from minikeras._validation import shape_str
from minikeras.backend.naming import to_snake_case
from minikeras.saving import optimizer_state, safe_h5
from minikeras.saving._files import atomic_write
from minikeras.saving._files import h5py_module as _h5py

#: Keras 2.13-2.15 stored the layers of a ``.keras`` archive under this name instead of ``layers``.
_KERAS2_LAYERS = "_layer_checkpoint_dependencies"



# -- keys and variable order -----------------------------------------------------------
def layer_keys(layers: list[Any]) -> list[str]:
    """The group name of each layer: its snake_case class name, made unique in order.

    Args:
        layers: The model's layers, in order (no input layer).

    Returns:
        One key per layer, e.g. ``["dense", "dropout", "dense_1"]``.

    Examples:
        >>> from minikeras.layers import Dropout
        >>> layer_keys([Dense(2, name="hidden"), Dropout(0.5), Dense(1, name="out")])
        ['dense', 'dropout', 'dense_1']
    """
    used: dict[str, int] = {}
    keys = []
    for layer in layers:
        base = to_snake_case(type(layer).__name__)
        if base in used:
            used[base] += 1
            keys.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            keys.append(base)
    return keys


def stored_variables(layer: Any) -> list[Any]:
    """A layer's variables in the order Keras 3 stores them.

    Variables created trainable come first, then those created non-trainable, each
    in creation order. Freezing a layer (``layer.trainable = False``) does not change
    this order, as it does not in Keras.

    Examples:
        >>> from minikeras.layers import BatchNormalization
        >>> bn = BatchNormalization(trainable=False)
        >>> bn.build((None, 3))
        >>> [v.name for v in stored_variables(bn)]
        ['gamma', 'beta', 'moving_mean', 'moving_variance']
    """
    variables = layer.weights
    return [v for v in variables if v.trainable] + [v for v in variables if not v.trainable]


# -- writing ---------------------------------------------------------------------------
def write_weights(model: Any, root: Any, include_optimizer: bool = True) -> None:
    """Writes ``model``'s variables (and its optimizer's state) into an open HDF5 file.

    Args:
        model: A built model.
        root: An ``h5py.File`` opened for writing.
        include_optimizer: Whether to write ``/optimizer/vars`` when the model is compiled.

    Examples:
        >>> import h5py
        >>> model = Sequential([Input((3,)), Dense(2, name="out")])
        >>> with h5py.File(tmp_dir / "w.weights.h5", "w") as f:
        ...     write_weights(model, f)
        ...     print(f["layers/dense/vars"].attrs["name"], f["layers/dense/vars/0"].shape)
        out (3, 2)
    """
    root.create_group("vars").attrs["name"] = model.name
    layers_group = root.create_group("layers")
    for layer, key in zip(model.layers, layer_keys(model.layers)):
        group = layers_group.create_group(key).create_group("vars")
        group.attrs["name"] = layer.name
        for i, var in enumerate(stored_variables(layer)):
            group.create_dataset(str(i), data=var.value)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None:
        group = root.create_group("optimizer").create_group("vars")
        group.attrs["name"] = optimizer.name
        values = optimizer.get_weights()
        values[0] = np.asarray(values[0], dtype=np.int32)  # Keras 3 keeps the step count in an int32
        for i, value in enumerate(values):
            group.create_dataset(str(i), data=value)


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Writes ``model``'s weights (and optimizer state, if compiled) as a ``.weights.h5`` file.

    The file is written under a temporary name and renamed, so an existing file
    survives a failed save.

    Args:
        model: A built model.
        filepath: The target path (Keras 3 requires the suffix ``.weights.h5``).
        overwrite: Whether an existing file may be replaced.

    Examples:
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> save_weights(model, tmp_dir / "m.weights.h5")
        >>> load_weights(model, tmp_dir / "m.weights.h5")
    """

    def write(tmp: str) -> None:
        with _h5py().File(tmp, "w") as f:
            write_weights(model, f)

    atomic_write(filepath, overwrite, write)


# -- reading ---------------------------------------------------------------------------
def _dataset_keys(group: Any) -> list[str]:
    """The entry names of a ``vars`` group (metadata only)."""
    try:
        return list(group.keys())
    except (OSError, RuntimeError, ValueError) as err:
        raise safe_h5.ModelFileError(f"Cannot list {safe_h5.describe(group)}: the file is damaged ({err}).") from None


def _vars_group(parent: Any) -> Any | None:
    """``parent/vars`` as a group, ``None`` if absent; anything else is refused."""
    if not safe_h5.has(parent, "vars"):
        return None
    group = safe_h5.child(parent, "vars")
    if not isinstance(group, _h5py().Group):
        raise safe_h5.ModelFileError(f"{safe_h5.describe(group)} is an array; expected a group of variables.")
    return group


def _ordered(keys: list[str], count: int) -> bool:
    """Whether ``keys`` are exactly ``"0" .. str(count - 1)``."""
    return sorted(keys) == sorted(str(i) for i in range(count))


def _layers_container(root: Any) -> tuple[str, Any] | None:
    for name in ("layers", _KERAS2_LAYERS):
        if safe_h5.has(root, name):
            return name, safe_h5.child(root, name)
    return None


def _read_layers(model: Any, root: Any) -> tuple[list[tuple[list[Any], list[np.ndarray]]], list[str]]:
    """Reads every layer's arrays, checked against the model.

    Returns:
        ``(loads, problems)``: the (variables, arrays) of each layer that matches,
        and one sentence per layer or file entry that does not.
    """
    layers = model.layers
    keys = layer_keys(layers)
    container = _layers_container(root)
    prefix = container[0] if container is not None else "layers"
    loads: list[tuple[list[Any], list[np.ndarray]]] = []
    problems: list[str] = []

    own = _vars_group(root)
    if own is not None and _dataset_keys(own):
        problems.append(
            f"the file holds {len(_dataset_keys(own))} variable(s) of the model itself under /vars, which a "
            f"{type(model).__name__} model does not have"
        )

    for layer, key in zip(layers, keys):
        variables = stored_variables(layer)
        where = f"layer '{layer.name}' ({type(layer).__name__}, stored under '{prefix}/{key}')"
        group = None
        if container is not None and safe_h5.has(container[1], key):
            group = safe_h5.child(container[1], key)
            if not isinstance(group, _h5py().Group):
                raise safe_h5.ModelFileError(f"{safe_h5.describe(group)} is an array; expected a layer group.")
            others = sorted(set(_dataset_keys(group)) - {"vars"})
            if others:
                problems.append(
                    f"{where}: the file also stores {', '.join(repr(o) for o in others)} for it, state that "
                    f"minikeras's {type(layer).__name__} does not have"
                )
                continue
        if group is None:
            if variables:
                names = ", ".join(v.name for v in variables)
                problems.append(f"{where}: missing from the file (the model's layer has {len(variables)} "
                                f"variable(s): {names})")
            continue
        vars_group = _vars_group(group)
        stored = _dataset_keys(vars_group) if vars_group is not None else []
        if not _ordered(stored, len(variables)):
            names = ", ".join(v.name for v in variables) or "none"
            shown = sorted(stored, key=lambda k: (len(k), k))
            listed = ", ".join(repr(k) for k in shown[:10]) + (", ..." if len(shown) > 10 else "") or "none"
            saved_name = _saved_name(vars_group)
            problems.append(
                f"{where}: the file holds {len(stored)} variable(s) ({listed}) for layer '{saved_name}', but the "
                f"model's layer has {len(variables)} ({names})"
            )
            continue
        mismatched = []
        for i, var in enumerate(variables):
            obj = safe_h5.child(vars_group, str(i))
            shape = safe_h5.declared_shape(obj, f"variable {i} ('{var.name}') of layer '{layer.name}'")
            if shape != var.shape:
                mismatched.append(f"variable {i} ('{var.name}') is stored with shape {shape_str(shape)}, "
                                  f"but the model needs {shape_str(var.shape)}")
        if mismatched:
            problems.append(f"{where}: " + "; ".join(mismatched))
            continue
        arrays = [
            safe_h5.read_array(safe_h5.child(vars_group, str(i)), expected_shape=var.shape,
                               what=f"variable {i} ('{var.name}') of layer '{layer.name}'")
            for i, var in enumerate(variables)
        ]
        loads.append((variables, arrays))

    if container is not None:
        extra = sorted(set(_dataset_keys(container[1])) - set(keys))
        for key in extra:
            problems.append(
                f"the file stores a layer under '{prefix}/{key}' that matches no layer of model "
                f"'{model.name}'"
            )
    return loads, problems


def _saved_name(group: Any) -> str:
    if group is None or "name" not in group.attrs:
        return "?"
    try:
        return safe_h5.read_attr_str(group, "name")
    except safe_h5.ModelFileError:
        return "?"


def _listed(problems: list[str], limit: int = 20) -> str:
    lines = [f"  - {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  - ... and {len(problems) - limit} more")
    return "\n".join(lines)


def _mismatch_message(label: str, model: Any, problems: list[str]) -> str:
    listed = _listed(problems)
    return (
        f"The weights in {label} do not fit model '{model.name}' ({len(problems)} problem(s)):\n{listed}\n"
        "Keras 3 weight files match layers by class and position: the second Dense layer is "
        "stored under 'layers/dense_1', whatever its name. Build the model with the same layers, "
        "in the same order and with the same sizes as the saved one, or pass skip_mismatch=True "
        "to load only the layers that fit."
    )


def _read_optimizer(model: Any, root: Any) -> tuple[list[np.ndarray] | None, str | None]:
    """Reads the optimizer state when the model is compiled and the file holds one.

    Returns:
        ``(values, None)`` with the arrays for ``optimizer.set_weights``, ``(None, reason)``
        when the state does not fit (the optimizer is then freshly built), or
        ``(None, None)`` when there is nothing to read.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not safe_h5.has(root, "optimizer"):
        return None, None
    group = _vars_group(safe_h5.child(root, "optimizer"))
    stored = _dataset_keys(group) if group is not None else []
    if not stored:
        return None, None
    optimizer.build(model.trainable_weights)
    if not _ordered(stored, len(stored)):
        shown = ", ".join(repr(k) for k in sorted(stored, key=lambda k: (len(k), k))[:10])
        return None, f"the file's optimizer variables are not numbered '0' to '{len(stored) - 1}' ({shown})"
    entries = [(str(i), safe_h5.child(group, str(i))) for i in range(len(stored))]
    try:
        return optimizer_state.keras3_values(optimizer, entries), None
    except optimizer_state.StateMismatch as err:
        return None, str(err)


def _restore_optimizer(model: Any, values: list[np.ndarray] | None, reason: str | None, label: str) -> None:
    if reason is not None:
        optimizer_state.reset(model, reason, label)
    elif values is not None:
        model.optimizer.set_weights(values)


def load_weights_from_group(model: Any, root: Any, skip_mismatch: bool = False, include_optimizer: bool = True,
                            label: str | None = None) -> None:
    """Loads Keras 3-layout weights from an open HDF5 file into ``model``.

    Every layer is read and checked before any weight is assigned: a layer that
    does not fit raises ``ValueError`` (naming the layer, its key, the expected
    and stored shapes) and leaves the model unchanged. The optimizer state is read
    when the model is compiled and the file holds one; if it does not fit, a
    warning is issued and the optimizer starts afresh.

    Args:
        model: A built model.
        root: An ``h5py.File`` in the layout this module writes.
        skip_mismatch: Skip layers that do not fit, with a warning, instead of failing.
        include_optimizer: Whether to read the optimizer state.
        label: Names the file in messages.

    Raises:
        ValueError: If a layer does not fit (and ``skip_mismatch`` is false).
        ModelFileError: If the file is damaged.

    Examples:
        >>> import h5py
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> with h5py.File(tmp_dir / "w.weights.h5", "w") as f:
        ...     write_weights(model, f)
        >>> other = Sequential([Input((3,)), Dense(2)])
        >>> with h5py.File(tmp_dir / "w.weights.h5", "r") as f:
        ...     load_weights_from_group(other, f)
        >>> bool((other.get_weights()[0] == model.get_weights()[0]).all())
        True
    """
    label = label or "the file"
    if _layers_container(root) is None and not safe_h5.has(root, "vars"):
        raise ValueError(
            f"{label} holds no weights in Keras 3's layout (no 'layers' or 'vars' group). "
            "load_weights() reads files written by model.save_weights('name.weights.h5') or model.save()."
        )
    loads, problems = _read_layers(model, root)
    if problems and not skip_mismatch:
        raise ValueError(_mismatch_message(label, model, problems))
    values, reason = _read_optimizer(model, root) if include_optimizer else (None, None)
    if problems:
        listed = _listed(problems)
        warnings.warn(
            f"Skipped {len(problems)} part(s) of {label} that do not fit model '{model.name}'; the "
            f"layers concerned keep their current weights:\n{listed}", UserWarning, stacklevel=3,
        )
    for variables, arrays in loads:
        for var, value in zip(variables, arrays):
            var.assign(value)
    if include_optimizer and (values is not None or reason is not None):
        _restore_optimizer(model, values, reason, label)


def load_optimizer_from_group(model: Any, root: Any, label: str | None = None) -> None:
    """Restores the optimizer state stored in an open Keras 3-layout HDF5 file.

    Does nothing if the model is not compiled or the file holds no optimizer
    state; warns and leaves a fresh optimizer if the state does not fit.

    Examples:
        >>> import h5py
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> _ = model.train_on_batch(np.ones((4, 3)), np.ones((4, 2)))
        >>> with h5py.File(tmp_dir / "w.weights.h5", "w") as f:
        ...     write_weights(model, f)
        >>> other = Sequential([Input((3,)), Dense(2)])
        >>> other.compile(optimizer="adam", loss="mse")
        >>> with h5py.File(tmp_dir / "w.weights.h5", "r") as f:
        ...     load_optimizer_from_group(other, f)
        >>> other.optimizer.iterations
        1
    """
    label = label or "the file"
    values, reason = _read_optimizer(model, root)
    if values is not None or reason is not None:
        _restore_optimizer(model, values, reason, label)


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """Reads a Keras 3 ``.weights.h5`` file into ``model``.

    Args:
        model: A built model with the saved architecture.
        filepath: The ``.weights.h5`` file.
        skip_mismatch: Skip layers that do not fit, with a warning, instead of failing.

    Raises:
        ValueError: If a layer does not fit (and ``skip_mismatch`` is false).
        ModelFileError: If the file is damaged or not HDF5.

    Examples:
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> model.save_weights(tmp_dir / "m.weights.h5")
        >>> load_weights(Sequential([Input((3,)), Dense(2)]), tmp_dir / "m.weights.h5")
    """
    path = os.fspath(filepath)
    with safe_h5.open_h5(path) as f:
        load_weights_from_group(model, f, skip_mismatch=skip_mismatch, label=repr(os.path.basename(path)))

