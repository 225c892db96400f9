"""Model files in Keras's legacy HDF5 layout (``model.save("m.h5")``).

Layout written (the one Keras 3 writes, with fixed-length byte strings so that
readers which call ``.decode`` on every string also work)::

    /                      attrs: keras_version, backend, minikeras_version,
                                  model_config (JSON), training_config (JSON, if compiled)
    /model_weights         attrs: layer_names
    /model_weights/<layer> attrs: weight_names, e.g. "sequential/dense/kernel"
                           datasets at those paths (kernel is (input_dim, units))
    /optimizer_weights     attrs: weight_names ("SGD/iteration", "SGD/learning_rate", ...)

Reading accepts every variant of this layout that Keras wrote: Keras 1 (weights named
``dense_1_W``, list configurations, no version or ``1.x``), the multi-backend Keras
2.0-2.3, tf.keras and tf-keras 2.x, and Keras 3. Weights are matched to layers by
position, as Keras does, never by dataset name (or by layer name with
``by_name=True``). Every read goes through :mod:`~minikeras.saving.safe_h5`;
configurations are translated by :mod:`~minikeras.saving.legacy_config` and optimizer
state by :mod:`~minikeras.saving.legacy_optimizer`. h5py is imported only when a file
is read or written.
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
from minikeras.saving import legacy_config, legacy_optimizer, safe_h5
from minikeras.saving._files import KERAS_VERSION, atomic_write
from minikeras.saving._files import h5py_module as _h5py
from minikeras.saving._files import minikeras_version as _version

_ATTR_LIMIT = 64512




# -- strings and attributes ---------------------------------------------------------------
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
def _open(path: str) -> Any:
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file found at {path!r}. Check the path.")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory, not an HDF5 model file.")
    return safe_h5.open_h5(path)


def _optional_text(obj: Any, name: str) -> str | None:
    return safe_h5.read_attr_str(obj, name) if name in obj.attrs else None


def _weights_group(f: Any) -> Any:
    """``/model_weights`` of a full model file, or the root of a weights-only file."""
    if "layer_names" not in f.attrs and "layer_names0" not in f.attrs and safe_h5.has(f, "model_weights"):
        return safe_h5.child(f, "model_weights")
    return f


def _writer(f: Any, weights: Any, model_config: Any) -> legacy_config.Writer:
    version = _optional_text(f, "keras_version")
    if version is None and weights is not f:
        version = _optional_text(weights, "keras_version")
    return legacy_config.detect_writer(version, model_config)


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True) -> Any:
    """Reads a model saved as ``.h5`` by minikeras, Keras 1, Keras 2 (tf.keras) or Keras 3.

    The writer is told from the file's ``keras_version`` and the shape of its
    configuration; old configurations are translated to Keras 3's (see
    :mod:`~minikeras.saving.legacy_config`) and the optimizer state is mapped onto
    Keras 3's order (see :mod:`~minikeras.saving.legacy_optimizer`).

    Args:
        filepath: Path of the ``.h5`` file.
        custom_objects: Extra classes by name, for custom layers.
        compile: Whether to compile from the saved training config and restore the
            optimizer state, so training continues where it stopped.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it holds no model configuration, or a layer or option minikeras
            cannot reproduce (:class:`~minikeras.saving.safe_h5.ModelFileError` for a
            damaged or unreadable file).

    Examples:
        >>> Sequential([Dense(2, input_dim=3)]).save(tmp_dir / "m.h5")
        >>> load_model(tmp_dir / "m.h5", compile=False).layers[0].units
        2
    """
    path = os.fspath(filepath)
    with _open(path) as f:
        if "model_config" not in f.attrs:
            raise ValueError(
                f"{path!r} holds no model configuration, so it is not a saved model. "
                "If it holds weights only, build the model in code and call model.load_weights()."
            )
        model_config = safe_h5.read_json_attr(f, "model_config")
        weights = _weights_group(f)
        writer = _writer(f, weights, model_config)
        config = legacy_config.sequential_config(model_config, writer, path)
        saved = saved_layers(weights)  # refuses links out of the file before anything is built
        model = _build(config, weights, custom_objects, path)
        load_weights_from_group(model, weights, label=repr(path), writer=writer, saved=saved)
        if compile and "training_config" in f.attrs:
            training = legacy_config.training_config(safe_h5.read_json_attr(f, "training_config"), writer, path)
            model.compile_from_config(training)
            if safe_h5.has(f, "optimizer_weights"):
                legacy_optimizer.restore(model, safe_h5.child(f, "optimizer_weights"), writer, repr(path))
        elif compile:
            warnings.warn("No training configuration found in the file, so the model was not compiled. "
                          "Compile it yourself, or load with compile=False.", UserWarning, stacklevel=3)
    return model


def _build(config: dict[str, Any], weights: Any, custom_objects: dict[str, Any] | None, path: str) -> Any:
    cls = get_registry("model").lookup("Sequential")
    with safe_h5.allocation_limit(weights, repr(path)):
        model = cls.from_config(config, custom_objects=custom_objects)
    if not model.built:
        raise ValueError(
            f"{path!r} does not record the model's input shape, so its weights cannot be loaded. Build "
            "the model in code (declare its input) and call model.load_weights()."
        )
    return model


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Loads weights into ``model`` from a legacy weights file or a full model file.

    Args:
        model: A built model.
        filepath: A file written by ``save_weights("w.h5")`` or ``save("m.h5")`` of
            minikeras or any Keras.
        skip_mismatch: Skip (with a warning) layers whose weight count or shapes differ
            from the file's, instead of failing. Without ``by_name`` the number of layers
            with weights must still match, since layers are paired by position.
        by_name: Pair layers by name instead of position: each layer of the file goes to
            the model's layer of the same name; model layers the file lacks keep their
            weights, and file layers the model lacks are ignored.

    Raises:
        ValueError: If a layer does not fit (nothing is changed then).

    Examples:
        >>> model = Sequential([Input((3,)), Dense(2, name="a"), Dense(1, name="b")])
        >>> model.save_weights(tmp_dir / "w.h5")
        >>> other = Sequential([Input((3,)), Dense(2, name="a"), Dense(4, name="c")])
        >>> other.load_weights(tmp_dir / "w.h5", by_name=True)
        >>> bool((other.layers[0].get_weights()[0] == model.layers[0].get_weights()[0]).all())
        True
    """
    path = os.fspath(filepath)
    with _open(path) as f:
        group = _weights_group(f)
        if not safe_h5.read_str_list(group, "layer_names"):
            raise ValueError(
                f"{path!r} holds no layer weights. load_weights() reads files written by "
                "model.save_weights('name.h5') or model.save('name.h5')."
            )
        model_config = safe_h5.read_json_attr(f, "model_config") if "model_config" in f.attrs else None
        load_weights_from_group(model, group, skip_mismatch=skip_mismatch, by_name=by_name, label=repr(path),
                                writer=_writer(f, group, model_config))


