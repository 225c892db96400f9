"""SGD: hand-worked updates, momentum rules, legacy arguments, look-up, config and state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minikeras import backend, optimizers
from minikeras.layers import Dense, Input, Variable
from minikeras.models import Sequential, load_model
from minikeras.optimizers import SGD


def _one_unit_model(kernel, bias, lr):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer=SGD(learning_rate=lr), loss="mse")
    model.set_weights([np.array(kernel, dtype=float).reshape(2, 1), np.array(bias, dtype=float)])
    return model


# -- one step, by hand ----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["train_on_batch", "fit"])
def test_one_sgd_step_worked_by_hand(float64, how):
    # A Dense layer with one unit on two inputs: y_hat = w1 x1 + w2 x2 + b.
    # Weights w = (0.5, -0.3), b = 0.1. One sample x = (2.0, 1.0) with target y = 2.0.
    #
    # Prediction:     y_hat = 0.5 * 2.0 + (-0.3) * 1.0 + 0.1 = 0.8
    # Error:          y_hat - y = 0.8 - 2.0 = -1.2
    # Loss (MSE):     (-1.2)^2 / (N k) = 1.44 / 1 = 1.44      (N = 1 sample, k = 1 output)
    # dL/dy_hat:      2 (y_hat - y) / (N k) = -2.4
    # dL/dw1 = -2.4 * x1 = -4.8,   dL/dw2 = -2.4 * x2 = -2.4,   dL/db = -2.4
    # Update with learning rate 0.1, w <- w - 0.1 * dL/dw:
    #   w1 = 0.5 - 0.1 * (-4.8) = 0.98
    #   w2 = -0.3 - 0.1 * (-2.4) = -0.06
    #   b  = 0.1 - 0.1 * (-2.4) = 0.34
    # New prediction: 0.98 * 2.0 + (-0.06) * 1.0 + 0.34 = 2.24; new loss (2.24 - 2.0)^2 = 0.0576.
    model = _one_unit_model([0.5, -0.3], [0.1], lr=0.1)
    x = np.array([[2.0, 1.0]])
    y = np.array([[2.0]])
    assert model.predict(x, verbose=0)[0, 0] == pytest.approx(0.8, abs=1e-12)

    if how == "train_on_batch":
        loss = model.train_on_batch(x, y)
    else:
        loss = model.fit(x, y, epochs=1, batch_size=1, shuffle=False, verbose=0).history["loss"][0]
    assert loss == pytest.approx(1.44, abs=1e-12)

    kernel, bias = model.get_weights()
    assert kernel.dtype == np.float64
    np.testing.assert_allclose(kernel, [[0.98], [-0.06]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(bias, [0.34], rtol=0, atol=1e-12)
    assert model.predict(x, verbose=0)[0, 0] == pytest.approx(2.24, abs=1e-12)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(0.0576, abs=1e-12)
    assert model.optimizer.iterations == 1


def test_one_sgd_step_on_a_batch_of_two_worked_by_hand(float64):
    # Same layer, w = (0.5, -0.3), b = 0.1, batch of N = 2 samples:
    #   x_a = (2.0, 1.0), y_a = 2.0:  y_hat_a = 0.8,  error -1.2
    #   x_b = (1.0, 0.0), y_b = 0.0:  y_hat_b = 0.5 + 0.1 = 0.6,  error 0.6
    # Loss: (1.44 + 0.36) / 2 = 0.9
    # dL/dy_hat = 2 * error / N = (-1.2, 0.6)
    # dL/dw1 = 2.0 * -1.2 + 1.0 * 0.6 = -1.8;  dL/dw2 = 1.0 * -1.2 + 0.0 * 0.6 = -1.2;  dL/db = -1.2 + 0.6 = -0.6
    # With learning rate 0.1: w1 = 0.5 + 0.18 = 0.68, w2 = -0.3 + 0.12 = -0.18, b = 0.1 + 0.06 = 0.16
    model = _one_unit_model([0.5, -0.3], [0.1], lr=0.1)
    x = np.array([[2.0, 1.0], [1.0, 0.0]])
    y = np.array([[2.0], [0.0]])
    history = model.fit(x, y, epochs=1, batch_size=2, shuffle=False, verbose=0)
    assert history.history["loss"] == [pytest.approx(0.9, abs=1e-12)]
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, [[0.68], [-0.18]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(bias, [0.16], rtol=0, atol=1e-12)


# -- momentum -------------------------------------------------------------------------------

# Keras 3's rule: m = momentum * m - lr * g;  plain: w += m;  nesterov: w += momentum * m - lr * g.
# With w0 = (1.0, -2.0), a fixed gradient g = (0.5, -1.0), lr = 0.1 and momentum = 0.9:
#   step 1: m1 = 0.9 * 0 - 0.1 * g = (-0.05, 0.1)
#           plain:    w1 = w0 + m1 = (0.95, -1.9)
#           nesterov: w1 = w0 + 0.9 * m1 - 0.1 * g = (1 - 0.045 - 0.05, -2 + 0.09 + 0.1) = (0.905, -1.81)
#   step 2: m2 = 0.9 * m1 - 0.1 * g = (-0.045 - 0.05, 0.09 + 0.1) = (-0.095, 0.19)
#           plain:    w2 = w1 + m2 = (0.855, -1.71)
#           nesterov: w2 = w1 + 0.9 * m2 - 0.1 * g = (0.905 - 0.0855 - 0.05, -1.81 + 0.171 + 0.1)
#                        = (0.7695, -1.539)
@pytest.mark.parametrize(("nesterov", "w1", "w2"), [
    pytest.param(False, [0.95, -1.9], [0.855, -1.71], id="plain"),
    pytest.param(True, [0.905, -1.81], [0.7695, -1.539], id="nesterov"),
])
def test_momentum_two_steps_on_a_fixed_gradient(float64, nesterov, w1, w2):
    var = Variable(np.array([1.0, -2.0]), "w", "test/w")
    opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov)
    g = np.array([0.5, -1.0])

    var.grad[...] = g
    opt.apply([var])
    np.testing.assert_allclose(var.value, w1, rtol=0, atol=1e-12)
    iteration, lr, m = opt.get_weights()
    assert int(iteration) == 1 and float(lr) == 0.1
    np.testing.assert_allclose(m, [-0.05, 0.1], rtol=0, atol=1e-12)

    var.grad[...] = g  # the update may consume the gradient buffer
    opt.apply([var])
    np.testing.assert_allclose(var.value, w2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(opt.get_weights()[2], [-0.095, 0.19], rtol=0, atol=1e-12)
    assert opt.iterations == 2
    assert opt.variable_names == ["iteration", "learning_rate", "test_w_momentum"]


def test_plain_sgd_has_no_momentum_state(float64):
    var = Variable(np.array([1.0, -2.0]), "w", "test/w")
    opt = SGD(learning_rate=0.1)
    var.grad[...] = [0.5, -1.0]
    opt.apply([var])
    np.testing.assert_allclose(var.value, [0.95, -1.9], rtol=0, atol=1e-12)
    assert opt.variable_names == ["iteration", "learning_rate"]
    assert len(opt.get_weights()) == 2


# -- legacy and invalid arguments -----------------------------------------------------------

def test_lr_is_a_deprecated_alias_of_learning_rate():
    with pytest.warns(DeprecationWarning, match="learning_rate") as record:
        opt = SGD(lr=0.5)
    assert len(record) == 1
    assert "`lr`" in str(record[0].message)
    assert opt.learning_rate == 0.5
    assert opt.get_config()["learning_rate"] == 0.5


def test_lr_and_learning_rate_together_are_an_error():
    with pytest.raises(TypeError, match="both the legacy argument `lr` and its replacement `learning_rate`"):
        SGD(learning_rate=0.2, lr=0.5)


def test_decay_warns():
    with pytest.warns(DeprecationWarning, match="decay") as record:
        opt = SGD(decay=0.1)
    assert len(record) == 1
    assert "InverseTimeDecay" in str(record[0].message)
    assert opt.learning_rate == pytest.approx(0.01, rel=1e-7)


def test_zero_decay_is_accepted_silently():
    # Keras 2 configs carry decay=0.0; under filterwarnings=error any warning would fail here.
    opt = SGD(learning_rate=0.1, decay=0.0)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.1, rel=1e-7)


def test_decay_divides_the_learning_rate_by_one_plus_decay_times_iterations(float64):
    with pytest.warns(DeprecationWarning, match="decay"):
        opt = SGD(learning_rate=0.1, decay=0.1)
    model = Sequential([Input((2,)), Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=opt, loss="mse")
    x = np.array([[1.0, 0.5]])
    y = np.array([[1.0]])
    for t in range(3):
        expected_lr = 0.1 / (1.0 + 0.1 * t)  # t = 0: the plain learning rate
        assert opt.learning_rate == pytest.approx(expected_lr, rel=1e-6)
        (w_before,) = model.get_weights()
        # MSE on one sample and one output: dL/dw = 2 (w . x - y) x.
        grad = 2.0 * (x @ w_before - y)[0, 0] * x[0]
        model.train_on_batch(x, y)
        (w_after,) = model.get_weights()
        effective_lr = (w_before[:, 0] - w_after[:, 0]) / grad
        np.testing.assert_allclose(effective_lr, [expected_lr, expected_lr], rtol=1e-6)
    assert opt.iterations == 3
    assert opt.learning_rate == pytest.approx(0.1 / 1.3, rel=1e-6)


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match=r"SGD received unknown keyword argument\(s\): `momentun`"):
        SGD(learning_rate=0.1, momentun=0.9)


@pytest.mark.parametrize("momentum", [-0.1, 1.5])
def test_momentum_outside_zero_one_is_a_value_error(momentum):
    with pytest.raises(ValueError, match=r"`momentum` in \[0, 1\]"):
        SGD(momentum=momentum)


@pytest.mark.parametrize("momentum", [0.0, 1.0])
def test_momentum_at_the_bounds_is_accepted(momentum):
    assert SGD(momentum=momentum).momentum == momentum


# -- look-up and configs --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "SGD"])
def test_get_by_name(name):
    opt = optimizers.get(name)
    assert type(opt) is SGD
    assert opt.learning_rate == pytest.approx(0.01, rel=1e-7)
    assert optimizers.get(name) is not opt  # each look-up is a fresh optimizer with its own state


def test_get_returns_an_optimizer_instance_unchanged():
    opt = SGD(learning_rate=0.3)
    assert optimizers.get(opt) is opt


def test_get_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamm'.*Known optimizer names: .*SGD.*sgd"):
        optimizers.get("adamm")


def test_config_round_trips_through_json():
    opt = SGD(learning_rate=0.05, momentum=0.9, nesterov=True, name="my_sgd")
    config = opt.get_config()
    assert config["name"] == "my_sgd"
    assert config["momentum"] == 0.9 and config["nesterov"] is True
    assert config["learning_rate"] == pytest.approx(0.05, rel=1e-7)

    restored = SGD.from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config
    via_registry = optimizers.get(json.loads(json.dumps(optimizers.serialize(opt))))
    assert type(via_registry) is SGD
    assert via_registry.get_config() == config


def test_config_with_decay_round_trips_through_json():
    with pytest.warns(DeprecationWarning, match="decay"):
        opt = SGD(learning_rate=0.1, decay=0.5)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "InverseTimeDecay"
    restored = SGD.from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config
    restored.iterations = 2
    assert restored.learning_rate == pytest.approx(0.1 / (1.0 + 0.5 * 2), rel=1e-6)


# -- optimizer state ------------------------------------------------------------------------

def _small_model():
    model = Sequential([Input((3,)), Dense(4, activation="tanh"), Dense(2)])
    model.compile(optimizer=SGD(learning_rate=0.1, momentum=0.9), loss="mse")
    return model


def test_state_round_trips_through_get_and_set_weights(rng):
    x = rng.normal(size=(8, 3))
    y = rng.normal(size=(8, 2))
    source = _small_model()
    for _ in range(3):
        source.train_on_batch(x, y)
    state = source.optimizer.get_weights()
    assert int(state[0]) == 3
    assert len(state) == len(source.optimizer.variable_names) == 2 + 4
    assert any(np.abs(s).max() > 0 for s in state[2:])  # the momenta are not trivially zero

    restored = _small_model()
    restored.set_weights(source.get_weights())
    restored.optimizer.build(restored.trainable_weights)
    restored.optimizer.set_weights(state)
    for a, b in zip(restored.optimizer.get_weights(), state):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)

    fresh = _small_model()
    fresh.set_weights(source.get_weights())

    for model in (source, restored, fresh):
        model.train_on_batch(x, y)
    for a, b in zip(restored.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Without the restored momenta the same step lands elsewhere.
    assert not all(np.allclose(a, b) for a, b in zip(fresh.get_weights(), source.get_weights()))


def test_set_weights_rejects_a_wrong_number_of_arrays(rng):
    model = _small_model()
    model.train_on_batch(rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    state = model.optimizer.get_weights()
    with pytest.raises(ValueError, match="expects 6 state arrays"):
        model.optimizer.set_weights(state[:-1])


# -- dtypes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("nesterov", [False, True])
def test_float32_by_default(rng, nesterov):
    assert backend.floatx() == "float32"
    model = Sequential([Input((3,)), Dense(4, activation="relu"), Dense(2)])
    model.compile(optimizer=SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov), loss="mse")
    model.fit(rng.normal(size=(16, 3)), rng.normal(size=(16, 2)), epochs=2, batch_size=4, verbose=0)
    assert model.optimizer.iterations == 8
    for w in model.get_weights():
        assert w.dtype == np.float32
    iteration, lr, *slots = model.optimizer.get_weights()
    assert iteration.dtype == np.int64
    assert lr.dtype == np.float32
    assert model.optimizer.learning_rate == float(np.float32(0.1))
    assert len(slots) == 4
    for slot in slots:
        assert slot.dtype == np.float32
    assert model.predict(rng.normal(size=(2, 3)), verbose=0).dtype == np.float32


def test_learning_rate_follows_floatx_like_keras(float64):
    # Keras 3 keeps the learning rate in a variable of dtype floatx().
    opt = SGD(learning_rate=0.1)
    assert opt.learning_rate == 0.1
    assert opt.get_weights()[1].dtype == np.float64
    opt.learning_rate = 0.3
    assert opt.learning_rate == 0.3


# -- Adam -----------------------------------------------------------------------------------
def _adam_reference(w, grads, lr=0.01, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    """Keras 3's Adam rule written out directly, in float64."""
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    v_hat = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        used = v
        if amsgrad:
            v_hat = np.maximum(v_hat, v)
            used = v_hat
        w = w - alpha * m / (np.sqrt(used) + eps)
    return w


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_keras3_rule(amsgrad):
    backend.set_floatx("float64")
    rng = np.random.default_rng(3)
    start = rng.normal(size=(3, 2))
    # Large then small gradients, so AMSGrad's running maximum matters.
    grads = [rng.normal(size=(3, 2)) * scale for scale in (3.0, 0.1, 0.1, 2.0)]
    var = Variable(start.copy(), "kernel", "m/d/kernel")
    opt = optimizers.Adam(learning_rate=0.01, amsgrad=amsgrad)
    for g in grads:
        var.grad[...] = g
        opt.apply([var])
    np.testing.assert_allclose(var.value, _adam_reference(start, grads, amsgrad=amsgrad), rtol=1e-12, atol=1e-15)
    assert opt.iterations == 4
    expected_names = ["iteration", "learning_rate", "m_d_kernel_momentum", "m_d_kernel_velocity"]
    if amsgrad:
        expected_names.append("m_d_kernel_velocity_hat")
    assert opt.variable_names == expected_names


