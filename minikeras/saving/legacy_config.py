"""Translating model and training configurations written by Keras 1 and 2 into Keras 3's.

A model file records its writer in ``keras_version`` (Keras 1.2 and later) and in the
shape of its configuration:

==============================  ==============================================================
writer                          what its configuration looks like
==============================  ==============================================================
Keras 1 (no or ``1.x`` version)  a plain list of layers with ``output_dim``, ``init``, ``p``, ...
Keras 2.0-2.3 (multi-backend)   a plain list (up to 2.2.2) or ``{"layers": [...]}`` without an
                                ``InputLayer``; ``batch_input_shape`` on the first layer
tf.keras 2.x (``2.x-tf``,        an ``InputLayer`` entry with ``batch_input_shape``; optimizers
2.4-2.10) and tf-keras >= 2.11  with ``decay`` (2.x) or ``is_legacy_optimizer`` (>= 2.11)
Keras 3 (and minikeras)         an ``InputLayer`` entry with ``batch_shape``
==============================  ==============================================================

The functions here turn such configurations into the Keras 3 form that
``Sequential.from_config`` and ``compile_from_config`` read, without the
``DeprecationWarning`` that the old argument names raise in user code (whoever loads an
old file cannot change it). Every key is either translated, dropped because it cannot
change what the model computes (``sparse``, ``ragged``, ``jit_compile``, ...), or
refused with a :class:`~minikeras.saving.safe_h5.ModelFileError` naming it. A value is
only translated where Keras 3 has the same meaning; where the meaning differs (Keras 1
and 2's ``hard_sigmoid``, ``BatchNormalization(mode=1)``, loss weights) the file is
refused rather than read into a model that predicts something else.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from minikeras.saving.safe_h5 import ModelFileError

#: Keras 2.0 and 2.1 drew VarianceScaling's "normal" from a truncated normal without
#: rescaling its standard deviation; since 2.2 (and in Keras 3) it is divided by this
#: factor, the standard deviation of a unit normal truncated at two standard deviations.
_TRUNCATION_STDDEV = 0.87962566103423978

#: The Keras backend fuzz factor, used by Keras 2.0-2.2 optimizers saved with epsilon=None.
_KERAS_EPSILON = 1e-7


@dataclass(frozen=True)
class Writer:
    """Which Keras wrote a file, as far as its metadata tells.

    Attributes:
        family: ``"keras1"``, ``"keras2"`` (the multi-backend Keras 2.0-2.3),
            ``"tf.keras"`` (tf.keras 2.x up to 2.10, OptimizerV2), ``"tf-keras"``
            (tf-keras 2.11 and later) or ``"keras3"`` (Keras 3 and minikeras).
        version: The ``keras_version`` numbers, e.g. ``(2, 2, 4)``, or ``None``.
        label: A readable name for messages, e.g. ``"Keras 2.2.4"``.

    Examples:
        >>> detect_writer("2.2.4-tf").family
        'tf.keras'
    """

    family: str
    version: tuple[int, ...] | None
    label: str

    @property
    def multi_backend(self) -> bool:
        """Keras 1 and the multi-backend Keras 2.0-2.3 (their own optimizers, global ``clipnorm``)."""
        return self.family in ("keras1", "keras2")


def parse_version(text: str | None) -> tuple[tuple[int, ...] | None, bool]:
    """Splits a ``keras_version`` string into its numbers and whether it ends in ``-tf``.

    Examples:
        >>> parse_version("2.2.4-tf"), parse_version("3.15.1"), parse_version(None)
        (((2, 2, 4), True), ((3, 15, 1), False), (None, False))
    """
    if not text:
        return None, False
    match = re.match(r"\s*(\d+(?:\.\d+)*)", text)
    if match is None:
        return None, False
    numbers = tuple(int(part) for part in match.group(1).split("."))
    return numbers, text.strip().endswith("-tf")


def _layer_entries(model_config: Any) -> list[Any]:
    if not isinstance(model_config, dict):
        return []
    inner = model_config.get("config")
    if isinstance(inner, list):
        return inner
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        return inner["layers"]
    return []


_KERAS1_KEYS = {"output_dim", "init", "W_regularizer", "b_regularizer", "W_constraint", "b_constraint",
                "input_dtype", "bias", "p", "mode", "beta_init", "gamma_init"}


def detect_writer(keras_version: str | None, model_config: Any = None) -> Writer:
    """Tells which Keras wrote a file from its ``keras_version`` and configuration.

    Args:
        keras_version: The file's ``keras_version`` attribute, or ``None``.
        model_config: The parsed ``model_config``, if the file has one.

    Examples:
        >>> detect_writer("1.2.2").label, detect_writer("2.21.0").family, detect_writer(None).family
        ('Keras 1.2.2', 'tf-keras', 'keras1')
    """
    numbers, tf_suffix = parse_version(keras_version)
    label = f"Keras {keras_version}" if keras_version else "Keras"
    if numbers is None:
        entries = [e for e in _layer_entries(model_config) if isinstance(e, dict)]
        configs = [e.get("config") for e in entries if isinstance(e.get("config"), dict)]
        if any("batch_shape" in c for c in configs):
            return Writer("keras3", None, "Keras 3")
        if entries and entries[0].get("class_name") == "InputLayer":
            return Writer("tf.keras", None, "tf.keras 2")
        if isinstance(model_config, dict) and isinstance(model_config.get("config"), dict) \
                and not any(_KERAS1_KEYS & set(c) for c in configs):
            return Writer("keras2", None, "Keras 2")
        # Keras 1 wrote no version before 1.2, and Keras 2 reads a file without one as Keras 1.
        return Writer("keras1", None, "Keras 1")
    major = numbers[0]
    if major <= 1:
        return Writer("keras1", numbers, label)
    if major == 2:
        if tf_suffix:  # tf.keras inside TensorFlow 1.x-2.3 reported e.g. "2.2.4-tf"
            return Writer("tf.keras", numbers, f"tf.keras {keras_version}")
        if numbers[:2] < (2, 4):
            return Writer("keras2", numbers, label)
        if numbers[:2] < (2, 11):
            return Writer("tf.keras", numbers, f"tf.keras {keras_version}")
        return Writer("tf-keras", numbers, f"tf-keras {keras_version}")
    return Writer("keras3", numbers, label)


# -- model configurations -------------------------------------------------------------------
def sequential_config(model_config: Any, writer: Writer, where: str) -> dict[str, Any]:
    """Returns the ``Sequential.from_config`` argument for a file's ``model_config``.

    Args:
        model_config: The parsed ``model_config`` attribute.
        writer: Who wrote the file (:func:`detect_writer`).
        where: The file, for messages.

    Raises:
        ModelFileError: If the file holds no Sequential model, or a layer or option
            minikeras cannot reproduce.

    Examples:
        >>> old = {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {
        ...     "name": "dense_1", "output_dim": 2, "input_dim": 3, "init": "uniform", "activation": "linear",
        ...     "batch_input_shape": [None, 3], "input_dtype": "float32", "bias": True}}]}
        >>> new = sequential_config(old, detect_writer("1.2.2"), "m.h5")
        >>> [e["class_name"] for e in new["layers"]], new["layers"][1]["config"]["units"]
        (['InputLayer', 'Dense'], 2)
    """
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise ModelFileError(
            f"The model configuration in {where!r} is not a {{'class_name', 'config'}} mapping "
            f"(received {type(model_config).__name__}). The file is damaged or not a Keras model file."
        )
    class_name = model_config.get("class_name")
    if class_name != "Sequential":
        raise ModelFileError(
            f"{where!r} holds a {class_name!r} model; minikeras reads Sequential models. Rebuild "
            "the model as a Sequential in code and load its weights with model.load_weights()."
        )
    inner = model_config.get("config")
    if isinstance(inner, list):
        config: dict[str, Any] = {"layers": inner}
    elif isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        config = dict(inner)
    else:
        raise ModelFileError(
            f"The Sequential configuration in {where!r} has no list of layers (received "
            f"{type(inner).__name__}). The file is damaged."
        )
    if writer.family == "keras3":
        return config
    config = copy.deepcopy(config)
    layers: list[dict[str, Any]] = []
    for index, entry in enumerate(config["layers"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) \
                or not isinstance(entry.get("config", {}), dict):
            raise ModelFileError(
                f"Layer entry #{index} in {where!r} is not a {{'class_name', 'config'}} mapping: "
                f"{entry!r:.120}. The file is damaged."
            )
        layers.extend(_translate_layer(entry, first=not layers, writer=writer, where=where))
    config["layers"] = layers
    return config


def _translate_layer(entry: dict[str, Any], first: bool, writer: Writer, where: str) -> list[dict[str, Any]]:
    """One layer entry in Keras 3's form, preceded by an ``InputLayer`` for a first layer
    that declares its input the Keras 1/2 way."""
    class_name = entry["class_name"]
    config = dict(entry.get("config") or {})
    name = config.get("name", class_name)
    what = f"layer {name!r} ({class_name}) in {where!r} (written by {writer.label})"
    if class_name in ("Sequential", "Model", "Functional", "Merge"):
        raise ModelFileError(
            f"The {what} is a nested model or a Merge layer; minikeras reads a plain stack of layers. "
            "Rebuild the model in code as one Sequential and load the weights by name with "
            "model.load_weights(path, by_name=True)."
        )
    if class_name == "InputLayer":
        dtype = config.pop("input_dtype", None)
        if dtype is not None and config.get("dtype") is None:
            config["dtype"] = dtype
        return [{"class_name": "InputLayer", "config": config}]

    # The input declared on the layer itself (Keras 1 and Keras 2.0-2.2 Sequential models).
    dtype = config.pop("input_dtype", None)
    if dtype is not None and config.get("dtype") is None:
        config["dtype"] = dtype
    batch_input_shape = config.pop("batch_input_shape", None)
    input_dim = config.pop("input_dim", None) if class_name == "Dense" else None
    prefix: list[dict[str, Any]] = []
    if first:
        if batch_input_shape is None and input_dim is not None:
            batch_input_shape = [None, input_dim]
        if batch_input_shape is not None:
            if not isinstance(batch_input_shape, (list, tuple)):
                raise ModelFileError(f"The {what} declares batch_input_shape={batch_input_shape!r}; "
                                     "expected a list such as [null, 20]. The file is damaged.")
            prefix.append({"class_name": "InputLayer", "config": {
                "batch_shape": list(batch_input_shape),
                "dtype": config.get("dtype"),
                "name": f"{name}_input",
            }})

    translate = _LAYER_TRANSLATIONS.get(class_name)
    if translate is not None:
        translate(config, writer, what)
    for key in ("activation",):
        if key in config:
            config[key] = _activation(config[key], writer, what)
    return prefix + [{"class_name": class_name, "config": config}]


def _rename(config: dict[str, Any], old: str, new: str, what: str) -> None:
    if old in config:
        if new in config:
            raise ModelFileError(f"The {what} sets both `{old}` and `{new}`; a Keras file holds one of them. "
                                 "The file is damaged.")
        config[new] = config.pop(old)


def _dense(config: dict[str, Any], writer: Writer, what: str) -> None:
    _rename(config, "output_dim", "units", what)
    _rename(config, "init", "kernel_initializer", what)
    _rename(config, "bias", "use_bias", what)
    _rename(config, "W_regularizer", "kernel_regularizer", what)
    _rename(config, "b_regularizer", "bias_regularizer", what)
    _rename(config, "W_constraint", "kernel_constraint", what)
    _rename(config, "b_constraint", "bias_constraint", what)
    for key in ("kernel_initializer", "bias_initializer"):
        if key in config:
            config[key] = _initializer(config[key], writer, what)
    for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
        if key in config:
            config[key] = _regularizer(config[key], what)
    for key in ("kernel_constraint", "bias_constraint"):
        if key in config:
            config[key] = _constraint(config[key], what)


def _dropout(config: dict[str, Any], writer: Writer, what: str) -> None:
    _rename(config, "p", "rate", what)


def _batch_normalization(config: dict[str, Any], writer: Writer, what: str) -> None:
    if "mode" in config:
        mode = config.pop("mode")
        if mode != 0:
            kind = {1: "sample-wise normalization", 2: "feature-wise normalization with batch statistics "
                    "also at inference"}.get(mode, "an unknown mode")
            raise ModelFileError(
                f"The {what} uses mode={mode!r} ({kind}). Only mode=0 (feature-wise normalization with "
                "moving statistics at inference) exists in Keras 2, Keras 3 and minikeras, so this model "
                "cannot be reproduced. Rebuild the layer as BatchNormalization() and retrain it."
            )
    if writer.family == "keras1" and writer.version is not None and writer.version[:2] < (1, 2):
        raise ModelFileError(
            f"The {what} cannot be read: before 1.2, Keras's BatchNormalization stored the running "
            "standard deviation (used as (x - mean) / (std + epsilon)), while minikeras reads the running "
            "variance that Keras 1.2 and later store. Load and re-save the model with Keras 1.2, or rebuild "
            "and retrain the layer."
        )
    _rename(config, "beta_init", "beta_initializer", what)
    _rename(config, "gamma_init", "gamma_initializer", what)
    for key in ("beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer"):
        if key in config:
            config[key] = _initializer(config[key], writer, what)
    for key in ("beta_regularizer", "gamma_regularizer"):
        if key in config:
            config[key] = _regularizer(config[key], what)
    for key in ("beta_constraint", "gamma_constraint"):
        if key in config:
            config[key] = _constraint(config[key], what)


def _leaky_relu(config: dict[str, Any], writer: Writer, what: str) -> None:
    _rename(config, "alpha", "negative_slope", what)


def _prelu(config: dict[str, Any], writer: Writer, what: str) -> None:
    _rename(config, "init", "alpha_initializer", what)
    if "alpha_initializer" in config:
        config["alpha_initializer"] = _initializer(config["alpha_initializer"], writer, what)
    if "alpha_regularizer" in config:
        config["alpha_regularizer"] = _regularizer(config["alpha_regularizer"], what)
    if "alpha_constraint" in config:
        config["alpha_constraint"] = _constraint(config["alpha_constraint"], what)


_LAYER_TRANSLATIONS = {
    "Dense": _dense,
    "Dropout": _dropout,
    "BatchNormalization": _batch_normalization,
    "LeakyReLU": _leaky_relu,
    "PReLU": _prelu,
}


def _activation(value: Any, writer: Writer, what: str) -> Any:
    name = value if isinstance(value, str) else (value.get("config") if isinstance(value, dict)
                                                  and value.get("class_name") == "function" else None)
    if name == "hard_sigmoid" and writer.family != "keras3":
        raise ModelFileError(
            f"The {what} uses the 'hard_sigmoid' activation, which Keras 1 and 2 computed as "
            "clip(0.2 * x + 0.5, 0, 1); Keras 3 and minikeras compute relu6(x + 3) / 6, so the model "
            "would predict differently. Rebuild the layer with activation='hard_sigmoid' and retrain it, "
            "or replace it with a layer of your own."
        )
    return value


# Keras 1's initializer functions as Keras 3 initializers with the same distribution.
_KERAS1_INITIALIZERS: dict[str, dict[str, Any]] = {
    "uniform": {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}},
    "normal": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.05, "seed": None}},
    "zero": {"class_name": "Zeros", "config": {}},
    "one": {"class_name": "Ones", "config": {}},
    "identity": {"class_name": "Identity", "config": {"gain": 1.0}},
    "orthogonal": {"class_name": "Orthogonal", "config": {"gain": 1.1, "seed": None}},
    "glorot_uniform": {"class_name": "GlorotUniform", "config": {"seed": None}},
    "glorot_normal": {"class_name": "VarianceScaling", "config": {
        "scale": 1.0, "mode": "fan_avg", "distribution": "untruncated_normal", "seed": None}},
    "he_normal": {"class_name": "VarianceScaling", "config": {
        "scale": 2.0, "mode": "fan_in", "distribution": "untruncated_normal", "seed": None}},
    "he_uniform": {"class_name": "HeUniform", "config": {"seed": None}},
    "lecun_uniform": {"class_name": "LecunUniform", "config": {"seed": None}},
}


def _initializer(value: Any, writer: Writer, what: str) -> Any:
    """An initializer in Keras 3's form with the distribution the writer used."""
    if isinstance(value, str) and writer.family == "keras1":
        if value not in _KERAS1_INITIALIZERS:
            raise ModelFileError(
                f"The {what} uses the initializer {value!r}, which is not one of Keras 1's "
                f"({', '.join(sorted(_KERAS1_INITIALIZERS))}). The file is damaged or was written by a "
                "modified Keras."
            )
        return copy.deepcopy(_KERAS1_INITIALIZERS[value])
    if isinstance(value, dict) and value.get("class_name") == "VarianceScaling" \
            and writer.family == "keras2" and writer.version is not None and writer.version[:2] < (2, 2):
        config = dict(value.get("config") or {})
        if config.get("distribution") == "normal":
            # Keras 2.0/2.1: truncated normal with stddev sqrt(scale / n), no rescaling; Keras 3
            # divides by the truncation factor, so the same spread needs a smaller scale.
            config["distribution"] = "truncated_normal"
            config["scale"] = float(config.get("scale", 1.0)) * _TRUNCATION_STDDEV**2
            return {"class_name": "VarianceScaling", "config": config}
    return value


