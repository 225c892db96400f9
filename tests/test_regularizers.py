"""Regularizers: Keras 3's penalties and defaults, their gradients, and how training counts them."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_close, numeric_grad

import minikeras
from minikeras import constraints, regularizers
from minikeras.layers import Activation, Dense, Input
from minikeras.models import Sequential, load_model, model_from_json
from minikeras.optimizers import SGD
from minikeras.regularizers import L1, L1L2, L2, OrthogonalRegularizer, Regularizer

FIXTURE = Path(__file__).parent / "fixtures" / "keras3" / "regularizers.json"


# -- names, defaults and configs --------------------------------------------------------------

def test_keras_3_names_and_defaults():
    assert regularizers.get("l1") == L1(0.01)
    assert regularizers.get("L1").l1 == float(np.float32(0.01))  # Keras 3 keeps l1 as a float32 number
    assert regularizers.get("l2") == L2(0.01) and regularizers.get("L2").l2 == 0.01
    # Keras 3's L1L2, its string "l1l2" and its function alias l1_l2 all default to no penalty.
    for reg in (regularizers.get("l1l2"), regularizers.get("L1L2"), regularizers.l1_l2(), L1L2()):
        assert (reg.l1, reg.l2) == (0.0, 0.0)
    assert regularizers.get("orthogonal_regularizer") == OrthogonalRegularizer(0.01, "rows")
    assert regularizers.l1 is L1 and regularizers.l2 is L2
    assert L1(None).l1 == L1().l1 and L2(None).l2 == 0.01 and L1L2(None, None) == L1L2()
    assert regularizers.get(None) is None
    assert type(regularizers.get(L2)) is L2


def test_l1_l2_is_not_a_keras_3_name():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l1_l2'\. Did you mean 'l1l2'\?"):
        regularizers.get("l1_l2")


def test_a_plain_function_is_refused_because_it_has_no_gradient():
    with pytest.raises(TypeError, match=r"subclass Regularizer and implement __call__\(x\) and gradient\(x\)"):
        regularizers.get(lambda w: 0.01 * np.sum(w**2))
    with pytest.raises(TypeError, match="has no derivative"):
        Dense(3, kernel_regularizer=lambda w: 0.0)


@pytest.mark.parametrize(("cls", "kwargs", "message"), [
    (L1, {"l1": -0.1}, r"`l1` to be a non-negative finite number\. Received: l1=-0\.1"),
    (L2, {"l2": float("nan")}, r"Received: l2=nan"),
    (L1L2, {"l2": "0.1"}, r"Received: l2='0\.1'"),
    (OrthogonalRegularizer, {"factor": -1.0}, r"Received: factor=-1\.0"),
    (OrthogonalRegularizer, {"mode": "diagonal"}, r"'rows' or 'columns'\. Received: mode='diagonal'"),
])
def test_bad_factors_fail_when_created(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


REGULARIZERS = [L1(0.3), L2(0.2), L1L2(0.1, 0.4), L1L2(l2=0.1), OrthogonalRegularizer(0.5, "rows"),
                OrthogonalRegularizer(0.2, "columns")]


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_configs_round_trip_through_json_in_keras_schema(reg):
    config = json.loads(json.dumps(regularizers.serialize(reg)))
    assert config == {"module": "keras.regularizers", "class_name": type(reg).__name__,
                      "config": reg.get_config(), "registered_name": None}
    assert regularizers.deserialize(config) == reg
    assert regularizers.get(config) == reg
    assert regularizers.deserialize({"class_name": type(reg).__name__, "config": reg.get_config()}) == reg


def test_configs_are_keras_3s():
    assert L1().get_config() == {"l1": 0.009999999776482582}
    assert L2().get_config() == {"l2": 0.01}
    assert L1L2(0.3, 0.1).get_config() == {"l1": 0.3, "l2": 0.1}
    assert OrthogonalRegularizer().get_config() == {"factor": 0.009999999776482582, "mode": "rows"}


# -- penalties and their gradients ------------------------------------------------------------

def test_penalty_formulas():
    w = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert L1(0.5)(w) == pytest.approx(0.5 * 6.0)
    assert L2(0.5)(w) == pytest.approx(0.5 * 14.0)  # no factor 1/2
    assert L1L2(0.1, 0.2)(w) == pytest.approx(0.1 * 6.0 + 0.2 * 14.0)
    assert L1L2()(w) == 0.0
    assert Regularizer()(w) == 0.0
    assert isinstance(L2()(w.astype(np.float32)), float)
    np.testing.assert_array_equal(L1(0.5).gradient(w), 0.5 * np.sign(w))  # sign(0) = 0, as Keras's autodiff
    np.testing.assert_array_equal(L2(0.5).gradient(w), w)
    assert L2().gradient(w.astype(np.float32)).dtype == np.float32


def test_orthogonal_penalty_formula(rng):
    w = rng.normal(size=(4, 3))
    for mode, v in (("rows", w), ("columns", w.T)):
        u = v / np.linalg.norm(v, axis=1, keepdims=True)
        gram = u @ u.T
        m = len(v)
        expected = 0.3 * 0.5 * np.abs(gram - np.diag(np.diag(gram))).sum() / (m * (m - 1) / 2)
        reg = OrthogonalRegularizer(0.25, mode)
        assert reg(w) == pytest.approx(reg.factor / 0.3 * expected, rel=1e-12)
    assert OrthogonalRegularizer(1.0)(np.eye(3)) == 0.0
    assert OrthogonalRegularizer(1.0)(np.ones((1, 4))) == 0.0  # a single row has no pairs
    np.testing.assert_array_equal(OrthogonalRegularizer(1.0).gradient(np.ones((1, 4))), 0.0)
    with pytest.raises(ValueError, match=r"2-D weight\. Received an array of shape \(2, 2, 2\)"):
        OrthogonalRegularizer()(np.ones((2, 2, 2)))


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_gradient_matches_central_differences(reg, rng):
    x = rng.normal(size=(5, 4))
    x[np.abs(x) < 0.05] = 0.3  # away from the kink of |x| at 0
    expected = numeric_grad(lambda: reg(x), x)
    grad = reg.gradient(x.copy())
    assert grad.dtype == np.float64
    assert_close(grad, expected)
    out = np.ones_like(x)
    reg.add_gradient(x, out, scale=0.25)
    assert_close(out, 1.0 + 0.25 * expected)


def test_orthogonal_gradient_of_a_tiny_row(rng):
    """A row shorter than epsilon is divided by epsilon instead of its norm."""
    reg = OrthogonalRegularizer(1.0, "rows")
    x = rng.normal(size=(3, 4))
    x[1] *= 1e-9
    expected = numeric_grad(lambda: reg(x), x, eps=1e-11)
    assert_close(reg.gradient(x), expected, rtol=1e-4, atol=1e-6)


def test_penalties_match_keras_3():
    data = json.loads(FIXTURE.read_text())["penalties"]
    w = np.array(data["w"], dtype=np.float32)
    for name, value in data["values"].items():
        reg = regularizers.deserialize(data["configs"][name])
        assert regularizers.serialize(reg) == data["configs"][name]
        assert reg(w) == pytest.approx(value, rel=1e-5, abs=1e-7), name


# -- the penalties in a model's loss and gradients --------------------------------------------

def _case(name, rng):
    """Returns (input shape, layers, loss, y) of one regularized model."""
    n = 6
    labels = np.eye(4)[rng.integers(0, 4, size=n)]
    if name == "softmax_cce":  # the fused softmax/cross-entropy head, with an activity penalty
        return (5,), [
            Dense(6, activation="tanh", kernel_regularizer=L2(0.03), bias_regularizer=L1(0.05),
                  activity_regularizer=L1L2(0.02, 0.04)),
            Dense(4, activation="softmax", kernel_regularizer=L1L2(0.01, 0.02), bias_regularizer=L2(0.1),
                  activity_regularizer=L2(0.3)),
        ], "categorical_crossentropy", labels
    if name == "activation_layer_softmax":  # the penalty before and after a separate softmax layer
        return (5,), [
            Dense(6, activation="tanh", activity_regularizer=L1(0.05)),
            Dense(4, kernel_regularizer=OrthogonalRegularizer(0.5, "columns"), activity_regularizer=L2(0.2)),
            Activation("softmax", activity_regularizer=L2(0.1)),
        ], "categorical_crossentropy", labels
    if name == "sigmoid_mse":  # the chain rule through the head
        return (5,), [
            Dense(6, activation="tanh", kernel_regularizer=OrthogonalRegularizer(0.3, "rows")),
            Dense(3, activation="sigmoid", activity_regularizer=L1(0.1), bias_regularizer=L1(0.2)),
        ], "mse", rng.uniform(size=(n, 3))
    if name == "sequence_mse":  # 3-D inputs: the batch size is the first dimension
        return (2, 3), [
            Dense(4, activation="tanh", activity_regularizer=L2(0.1), kernel_regularizer=L1(0.02)),
            Dense(2, activity_regularizer=L1L2(0.05, 0.05)),
        ], "mse", rng.normal(size=(n, 2, 2))
    if name == "frozen_first_layer":  # frozen weights: no weight penalty, but the activity penalty counts
        first = Dense(6, activation="tanh", kernel_regularizer=L2(10.0), activity_regularizer=L2(0.2))
        first.trainable = False
        return (5,), [first, Dense(4, activation="softmax", kernel_regularizer=L2(0.1))], \
            "categorical_crossentropy", labels
    raise AssertionError(name)


def _objective_by_hand(model, x, y, sw=None):
    """Data loss plus every penalty, computed straight from the definitions."""
    h = x
    total = 0.0
    for layer in model.layers:
        h = layer(h)
        if layer.activity_regularizer is not None:
            total += layer.activity_regularizer(h) / len(x)
    for var in model.trainable_weights:
        if var.regularizer is not None:
            total += var.regularizer(var.value)
    return model.loss(y, h, sw) + total


CASES = ["softmax_cce", "activation_layer_softmax", "sigmoid_mse", "sequence_mse", "frozen_first_layer"]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES)
def test_training_step_follows_the_gradient_of_loss_plus_penalties(case, weighted, rng, float64):
    shape, layers, loss, y = _case(case, rng)
    model = Sequential([Input(shape)] + layers)
    model.compile(optimizer=SGD(learning_rate=1.0), loss=loss)
    for var in model.weights:
        var.assign(rng.normal(scale=0.8, size=var.shape))
    x = rng.normal(size=(len(y),) + shape)
    sw = rng.uniform(0.2, 2.0, size=len(y)) if weighted else None
    h = x
    for layer in model.layers:  # every output away from the kink of |.| at 0
        h = layer(h)
        assert np.abs(h).min() > 1e-4

    def objective():
        return _objective_by_hand(model, x, y, sw)

    expected_loss = objective()
    frozen = [v.numpy() for v in model.non_trainable_weights]
    before = [v.numpy() for v in model.trainable_weights]
    numeric = [numeric_grad(objective, var.value) for var in model.trainable_weights]

    loss_value = model.train_on_batch(x, y, sample_weight=sw)
    assert loss_value == pytest.approx(expected_loss, rel=1e-12)
    for var, b, num in zip(model.trainable_weights, before, numeric):
        assert_close(b - var.value, num)
    for var, value in zip(model.non_trainable_weights, frozen):
        np.testing.assert_array_equal(var.value, value)


def test_fit_and_evaluate_report_the_loss_with_every_penalty():
    """lr = 0: the epoch loss is the batch-size-weighted mean of (data loss + penalties) per batch,
    with each batch's activity penalty divided by that batch's size; evaluate reports the same."""
    rng = np.random.default_rng(1)
    model = Sequential([Input((3,)), Dense(4, activation="tanh", kernel_regularizer="l2", bias_regularizer="l1",
                                           bias_initializer="ones", activity_regularizer=L2(0.5)),
                        Dense(2, activation="softmax", activity_regularizer=L1L2(0.1, 0.2))])
    model.compile(optimizer=SGD(learning_rate=0.0), loss="categorical_crossentropy")
    x = rng.normal(size=(10, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, size=10)]
    total = 0.0
    for start in range(0, 10, 4):
        xb, yb = x[start:start + 4], y[start:start + 4]
        total += _objective_by_hand(model, xb, yb) * len(xb)
    expected = total / 10
    weight_penalty = 0.01 * np.sum(model.layers[0].kernel.value ** 2) + np.float32(0.01) * 4.0
    assert expected > model.loss(y, model.predict(x, verbose=0)) + weight_penalty

    history = model.fit(x, y, batch_size=4, shuffle=False, epochs=2, verbose=0)
    assert history.history["loss"] == pytest.approx([expected, expected], rel=1e-6)
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(expected, rel=1e-6)
    val = model.fit(x, y, batch_size=4, shuffle=False, validation_data=(x, y), verbose=0)
    assert val.history["val_loss"] == pytest.approx([expected], rel=1e-6)
    assert model.test_on_batch(x, y) == pytest.approx(_objective_by_hand(model, x, y), rel=1e-6)
    assert model.train_on_batch(x, y) == pytest.approx(_objective_by_hand(model, x, y), rel=1e-6)


@pytest.mark.parametrize("case", ["softmax_cce_weighted", "relu_linear_mse"])
def test_training_matches_keras_3(case):
    """Two epochs of SGD with penalties and constraints, against Keras 3.15.1 (float32)."""
    data = json.loads(FIXTURE.read_text())["cases"][case]
    model = model_from_json(data["model_json"])
    model.set_weights([np.array(w, dtype=np.float32) for w in data["initial_weights"]])
    model.compile(optimizer=minikeras.optimizers.get(data["optimizer"]), loss=data["loss"])
    x = np.array(data["x"], dtype=np.float32)
    y = np.array(data["y"], dtype=np.float32)
    sw = None if data["sample_weight"] is None else np.array(data["sample_weight"], dtype=np.float32)
    history = model.fit(x, y, sample_weight=sw, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], data["history_loss"], rtol=1e-5)
    assert model.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0) == \
        pytest.approx(data["evaluate_loss"], rel=1e-5)
    for got, expected in zip(model.get_weights(), data["final_weights"]):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_unregularized_models_do_no_extra_work_per_step():
    model = Sequential([Input((3,)), Dense(4), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    assert model._penalties is None and model._constrained == []


# -- Dense arguments, Keras 1 names, configs and files ------------------------------------------

def test_dense_config_is_keras_3s():
    layer = Dense(3, kernel_regularizer="l2", bias_regularizer=L1(0.1), activity_regularizer="l1",
                  kernel_constraint="max_norm", bias_constraint=constraints.NonNeg())
    config = layer.get_config()
    # As Keras 3.15.1 writes it (without its `quantization_config: null`).
    assert list(config) == ["name", "trainable", "dtype", "activity_regularizer", "units", "activation", "use_bias",
                            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                            "kernel_constraint", "bias_constraint"]
    assert config["activity_regularizer"] == {"module": "keras.regularizers", "class_name": "L1",
                                              "config": {"l1": 0.009999999776482582}, "registered_name": None}
    assert config["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                            "config": {"l2": 0.01}, "registered_name": None}
    assert config["bias_regularizer"]["config"] == {"l1": 0.10000000149011612}
    assert config["kernel_constraint"] == {"module": "keras.constraints", "class_name": "MaxNorm",
                                           "config": {"max_value": 2, "axis": 0}, "registered_name": None}
    assert config["bias_constraint"] == {"module": "keras.constraints", "class_name": "NonNeg", "config": {},
                                         "registered_name": None}
    again = Dense.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    assert "activity_regularizer" not in Dense(3).get_config()
    assert Dense(3).get_config()["kernel_regularizer"] is None


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [w for w in caught if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize(("old", "new"), [("W_regularizer", "kernel_regularizer"),
                                          ("b_regularizer", "bias_regularizer")])
def test_keras_1_regularizer_names_warn_once_and_work(old, new):
    layer, caught = _warnings_of(lambda: Dense(3, input_dim=2, **{old: L2(0.5)}))
    assert len(caught) == 1
    assert f"`{old}` is a Keras 1/2 argument of Dense; use `{new}` instead" in str(caught[0].message)
    assert caught[0].filename == __file__
    assert getattr(layer, new) == L2(0.5)
    assert layer.get_config()[new]["config"] == {"l2": 0.5}
    layer.build((None, 2))
    var = layer.kernel if new == "kernel_regularizer" else layer.bias
    assert var.regularizer == L2(0.5)
    with pytest.raises(TypeError, match=f"both the legacy argument `{old}` and its replacement `{new}`"):
        Dense(3, **{old: "l2", new: "l1"})


def test_h5_files_keep_regularizers_and_constraints(tmp_path):
    model = Sequential([
        Input((4,)),
        Dense(5, activation="tanh", kernel_regularizer=L1L2(0.01, 0.02), bias_regularizer="l1",
              activity_regularizer=OrthogonalRegularizer(0.1, "columns"),
              kernel_constraint=constraints.MinMaxNorm(0.2, 0.9, 0.5), bias_constraint="non_neg"),
        Dense(3, activation="softmax", kernel_constraint="unit_norm", kernel_regularizer="l2",
              activity_regularizer="l2"),
    ])
    model.compile(optimizer=SGD(learning_rate=0.1, momentum=0.9), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=12)]
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "regularized.h5"
    model.save(path)

    loaded = load_model(path)
    assert loaded.get_config() == model.get_config()
    dense = loaded.layers[0]
    assert dense.kernel.regularizer == L1L2(0.01, 0.02) and dense.bias.regularizer == L1()
    assert dense.activity_regularizer == OrthogonalRegularizer(0.1, "columns")
    assert dense.kernel.constraint == constraints.MinMaxNorm(0.2, 0.9, 0.5)
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    # Training goes on exactly as in the original model, constraints included.
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model_from_json(model.to_json()).get_config() == model.get_config()