def test_adam_by_name_and_config_round_trip():
    opt = optimizers.get("adam")
    assert isinstance(opt, optimizers.Adam) and opt.name == "adam"
    assert opt.learning_rate == pytest.approx(0.001)
    custom = optimizers.Adam(learning_rate=0.02, beta_1=0.8, amsgrad=True)
    config = json.loads(json.dumps(optimizers.serialize(custom)))
    clone = optimizers.deserialize(config)
    assert clone.get_config() == custom.get_config()
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Adam(beta_1=1.0)


def test_adam_trains_in_float32_and_resumes_from_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")
    model = Sequential([Input((4,)), Dense(8, activation="tanh"), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    first = model.fit(x, y, epochs=5, batch_size=16, verbose=0).history["loss"]
    assert first[-1] < first[0]
    assert all(w.dtype == np.float32 for w in model.optimizer.get_weights()[1:])
    model.save(tmp_path / "m.h5")
    restored = load_model(tmp_path / "m.h5")
    assert restored.optimizer.iterations == model.optimizer.iterations == 20
    for a, b in zip(restored.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(), lambda: SGD(momentum=0.9)])
def test_slots_never_decay_into_subnormal_numbers(make):
    var = Variable(np.ones((4,), dtype=np.float32), "kernel", "m/d/kernel")
    opt = make()
    var.grad[...] = 1.0
    opt.apply([var])
    for _ in range(3000):  # zero gradients: the averages decay geometrically
        var.grad[...] = 0.0
        opt.apply([var])
    tiny = np.finfo(np.float32).tiny
    for slot in opt.get_weights()[2:]:
        assert np.all((slot == 0) | (np.abs(slot) >= tiny)), slot


# == Keras 3's other optimizers =============================================================
# Each reference below is the update rule written out directly from Keras 3's formulas, in
# float64, one step at a time; the optimizers must reproduce them to rounding error.

def _rmsprop_reference(w, grads, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    v, mom, mg = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        if centered:
            mg = rho * mg + (1 - rho) * g
            den = v - mg * mg + eps
        else:
            den = v + eps
        inc = lr * g / np.sqrt(den)  # epsilon inside the square root
        if momentum > 0:
            mom = momentum * mom + inc
            w = w - mom
        else:
            w = w - inc
    return w


def _adagrad_reference(w, grads, lr, initial=0.1, eps=1e-7):
    acc = np.full_like(w, initial)
    for g in grads:
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
    return w


def _adadelta_reference(w, grads, lr, rho=0.95, eps=1e-7):
    eg, ed = np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        eg = rho * eg + (1 - rho) * g * g
        d = -np.sqrt(ed + eps) * g / np.sqrt(eg + eps)
        ed = rho * ed + (1 - rho) * d * d
        w = w + lr * d
    return w


def _adamax_reference(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    m, u = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - b1)
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr * m / ((1 - b1**t) * (u + eps))
    return w


def _nadam_reference(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    m, v, u_prod = np.zeros_like(w), np.zeros_like(w), 1.0
    for t, g in enumerate(grads, start=1):
        u_t = b1 * (1 - 0.5 * 0.96**t)
        u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_prod = u_prod * u_t
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - u_prod * u_t1) + (1 - u_t) * g / (1 - u_prod)
        v_hat = v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def _sgd_reference(w, grads, lr, momentum=0.0, nesterov=False):
    m = np.zeros_like(w)
    for g in grads:
        if not momentum:
            w = w - lr * g
            continue
        m = momentum * m - lr * g
        w = w + (momentum * m - lr * g if nesterov else m)
    return w


REFERENCE_CASES = [
    ("RMSprop", {"learning_rate": 0.05}, _rmsprop_reference, {"lr": 0.05}),
    ("RMSprop", {"learning_rate": 0.05, "rho": 0.5, "momentum": 0.8}, _rmsprop_reference,
     {"lr": 0.05, "rho": 0.5, "momentum": 0.8}),
    ("RMSprop", {"learning_rate": 0.05, "centered": True, "epsilon": 1e-3}, _rmsprop_reference,
     {"lr": 0.05, "centered": True, "eps": 1e-3}),
    ("RMSprop", {"learning_rate": 0.05, "momentum": 0.5, "centered": True}, _rmsprop_reference,
     {"lr": 0.05, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.1}, _adagrad_reference, {"lr": 0.1}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "epsilon": 1e-3}, _adagrad_reference,
     {"lr": 0.1, "initial": 0.0, "eps": 1e-3}),
    ("Adadelta", {"learning_rate": 1.0}, _adadelta_reference, {"lr": 1.0}),
    ("Adadelta", {"learning_rate": 0.5, "rho": 0.6, "epsilon": 1e-4}, _adadelta_reference,
     {"lr": 0.5, "rho": 0.6, "eps": 1e-4}),
    ("Adamax", {"learning_rate": 0.1}, _adamax_reference, {"lr": 0.1}),
    ("Adamax", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.6, "epsilon": 1e-3}, _adamax_reference,
     {"lr": 0.1, "b1": 0.5, "b2": 0.6, "eps": 1e-3}),
    ("Nadam", {"learning_rate": 0.1}, _nadam_reference, {"lr": 0.1}),
    ("Nadam", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 1e-3}, _nadam_reference,
     {"lr": 0.1, "b1": 0.5, "b2": 0.8, "eps": 1e-3}),
    ("Adam", {"learning_rate": 0.1, "beta_2": 0.5, "amsgrad": True}, None, None),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.7, "nesterov": True}, _sgd_reference,
     {"lr": 0.1, "momentum": 0.7, "nesterov": True}),
]