def saved_layers(group: Any) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The file's layers in order: ``(layer name, [(weight name, dataset), ...])``.

    Reads names and opens datasets (refusing links to other files) without reading data.

    Examples:
        >>> import h5py
        >>> Sequential([Input((3,)), Dense(2, name="d")]).save_weights(tmp_dir / "w.h5")
        >>> with h5py.File(tmp_dir / "w.h5", "r") as f:
        ...     [(name, [w for w, _ in weights]) for name, weights in saved_layers(f)]
        [('d', ['sequential/d/kernel', 'sequential/d/bias'])]
    """
    saved = []
    for name in safe_h5.read_str_list(group, "layer_names"):
        layer_group = safe_h5.child(group, name)
        weight_names = safe_h5.read_str_list(layer_group, "weight_names")
        saved.append((name, [(w, safe_h5.child(layer_group, w)) for w in weight_names]))
    return saved


def load_weights_from_group(model: Any, group: Any, skip_mismatch: bool = False, by_name: bool = False,
                            label: str = "the file", writer: legacy_config.Writer | None = None,
                            saved: list[tuple[str, list[tuple[str, Any]]]] | None = None) -> None:
    """Assigns the weights in ``group`` (``/model_weights`` or a weights file's root) to ``model``.

    Layers are paired by position (layers with weights only, as Keras does) or, with
    ``by_name``, by name. Every pair is checked and every array read before any
    weight is assigned, so a failure leaves the model unchanged.

    Examples:
        >>> import h5py
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> model.save_weights(tmp_dir / "w.h5")
        >>> other = Sequential([Input((3,)), Dense(2)])
        >>> with h5py.File(tmp_dir / "w.h5", "r") as f:
        ...     load_weights_from_group(other, f)
        >>> bool((other.get_weights()[0] == model.get_weights()[0]).all())
        True
    """
    if saved is None:
        saved = saved_layers(group)
    if by_name:
        index: dict[str, list[Any]] = {}
        for layer in model.layers:
            index.setdefault(layer.name, []).append(layer)
        pairs = [(layer, entry) for entry in saved for layer in index.get(entry[0], [])]
        if not pairs and saved:
            warnings.warn(
                f"load_weights(by_name=True) found no layer of model '{model.name}' named like a layer of "
                f"{label} ({', '.join(name for name, _ in saved[:5])}{', ...' if len(saved) > 5 else ''}); "
                "no weights were loaded.", UserWarning, stacklevel=4,
            )
    else:
        targets = [layer for layer in model.layers if layer.weights]
        stored = [entry for entry in saved if entry[1]]
        if len(stored) != len(targets):
            raise ValueError(
                f"The file holds weights for {len(stored)} layers, but model '{model.name}' has "
                f"{len(targets)} layers with weights. The architectures differ: build the model "
                "with the same layers as the saved one, or pair layers by name with by_name=True."
            )
        pairs = list(zip(targets, stored))

    old_batchnorm = (writer is not None and writer.family == "keras1" and writer.version is not None
                     and writer.version[:2] < (1, 2))
    problems, loads = [], []
    for layer, (name, datasets) in pairs:
        problem = _pair_problem(layer, name, datasets, old_batchnorm, writer)
        if problem is None:
            loads.append((layer, datasets))
        elif skip_mismatch:
            problems.append(problem)
        else:
            raise ValueError(problem)
    top = safe_h5.child(group, "top_level_model_weights") if safe_h5.has(group, "top_level_model_weights") else None
    if top is not None and safe_h5.read_str_list(top, "weight_names"):
        count = len(safe_h5.read_str_list(top, "weight_names"))
        problem = (f"{label} holds {count} model-level weight(s) (top_level_model_weights), but a Sequential "
                   "model has none: the file was written for another kind of model.")
        if not skip_mismatch:
            raise ValueError(problem)
        problems.append(problem)

    arrays = [[safe_h5.read_array(dataset, expected_shape=var.shape, what=f"weight {weight_name!r}")
               for var, (weight_name, dataset) in zip(layer.weights, datasets)] for layer, datasets in loads]
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        warnings.warn(
            f"Skipped {len(problems)} part(s) of {label} that do not fit model '{model.name}'; the layers "
            f"concerned keep their current weights:\n{listed}", UserWarning, stacklevel=4,
        )
    # Every layer is checked and read before any is changed, so a failure leaves the model as it was.
    for (layer, _), values in zip(loads, arrays):
        for var, value in zip(layer.weights, values):
            var.assign(value)


def _pair_problem(layer: Any, name: str, datasets: list[tuple[str, Any]], old_batchnorm: bool,
                  writer: legacy_config.Writer | None) -> str | None:
    """Why the file's layer ``name`` cannot be loaded into ``layer`` (``None`` if it can)."""
    if len(datasets) != len(layer.weights):
        return (f"Layer '{layer.name}' has {len(layer.weights)} weights, but the file's layer '{name}' has "
                f"{len(datasets)}. The architectures differ: build the model with the same layers (and "
                "use_bias settings) as the saved one.")
    if old_batchnorm and type(layer).__name__ == "BatchNormalization" and writer is not None:
        return (f"Layer '{layer.name}' (BatchNormalization) would receive the running standard deviation that "
                f"{writer.label} stored; minikeras reads the running variance of Keras 1.2 and later. Load and "
                "re-save the model with Keras 1.2, or retrain the layer.")
    for var, (weight_name, dataset) in zip(layer.weights, datasets):
        stored = safe_h5.declared_shape(dataset, f"weight {weight_name!r}")
        if stored != tuple(var.shape):
            return (f"Cannot load weight '{var.path}': weight '{weight_name}' at {safe_h5.describe(dataset)} has "
                    f"shape {shape_str(stored)}, but the model needs {shape_str(var.shape)}. The architectures "
                    "differ: build the model with the same layer sizes as the saved one.")
    return None
