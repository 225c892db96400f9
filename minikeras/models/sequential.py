"""``Sequential``: a linear stack of layers, with Keras's construction rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras import layers as layers_module
from minikeras._registry import Registry
from minikeras._validation import shape_str
from minikeras.backend import config as _config
from minikeras.backend.naming import unique_name
from minikeras.layers import InputLayer, KerasTensor, Layer
from minikeras.layers.base import assign_all
from minikeras.models.data import check_features
from minikeras.models.legacy_generators import LegacyGenerators
from minikeras.models.trainer import Trainer
from minikeras.saving import api as saving_api

_registry = Registry("model", "keras")


@_registry.register()
class Sequential(Trainer, LegacyGenerators):
    """A model whose layers run one after the other.

    Declare the input with ``Input(shape)`` as the first element, or with
    ``input_shape=``/``input_dim=`` on the first layer; the model then builds its
    weights as soon as it has a layer after the input. Otherwise it builds on the
    first ``fit``, ``evaluate``, ``predict`` or :meth:`build`.

    Args:
        layers: Optional list of layers to add in order.
        trainable: Whether the model's weights are trained. Defaults to ``True``.
        name: Model name; defaults to ``sequential``, ``sequential_1``, ...

    Examples:
        >>> model = Sequential()
        >>> model.add(Dense(64, input_dim=100))
        >>> model.add(Activation("relu"))
        >>> model.add(Dense(10, activation="softmax"))
        >>> model.count_params()
        7114
    """

    def __init__(self, layers: list[Any] | None = None, trainable: bool = True, name: str | None = None) -> None:
        self.name = name or unique_name("sequential")
        self.dtype = _config.floatx()
        self._input_layer: InputLayer | None = None
        self._layers: list[Layer] = []
        self._trainable = bool(trainable)
        self.built = False
        self._init_trainer()
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build()

    # -- structure ------------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Whether training updates the model; setting it sets every current layer's flag too.

        As in Keras, ``model.trainable = False`` freezes each layer (a frozen
        ``BatchNormalization`` also stops updating its moving statistics), and
        ``model.trainable = True`` unfreezes them all. Recompile after changing it.

        Examples:
            >>> model = Sequential([Input((2,)), Dense(1)])
            >>> model.trainable = False
            >>> model.layers[0].trainable, len(model.trainable_weights)
            (False, 0)
        """
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = self._trainable

    @property
    def layers(self) -> list[Layer]:
        """The layers, without the input layer (read-only list copy)."""
        return list(self._layers)

    def _stack(self) -> list[Layer]:
        return self._layers

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Appends a layer (or an ``Input(...)``) to the stack.

        Raises:
            TypeError: If ``layer`` is not a layer.
            ValueError: If its name is already used in this model, or it is a second input.
        """
        if isinstance(layer, KerasTensor):
            layer = layer._input_layer
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Only minikeras layers can be added to a Sequential model. Received: {layer!r} "
                f"of type {type(layer).__name__}."
            )
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                if self._input_layer is not None:
                    found = (f"model '{self.name}' already has the input '{self._input_layer.name}' "
                             f"of shape {shape_str(self._input_layer.batch_shape)}")
                else:
                    found = f"model '{self.name}' already has {len(self._layers)} layer(s)"
                raise ValueError(
                    "An InputLayer can only be the first layer of a Sequential model, and only once. "
                    f"Received the input '{layer.name}' of shape {shape_str(layer.batch_shape)}, but "
                    f"{found}. Declare the input once, as the first element."
                )
            self._input_layer = layer
        else:
            names = {existing.name for existing in self._layers}
            if self._input_layer is not None:
                names.add(self._input_layer.name)
            if layer.name in names:
                raise ValueError(
                    f"All layers added to a Sequential model should have unique names. Name "
                    f"'{layer.name}' is already the name of a layer in this model. Pass a unique `name`."
                )
            if not self._layers and self._input_layer is None and layer._batch_input_shape is not None:
                self._input_layer = InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.dtype)
            self._layers.append(layer)
        if rebuild:
            self._maybe_build()

    def pop(self) -> Layer:
        """Removes and returns the last layer."""
        if not self._layers:
            raise IndexError("There are no layers in the model to pop.")
        layer = self._layers.pop()
        self.built = False
        self._maybe_build()
        return layer

    def _maybe_build(self) -> None:
        if self._input_layer is not None and self._layers:
            self.build(self._input_layer.batch_shape)

    def build(self, input_shape: Any = None) -> None:
        """Creates the weights of every layer for inputs of ``input_shape``.

        Args:
            input_shape: ``(batch_size, features...)``, e.g. ``(None, 100)``; may be
                omitted when the model declares its input.
        """
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("build() needs an `input_shape` such as (None, 100), as the model declares no input.")
            input_shape = self._input_layer.batch_shape
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=input_shape)
        elif tuple(self._input_layer.batch_shape[1:]) != input_shape[1:]:
            raise ValueError(
                f"Model '{self.name}' declares input shape {shape_str(self._input_layer.batch_shape)}, "
                f"but build() received {shape_str(input_shape)}."
            )
        shape: tuple[int | None, ...] = input_shape
        for layer in self._layers:
            if not layer.built:
                layer.build(shape)
            else:
                layer.check_input(tuple(0 if d is None else d for d in shape))
            shape = layer.compute_output_shape(shape)
            for var in layer.weights:
                var.path = f"{self.name}/{layer.name}/{var.name}"
        self.built = bool(self._layers)

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """``(None, features...)``; raises ``AttributeError`` before the input is known."""
        if self._input_layer is None:
            raise AttributeError(f"Model '{self.name}' has no input shape yet: add an Input or call build().")
        return self._input_layer.batch_shape

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """Shape of the outputs, ``(None, units)``."""
        return self.compute_output_shape(self.input_shape)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Returns the output shape for an input shape."""
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        if not self.built:
            self.build((None,) + x.shape[1:])
        check_features(x.shape, self.input_shape, self.name, "__call__")
        return self._forward(x, training=training)

    # -- weights ----------------------------------------------------------------------------
    @property
    def weights(self) -> list[Any]:
        """All variables, layer by layer."""
        return [v for layer in self._layers for v in layer.weights]

    @property
    def trainable_weights(self) -> list[Any]:
        """Variables updated by training."""
        if not self.trainable:
            return []
        return [v for layer in self._layers for v in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Any]:
        """Variables training leaves alone."""
        if not self.trainable:
            return self.weights
        return [v for layer in self._layers for v in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Returns copies of all weight arrays, layer by layer."""
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights: list[Any]) -> None:
        """Sets all weights from a list like the one :meth:`get_weights` returns."""
        variables = self.weights
        if len(weights) != len(variables):
            raise ValueError(
                f"Model '{self.name}' expects a list of {len(variables)} weight arrays, but received "
                f"{len(weights)}. Pass a list shaped like model.get_weights()."
            )
        assign_all(variables, weights)

    def count_params(self) -> int:
        """Returns the number of weights (scalars) in the model."""
        return sum(layer.count_params() for layer in self._layers)

    # -- summary ----------------------------------------------------------------------------
    def summary(self, line_length: int | None = None, print_fn: Callable[[str], Any] | None = None) -> None:
        """Prints a table of layers, output shapes and parameter counts.

        Examples:
            >>> Sequential([Input((4,)), Dense(2)], name="tiny").summary()  # doctest: +ELLIPSIS
            Model: "tiny"
            ...
             Total params: 10 (40.00 B)
            ...
        """
        print_fn = print_fn or print
        width = max(line_length or 88, 40)
        cols = [int(width * 0.45), int(width * 0.80) - int(width * 0.45), width - int(width * 0.80)]
        shape: Any = self._input_layer.batch_shape if self._input_layer is not None else None
        rows = []
        for layer in self._layers:
            if shape is not None and self.built:
                shape = layer.compute_output_shape(shape)
                out, params = shape_str(shape), f"{layer.count_params():,}"
            else:
                out, params = "?", "0 (unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", out, params))

        def line(left: str, mid: str, right: str, fill: str) -> str:
            return left + mid.join(fill * (c - 2 + (i == 0) + (i == 2)) for i, c in enumerate(cols)) + right

        def cells(values: tuple[str, str, str], sep: str) -> str:
            parts = [f" {values[0]:<{cols[0] - 2}}", f" {values[1]:<{cols[1] - 3}}", f"{values[2]:>{cols[2] - 2}} "]
            return sep + sep.join(parts) + sep

        print_fn(f'Model: "{self.name}"')
        print_fn(line("┏", "┳", "┓", "━"))
        print_fn(cells(("Layer (type)", "Output Shape", "Param #"), "┃"))
        print_fn(line("┡", "╇", "┩", "━"))
        for i, row in enumerate(rows):
            print_fn(cells(row, "│"))
            if i < len(rows) - 1:
                print_fn(line("├", "┼", "┤", "─"))
        print_fn(line("└", "┴", "┘", "─"))
        item = np.dtype(self.dtype).itemsize
        trainable = sum(v.value.size for v in self.trainable_weights)
        non_trainable = sum(v.value.size for v in self.non_trainable_weights)
        optimizer_params = 0
        if self.optimizer is not None and self.optimizer.built:
            optimizer_params = sum(np.asarray(w).size for w in self.optimizer.get_weights())
        total = trainable + non_trainable + optimizer_params
        print_fn(f" Total params: {total:,} ({_size(total * item)})")
        print_fn(f" Trainable params: {trainable:,} ({_size(trainable * item)})")
        print_fn(f" Non-trainable params: {non_trainable:,} ({_size(non_trainable * item)})")
        if optimizer_params:
            print_fn(f" Optimizer params: {optimizer_params:,} ({_size(optimizer_params * item)})")

    # -- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Returns the model configuration in Keras 3's schema (layers serialized in order)."""
        entries = []
        if self._input_layer is not None:
            entries.append(layers_module.serialize(self._input_layer))
        for layer in self._layers:
            entry = layers_module.serialize(layer)
            build = layer._build_config()
            if build is not None:
                entry["build_config"] = build
            entries.append(entry)
        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": self.dtype},
                      "registered_name": None},
            "layers": entries,
        }
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config: Any, custom_objects: dict[str, Any] | None = None) -> Sequential:
        """Creates a model from :meth:`get_config` output (Keras 3, Keras 2 and 1 forms).

        Raises:
            ValueError: If the config is not a Sequential configuration.
        """
        if isinstance(config, list):
            config = {"layers": config}
        if not isinstance(config, dict) or "layers" not in config:
            raise ValueError("A Sequential config must be a dict with a 'layers' list.")
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            if not isinstance(entry, dict) or "class_name" not in entry:
                raise ValueError(f"Each layer entry needs 'class_name' and 'config'. Received: {entry!r}.")
            model.add(layers_module.deserialize(entry, custom_objects), rebuild=False)
        if not model.built and config.get("build_input_shape") and model._input_layer is None:
            model.build(tuple(config["build_input_shape"]))
        model._maybe_build()
        return model

    def to_json(self, **kwargs: Any) -> str:
        """Returns the model (architecture and compile settings) as a JSON string.

        Compile settings that cannot be written by name (a plain function as the
        loss, a callable learning rate) are left out; the architecture always is.

        Examples:
            >>> json.loads(Sequential([Input((2,)), Dense(1)]).to_json())["class_name"]
            'Sequential'
        """
        payload: dict[str, Any] = {
            "module": "keras",
            "class_name": "Sequential",
            "config": self.get_config(),
            "registered_name": None,
        }
        if self.built:
            payload["build_config"] = {"input_shape": list(self.input_shape)}
        try:
            compile_config = self.get_compile_config()
        except (TypeError, ValueError):
            compile_config = None  # not serializable by name; the architecture still is
        if compile_config is not None:
            payload["compile_config"] = compile_config
        return json.dumps(payload, **kwargs)

    # -- files -------------------------------------------------------------------------------
    def save(self, filepath: Any, overwrite: bool = True, include_optimizer: bool = True) -> None:
        """Saves architecture, weights, training config and optimizer state.

        The suffix picks the format: ``.keras`` writes a Keras 3 archive, ``.h5`` Keras's
        legacy HDF5 layout; both load in Keras 3 and in minikeras. The file is written
        under a temporary name and renamed, so an existing file survives a failed save.
        """
        saving_api.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Saves only the weights: Keras 3's layout for ``.weights.h5``, the legacy one for ``.h5``."""
        saving_api.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, by_name: bool = False) -> None:
        """Loads weights from any weights or model file written by minikeras or Keras 1-3.

        Args:
            filepath: A ``.weights.h5``, legacy ``.h5`` or ``.keras`` file.
            skip_mismatch: Skip layers whose weights do not fit, with a warning.
            by_name: Legacy ``.h5`` files only: match layers by name, not position.
        """
        saving_api.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, built={self.built}>"


def _size(num_bytes: float) -> str:
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    value = float(num_bytes)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            return f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} PB"