@pytest.mark.parametrize(("class_name", "kwargs", "reference", "ref_kwargs"), REFERENCE_CASES,
                         ids=[f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items())}" for c in REFERENCE_CASES])
def test_every_optimizer_matches_its_rule_written_out(float64, class_name, kwargs, reference, ref_kwargs):
    rng = np.random.default_rng(7)
    start = rng.normal(size=(3, 2))
    # Large, small, sign-flipping and zero gradients: maxima, averages and momenta all matter.
    grads = [rng.normal(size=(3, 2)) * s for s in (3.0, 0.1, -1.0, 0.0, 2.0)]
    var = Variable(start.copy(), "kernel", "m/d/kernel")
    opt = getattr(optimizers, class_name)(**kwargs)
    for g in grads:
        var.grad[...] = g
        opt.apply([var])
    if reference is None:  # Adam's own reference lives above
        expected = _adam_reference(start, grads, lr=0.1, b2=0.5, amsgrad=True)
    else:
        expected = reference(start, grads, **ref_kwargs)
    np.testing.assert_allclose(var.value, expected, rtol=1e-12, atol=1e-14)
    assert opt.iterations == len(grads)


def test_rmsprop_two_steps_worked_by_hand(float64):
    # rho = 0.75, epsilon = 0, lr = 0.1, w0 = 1.0, g = 2.0 then g = -2.0:
    #   step 1: v = 0.25 * 4 = 1.0;            w = 1.0 - 0.1 * 2 / sqrt(1.0) = 0.8
    #   step 2: v = 0.75 * 1 + 0.25 * 4 = 1.75; w = 0.8 + 0.1 * 2 / sqrt(1.75)
    var = Variable(np.array([1.0]), "w", "t/w")
    opt = optimizers.RMSprop(learning_rate=0.1, rho=0.75, epsilon=0.0)
    var.grad[...] = 2.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(0.8, abs=1e-15)
    var.grad[...] = -2.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(0.8 + 0.2 / np.sqrt(1.75), abs=1e-15)
    assert opt.get_weights()[2][0] == pytest.approx(1.75, abs=1e-15)


