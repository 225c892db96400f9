"""SGD: hand-worked updates, momentum rules, legacy arguments, look-up, config and state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minikeras import backend, optimizers
from minikeras.layers import Dense, Input, Variable
from minikeras.models import Sequential, load_model
from minikeras.optimizers import SGD


@pytest.fixture
def float64():
    previous = backend.floatx()
    backend.set_floatx("float64")
    yield
    backend.set_floatx(previous)


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