def _regularizer(value: Any, what: str) -> Any:
    """Keras 1's ``{"name": "WeightRegularizer", "l1": ..., "l2": ...}`` as an ``L1L2``."""
    if isinstance(value, dict) and "name" in value and "class_name" not in value:
        kind = value["name"]
        if kind not in ("WeightRegularizer", "ActivityRegularizer"):
            raise ModelFileError(
                f"The {what} uses the Keras 1 regularizer {kind!r}; minikeras reads Keras 1's "
                "WeightRegularizer and ActivityRegularizer (l1/l2 penalties). Remove it from the model "
                "or rebuild the layer with a Keras 3 regularizer."
            )
        unknown = sorted(set(value) - {"name", "l1", "l2"})
        if unknown:
            raise ModelFileError(f"The {what} has a {kind} with unknown settings {unknown}; "
                                 "expected only 'l1' and 'l2'. The file is damaged.")
        l1, l2 = float(value.get("l1", 0.0)), float(value.get("l2", 0.0))
        if l1 == 0.0 and l2 == 0.0:
            return None
        return {"class_name": "L1L2", "config": {"l1": l1, "l2": l2}}
    return value


_KERAS1_CONSTRAINTS = {"MaxNorm": ("m", "max_value", 2.0), "NonNeg": None, "UnitNorm": None}