def test_adagrad_two_steps_worked_by_hand(float64):
    # initial_accumulator_value = 3, epsilon = 0, lr = 0.1, w0 = 1.0, g = 1.0 then 3.0:
    #   step 1: acc = 3 + 1 = 4;   w = 1.0 - 0.1 * 1 / 2 = 0.95
    #   step 2: acc = 4 + 9 = 13;  w = 0.95 - 0.1 * 3 / sqrt(13)
    var = Variable(np.array([1.0]), "w", "t/w")
    opt = optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=3.0, epsilon=0.0)
    var.grad[...] = 1.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(0.95, abs=1e-15)
    var.grad[...] = 3.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(0.95 - 0.3 / np.sqrt(13.0), abs=1e-15)
    assert opt.variable_names == ["iteration", "learning_rate", "t_w_accumulator"]


def test_adadelta_one_step_worked_by_hand(float64):
    # rho = 0.5, epsilon = 1, lr = 0.1, w0 = 1.0, g = 2.0, both averages start at 0:
    #   Eg = 0.5 * 4 = 2;  d = -sqrt(0 + 1) * 2 / sqrt(2 + 1) = -2/sqrt(3)
    #   Ed = 0.5 * d^2 = 2/3;  w = 1 + 0.1 * d
    var = Variable(np.array([1.0]), "w", "t/w")
    opt = optimizers.Adadelta(learning_rate=0.1, rho=0.5, epsilon=1.0)
    var.grad[...] = 2.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(1.0 - 0.2 / np.sqrt(3.0), abs=1e-15)
    _, _, eg, ed = opt.get_weights()
    assert (eg[0], ed[0]) == (pytest.approx(2.0, abs=1e-15), pytest.approx(2.0 / 3.0, abs=1e-15))
    assert opt.variable_names[2:] == ["t_w_accumulated_grad", "t_w_accumulated_delta_var"]


def test_adamax_first_step_moves_by_the_learning_rate(float64):
    # Step 1: m = (1 - b1) g, u = |g|, w -= lr * m / ((1 - b1) * (u + eps)) = lr * g / (|g| + eps).
    var = Variable(np.array([1.0, 1.0]), "w", "t/w")
    opt = optimizers.Adamax(learning_rate=0.1, epsilon=0.0)
    var.grad[...] = [5.0, -0.01]
    opt.apply([var])
    np.testing.assert_allclose(var.value, [0.9, 1.1], rtol=0, atol=1e-15)
    # Step 2 with g = 0: m = 0.9 m, u = 0.999 u, correction 1 - 0.81 = 0.19.
    var.grad[...] = 0.0
    opt.apply([var])
    step = 0.1 * 0.9 * 0.1 / (0.19 * 0.999)  # lr * (0.9 * 0.1 g) / (0.19 * 0.999 |g|), per unit sign(g)
    np.testing.assert_allclose(var.value, [0.9 - step, 1.1 + step], rtol=0, atol=1e-14)


def test_nadam_first_step_worked_by_hand(float64):
    # u_1 = 0.9 (1 - 0.5 * 0.96) = 0.468,  u_2 = 0.9 (1 - 0.5 * 0.9216) = 0.48528,  u_prod = 0.468
    # m = 0.1 g, v = 0.001 g^2, v_hat = g^2
    # m_hat = 0.48528 * 0.1 g / (1 - 0.468 * 0.48528) + (1 - 0.468) g / (1 - 0.468)
    #       = g * (0.048528 / 0.77288896 + 1)
    # w -= lr * m_hat / (|g| + eps), with eps = 0: w -= lr * sign(g) * (1 + 0.048528 / 0.77288896)
    var = Variable(np.array([1.0]), "w", "t/w")
    opt = optimizers.Nadam(learning_rate=0.1, epsilon=0.0)
    var.grad[...] = 3.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(1.0 - 0.1 * (1 + 0.048528 / 0.77288896), abs=1e-14)
    assert opt.variable_names == ["iteration", "learning_rate", "t_w_momentum", "t_w_velocity", "variable"]
    assert float(opt.get_weights()[-1]) == pytest.approx(0.468, abs=1e-15)  # u_prod


