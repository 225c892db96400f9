"""Every documented name resolves, and every registered class survives a JSON round trip."""

import json

import numpy as np
import pytest

from minikeras import (
    activations,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    optimizers,
    regularizers,
)
from minikeras._registry import get_registry
from minikeras.optimizers import schedules

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax", "selu", "gelu", "silu",
               "swish", "softsign", "hard_sigmoid", "hard_silu", "relu6", "mish", "exponential", "linear",
               "log_softmax"]
LOSSES = ["mse", "mae", "mape", "msle", "mean_squared_error", "mean_absolute_error",
          "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "binary_crossentropy",
          "categorical_crossentropy", "sparse_categorical_crossentropy", "hinge", "squared_hinge",
          "categorical_hinge", "kl_divergence", "kld", "poisson", "log_cosh", "huber", "cosine_similarity"]
METRICS = ["accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "mse", "mae", "precision", "recall", "auc"]
OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam"]
INITIALIZERS = ["zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal",
                "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "orthogonal", "identity", "variance_scaling"]
REGULARIZERS = ["l1", "l2", "l1l2"]
CONSTRAINTS = ["max_norm", "min_max_norm", "non_neg", "unit_norm"]
LAYERS = ["InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "BatchNormalization", "ReLU",
          "LeakyReLU", "PReLU", "ELU", "Softmax"]
SCHEDULES = ["ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay", "PolynomialDecay", "CosineDecay"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_names(name):
    assert isinstance(activations.get(name), activations.Activation)
    assert callable(getattr(activations, name))


@pytest.mark.parametrize("name", LOSSES)
def test_loss_names(name):
    assert isinstance(losses.get(name), losses.Loss)


@pytest.mark.parametrize("name", METRICS + LOSSES)
def test_metric_names_compile_and_report(name):
    from minikeras.layers import Dense, Input
    from minikeras.models import Sequential

    sparse = name.startswith("sparse")
    model = Sequential([Input((3,)), Dense(6, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy" if sparse else "categorical_crossentropy",
                  metrics=[name])
    x = np.random.default_rng(0).random((12, 3)).astype("float32")
    labels = np.arange(12) % 6
    y = labels if sparse else np.eye(6, dtype="float32")[labels]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert name in logs and np.isfinite(logs[name])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_names(name):
    assert isinstance(optimizers.get(name), optimizers.Optimizer)


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_names(name):
    values = initializers.get(name)((3, 3), dtype="float32")
    assert values.shape == (3, 3) and values.dtype == np.float32


@pytest.mark.parametrize("name", REGULARIZERS)
def test_regularizer_names(name):
    assert isinstance(regularizers.get(name), regularizers.Regularizer)


@pytest.mark.parametrize("name", CONSTRAINTS)
def test_constraint_names(name):
    assert isinstance(constraints.get(name), constraints.Constraint)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_names(name):
    assert issubclass(get_registry("layer").lookup(name), layers.Layer)
    assert getattr(layers, name) is get_registry("layer").lookup(name)


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_names(name):
    assert getattr(schedules, name) is get_registry("schedule").lookup(name)


# -- every registered class: config -> JSON -> class -> the same config ---------------------
REQUIRED_ARGS = {
    ("layer", "Dense"): {"units": 3},
    ("layer", "Dropout"): {"rate": 0.5},
    ("layer", "Reshape"): {"target_shape": (2, -1)},
    ("layer", "Activation"): {"activation": "tanh"},
    ("layer", "InputLayer"): {"shape": (4,)},
    ("schedule", "ExponentialDecay"): {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
    ("schedule", "InverseTimeDecay"): {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
    ("schedule", "PiecewiseConstantDecay"): {"boundaries": [10, 20], "values": [0.1, 0.01, 0.001]},
    ("schedule", "PolynomialDecay"): {"initial_learning_rate": 0.1, "decay_steps": 10},
    ("schedule", "CosineDecay"): {"initial_learning_rate": 0.1, "decay_steps": 10},
    ("schedule", "CosineDecayRestarts"): {"initial_learning_rate": 0.1, "first_decay_steps": 10},
    ("metric", "MeanMetricWrapper"): {"fn": "mean_squared_error"},
    ("metric", "LossMetric"): {},
}
FAMILIES = ["layer", "loss", "metric", "optimizer", "initializer", "regularizer", "constraint", "schedule",
            "callback"]
CLASSES = [(family, name) for family in FAMILIES
           for name in get_registry(family).names(include_aliases=False)
           if isinstance(get_registry(family).lookup(name), type)]


@pytest.mark.parametrize(("family", "name"), CLASSES, ids=[f"{f}-{n}" for f, n in CLASSES])
def test_every_registered_class_round_trips_through_json(family, name):
    cls = get_registry(family).lookup(name)
    if family == "callback":
        assert issubclass(cls, callbacks.Callback)
        return
    obj = cls(**REQUIRED_ARGS.get((family, name), {}))
    config = obj.get_config()
    again = cls.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == json.loads(json.dumps(config))
    assert type(again) is cls