def _constraint(value: Any, what: str) -> Any:
    """Keras 1's ``{"name": "MaxNorm", "m": ..., "axis": ...}`` as Keras 3's ``MaxNorm``."""
    if isinstance(value, dict) and "name" in value and "class_name" not in value:
        kind = value["name"]
        settings = {k: v for k, v in value.items() if k != "name"}
        if kind == "MaxNorm":
            unknown = sorted(set(settings) - {"m", "axis"})
            config = {"max_value": float(settings.get("m", 2.0)), "axis": settings.get("axis", 0)}
        elif kind == "UnitNorm":
            unknown = sorted(set(settings) - {"axis"})
            config = {"axis": settings.get("axis", 0)}
        elif kind == "NonNeg":
            unknown = sorted(settings)
            config = {}
        else:
            raise ModelFileError(
                f"The {what} uses the Keras 1 constraint {kind!r}; minikeras reads MaxNorm, NonNeg and "
                "UnitNorm from Keras 1 files. Remove it or rebuild the layer with a Keras 3 constraint."
            )
        if unknown:
            raise ModelFileError(f"The {what} has a {kind} constraint with unknown settings {unknown}. "
                                 "The file is damaged.")
        return {"class_name": kind, "config": config}
    return value


# -- training configurations ----------------------------------------------------------------
def training_config(training: Any, writer: Writer, where: str) -> dict[str, Any]:
    """Returns the ``compile_from_config`` argument for a file's ``training_config``.

    Translates the optimizer (``lr``, ``decay``, ``epsilon=None``, ``Custom>`` class names,
    Keras 1/2's global ``clipnorm``, tf-keras's inert ``jit_compile``/``ema_*`` keys),
    unwraps single-output dictionaries and checks the options minikeras has no
    equivalent for (``sample_weight_mode``, loss weights).

    Raises:
        ModelFileError: If the configuration is malformed or asks for something
            minikeras cannot do.

    Examples:
        >>> tc = {"optimizer_config": {"class_name": "SGD", "config": {"lr": 0.1, "momentum": 0.0,
        ...       "decay": 0.01, "nesterov": False}}, "loss": "mse", "metrics": ["acc"],
        ...       "sample_weight_mode": None, "loss_weights": None}
        >>> out = training_config(tc, detect_writer("2.2.4"), "m.h5")
        >>> out["optimizer"]["config"]["learning_rate"]["class_name"], out["metrics"]
        ('InverseTimeDecay', ['acc'])
    """
    if not isinstance(training, dict):
        raise ModelFileError(f"The training configuration in {where!r} is not a mapping (received "
                             f"{type(training).__name__}). The file is damaged.")
    if "loss" not in training:
        raise ModelFileError(f"The training configuration in {where!r} names no loss. The file is damaged; "
                             "load it with compile=False and compile the model yourself.")
    mode = _single_output(training.get("sample_weight_mode"), "sample_weight_mode", where)
    if mode is not None:
        raise ModelFileError(
            f"{where!r} was compiled with sample_weight_mode={mode!r} (per-timestep sample weights), "
            "which minikeras does not have. Load it with compile=False and compile the model yourself."
        )
    weights = _single_output(training.get("loss_weights"), "loss_weights", where)
    if weights is not None and weights != 1:
        raise ModelFileError(
            f"{where!r} was compiled with loss_weights={training.get('loss_weights')!r}, which scales the "
            "loss; minikeras has no loss weights. Load it with compile=False and compile the model yourself "
            "(scale the learning rate instead)."
        )
    optimizer = training.get("optimizer_config", training.get("optimizer"))
    return {
        "optimizer": optimizer_config(optimizer, writer, where),
        "loss": _single_output(training["loss"], "loss", where),
        "metrics": _single_output(training.get("metrics"), "metrics", where),
        "weighted_metrics": _single_output(training.get("weighted_metrics"), "weighted_metrics", where),
    }