def test_state_order_follows_keras():
    kernel = Variable(np.zeros((2, 2), dtype=np.float32), "kernel", "s/d/kernel")
    bias = Variable(np.zeros(2, dtype=np.float32), "bias", "s/d/bias")
    expected = {
        # Keras 3 creates RMSprop's velocities, then momenta, then average gradients.
        optimizers.RMSprop(momentum=0.9, centered=True): [
            "s_d_kernel_velocity", "s_d_bias_velocity", "s_d_kernel_momentum", "s_d_bias_momentum",
            "s_d_kernel_average_gradient", "s_d_bias_average_gradient"],
        # Adam's velocity_hat slots come after all moments.
        optimizers.Adam(amsgrad=True): [
            "s_d_kernel_momentum", "s_d_kernel_velocity", "s_d_bias_momentum", "s_d_bias_velocity",
            "s_d_kernel_velocity_hat", "s_d_bias_velocity_hat"],
        optimizers.Adamax(): ["s_d_kernel_momentum", "s_d_kernel_norm", "s_d_bias_momentum", "s_d_bias_norm"],
        optimizers.Adagrad(): ["s_d_kernel_accumulator", "s_d_bias_accumulator"],
        optimizers.AdamW(): ["s_d_kernel_momentum", "s_d_kernel_velocity", "s_d_bias_momentum",
                             "s_d_bias_velocity"],
    }
    for opt, names in expected.items():
        opt.build([kernel, bias])
        assert opt.variable_names == ["iteration", "learning_rate", *names], type(opt).__name__
        assert [w.shape for w in opt.get_weights()[2:]] == [(2, 2) if "kernel" in n else (2,) for n in names]


def test_adagrad_accumulators_start_at_the_initial_value():
    var = Variable(np.zeros(3, dtype=np.float32), "w", "t/w")
    opt = optimizers.Adagrad(initial_accumulator_value=0.25)
    opt.build([var])
    np.testing.assert_array_equal(opt.get_weights()[2], np.full(3, 0.25, dtype=np.float32))


# -- defaults, names and validation -----------------------------------------------------------

@pytest.mark.parametrize(("names", "cls", "defaults", "default_name"), [
    (("rmsprop", "RMSprop"), "RMSprop",
     {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}, "rm_sprop"),
    (("adagrad", "Adagrad"), "Adagrad",
     {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}, "adagrad"),
    (("adadelta", "Adadelta"), "Adadelta", {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7}, "adadelta"),
    (("adamax", "Adamax"), "Adamax", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
     "adamax"),
    (("nadam", "Nadam"), "Nadam", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
     "nadam"),
    (("adamw", "AdamW"), "AdamW",
     {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
      "amsgrad": False}, "adam_w"),
])
def test_keras3_names_and_defaults(names, cls, defaults, default_name):
    for name in names:
        opt = optimizers.get(name)
        assert type(opt).__name__ == cls
        config = opt.get_config()
        for key, value in defaults.items():
            assert config[key] == pytest.approx(value, rel=1e-7), key
        assert config["name"] == default_name  # Keras 3's automatic names
        assert config["clipnorm"] is None and config["clipvalue"] is None and config["global_clipnorm"] is None


def test_compile_defaults_to_rmsprop():
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(loss="mse")
    assert type(model.optimizer) is optimizers.RMSprop


