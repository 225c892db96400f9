"""Model files in Keras's legacy HDF5 layout (``model.save("m.h5")``).

Layout written (the one Keras 3 writes, with fixed-length byte strings so that
readers which call ``.decode`` on every string also work)::

    /                      attrs: keras_version, backend, minikeras_version,
                                  model_config (JSON), training_config (JSON, if compiled)
    /model_weights         attrs: layer_names
    /model_weights/<layer> attrs: weight_names, e.g. "sequential/dense/kernel"
                           datasets at those paths (kernel is (input_dim, units))
    /optimizer_weights     attrs: weight_names ("SGD/iteration", "SGD/learning_rate", ...)

Weights are matched to layers by position, as Keras does, never by dataset name.
h5py is imported only when a file is read or written.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras._registry import get_registry
from minikeras._validation import shape_str
from minikeras.saving._files import atomic_write

KERAS_VERSION = "3.15.1"
_ATTR_LIMIT = 64512


def _version() -> str:
    from minikeras import __version__

    return __version__


def _h5py() -> Any:
    import h5py

    return h5py


# -- strings and attributes ---------------------------------------------------------------
def _decode(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return value.decode("utf8") if hasattr(value, "decode") else str(value)


def write_str_list(group: Any, name: str, values: list[str]) -> None:
    """Writes a list of strings as fixed-length bytes, split into ``name0, name1, ...``
    attributes when larger than HDF5's 64 KiB attribute limit."""
    if not values:
        group.attrs[name] = np.array([], dtype=np.float64)
        return
    data = np.array([v.encode("utf8") for v in values], dtype="S")
    if data.nbytes <= _ATTR_LIMIT:
        group.attrs[name] = data
        return
    per_chunk = max(1, _ATTR_LIMIT // data.dtype.itemsize)
    for i, start in enumerate(range(0, len(data), per_chunk)):
        group.attrs[f"{name}{i}"] = data[start:start + per_chunk]


def read_str_list(group: Any, name: str) -> list[str]:
    """Reads a list written by :func:`write_str_list` (or by Keras): str, bytes, chunks."""
    if name in group.attrs:
        values = group.attrs[name]
    else:
        values, i = [], 0
        while f"{name}{i}" in group.attrs:
            values.extend(group.attrs[f"{name}{i}"])
            i += 1
    return [_decode(v) for v in np.asarray(values).ravel()] if len(values) else []


# -- writing ------------------------------------------------------------------------------
def _atomic_write(filepath: Any, overwrite: bool, write: Callable[[Any], None]) -> None:
    def write_file(tmp: str) -> None:
        with _h5py().File(tmp, "w") as f:
            write(f)

    atomic_write(filepath, overwrite, write_file)


def legacy_model_config(model: Any) -> dict[str, Any]:
    """The ``model_config`` attribute: layer entries without ``module`` keys (legacy form)."""
    config = model.get_config()
    config["layers"] = [
        {"class_name": e["class_name"], "config": e["config"]} for e in config["layers"]
    ]
    return {"class_name": type(model).__name__, "config": config}


def _training_config(model: Any) -> dict[str, Any]:
    compile_config = model.get_compile_config()
    optimizer = compile_config.pop("optimizer")
    compile_config["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
    return compile_config


def _write_layer_weights(root: Any, model: Any) -> None:
    write_str_list(root, "layer_names", [layer.name for layer in model.layers])
    root.attrs["backend"] = np.bytes_(b"numpy")
    root.attrs["keras_version"] = np.bytes_(KERAS_VERSION.encode())
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        group = root.create_group(layer.name)
        names = [v.path for v in layer.weights]
        write_str_list(group, "weight_names", names)
        for name, var in zip(names, layer.weights):
            group.create_dataset(name, data=var.value)
    write_str_list(root.create_group("top_level_model_weights"), "weight_names", [])


def save_model(model: Any, filepath: Any, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Writes ``model`` to ``filepath`` (``.h5``), atomically."""

    def write(f: Any) -> None:
        f.attrs["keras_version"] = np.bytes_(KERAS_VERSION.encode())
        f.attrs["backend"] = np.bytes_(b"numpy")
        f.attrs["minikeras_version"] = np.bytes_(_version().encode())
        f.attrs["model_config"] = np.bytes_(json.dumps(legacy_model_config(model)).encode("utf8"))
        _write_layer_weights(f.create_group("model_weights"), model)
        if model.compiled:
            f.attrs["training_config"] = np.bytes_(json.dumps(_training_config(model)).encode("utf8"))
            optimizer = model.optimizer
            if include_optimizer and optimizer.built:
                group = f.create_group("optimizer_weights")
                names = [f"{optimizer.name}/{n}" for n in optimizer.variable_names]
                write_str_list(group, "weight_names", names)
                for name, value in zip(names, optimizer.get_weights()):
                    group.create_dataset(name, data=value)

    _atomic_write(filepath, overwrite, write)


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Writes only the weights, in the legacy weights-only layout (groups at the root)."""
    _atomic_write(filepath, overwrite, lambda f: _write_layer_weights(f, model))


# -- reading ------------------------------------------------------------------------------
def _open(filepath: Any) -> Any:
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file found at {path!r}. Check the path.")
    h5py = _h5py()
    if os.path.isdir(path) or not h5py.is_hdf5(path):
        raise ValueError(
            f"{path!r} is not an HDF5 file. minikeras reads model files saved with "
            "model.save('name.h5') by minikeras or Keras."
        )
    return h5py.File(path, "r")


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True) -> Any:
    """Reads a model saved with ``model.save("m.h5")`` (by minikeras or Keras).

    Args:
        filepath: Path of the ``.h5`` file.
        custom_objects: Extra classes by name, for custom layers.
        compile: Whether to compile from the saved training config and restore the
            optimizer state, so training continues where it stopped.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not HDF5, or holds no model configuration.
    """
    with _open(filepath) as f:
        if "model_config" not in f.attrs:
            raise ValueError(
                f"{os.fspath(filepath)!r} holds no model configuration, so it is not a saved model. "
                "If it holds weights only, build the model in code and call model.load_weights()."
            )
        config = json.loads(_decode(f.attrs["model_config"]))
        class_name = config.get("class_name") if isinstance(config, dict) else None
        if class_name != "Sequential":
            raise ValueError(
                f"{os.fspath(filepath)!r} holds a {class_name!r} model; minikeras reads Sequential models."
            )
        cls = get_registry("model").lookup("Sequential")
        model = cls.from_config(config["config"], custom_objects=custom_objects)
        if not model.built:
            raise ValueError(f"{os.fspath(filepath)!r} does not record the model's input shape.")
        load_weights_from_group(model, f["model_weights"] if "model_weights" in f else f)
        if compile and "training_config" in f.attrs:
            model.compile_from_config(json.loads(_decode(f.attrs["training_config"])))
            if "optimizer_weights" in f:
                _load_optimizer(model, f["optimizer_weights"])
        elif compile:
            warnings.warn("No training configuration found in the file, so the model was not compiled.",
                          UserWarning, stacklevel=2)
    return model


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Loads weights into ``model`` from a legacy weights file or a full model file."""
    if skip_mismatch or by_name:
        raise NotImplementedError("skip_mismatch and by_name are not supported yet.")
    with _open(filepath) as f:
        group = f["model_weights"] if "model_weights" in f else f
        if not read_str_list(group, "layer_names"):
            raise ValueError(
                f"{os.fspath(filepath)!r} holds no layer weights. load_weights() reads files written "
                "by model.save_weights('name.h5') or model.save('name.h5')."
            )
        if not model.built:
            raise ValueError(f"Model '{model.name}' must be built before load_weights().")
        load_weights_from_group(model, group)


def load_weights_from_group(model: Any, group: Any) -> None:
    """Assigns saved weights to the model's layers by position."""
    saved = []
    for name in read_str_list(group, "layer_names"):
        weight_names = read_str_list(group[name], "weight_names")
        if weight_names:
            saved.append((name, [np.asarray(group[name][w]) for w in weight_names]))
    targets = [layer for layer in model.layers if layer.weights]
    if len(saved) != len(targets):
        raise ValueError(
            f"The file holds weights for {len(saved)} layers, but model '{model.name}' has "
            f"{len(targets)} layers with weights. The architectures differ: build the model "
            "with the same layers as the saved one."
        )
    for layer, (name, arrays) in zip(targets, saved):
        if len(arrays) != len(layer.weights):
            raise ValueError(
                f"Layer '{layer.name}' has {len(layer.weights)} weights, but the file's layer "
                f"'{name}' has {len(arrays)}. The architectures differ: build the model with the "
                "same layers (and use_bias settings) as the saved one."
            )
        for var, value in zip(layer.weights, arrays):
            if value.shape != var.shape:
                raise ValueError(
                    f"Cannot load weight '{var.path}': the model expects shape {shape_str(var.shape)} "
                    f"but the file has shape {shape_str(value.shape)}. The architectures differ: "
                    "build the model with the same layer sizes as the saved one."
                )
    # Every layer is checked before any is changed, so a mismatch leaves the model as it was.
    for layer, (_, arrays) in zip(targets, saved):
        for var, value in zip(layer.weights, arrays):
            var.assign(value)


def _load_optimizer(model: Any, group: Any) -> None:
    names = read_str_list(group, "weight_names")
    optimizer = model.optimizer
    optimizer.build(model.trainable_weights)
    try:
        optimizer.set_weights([np.asarray(group[n]) for n in names])
    except (ValueError, KeyError) as err:
        warnings.warn(f"The optimizer state in the file could not be restored ({err}); "
                      "training continues with a fresh optimizer state.", UserWarning, stacklevel=3)
        optimizer.build(model.trainable_weights)
        optimizer.iterations = 0
