"""The ``Layer`` base class and ``Variable``, the weights layers own.

A layer has a forward pass (:meth:`Layer.call`) and a backward pass
(:meth:`Layer.backward`). During a training forward pass (``training=True``) a
layer keeps what its backward pass needs; ``backward(grad)`` then receives
``dL/d(output)``, writes ``dL/d(weight)`` into each variable's ``grad`` and
returns ``dL/d(input)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import constraints as _constraints
from minikeras import regularizers as _regularizers
from minikeras._registry import Registry
from minikeras._validation import check_no_unknown_kwargs, shape_str
from minikeras.backend import config as _config
from minikeras.backend.limits import check_weight_size
from minikeras.backend.naming import to_snake_case, unique_name

_registry = Registry("layer", "keras.layers")
register = _registry.register


class Variable:
    """A named weight array with a gradient buffer of the same shape and dtype.

    Args:
        value: The initial array (used as is, not copied).
        name: Short name, e.g. ``"kernel"``.
        path: Unique path within a model, e.g. ``"sequential/dense/kernel"``.
        trainable: Whether optimizers update it.
        regularizer: Optional :class:`~minikeras.regularizers.Regularizer` whose
            penalty of the value training adds to the loss.
        constraint: Optional :class:`~minikeras.constraints.Constraint` applied to
            the value after each optimizer update.

    Examples:
        >>> from minikeras.constraints import NonNeg
        >>> var = Variable(np.array([-1.0, 2.0]), "w", "w", constraint=NonNeg())
        >>> var.apply_constraint()
        >>> var.value.tolist()
        [0.0, 2.0]
    """

    __slots__ = ("value", "grad", "name", "path", "trainable", "regularizer", "constraint")

    def __init__(self, value: np.ndarray, name: str, path: str, trainable: bool = True,
                 regularizer: Any = None, constraint: Any = None) -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name
        self.path = path
        self.trainable = trainable
        self.regularizer = _regularizers.get(regularizer)
        self.constraint = _constraints.get(constraint)
        if self.constraint is not None and hasattr(self.constraint, "check_shape"):
            self.constraint.check_shape(tuple(value.shape))

    def apply_constraint(self) -> None:
        """Replaces the value, in place, by its projection under ``constraint`` (if any)."""
        constraint = self.constraint
        if constraint is None:
            return
        if hasattr(constraint, "apply_inplace"):
            constraint.apply_inplace(self.value)
        else:
            self.assign(constraint(self.value))

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the weight."""
        return tuple(self.value.shape)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the weight."""
        return self.value.dtype

    def numpy(self) -> np.ndarray:
        """Returns a copy of the value."""
        return self.value.copy()

    def check_assignable(self, value: Any) -> np.ndarray:
        """Returns ``value`` as an array, or raises ``ValueError`` if its shape differs."""
        value = np.asarray(value)
        if value.shape != self.value.shape:
            raise ValueError(
                f"Cannot assign a value of shape {shape_str(value.shape)} to weight "
                f"'{self.path}' of shape {shape_str(self.value.shape)}. "
                f"Pass an array of shape {shape_str(self.value.shape)}."
            )
        return value

    def assign(self, value: Any) -> None:
        """Copies ``value`` into the weight in place, after checking its shape."""
        np.copyto(self.value, self.check_assignable(value), casting="unsafe")

    def __repr__(self) -> str:
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"


def assign_all(variables: list[Variable], values: list[Any]) -> None:
    """Assigns ``values`` to ``variables`` only after every shape has been checked,
    so a mismatch leaves all of them unchanged."""
    checked = [var.check_assignable(value) for var, value in zip(variables, values)]
    for var, value in zip(variables, checked):
        np.copyto(var.value, value, casting="unsafe")


class Layer:
    """Base class of all layers.

    Subclasses implement ``build(input_shape)`` (create weights with
    :meth:`add_weight`), ``call(x, training=False)``, ``backward(grad)``,
    ``compute_output_shape(input_shape)`` and ``get_config()``.

    Keyword Args:
        name: Layer name; defaults to a unique snake_case name such as ``dense_1``.
        trainable: Whether the layer's weights are trained. Defaults to ``True``.
        dtype: Float type of the weights; defaults to ``backend.floatx()``.
        input_shape: Shape of one sample, for the first layer of a Sequential model.
        input_dim: Shorthand for ``input_shape=(input_dim,)``.
        batch_input_shape: Legacy Keras 2 form of ``(batch_size,) + input_shape``.
        batch_size: Fixed batch size of the declared input (Keras 2).
        activity_regularizer: Optional regularizer of the layer's output; its penalty,
            divided by the batch size, is added to the training loss.
    """

    _COMMON = ("name", "trainable", "dtype", "input_shape", "input_dim", "batch_input_shape", "batch_size",
               "activity_regularizer")

    def __init__(self, **kwargs: Any) -> None:
        check_no_unknown_kwargs(type(self).__name__, kwargs, self._COMMON)
        name = kwargs.get("name")
        self.name: str = name if name else unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(kwargs.get("trainable", True))
        self.dtype: str = _config.standardize_dtype(kwargs.get("dtype"))
        # The input declared on this layer, as a batch shape (used when it comes first).
        self._batch_input_shape: tuple[int | None, ...] | None = None
        batch_size = kwargs.get("batch_size")
        if kwargs.get("input_dim") is not None:
            self._batch_input_shape = (batch_size, int(kwargs["input_dim"]))
        elif kwargs.get("input_shape") is not None:
            self._batch_input_shape = (batch_size,) + tuple(kwargs["input_shape"])
        elif kwargs.get("batch_input_shape") is not None:
            self._batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif batch_size is not None:
            raise ValueError(
                f"{type(self).__name__} received `batch_size={batch_size!r}` without an input shape. "
                "Pass it together with `input_shape` or `input_dim`, or use Input(shape, batch_size=...)."
            )
        self.activity_regularizer = _regularizers.get(kwargs.get("activity_regularizer"))
        self._variables: list[Variable] = []
        self.built = False
        self.input_shape: tuple[int | None, ...] | None = None
        self.need_input_grad = True

    # -- weights --------------------------------------------------------------------
    def add_weight(self, name: str, shape: tuple[int, ...], initializer: Any, trainable: bool = True,
                   regularizer: Any = None, constraint: Any = None) -> Variable:
        """Creates a weight, initialized by ``initializer(shape, dtype)``.

        ``regularizer`` and ``constraint`` (names, configs or objects) are attached to
        the :class:`Variable`; training adds the regularizer's penalty to the loss and
        applies the constraint after each update.
        """
        check_weight_size(self.name, name, tuple(shape))
        value = np.ascontiguousarray(initializer(tuple(shape), self.dtype), dtype=self.dtype)
        var = Variable(value, name, f"{self.name}/{name}", trainable, regularizer, constraint)
        self._variables.append(var)
        return var

    @property
    def trainable(self) -> bool:
        """Whether the weights are updated by training (settable to freeze the layer)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    @property
    def weights(self) -> list[Variable]:
        """All variables: trainable first, then non-trainable."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list[Variable]:
        """Variables that training updates."""
        if not self._trainable:
            return []
        return [v for v in self._variables if v.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        """Variables that training leaves alone."""
        if not self._trainable:
            return list(self._variables)
        return [v for v in self._variables if not v.trainable]

    def get_weights(self) -> list[np.ndarray]:
        """Returns copies of the weight values, in :attr:`weights` order."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Sets the weight values from a list of arrays in :attr:`weights` order."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects {len(own)} weight "
                f"arrays, but received {len(weights)}. Pass a list shaped like layer.get_weights()."
            )
        assign_all(own, weights)

    def count_params(self) -> int:
        """Returns the number of scalars in the layer's weights."""
        return int(sum(v.value.size for v in self._variables))

    # -- building and calling -------------------------------------------------------
    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Creates the weights for inputs of ``input_shape`` (batch dimension first)."""
        self.input_shape = tuple(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Returns the output shape for an input shape (batch dimension first)."""
        return tuple(input_shape)

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))
        self.check_input(x.shape)
        return self.call(x, training=training)

    def check_input(self, shape: tuple[int, ...]) -> None:
        """Raises ``ValueError`` if ``shape`` does not fit the shape the layer was built for."""
        expected = self.input_shape
        if expected is None:
            return
        if len(shape) != len(expected) or any(
            e is not None and e != s for e, s in zip(expected[1:], shape[1:])
        ):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of shape "
                f"{shape_str(expected)}, but received inputs of shape {shape_str(shape)}. "
                "Check the number of features in the data, or rebuild the model for the new shape."
            )

    def call(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The forward pass. With ``training=True`` keeps what :meth:`backward` needs."""
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """The backward pass: fills the weights' ``grad`` and returns ``dL/d(input)``.

        Returns ``None`` instead of the input gradient when ``need_input_grad`` is
        false (the first layer of a model).
        """
        raise NotImplementedError

    def clear_cache(self) -> None:
        """Drops arrays kept from the last training forward pass."""

    # -- configuration --------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Returns the layer's configuration in the Keras schema."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": _dtype_policy(self.dtype)}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Creates a layer from :meth:`get_config` output (Keras 2 and 3 forms)."""
        config = dict(config)
        if "batch_shape" in config and cls.__name__ != "InputLayer":
            shape = config.pop("batch_shape")
            config["input_shape"] = None if shape is None else tuple(shape)[1:]
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        return cls(**config)

    def _build_config(self) -> dict[str, Any] | None:
        if self.input_shape is None:
            return None
        return {"input_shape": list(self.input_shape)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _dtype_policy(dtype: str) -> dict[str, Any]:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype}, "registered_name": None}


def get(identifier: Any) -> Layer:
    """Returns a layer from a config dict or a layer."""
    return _registry.get(identifier)


serialize = _registry.serialize
deserialize = _registry.deserialize