@pytest.mark.parametrize(("make", "match"), [
    (lambda: optimizers.RMSprop(rho=1.0), r"RMSprop expects `rho` in \[0, 1\)"),
    (lambda: optimizers.RMSprop(momentum=-0.5), r"`momentum` in \[0, 1\]"),
    (lambda: optimizers.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: optimizers.Adadelta(epsilon=-1e-7), "`epsilon` >= 0"),
    (lambda: optimizers.Adamax(beta_2=1.5), r"Adamax expects `beta_2` in \[0, 1\)"),
    (lambda: optimizers.Nadam(beta_1="high"), r"Nadam expects `beta_1`"),
    (lambda: optimizers.AdamW(beta_1=1.0), r"AdamW expects `beta_1`"),
    (lambda: optimizers.AdamW(weight_decay=None), r"`weight_decay` must be a float.*Received: weight_decay=None"),
    (lambda: optimizers.SGD(weight_decay=-0.1), r"`weight_decay` to be None or a non-negative float"),
    (lambda: optimizers.Adam(clipnorm=-1.0), r"`clipnorm` to be None or a non-negative float"),
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=0.5),
     r"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set\. "
     r"Received: clipnorm=1\.0, clipvalue=0\.5, global_clipnorm=None"),
    (lambda: optimizers.Adam(clipvalue=1.0, global_clipnorm=1.0), "Only one of"),
    (lambda: optimizers.SGD(learning_rate="fast"), "expects `learning_rate` to be a non-negative float"),
    (lambda: optimizers.SGD(learning_rate=-0.1), "expects `learning_rate` to be a non-negative float"),
])
def test_bad_arguments_fail_early(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("cls", ["RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "AdamW"])
def test_unknown_keyword_is_a_type_error_for_every_optimizer(cls):
    with pytest.raises(TypeError, match=rf"{cls} received unknown keyword argument\(s\): `rhoo`"):
        getattr(optimizers, cls)(rhoo=0.9)


@pytest.mark.parametrize("key", ["loss_scale_factor", "gradient_accumulation_steps", "ema_overwrite_frequency"])
def test_unsupported_keras3_arguments_say_so(key):
    with pytest.raises(NotImplementedError, match=key):
        optimizers.RMSprop(**{key: 2})


@pytest.mark.parametrize("cls", ["Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"])
def test_lr_alias_works_for_every_optimizer(cls):
    with pytest.warns(DeprecationWarning, match="`lr`"):
        opt = getattr(optimizers, cls)(lr=0.02)
    assert opt.learning_rate == pytest.approx(0.02)
    with pytest.raises(TypeError, match="both the legacy argument `lr`"):
        getattr(optimizers, cls)(learning_rate=0.1, lr=0.02)


def test_keras2_configs_load():
    # Keras 2 files carry `lr` and `decay` (and Nadam's `schedule_decay`).
    with pytest.warns(DeprecationWarning, match="`lr`"):
        opt = optimizers.deserialize({"class_name": "RMSprop",
                                      "config": {"lr": 0.002, "rho": 0.9, "epsilon": 1e-7, "decay": 0.0}})
    assert type(opt) is optimizers.RMSprop and opt.learning_rate == pytest.approx(0.002)
    with pytest.warns(DeprecationWarning, match="schedule_decay"):
        opt = optimizers.Nadam(schedule_decay=0.004)
    assert "schedule_decay" not in opt.get_config()


# -- clipping and weight decay ------------------------------------------------------------

def _two_vars(a, b):
    return [Variable(np.zeros(len(a)), "kernel", "t/d/kernel"), Variable(np.zeros(len(b)), "bias", "t/d/bias")]


def _one_sgd_step(opt, a, b):
    """Runs one step of ``opt`` from zero weights; returns the step taken for each weight."""
    variables = _two_vars(a, b)
    variables[0].grad[...] = a
    variables[1].grad[...] = b
    opt.apply(variables)
    return [-v.value for v in variables]


def test_clipnorm_clips_each_gradient_by_its_own_norm(float64):
    # ||(3, 4)|| = 5 > 1: scaled to (0.6, 0.8);  ||(0.3, 0.4)|| = 0.5 <= 1: unchanged.
    kernel, bias = _one_sgd_step(optimizers.SGD(learning_rate=1.0, clipnorm=1.0), [3.0, 4.0], [0.3, 0.4])
    np.testing.assert_allclose(kernel, [0.6, 0.8], rtol=0, atol=1e-15)
    np.testing.assert_allclose(bias, [0.3, 0.4], rtol=0, atol=1e-15)


def test_global_clipnorm_scales_all_gradients_together(float64):
    # Global norm sqrt(3^2 + 4^2 + 12^2) = 13 > 6.5: every gradient is halved.
    kernel, bias = _one_sgd_step(optimizers.SGD(learning_rate=1.0, global_clipnorm=6.5), [3.0, 4.0], [0.0, 12.0])
    np.testing.assert_allclose(kernel, [1.5, 2.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(bias, [0.0, 6.0], rtol=0, atol=1e-15)
    # At or below the limit nothing changes.
    kernel, bias = _one_sgd_step(optimizers.SGD(learning_rate=1.0, global_clipnorm=13.0), [3.0, 4.0], [0.0, 12.0])
    np.testing.assert_array_equal(kernel, [3.0, 4.0])
    np.testing.assert_array_equal(bias, [0.0, 12.0])


def test_clipvalue_clips_each_element(float64):
    kernel, bias = _one_sgd_step(optimizers.SGD(learning_rate=1.0, clipvalue=0.5), [3.0, -0.2], [-4.0, 0.5])
    np.testing.assert_array_equal(kernel, [0.5, -0.2])
    np.testing.assert_array_equal(bias, [-0.5, 0.5])


def test_clipping_happens_before_the_update_rule(float64):
    # RMSprop sees the clipped gradient: after clipnorm=1, g = (0.6, 0.8); with rho = 0.5 and eps = 0
    # v = 0.5 g^2, so the step is lr * g / sqrt(0.5 g^2) = lr * sqrt(2) per element: clipping a single
    # step leaves it unchanged, but the velocity holds the clipped values.
    var = Variable(np.zeros(2), "w", "t/w")
    opt = optimizers.RMSprop(learning_rate=0.1, rho=0.5, epsilon=0.0, clipnorm=1.0)
    var.grad[...] = [3.0, 4.0]
    opt.apply([var])
    np.testing.assert_allclose(opt.get_weights()[2], [0.5 * 0.36, 0.5 * 0.64], rtol=1e-15)
    np.testing.assert_allclose(var.value, [-0.1 * np.sqrt(2)] * 2, rtol=1e-15)


def test_clipped_nan_gradients_stay_nan():
    # Keras turns every gradient into NaN when the global norm is not finite.
    variables = _two_vars([1.0], [1.0])
    variables[0].grad[...] = np.nan
    variables[1].grad[...] = 1.0
    optimizers.SGD(learning_rate=0.1, global_clipnorm=1.0).apply(variables)
    assert np.isnan(variables[1].value).all()


def test_weight_decay_shrinks_weights_before_the_update(float64):
    # w = 2, g = 1, lr = 0.1, weight_decay = 0.5:
    #   decay first (Keras 3): w = 2 - 2 * 0.5 * 0.1 = 1.9, then SGD: w = 1.9 - 0.1 * 1 = 1.8
    #   (decaying after the update would give (2 - 0.1) * 0.95 = 1.805)
    var = Variable(np.array([2.0]), "kernel", "t/d/kernel")
    opt = optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    var.grad[...] = 1.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(1.8, abs=1e-15)
    assert opt.get_config()["weight_decay"] == 0.5


@pytest.mark.parametrize("cls", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"])
def test_weight_decay_is_the_same_for_every_optimizer(float64, cls):
    # With a zero gradient the update of SGD is nothing, so the weight only decays:
    # two steps at lr 0.1 and weight_decay 0.5 multiply it by 0.95 twice. For the others we
    # check decay + rule against rule alone started from the decayed weight.
    start = np.array([1.5, -2.0])
    grads = [np.array([0.3, -0.7]), np.array([1.1, 0.2])]
    decayed = Variable(start.copy(), "kernel", "t/d/kernel")
    plain = Variable(start.copy(), "kernel", "t/d/kernel")
    with_decay = getattr(optimizers, cls)(learning_rate=0.1, weight_decay=0.5)
    without = getattr(optimizers, cls)(learning_rate=0.1)
    for g in grads:
        decayed.grad[...] = g
        with_decay.apply([decayed])
        plain.value *= 1 - 0.5 * 0.1  # the decay, applied by hand before the same rule
        plain.grad[...] = g
        without.apply([plain])
    np.testing.assert_allclose(decayed.value, plain.value, rtol=1e-14, atol=1e-15)


def test_weight_decay_uses_the_scheduled_learning_rate(float64):
    # lr(step) = 0.2, 0.1: with g = 0 the weight is multiplied by (1 - 0.5 * 0.2) then (1 - 0.5 * 0.1).
    schedule = optimizers.schedules.PiecewiseConstantDecay([0], [0.2, 0.1])
    var = Variable(np.array([1.0]), "kernel", "t/d/kernel")
    opt = optimizers.SGD(learning_rate=schedule, weight_decay=0.5)
    for _ in range(2):
        var.grad[...] = 0.0
        opt.apply([var])
    assert var.value[0] == pytest.approx(0.9 * 0.95, abs=1e-15)


def test_adamw_is_adam_with_weight_decay():
    rng = np.random.default_rng(1)
    start = rng.normal(size=(4, 3)).astype(np.float32)
    a = Variable(start.copy(), "kernel", "t/d/kernel")
    b = Variable(start.copy(), "kernel", "t/d/kernel")
    adamw = optimizers.AdamW(learning_rate=0.01, weight_decay=0.1)
    adam = optimizers.Adam(learning_rate=0.01, weight_decay=0.1)
    for _ in range(3):
        g = rng.normal(size=(4, 3))
        a.grad[...] = g
        b.grad[...] = g
        adamw.apply([a])
        adam.apply([b])
    np.testing.assert_array_equal(a.value, b.value)
    plain = Variable(start.copy(), "kernel", "t/d/kernel")
    assert not np.array_equal(a.value, plain.value)


def test_exclude_from_weight_decay_by_name_and_by_variable(float64):
    def run(**exclude):
        variables = _two_vars([0.0], [0.0])
        for v in variables:
            v.value[...] = 1.0
        opt = optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
        opt.exclude_from_weight_decay(var_list=[variables[0]] if exclude.get("kernel") else None,
                                      var_names=exclude.get("names"))
        opt.apply(variables)
        return [float(v.value[0]) for v in variables]

    assert run() == [0.95, 0.95]
    assert run(names=["bias"]) == [0.95, 1.0]
    assert run(names=["^ker"]) == [1.0, 0.95]  # names are regular expressions searched in the name
    assert run(kernel=True) == [1.0, 0.95]


def test_exclude_from_weight_decay_errors():
    opt = optimizers.AdamW()
    with pytest.raises(TypeError, match=r"Pass var_names=\['bias'\]"):
        opt.exclude_from_weight_decay(var_names="bias")
    var = Variable(np.zeros(2, dtype=np.float32), "w", "t/w")
    opt.apply([var])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["bias"])


def test_apply_rejects_a_different_number_of_weights():
    opt = optimizers.Adam()
    a, b = (Variable(np.zeros(2, dtype=np.float32), n, f"t/{n}") for n in ("a", "b"))
    opt.apply([a, b])
    with pytest.raises(ValueError, match="built for 2 weights, but received 1"):
        opt.apply([a])


# -- learning-rate schedules --------------------------------------------------------------

S = optimizers.schedules


@pytest.mark.parametrize(("schedule", "expected"), [
    # lr0 * rate^(step / decay_steps)
    (S.ExponentialDecay(0.1, 4, 0.5), {0: 0.1, 2: 0.1 * 0.5**0.5, 4: 0.05, 10: 0.1 * 0.5**2.5}),
    (S.ExponentialDecay(0.1, 4, 0.5, staircase=True), {3: 0.1, 4: 0.05, 7: 0.05, 8: 0.025}),
    # lr0 / (1 + rate * step / decay_steps)
    (S.InverseTimeDecay(1.0, 2, 0.5), {0: 1.0, 1: 1 / 1.25, 4: 0.5}),
    (S.InverseTimeDecay(1.0, 2, 0.5, staircase=True), {1: 1.0, 2: 1 / 1.5, 3: 1 / 1.5}),
    # values[0] while step <= b0, values[1] while b0 < step <= b1, values[2] after
    (S.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]), {0: 1.0, 2: 1.0, 3: 0.5, 5: 0.5, 6: 0.1, 100: 0.1}),
    # (lr0 - end) * (1 - min(step, D) / D)^power + end
    (S.PolynomialDecay(1.0, 4, end_learning_rate=0.2), {0: 1.0, 1: 0.8, 2: 0.6, 4: 0.2, 9: 0.2}),
    (S.PolynomialDecay(1.0, 4, end_learning_rate=0.0, power=2.0), {1: 0.5625, 2: 0.25, 3: 0.0625}),
    # cycle: D = 4 * ceil(step / 4) (1 at step 0), so step 5 is 5/8 of a period of 8
    (S.PolynomialDecay(1.0, 4, end_learning_rate=0.0, cycle=True), {0: 1.0, 2: 0.5, 4: 0.0, 5: 3 / 8, 8: 0.0,
                                                                    9: 1 - 9 / 12}),
    # lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, D) / D)) + alpha)
    (S.CosineDecay(1.0, 4, alpha=0.2), {0: 1.0, 2: 0.8 * 0.5 + 0.2, 4: 0.2, 10: 0.2,
                                        1: 0.8 * 0.5 * (1 + np.cos(np.pi / 4)) + 0.2}),
    # warm-up from 0.1 to 1.0 over 3 steps, then cosine decay from 1.0 over 4 steps
    (S.CosineDecay(0.1, 4, warmup_target=1.0, warmup_steps=3), {0: 0.1, 1: 0.4, 2: 0.7, 3: 1.0, 5: 0.5,
                                                                7: 0.0, 50: 0.0}),
    # SGDR: periods of 2, 4, 8 steps starting at steps 0, 2, 6; peaks 1, 0.5, 0.25; alpha 0
    (S.CosineDecayRestarts(1.0, 2, t_mul=2.0, m_mul=0.5), {0: 1.0, 1: 0.5, 2: 0.5, 4: 0.25, 6: 0.25, 10: 0.125}),
    # t_mul = 1: equal periods of 2 steps, alpha 0.5 not scaled by m_mul
    (S.CosineDecayRestarts(1.0, 2, t_mul=1.0, m_mul=0.5, alpha=0.5), {0: 1.0, 1: 0.75, 2: 0.75, 3: 0.625,
                                                                      4: 0.625}),
], ids=lambda v: type(v).__name__ if isinstance(v, S.LearningRateSchedule) else "")
def test_schedule_values_follow_their_formulas(schedule, expected):
    for step, value in expected.items():
        assert schedule(step) == pytest.approx(value, rel=1e-12, abs=1e-15), step
    restored = S.deserialize(json.loads(json.dumps(S.serialize(schedule))))
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    assert [restored(s) for s in range(12)] == [schedule(s) for s in range(12)]


@pytest.mark.parametrize(("make", "match"), [
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), r"`decay_steps` to be a number > 0"),
    (lambda: S.PolynomialDecay(0.1, -1), r"`decay_steps` to be a number > 0"),
    (lambda: S.CosineDecay("a", 10), r"`initial_learning_rate` to be a finite number"),
    (lambda: S.CosineDecayRestarts(0.1, 0), r"`first_decay_steps` to be a number > 0"),
    (lambda: S.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "one more value than boundaries"),
    (lambda: S.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), "strictly increasing"),
])
def test_bad_schedule_arguments_fail_early(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_schedule_is_evaluated_at_the_step_before_counting_it(float64):
    # ExponentialDecay(1.0, 1, 0.5) gives 1.0, 0.5, 0.25 on the first three steps (Keras 3).
    var = Variable(np.array([0.0]), "w", "t/w")
    opt = optimizers.SGD(learning_rate=S.ExponentialDecay(1.0, 1, 0.5))
    steps = []
    for _ in range(3):
        assert opt.learning_rate == pytest.approx(0.5**opt.iterations)
        before = var.value[0]
        var.grad[...] = 1.0
        opt.apply([var])
        steps.append(before - var.value[0])
    assert steps == [1.0, 0.5, 0.25]
    assert opt.variable_names == ["iteration"]  # no learning_rate variable with a schedule
    with pytest.raises(TypeError, match="schedule; it cannot be set"):
        opt.learning_rate = 0.1


@pytest.mark.parametrize("cls", ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "AdamW", "Adam"])
def test_config_with_every_option_round_trips_through_json(cls):
    opt = getattr(optimizers, cls)(learning_rate=S.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2,
                                                               warmup_steps=10),
                                   clipnorm=2.0, weight_decay=0.01, name=f"my_{cls.lower()}")
    config = opt.get_config()
    assert config["clipnorm"] == 2.0 and config["weight_decay"] == 0.01
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    restored = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert type(restored) is type(opt)
    assert restored.get_config() == config
    assert restored.learning_rate == opt.learning_rate