def _single_output(value: Any, key: str, where: str) -> Any:
    """The value for the one output of a Sequential model from a per-output dict."""
    if isinstance(value, dict) and "class_name" not in value:
        if len(value) != 1:
            raise ModelFileError(
                f"The training configuration in {where!r} gives `{key}` for {len(value)} outputs "
                f"({', '.join(map(str, value))}); a Sequential model has one. The file is damaged."
            )
        return next(iter(value.values()))
    if key in ("loss", "loss_weights", "sample_weight_mode") and isinstance(value, list):
        if len(value) != 1:
            raise ModelFileError(
                f"The training configuration in {where!r} gives `{key}` for {len(value)} outputs; a "
                "Sequential model has one. The file is damaged."
            )
        return value[0]
    return value


def optimizer_config(optimizer: Any, writer: Writer, where: str) -> dict[str, Any]:
    """An ``{"class_name", "config"}`` optimizer entry in Keras 3's form.

    Examples:
        >>> optimizer_config({"class_name": "Custom>RMSprop", "config": {"name": "RMSprop",
        ...     "learning_rate": 0.001, "use_ema": False, "ema_momentum": 0.99,
        ...     "ema_overwrite_frequency": 100, "jit_compile": False, "is_legacy_optimizer": False,
        ...     "rho": 0.9, "momentum": 0.0, "epsilon": 1e-07, "centered": False}},
        ...     detect_writer("2.21.0"), "m.h5")["config"]
        {'name': 'RMSprop', 'learning_rate': 0.001, 'rho': 0.9, 'momentum': 0.0, 'epsilon': 1e-07, 'centered': False}
    """
    if isinstance(optimizer, str):
        return {"class_name": optimizer, "config": {}}
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("class_name"), str):
        raise ModelFileError(
            f"The optimizer in {where!r} is not a {{'class_name', 'config'}} mapping (received "
            f"{optimizer!r:.80}). The file is damaged; load it with compile=False."
        )
    if writer.family == "keras3":
        return optimizer  # already Keras 3's form
    class_name = optimizer["class_name"].removeprefix("Custom>")
    if class_name == "TFOptimizer":
        raise ModelFileError(f"{where!r} was compiled with a TensorFlow optimizer, whose state Keras does not "
                             "save. Load it with compile=False and compile the model yourself.")
    config = dict(optimizer.get("config") or {})
    legacy_v2 = config.pop("is_legacy_optimizer", writer.family == "tf.keras")
    config.pop("jit_compile", None)
    use_ema = config.pop("use_ema", False)
    ema = {k: config.pop(k) for k in ("ema_momentum", "ema_overwrite_frequency") if k in config}
    if use_ema:
        raise ModelFileError(
            f"{where!r} was compiled with {class_name}(use_ema=True, {', '.join(f'{k}={v!r}' for k, v in ema.items())}), "
            "an exponential moving average of the weights that minikeras does not keep. Load it with "
            "compile=False and compile the model yourself."
        )
    if "lr" in config:
        lr = config.pop("lr")
        config.setdefault("learning_rate", lr)
    if "epsilon" in config and config["epsilon"] is None:
        config["epsilon"] = _KERAS_EPSILON
    for key in ("clipnorm", "clipvalue", "global_clipnorm"):
        if key in config and not config[key]:
            del config[key]  # 0 and None switch clipping off in every Keras
    if writer.multi_backend:
        if "clipnorm" in config:
            # Keras 1 and 2.0-2.3 scaled all gradients by their joint norm (tf.keras and Keras 3
            # clip each weight's gradient on its own): that is Keras 3's global_clipnorm.
            config["global_clipnorm"] = config.pop("clipnorm")
        if class_name == "Adagrad":
            config.setdefault("initial_accumulator_value", 0.0)  # their accumulators started at zero
    if class_name == "Nadam":
        # Keras 2's momentum schedule 0.96 ** (t * schedule_decay) (stored as `decay` by tf.keras's
        # Nadam) has no Keras 3 equivalent; Keras 3 uses 0.96 ** t. It changes training only.
        config.pop("schedule_decay", None)
        if legacy_v2 or writer.multi_backend:
            config.pop("decay", None)
    decay = config.pop("decay", 0.0)
    if decay:
        rate = config.get("learning_rate", _default_learning_rate(class_name, writer))
        if isinstance(rate, dict):
            raise ModelFileError(f"The {class_name} optimizer in {where!r} combines `decay` with a learning-rate "
                                 "schedule, which no Keras did. The file is damaged.")
        config["learning_rate"] = {
            "class_name": "InverseTimeDecay",
            "config": {"initial_learning_rate": float(rate), "decay_steps": 1, "decay_rate": float(decay),
                       "staircase": False, "name": "InverseTimeDecay"},
        }
    return {"class_name": class_name, "config": config}


# The learning rates Keras 1 and 2 used when a config omits it (decay needs a value to decay).
_OLD_DEFAULT_RATES = {"SGD": 0.01, "RMSprop": 0.001, "Adagrad": 0.01, "Adadelta": 1.0, "Adam": 0.001,
                      "Adamax": 0.002, "Nadam": 0.002}


def _default_learning_rate(class_name: str, writer: Writer) -> float:
    if writer.multi_backend and class_name in _OLD_DEFAULT_RATES:
        return _OLD_DEFAULT_RATES[class_name]
    return 0.01 if class_name == "SGD" else 0.001
