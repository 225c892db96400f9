"""Constraints: Keras 3's projections (epsilon placement included), applied after each update."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from minikeras import constraints
from minikeras.callbacks import Callback
from minikeras.constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm
from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import SGD

FIXTURE = Path(__file__).parent / "fixtures" / "keras3" / "regularizers.json"
EPS = 1e-7


def _norms(w, axis=0):
    return np.sqrt(np.sum(w * w, axis=axis, keepdims=True))


# -- names, defaults, configs -----------------------------------------------------------------

def test_keras_3_names_and_defaults():
    assert constraints.get("max_norm") == MaxNorm(2, 0) and constraints.get("MaxNorm").get_config() == {
        "max_value": 2, "axis": 0}
    assert constraints.get("min_max_norm").get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0,
                                                            "axis": 0}
    assert constraints.get("non_neg") == NonNeg() and constraints.get("NonNeg") == NonNeg()
    assert constraints.get("unit_norm").get_config() == {"axis": 0}
    assert constraints.max_norm is MaxNorm and constraints.unit_norm is UnitNorm
    assert constraints.get(None) is None
    assert type(constraints.get(UnitNorm)) is UnitNorm


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match=r"Unknown constraint 'max_nrom'\. Did you mean 'max_norm'\?"):
        constraints.get("max_nrom")


CONSTRAINTS = [MaxNorm(), MaxNorm(1.5, axis=1), MinMaxNorm(), MinMaxNorm(0.5, 2.0, rate=0.6, axis=[0, 1]),
               NonNeg(), UnitNorm(), UnitNorm(axis=-1)]


@pytest.mark.parametrize("con", CONSTRAINTS, ids=repr)
def test_configs_round_trip_through_json_in_keras_schema(con):
    config = json.loads(json.dumps(constraints.serialize(con)))
    assert config == {"module": "keras.constraints", "class_name": type(con).__name__,
                      "config": con.get_config(), "registered_name": None}
    assert constraints.deserialize(config) == con
    assert constraints.get({"class_name": type(con).__name__, "config": con.get_config()}) == con


@pytest.mark.parametrize(("make", "message"), [
    (lambda: MaxNorm(-1), r"`max_value` to be a non-negative finite number\. Received: max_value=-1"),
    (lambda: MaxNorm(axis="0"), r"`axis` to be an integer or a list of integers, e\.g\. axis=0\. Received: axis='0'"),
    (lambda: UnitNorm(axis=True), r"Received: axis=True"),
    (lambda: MinMaxNorm(2.0, 1.0), r"`min_value` <= `max_value`\. Received: min_value=2\.0, max_value=1\.0"),
    (lambda: MinMaxNorm(rate=1.5), r"`rate` in \[0, 1\]\. Received: rate=1\.5"),
])
def test_bad_arguments_fail_when_created(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- projections ------------------------------------------------------------------------------

def test_max_norm_formula_with_keras_epsilon_placement(rng):
    w = rng.normal(size=(4, 3)) * np.array([0.1, 1.0, 3.0])
    n = _norms(w)
    expected = w * np.clip(n, 0, 2.0) / (EPS + n)
    np.testing.assert_allclose(MaxNorm()(w), expected, rtol=1e-15)
    out = MaxNorm()(w)
    assert np.all(_norms(out) <= 2.0)
    # A column already inside the bound still shrinks by n / (eps + n), as in Keras 3.
    assert _norms(out)[0, 0] < n[0, 0]
    np.testing.assert_allclose(_norms(out)[0, 0], n[0, 0] ** 2 / (EPS + n[0, 0]), rtol=1e-14)


def test_min_max_norm_formula(rng):
    w = rng.normal(size=(4, 3)) * np.array([0.05, 1.0, 3.0])
    n = _norms(w)
    for rate in (1.0, 0.3):
        desired = rate * np.clip(n, 0.5, 2.0) + (1 - rate) * n
        np.testing.assert_allclose(MinMaxNorm(0.5, 2.0, rate)(w), w * desired / (EPS + n), rtol=1e-15)
    out = MinMaxNorm(0.5, 2.0)(w)
    assert np.all(_norms(out) >= 0.5 - 1e-6) and np.all(_norms(out) <= 2.0)


def test_unit_norm_and_non_neg(rng):
    w = rng.normal(size=(4, 3))
    np.testing.assert_allclose(UnitNorm()(w), w / (EPS + _norms(w)), rtol=1e-15)
    np.testing.assert_allclose(_norms(UnitNorm()(w)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(_norms(UnitNorm(axis=1)(w), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.sum(UnitNorm(axis=[0, 1])(w) ** 2)), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(NonNeg()(w), np.maximum(w, 0))
    np.testing.assert_array_equal(Constraint()(w), w)


def test_projections_keep_float32():
    w = np.ones((3, 2), dtype=np.float32) * 5
    for con in (MaxNorm(), MinMaxNorm(), UnitNorm(), NonNeg()):
        assert con(w).dtype == np.float32


def test_projections_match_keras_3():
    data = json.loads(FIXTURE.read_text())["constraints"]
    w = np.array(data["w"], dtype=np.float32)
    for name, value in data["values"].items():
        con = constraints.deserialize(data["configs"][name])
        assert constraints.serialize(con) == data["configs"][name]
        np.testing.assert_allclose(con(w), value, rtol=1e-5, atol=1e-7, err_msg=name)


def test_axis_beyond_the_weight_fails_when_the_weight_is_created():
    with pytest.raises(ValueError, match=r"MaxNorm\(axis=1\) cannot constrain a weight of shape \(3,\)"):
        Sequential([Input((2,)), Dense(3, bias_constraint=MaxNorm(axis=1))])


# -- applied after each update ---------------------------------------------------------------------

def _data(rng):
    x = rng.normal(size=(8, 4)).astype(np.float32)
    return x, rng.normal(size=(8, 3)).astype(np.float32)


def test_constraints_project_each_update(rng):
    """After each step the weight is the projection of what the optimizer alone would give."""
    x, y = _data(rng)
    kernel_c, bias_c = MaxNorm(0.5), MinMaxNorm(0.2, 0.3, rate=0.5)
    plain = Sequential([Input((4,)), Dense(3)])
    constrained = Sequential([Input((4,)), Dense(3, kernel_constraint=kernel_c, bias_constraint=bias_c)])
    for model in (plain, constrained):
        model.compile(optimizer=SGD(learning_rate=0.5), loss="mse")
    constrained.set_weights([w * 10 for w in plain.get_weights()])
    for _ in range(3):
        plain.set_weights(constrained.get_weights())
        plain.train_on_batch(x, y)
        constrained.train_on_batch(x, y)
        kernel, bias = plain.get_weights()
        np.testing.assert_array_equal(constrained.layers[0].kernel.value, kernel_c(kernel))
        np.testing.assert_array_equal(constrained.layers[0].bias.value, bias_c(bias))
    assert np.all(_norms(constrained.layers[0].kernel.value) <= 0.5)


def test_fit_applies_constraints_after_every_batch(rng):
    x, y = _data(rng)
    model = Sequential([Input((4,)), Dense(3, kernel_constraint="non_neg", bias_constraint="non_neg")])
    model.compile(optimizer=SGD(learning_rate=1.0), loss="mse")
    seen = []

    class Watcher(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(min(float(v.value.min()) for v in self.model.weights))

    model.fit(x, -np.abs(y) * 10, batch_size=2, epochs=2, verbose=0, callbacks=[Watcher()])
    assert len(seen) == 8 and min(seen) >= 0.0


def test_frozen_weights_are_not_projected(rng):
    x, y = _data(rng)
    layer = Dense(3, kernel_constraint=UnitNorm())
    model = Sequential([Input((4,)), layer, Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    layer.kernel.assign(np.full((4, 3), 2.0))
    layer.trainable = False
    model.fit(x, y, verbose=0)
    np.testing.assert_array_equal(layer.kernel.value, 2.0)
    layer.trainable = True
    model.compile(optimizer="sgd", loss="mse")  # as in Keras, a change of trainable weights needs a compile
    model.fit(x, y, verbose=0)
    np.testing.assert_allclose(_norms(layer.kernel.value), 1.0, rtol=1e-6)


def test_functions_and_custom_constraints(rng):
    x, y = _data(rng)

    def clip(w):
        return np.clip(w, -0.1, 0.1)

    model = Sequential([Input((4,)), Dense(3, kernel_constraint=clip, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, verbose=0)
    assert np.abs(model.layers[0].kernel.value).max() <= 0.1
    with pytest.raises(TypeError, match=r"Cannot serialize the constraint .*subclass minikeras\.constraints\.Constraint"):
        model.get_config()

    def reshape(w):
        return w.ravel()

    bad = Sequential([Input((4,)), Dense(3, kernel_constraint=reshape)])
    bad.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"Cannot assign a value of shape \(12,\) to weight .*of shape \(4, 3\)"):
        bad.fit(x, y, verbose=0)

    class Half(Constraint):
        def __call__(self, w):
            return w.reshape(-1)

    with pytest.raises(ValueError, match=r"Half returned an array of shape \(12,\) for a weight of shape \(4, 3\)"):
        Half().apply_inplace(np.ones((4, 3)))


# -- Keras 1 names ------------------------------------------------------------------------------

def _deprecations(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize(("old", "new"), [("W_constraint", "kernel_constraint"), ("b_constraint", "bias_constraint")])
def test_keras_1_constraint_arguments_warn_once_and_work(old, new):
    layer, messages = _deprecations(lambda: Dense(3, **{old: NonNeg()}))
    assert messages == [f"`{old}` is a Keras 1/2 argument of Dense; use `{new}` instead (`{new}=NonNeg()`)."]
    assert getattr(layer, new) == NonNeg()
    layer.build((None, 2))
    assert (layer.kernel if old == "W_constraint" else layer.bias).constraint == NonNeg()
    with pytest.raises(TypeError, match=f"both the legacy argument `{old}` and its replacement `{new}`"):
        Dense(3, **{old: "non_neg", new: "non_neg"})


@pytest.mark.parametrize(("old", "new", "cls"), [("maxnorm", "max_norm", MaxNorm), ("nonneg", "non_neg", NonNeg),
                                                 ("unitnorm", "unit_norm", UnitNorm)])
def test_keras_1_constraint_names_warn_and_resolve(old, new, cls):
    con, messages = _deprecations(lambda: constraints.get(old))
    assert messages == [f"`'{old}'` is the Keras 1 name of a constraint; use `'{new}'` instead."]
    assert type(con) is cls
    con, messages = _deprecations(lambda: getattr(constraints, old)())
    assert type(con) is cls and len(messages) == 1


def test_keras_1_maxnorm_function_takes_m():
    con, messages = _deprecations(lambda: constraints.maxnorm(m=3, axis=1))
    assert con == MaxNorm(3, axis=1)
    assert messages == ["`maxnorm(m=...)` is the Keras 1 name of a constraint; use `max_norm(max_value=...)` instead."]