# -- a Python callable as learning rate ---------------------------------------------------

def test_callable_of_the_step_is_the_learning_rate(float64):
    var = Variable(np.array([0.0]), "w", "t/w")
    opt = optimizers.SGD(learning_rate=lambda step: 1.0 / (step + 1))
    for _ in range(3):
        var.grad[...] = 1.0
        opt.apply([var])
    assert var.value[0] == pytest.approx(-(1 + 1 / 2 + 1 / 3), abs=1e-15)
    assert opt.learning_rate == pytest.approx(0.25)
    assert opt.variable_names == ["iteration"]


def test_callable_without_arguments_is_accepted_like_keras3(float64):
    rate = {"value": 0.5}
    var = Variable(np.array([0.0]), "w", "t/w")
    opt = optimizers.SGD(learning_rate=lambda: rate["value"])
    var.grad[...] = 1.0
    opt.apply([var])
    rate["value"] = 0.25
    var.grad[...] = 1.0
    opt.apply([var])
    assert var.value[0] == pytest.approx(-0.75, abs=1e-15)


def test_callable_learning_rate_cannot_be_serialized_and_says_so(tmp_path):
    def warmup(step):
        return min(1.0, (step + 1) / 10) * 0.01

    opt = optimizers.Adam(learning_rate=warmup)
    with pytest.raises(TypeError, match=r"'warmup'.*cannot rebuild.*LearningRateSchedule"):
        opt.get_config()
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer=opt, loss="mse")
    model.train_on_batch(np.ones((2, 2), dtype="float32"), np.ones((2, 1), dtype="float32"))
    with pytest.raises(TypeError, match="cannot be serialized"):
        model.save(tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()
    with pytest.raises(TypeError, match="learning rate is a callable"):
        opt.learning_rate = 0.1


def test_callable_returning_a_non_number_fails_clearly():
    opt = optimizers.SGD(learning_rate=lambda step: "fast")
    var = Variable(np.zeros(1, dtype=np.float32), "w", "t/w")
    with pytest.raises(TypeError, match=r"callable returned 'fast' at step 0"):
        opt.apply([var])


def test_config_saved_from_a_python_function_is_refused_clearly():
    config = {"learning_rate": {"module": "builtins", "class_name": "function", "config": "f",
                                "registered_name": "function"}}
    with pytest.raises(TypeError, match="saved from a Python function"):
        optimizers.SGD.from_config(config)


# -- state round trips for every optimizer ------------------------------------------------

ALL_OPTIMIZERS = {
    "sgd_nesterov": lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam_amsgrad": lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True, clipnorm=1.0),
    "adamw": lambda: optimizers.AdamW(learning_rate=0.01),
    "rmsprop": lambda: optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(learning_rate=0.05, clipvalue=0.5),
    "adadelta": lambda: optimizers.Adadelta(learning_rate=1.0),
    "adamax": lambda: optimizers.Adamax(learning_rate=0.01, global_clipnorm=1.0),
    "nadam": lambda: optimizers.Nadam(learning_rate=S.ExponentialDecay(0.01, 2, 0.9)),
}


@pytest.mark.parametrize("key", sorted(ALL_OPTIMIZERS))
def test_state_round_trip_continues_training_bit_identically(rng, key):
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")

    def model_with(opt):
        model = Sequential([Input((3,)), Dense(4, activation="tanh"), Dense(2)])
        model.compile(optimizer=opt, loss="mse")
        return model

    source = model_with(ALL_OPTIMIZERS[key]())
    for _ in range(3):
        source.train_on_batch(x, y)
    state = source.optimizer.get_weights()
    assert int(state[0]) == 3
    assert len(state) == len(source.optimizer.variable_names)

    restored = model_with(optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(source.optimizer)))))
    restored.set_weights(source.get_weights())
    restored.optimizer.build(restored.trainable_weights)
    restored.optimizer.set_weights(state)
    for a, b in zip(restored.optimizer.get_weights(), state):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)

    fresh = model_with(ALL_OPTIMIZERS[key]())
    fresh.set_weights(source.get_weights())
    for _ in range(2):
        for model in (source, restored, fresh):
            model.train_on_batch(x, y)
    for a, b in zip(restored.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(restored.optimizer.get_weights(), source.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), source.get_weights()))
    assert all(w.dtype == np.float32 for w in source.optimizer.get_weights()[1:])


