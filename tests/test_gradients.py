"""Numerical gradient checks: every analytic derivative against central differences.

All checks run in float64. Each compares an analytic gradient with

    (f(theta + eps) - f(theta - eps)) / (2 eps)

taken one scalar at a time, where ``f`` is a scalar: a loss, or ``sum(g * output)``
with a random upstream gradient ``g`` (random rather than ones, so that errors in
different elements cannot cancel out).
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import ATOL, EPS, assert_close, away_from, check_layer_gradients, numeric_grad

from minikeras import activations, losses
from minikeras.layers import Activation, Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import SGD

# Inputs are kept this far from every point where some activation has a kink:
# 0 (relu, leaky_relu, elu, relu6), 0.5 (the threshold) and 3.0 (the max_value) of the
# parametrized ReLU below, and -3.0 and 3.0 (hard_sigmoid, hard_silu).
KINKS = (-3.0, 0.0, 0.5, 3.0)
KINK_MARGIN = 0.05

pytestmark = pytest.mark.usefixtures("float64")


def numeric_row_jacobian(fn, x, eps=EPS):
    """``J[..., i, j] = d fn(x)[..., i] / d x[..., j]`` for a function acting row by row."""
    k = x.shape[-1]
    jac = np.zeros(x.shape + (k,), dtype=np.float64)
    for j in range(k):
        e = np.zeros_like(x)
        e[..., j] = eps
        jac[..., :, j] = (fn(x + e) - fn(x - e)) / (2.0 * eps)
    return jac


def away_from_kinks(rng, shape, low=-4.0, high=4.0):
    return away_from(rng, shape, KINKS, KINK_MARGIN, low, high)


# -- activations ------------------------------------------------------------------------

ACTIVATIONS = [pytest.param(activations.get(name), id=name) for name in activations.names()] + [
    pytest.param(activations.ReLU(negative_slope=0.1, max_value=3.0, threshold=0.5), id="relu_slope_max_threshold"),
    pytest.param(activations.ReLU(max_value=3.0), id="relu_max_value"),
    pytest.param(activations.LeakyReLU(0.1), id="leaky_relu_0.1"),
    pytest.param(activations.ELU(alpha=0.5), id="elu_alpha_0.5"),
]


def test_every_registered_activation_is_checked():
    checked = {p.id for p in ACTIVATIONS}
    assert set(activations.names()) <= checked
    assert len(activations.names()) >= 8


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_derivative_matches_central_differences(act, rng):
    x = away_from_kinks(rng, (4, 6))
    jac = numeric_row_jacobian(lambda v: act(v), x)
    d = np.asarray(act.derivative(x))
    if d.shape == x.shape:
        # An elementwise function: the Jacobian of each row is diagonal.
        assert_close(d, np.einsum("rii->ri", jac))
        off_diagonal = jac * (1.0 - np.eye(x.shape[-1]))
        np.testing.assert_allclose(off_diagonal, 0.0, atol=ATOL)
    else:
        # A row-wise function (softmax): derivative() is the full Jacobian (..., k, k).
        assert d.shape == x.shape + (x.shape[-1],)
        assert_close(d, jac)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_backward_is_the_vector_jacobian_product(act, rng):
    x = away_from_kinks(rng, (4, 6))
    y = act(x).copy()
    g = rng.normal(size=x.shape)
    expected = numeric_grad(lambda: np.sum(g * act(x)), x)

    result = act.backward(g.copy(), x.copy(), y.copy())
    assert result.dtype == np.float64
    assert_close(result, expected)
    if not act.uses_input:
        # Layers pass x=None to activations that declare they only need y.
        assert_close(act.backward(g.copy(), None, y.copy()), expected)


def test_softmax_jacobian_has_the_closed_form(rng):
    x = rng.normal(size=(3, 4))
    y = activations.softmax(x)
    jac = activations.softmax.derivative(x)
    expected = np.stack([np.diag(row) - np.outer(row, row) for row in y])
    assert_close(jac, expected, rtol=1e-12, atol=1e-15)


# -- losses -----------------------------------------------------------------------------

N, K = 5, 3


def _one_hot(labels, k):
    return np.eye(k)[labels]


def loss_data(kind, rng):
    """Targets and predictions for one kind of loss, away from kinks and clipping."""
    labels = rng.integers(0, K, size=N)
    if kind in ("regression", "regression_3d"):
        shape = (N, K) if kind == "regression" else (N, 2, K)
        return rng.normal(size=shape), rng.normal(size=shape)
    if kind in ("absolute", "absolute_3d"):
        shape = (N, K) if kind == "absolute" else (N, 2, K)
        y = rng.normal(size=shape)
        # |p - y| in [0.1, 1]: far from the kink of |.| at p == y.
        offset = rng.uniform(0.1, 1.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return y, y + offset
    if kind in ("binary_prob", "binary_prob_3d"):
        shape = (N, K) if kind == "binary_prob" else (N, 2, K)
        return rng.integers(0, 2, size=shape).astype(np.float64), rng.uniform(0.05, 0.95, size=shape)
    if kind == "binary_logit":
        return rng.integers(0, 2, size=(N, K)).astype(np.float64), rng.normal(scale=2.0, size=(N, K))
    if kind == "categorical_prob":
        # Unnormalized probabilities: the loss rescales rows to sum to one.
        return _one_hot(labels, K), rng.uniform(0.05, 0.95, size=(N, K))
    if kind == "categorical_soft_prob":
        return rng.dirichlet(np.ones(K), size=N), rng.uniform(0.05, 0.95, size=(N, K))
    if kind == "categorical_logit":
        return _one_hot(labels, K), rng.normal(scale=2.0, size=(N, K))
    if kind == "categorical_soft_logit":
        # Soft targets whose rows do not sum to one.
        return rng.uniform(0.0, 1.0, size=(N, K)), rng.normal(scale=2.0, size=(N, K))
    if kind == "sparse_prob":
        return labels, rng.uniform(0.05, 0.95, size=(N, K))
    if kind == "sparse_prob_column":
        return labels[:, None], rng.uniform(0.05, 0.95, size=(N, K))
    if kind == "sparse_logit":
        return labels, rng.normal(scale=2.0, size=(N, K))
    raise AssertionError(kind)


LOSS_CASES = [
    pytest.param(losses.MeanSquaredError, {}, "regression", id="mse"),
    pytest.param(losses.MeanSquaredError, {}, "regression_3d", id="mse_3d"),
    pytest.param(losses.MeanAbsoluteError, {}, "absolute", id="mae"),
    pytest.param(losses.MeanAbsoluteError, {}, "absolute_3d", id="mae_3d"),
    pytest.param(losses.BinaryCrossentropy, {}, "binary_prob", id="bce"),
    pytest.param(losses.BinaryCrossentropy, {}, "binary_prob_3d", id="bce_3d"),
    pytest.param(losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "binary_prob", id="bce_smoothing"),
    pytest.param(losses.BinaryCrossentropy, {"from_logits": True}, "binary_logit", id="bce_logits"),
    pytest.param(losses.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.2}, "binary_logit",
                 id="bce_logits_smoothing"),
    pytest.param(losses.CategoricalCrossentropy, {}, "categorical_prob", id="cce"),
    pytest.param(losses.CategoricalCrossentropy, {}, "categorical_soft_prob", id="cce_soft_targets"),
    pytest.param(losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "categorical_prob", id="cce_smoothing"),
    pytest.param(losses.CategoricalCrossentropy, {"from_logits": True}, "categorical_logit", id="cce_logits"),
    pytest.param(losses.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.1},
                 "categorical_logit", id="cce_logits_smoothing"),
    pytest.param(losses.CategoricalCrossentropy, {"from_logits": True}, "categorical_soft_logit",
                 id="cce_logits_soft_targets"),
    pytest.param(losses.SparseCategoricalCrossentropy, {}, "sparse_prob", id="scce"),
    pytest.param(losses.SparseCategoricalCrossentropy, {}, "sparse_prob_column", id="scce_column_labels"),
    pytest.param(losses.SparseCategoricalCrossentropy, {"from_logits": True}, "sparse_logit", id="scce_logits"),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("cls", "kwargs", "kind"), LOSS_CASES)
def test_loss_gradient_matches_central_differences(cls, kwargs, kind, weighted, rng):
    loss = cls(**kwargs)
    y, p = loss_data(kind, rng)
    sw = rng.uniform(0.2, 2.0, size=N) if weighted else None

    expected = numeric_grad(lambda: loss(y, p, sw), p)
    grad = loss.gradient(y, p.copy(), sw)
    assert grad.dtype == np.float64
    assert_close(grad, expected)


def test_every_loss_class_is_checked():
    classes = {p.values[0] for p in LOSS_CASES}
    assert classes == {losses.MeanSquaredError, losses.MeanAbsoluteError, losses.BinaryCrossentropy,
                       losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy}


def test_sample_weights_scale_the_gradient_per_sample(rng):
    loss = losses.MeanSquaredError()
    y, p = loss_data("regression", rng)
    sw = rng.uniform(0.2, 2.0, size=N)
    assert_close(loss.gradient(y, p.copy(), sw), loss.gradient(y, p.copy()) * sw[:, None], rtol=1e-12, atol=0)


# -- the fused output-activation / loss gradient ------------------------------------------

FUSED_CASES = [
    pytest.param(losses.CategoricalCrossentropy, {}, "softmax", "categorical", id="cce_softmax"),
    pytest.param(losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "softmax", "categorical",
                 id="cce_smoothing_softmax"),
    pytest.param(losses.CategoricalCrossentropy, {}, "softmax", "categorical_soft", id="cce_soft_softmax"),
    pytest.param(losses.SparseCategoricalCrossentropy, {}, "softmax", "sparse", id="scce_softmax"),
    pytest.param(losses.BinaryCrossentropy, {}, "sigmoid", "binary", id="bce_sigmoid"),
    pytest.param(losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "sigmoid", "binary",
                 id="bce_smoothing_sigmoid"),
]


def fused_targets(kind, rng):
    labels = rng.integers(0, K, size=N)
    if kind == "categorical":
        return _one_hot(labels, K)
    if kind == "categorical_soft":
        return rng.dirichlet(np.ones(K), size=N)
    if kind == "sparse":
        return labels
    return rng.integers(0, 2, size=(N, K)).astype(np.float64)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("cls", "kwargs", "act_name", "kind"), FUSED_CASES)
def test_logits_gradient_is_the_gradient_through_the_activation(cls, kwargs, act_name, kind, weighted, rng):
    loss = cls(**kwargs)
    act = activations.get(act_name)
    y = fused_targets(kind, rng)
    z = rng.normal(scale=2.0, size=(N, K))
    sw = rng.uniform(0.2, 2.0, size=N) if weighted else None
    a = act(z).copy()
    assert a.min() > 1e-4 and a.max() < 1 - 1e-4  # far from the clipping at eps = 1e-7

    fused = loss.logits_gradient(y, a.copy(), act, sw)
    assert fused is not None
    expected = numeric_grad(lambda: loss(y, act(z), sw), z)
    assert_close(fused, expected)
    # The fused form equals the chain rule through the activation's backward pass.
    chained = act.backward(loss.gradient(y, a.copy(), sw), z.copy(), a.copy())
    assert_close(fused, chained, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("loss", "act_name"), [
    pytest.param(losses.CategoricalCrossentropy(from_logits=True), "softmax", id="cce_logits"),
    pytest.param(losses.SparseCategoricalCrossentropy(from_logits=True), "softmax", id="scce_logits"),
    pytest.param(losses.BinaryCrossentropy(from_logits=True), "sigmoid", id="bce_logits"),
    pytest.param(losses.CategoricalCrossentropy(), "sigmoid", id="cce_sigmoid"),
    pytest.param(losses.BinaryCrossentropy(), "softmax", id="bce_softmax"),
    pytest.param(losses.MeanSquaredError(), "sigmoid", id="mse_sigmoid"),
    pytest.param(losses.MeanSquaredError(), "softmax", id="mse_softmax"),
])
def test_logits_gradient_is_only_fused_for_natural_pairs(loss, act_name, rng):
    z = rng.normal(size=(N, K))
    y = rng.integers(0, K, size=N) if isinstance(loss, losses.SparseCategoricalCrossentropy) \
        else _one_hot(rng.integers(0, K, size=N), K)
    assert loss.logits_gradient(y, activations.get(act_name)(z), activations.get(act_name)) is None


def test_fused_gradient_is_exact_and_finite_for_huge_float32_logits():
    z = np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32)
    a = activations.softmax(z)
    np.testing.assert_array_equal(a, np.array([[1.0, 0.0, 0.0]], dtype=np.float32))
    y = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)

    fused = losses.CategoricalCrossentropy().logits_gradient(y, a, activations.softmax)
    assert fused.dtype == np.float32
    assert np.isfinite(fused).all()
    np.testing.assert_array_equal(fused, a - y)

    sparse = losses.SparseCategoricalCrossentropy().logits_gradient(np.array([1]), a, activations.softmax)
    assert sparse.dtype == np.float32
    np.testing.assert_array_equal(sparse, a - y)

    zb = np.array([[1000.0], [-1000.0]], dtype=np.float32)
    ab = activations.sigmoid(zb)
    np.testing.assert_array_equal(ab, np.array([[1.0], [0.0]], dtype=np.float32))
    yb = np.array([[0.0], [1.0]], dtype=np.float32)
    binary = losses.BinaryCrossentropy().logits_gradient(yb, ab, activations.sigmoid)
    assert binary.dtype == np.float32
    # Mean over N = 2 samples of one output each: (a - y) / 2, exact in binary floating point.
    np.testing.assert_array_equal(binary, (ab - yb) / np.float32(2.0))
    np.testing.assert_array_equal(binary, np.array([[0.5], [-0.5]], dtype=np.float32))


# -- layers -----------------------------------------------------------------------------

def _randomize(layer, rng):
    for var in layer.weights:
        var.assign(rng.normal(size=var.shape))


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "sigmoid", "softmax"])
def test_dense_gradients(activation, use_bias, rng):
    layer = Dense(4, activation=activation, use_bias=use_bias)
    x = rng.normal(size=(6, 3))
    layer(x)
    _randomize(layer, rng)
    assert [v.name for v in layer.weights] == (["kernel", "bias"] if use_bias else ["kernel"])
    z = x @ layer.kernel.value + (layer.bias.value if use_bias else 0.0)
    assert np.abs(z).min() > 1e-3  # relu's kink is far from every pre-activation
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize("activation", ["linear", "tanh", "relu", "softmax"])
def test_dense_gradients_for_3d_inputs(activation, rng):
    layer = Dense(4, activation=activation)
    x = rng.normal(size=(2, 5, 3))
    layer(x)
    _randomize(layer, rng)
    assert np.abs(x @ layer.kernel.value + layer.bias.value).min() > 1e-3
    assert layer(x).shape == (2, 5, 4)
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_layer_gradients(act, rng):
    layer = Activation(act)
    x = away_from_kinks(rng, (4, 6))
    check_layer_gradients(layer, x, rng)


# -- whole models -----------------------------------------------------------------------

def _model_case(name, rng):
    """Returns (layers, loss, y, fused) for one architecture and loss."""
    labels = rng.integers(0, 4, size=6)
    if name == "softmax_layer_cce":
        return ([Dense(7, activation="tanh"), Activation("relu"), Dense(4), Activation("softmax")],
                "categorical_crossentropy", _one_hot(labels, 4), True)
    if name == "dense_softmax_scce":
        return ([Dense(7, activation="tanh"), Dense(4, activation="softmax")],
                "sparse_categorical_crossentropy", labels, True)
    if name == "dense_sigmoid_bce":
        return ([Dense(7, activation="relu"), Dense(3, activation="sigmoid")],
                "binary_crossentropy", rng.integers(0, 2, size=(6, 3)).astype(np.float64), True)
    if name == "dense_sigmoid_mse":
        return ([Dense(7, activation="tanh"), Dense(3, activation="sigmoid")],
                "mse", rng.uniform(size=(6, 3)), False)
    if name == "sigmoid_layer_mse":
        return ([Dense(7, activation="relu"), Dense(3), Activation("sigmoid")],
                "mse", rng.uniform(size=(6, 3)), False)
    raise AssertionError(name)


def _min_relu_input(model, x):
    """The smallest |input| of any relu in the model (its kink is at 0)."""
    smallest = np.inf
    h = x
    for layer in model.layers:
        if isinstance(layer, Dense):
            z = h @ layer.kernel.value + layer.bias.value
            if layer.activation.name == "relu":
                smallest = min(smallest, np.abs(z).min())
        elif layer.activation.name == "relu":
            smallest = min(smallest, np.abs(h).min())
        h = layer(h)
    return smallest


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", ["softmax_layer_cce", "dense_softmax_scce", "dense_sigmoid_bce",
                                  "dense_sigmoid_mse", "sigmoid_layer_mse"])
def test_model_training_step_follows_the_loss_gradient(case, weighted, rng):
    layers, loss, y, fused = _model_case(case, rng)
    model = Sequential([Input((5,))] + layers)
    # With learning_rate=1.0 plain SGD moves each weight by exactly minus its gradient.
    model.compile(optimizer=SGD(learning_rate=1.0), loss=loss)
    assert model.dtype == "float64"
    for var in model.trainable_weights:
        var.assign(rng.normal(scale=0.8, size=var.shape))
    x = rng.normal(size=(6, 5))
    sw = rng.uniform(0.2, 2.0, size=6) if weighted else None
    assert _min_relu_input(model, x) > 1e-3

    # The case exercises the intended path: fused logits gradient or plain chain rule.
    model._prepare_training()
    out = model.predict(x, verbose=0)
    assert (model.loss.logits_gradient(y, out, model._head_activation, sw) is not None) == fused

    def objective():
        return model.loss(y, model.predict(x, verbose=0), sw)

    before = model.get_weights()
    expected_loss = objective()
    numeric = [numeric_grad(objective, var.value) for var in model.trainable_weights]
    assert [np.array_equal(a, b) for a, b in zip(before, model.get_weights())] == [True] * len(before)

    loss_value = model.train_on_batch(x, y, sample_weight=sw)
    after = model.get_weights()
    assert loss_value == pytest.approx(expected_loss, rel=1e-12)
    for w_before, w_after, num in zip(before, after, numeric):
        assert w_after.dtype == np.float64
        assert_close(w_before - w_after, num)


# -- the backward pass written out by hand ----------------------------------------------

@pytest.mark.parametrize("head", ["softmax_cce", "sigmoid_mse"])
def test_backward_pass_is_the_textbook_recursion(head, rng):
    """delta_L, then delta_l = f'(z_l) * (delta_{l+1} W_{l+1}^T), dW_l = a_{l-1}^T delta_l, db_l = sum(delta_l)."""
    out_act, loss = ("softmax", "categorical_crossentropy") if head == "softmax_cce" else ("sigmoid", "mse")
    model = Sequential([Input((4,)), Dense(5, activation="tanh"), Dense(3, activation=out_act)])
    model.compile(optimizer=SGD(learning_rate=1.0), loss=loss)
    for var in model.trainable_weights:
        var.assign(rng.normal(size=var.shape))
    n = 6
    x = rng.normal(size=(n, 4))
    y = _one_hot(rng.integers(0, 3, size=n), 3) if head == "softmax_cce" else rng.uniform(size=(n, 3))
    w1, b1, w2, b2 = model.get_weights()

    # Forward pass by hand.
    z1 = x @ w1 + b1
    a1 = np.tanh(z1)
    z2 = a1 @ w2 + b2
    if head == "softmax_cce":
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        a2 = e / e.sum(axis=1, keepdims=True)
        # dL/dz2 for softmax + cross-entropy averaged over the batch: (a - y) / N.
        delta2 = (a2 - y) / n
    else:
        a2 = 1.0 / (1.0 + np.exp(-z2))
        # dL/da2 = 2 (a - y) / (N k) for the mean squared error; f'(z2) = a2 (1 - a2).
        delta2 = 2.0 * (a2 - y) / (n * 3) * a2 * (1.0 - a2)
    delta1 = (1.0 - np.tanh(z1) ** 2) * (delta2 @ w2.T)
    dw2, db2 = a1.T @ delta2, delta2.sum(axis=0)
    dw1, db1 = x.T @ delta1, delta1.sum(axis=0)

    # The layers, driven directly.
    dense1, dense2 = model.layers
    out = dense2(dense1(x, training=True), training=True)
    assert_close(out, a2, rtol=1e-12, atol=1e-15)
    if head == "softmax_cce":
        back2 = dense2.backward_logits(delta2.copy())
    else:
        back2 = dense2.backward(2.0 * (a2 - y) / (n * 3))
    assert_close(back2, delta2 @ w2.T, rtol=1e-12, atol=1e-15)
    back1 = dense1.backward(back2.copy())
    assert_close(back1, delta1 @ w1.T, rtol=1e-12, atol=1e-15)
    for var, expected in zip(model.trainable_weights, [dw1, db1, dw2, db2]):
        assert_close(var.grad, expected, rtol=1e-12, atol=1e-15)

    # The training step computes the same gradients (and SGD with rate 1 subtracts them).
    model.train_on_batch(x, y)
    for w_before, w_after, expected in zip([w1, b1, w2, b2], model.get_weights(), [dw1, db1, dw2, db2]):
        assert_close(w_before - w_after, expected, rtol=1e-10, atol=1e-14)