def test_set_weights_checks_every_shape_before_assigning():
    opt = optimizers.RMSprop(momentum=0.9)
    var = Variable(np.ones(3, dtype=np.float32), "w", "t/w")
    var.grad[...] = 1.0
    opt.apply([var])
    before = opt.get_weights()
    bad = [np.array(7), np.array(0.5, dtype=np.float32), np.zeros(3, dtype=np.float32), np.zeros(4)]
    with pytest.raises(ValueError, match=r"state 't_w_momentum' has shape \(3,\), but received an array of shape"):
        opt.set_weights(bad)
    for a, b in zip(opt.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("key", ["rmsprop", "adadelta", "adamax", "nadam"])
def test_new_slots_never_decay_into_subnormal_numbers(key):
    var = Variable(np.ones((4,), dtype=np.float32), "kernel", "m/d/kernel")
    opt = {"rmsprop": lambda: optimizers.RMSprop(momentum=0.9, centered=True),
           "adadelta": lambda: optimizers.Adadelta(), "adamax": lambda: optimizers.Adamax(),
           "nadam": lambda: optimizers.Nadam()}[key]()
    var.grad[...] = 1.0
    opt.apply([var])
    for _ in range(3000):
        var.grad[...] = 0.0
        opt.apply([var])
    tiny = np.finfo(np.float32).tiny
    names = opt.variable_names
    for name, slot in zip(names[2:], opt.get_weights()[2:]):
        if name == "variable":
            continue  # Nadam's scalar product of momentum factors tends to 0 as in Keras; one number costs nothing
        assert np.all((slot == 0) | (np.abs(slot) >= tiny)), (name, slot)


@pytest.mark.parametrize("cls", ["RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "AdamW"])
def test_every_optimizer_trains_a_model_in_float32(cls):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")
    model = Sequential([Input((4,)), Dense(8, activation="tanh"), Dense(1)])
    lr = 1.0 if cls == "Adadelta" else 0.01
    model.compile(optimizer=getattr(optimizers, cls)(learning_rate=lr), loss="mse")
    losses = model.fit(x, y, epochs=5, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    assert all(w.dtype == np.float32 for w in model.get_weights())
