"""Dropout, Flatten, Reshape, BatchNormalization, ReLU, LeakyReLU, PReLU, ELU and Softmax.

Forward values against the formulas and against real Keras 3 (``fixtures/keras3``),
float64 numerical gradient checks of every backward pass (inputs and weights),
training versus inference, freezing, configs, HDF5 files, seeding and errors.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_close, away_from, check_layer_gradients, numeric_grad

from minikeras import backend, constraints, initializers, layers, regularizers
from minikeras.layers import (
    ELU,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    Input,
    LeakyReLU,
    PReLU,
    ReLU,
    Reshape,
    Softmax,
)
from minikeras.models import Sequential, load_model
from minikeras.optimizers import SGD
from minikeras.utils import set_random_seed

FIXTURES = Path(__file__).parent / "fixtures" / "keras3"
KERAS = json.loads((FIXTURES / "layers.json").read_text())


# -- real Keras 3 -------------------------------------------------------------------------

@pytest.mark.parametrize("case", KERAS["cases"], ids=[c["id"] for c in KERAS["cases"]])
def test_layer_matches_keras(case):
    """Keras's own config builds the layer; outputs, gradients and moving statistics match."""
    layer = layers.deserialize(case["config"])
    assert layer.get_config() == json.loads(json.dumps(layer.get_config()))
    x = np.asarray(case["x"], dtype=np.float32)
    layer.build((None,) + x.shape[1:])
    layer.set_weights([np.asarray(w, dtype=np.float32) for w in case["weights"]])
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, case["inference"], rtol=1e-5, atol=1e-6)
    if "g" not in case:
        return
    np.testing.assert_allclose(layer(x, training=True), case["training"], rtol=1e-5, atol=1e-6)
    dx = layer.backward(np.asarray(case["g"], dtype=np.float32))
    np.testing.assert_allclose(dx, case["dx"], rtol=1e-5, atol=2e-6)
    assert len(layer.trainable_weights) == len(case["trainable_grads"])
    for var, expected in zip(layer.trainable_weights, case["trainable_grads"]):
        np.testing.assert_allclose(var.grad, expected, rtol=1e-5, atol=2e-6)
    for var, expected in zip(layer.weights, case["weights_after"]):
        np.testing.assert_allclose(var.value, expected, rtol=1e-5, atol=1e-7)


def test_reads_a_keras_model_file_with_every_layer():
    model = load_model(FIXTURES / "layers_model.h5")
    names = [type(layer).__name__ for layer in model.layers]
    assert names == ["BatchNormalization", "Flatten", "Dense", "PReLU", "Dropout", "ReLU", "LeakyReLU", "ELU",
                     "Reshape", "Softmax", "Flatten", "BatchNormalization", "Dense", "Softmax"]
    x = np.asarray(KERAS["model"]["x"], dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), KERAS["model"]["predictions"], rtol=1e-5, atol=1e-6)
    model.fit(x, np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]], epochs=1, verbose=0)


# -- forward values -----------------------------------------------------------------------

def test_batch_normalization_training_and_inference_formulas(rng):
    layer = BatchNormalization(momentum=0.9, epsilon=0.01)
    x = rng.normal(loc=2.0, scale=3.0, size=(8, 3)).astype(np.float32)
    layer.build((None, 3))
    gamma, beta = np.float32([0.5, 1.0, 2.0]), np.float32([0.1, -0.2, 0.3])
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)

    mean, var = x.mean(axis=0), x.var(axis=0)  # biased variance, as Keras 3
    out = layer(x, training=True)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 0.01) + beta, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_mean.value, 0.1 * mean, rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.value, 0.9 + 0.1 * var, rtol=1e-6)

    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    inference = layer(x)
    np.testing.assert_allclose(inference, gamma * (x - mm) / np.sqrt(mv + 0.01) + beta, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.value, mm)  # inference leaves them alone
    np.testing.assert_array_equal(layer.moving_variance.value, mv)


def test_batch_normalization_over_a_middle_axis_of_3d_inputs(rng):
    layer = BatchNormalization(axis=1, center=False)
    x = rng.normal(size=(4, 3, 5)).astype(np.float32)
    out = layer(x, training=True)
    assert [w.name for w in layer.weights] == ["gamma", "moving_mean", "moving_variance"]
    assert layer.gamma.shape == (3,)
    expected = (x - x.mean(axis=(0, 2), keepdims=True)) / np.sqrt(x.var(axis=(0, 2), keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_batch_normalization_defaults_and_weights():
    layer = BatchNormalization()
    assert (layer.axis, layer.momentum, layer.epsilon, layer.center, layer.scale) == (-1, 0.99, 1e-3, True, True)
    layer.build((None, 4))
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert [w.value.tolist() for w in layer.weights] == [[1.0] * 4, [0.0] * 4, [0.0] * 4, [1.0] * 4]
    assert all(w.dtype == np.float32 for w in layer.weights)
    scale_only = BatchNormalization(center=False, scale=False)
    scale_only.build((None, 2))
    assert [w.name for w in scale_only.weights] == ["moving_mean", "moving_variance"]


def test_relu_layer_variants():
    x = np.array([[-2.0, 0.0, 0.5, 0.7, 1.0, 5.0]], dtype=np.float32)
    np.testing.assert_array_equal(ReLU()(x), np.maximum(x, 0))
    np.testing.assert_array_equal(ReLU(max_value=1.0)(x), np.clip(x, 0, 1.0))
    # Values at or below the threshold are damped, as Keras 3 does (f(0.5) = 0 for threshold 0.5).
    np.testing.assert_allclose(ReLU(threshold=0.5, negative_slope=0.1, max_value=2.0)(x),
                               [[-0.25, -0.05, 0.0, 0.7, 1.0, 2.0]], rtol=1e-6)
    assert ReLU()(x).dtype == np.float32


def test_leaky_relu_elu_prelu_and_softmax_values():
    x = np.array([[-2.0, -0.5, 0.0, 1.5]], dtype=np.float32)
    np.testing.assert_allclose(LeakyReLU()(x), [[-0.6, -0.15, 0.0, 1.5]], rtol=1e-6)  # layer default 0.3
    np.testing.assert_allclose(LeakyReLU(negative_slope=0.1)(x), [[-0.2, -0.05, 0.0, 1.5]], rtol=1e-6)
    np.testing.assert_allclose(ELU()(x), np.where(x > 0, x, np.expm1(x)), rtol=1e-6)
    np.testing.assert_allclose(ELU(alpha=0.5)(x), np.where(x > 0, x, 0.5 * np.expm1(x)), rtol=1e-6)
    prelu = PReLU(alpha_initializer=initializers.Constant(0.25))
    np.testing.assert_allclose(prelu(x), [[-0.5, -0.125, 0.0, 1.5]], rtol=1e-6)
    assert PReLU()(x).tolist() == np.maximum(x, 0).tolist()  # alpha starts at zero
    e = np.exp(x - x.max())
    np.testing.assert_allclose(Softmax()(x), e / e.sum(), rtol=1e-6)
    x3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10
    e3 = np.exp(x3)
    np.testing.assert_allclose(Softmax(axis=1)(x3), e3 / e3.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(Softmax(axis=[1, 2])(x3), e3 / e3.sum(axis=(1, 2), keepdims=True), rtol=1e-6)


def test_prelu_slopes_per_unit_and_shared_axes(rng):
    layer = PReLU(shared_axes=[1, 2])
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    layer(x)
    assert layer.alpha.shape == (1, 1, 5)
    assert PReLU(shared_axes=1).shared_axes == [1]
    per_unit = PReLU()
    per_unit.build((None, 6))
    assert per_unit.alpha.shape == (6,) and per_unit.count_params() == 6
    alpha = rng.uniform(0.1, 0.5, size=6).astype(np.float32)
    per_unit.alpha.assign(alpha)
    x2 = rng.normal(size=(3, 6)).astype(np.float32)
    np.testing.assert_array_equal(per_unit(x2), np.where(x2 > 0, x2, alpha * x2))


def test_flatten_and_reshape_shapes():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(Flatten()(x), x.reshape(2, 12))
    assert Flatten()(np.arange(3.0)).shape == (3, 1)
    assert Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    assert Flatten().compute_output_shape((None, None, 4)) == (None, None)
    x4 = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(Flatten(data_format="channels_first")(x4),
                                  np.moveaxis(x4, 1, -1).reshape(2, 60))
    np.testing.assert_array_equal(Reshape((4, 3))(x), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(Reshape((-1, 2))(x), x.reshape(2, 6, 2))
    assert Reshape((-1, 2)).compute_output_shape((None, 3, 4)) == (None, 6, 2)
    assert Reshape((-1, 2)).compute_output_shape((None, None, 4)) == (None, None, 2)
    assert Reshape((2, -1)).compute_output_shape((7, 6)) == (7, 2, 3)


def test_dropout_is_inverted_and_only_active_in_training(rng):
    layer = Dropout(0.25, seed=3)
    x = rng.uniform(1.0, 2.0, size=(400, 50)).astype(np.float32)
    assert layer(x) is x  # inference: the input itself, no copy
    out = layer(x, training=True)
    assert out.dtype == np.float32
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_array_equal(out[kept], (x / np.float32(0.75))[kept])
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, kept / np.float32(0.75))
    assert Dropout(0.0)(x, training=True) is x


def test_dropout_noise_shape_broadcasts_the_mask(rng):
    layer = Dropout(0.5, noise_shape=(None, 1, 4), seed=0)
    out = layer(np.ones((6, 3, 4), dtype=np.float32), training=True)
    assert (out == out[:, :1, :]).all()  # one decision per (sample, feature), shared along axis 1
    assert 0 < (out == 0).mean() < 1


# -- seeding ------------------------------------------------------------------------------

def test_dropout_masks_are_reproducible_from_seeds():
    x = np.ones((8, 10), dtype=np.float32)
    first, second = Dropout(0.5, seed=11), Dropout(0.5, seed=11)
    for _ in range(3):
        np.testing.assert_array_equal(first(x, training=True), second(x, training=True))
    assert not np.array_equal(Dropout(0.5, seed=12)(x, training=True), Dropout(0.5, seed=11)(x, training=True))
    # Without a seed the global generator decides.
    set_random_seed(5)
    a = Dropout(0.5)(x, training=True)
    set_random_seed(5)
    np.testing.assert_array_equal(Dropout(0.5)(x, training=True), a)
    # A layer rebuilt from its config starts again from its seed.
    layer = Dropout(0.5, seed=4)
    masks = [layer(x, training=True) for _ in range(2)]
    clone = Dropout.from_config(layer.get_config())
    for mask in masks:
        np.testing.assert_array_equal(clone(x, training=True), mask)


def _regularized_model(seed=None):
    return Sequential([Input((6,)), Dense(16, activation="relu"), BatchNormalization(), Dropout(0.5, seed=seed),
                       PReLU(), Dense(3, activation="softmax")])


@pytest.mark.parametrize("seed", [None, 9], ids=["global_seed", "layer_seed"])
def test_training_with_dropout_is_bit_reproducible(seed, rng):
    x = rng.normal(size=(40, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=40)]
    runs = []
    for _ in range(2):
        backend.clear_session()
        set_random_seed(21)
        model = _regularized_model(seed)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs.append((history.history["loss"], model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


# -- models: training flag, freezing, shapes ----------------------------------------------

def test_fit_uses_batch_statistics_and_predict_moving_statistics(rng):
    model = Sequential([Input((4,)), BatchNormalization(momentum=0.5), Dropout(0.5, seed=1)])
    model.compile(optimizer="sgd", loss="mse")
    bn = model.layers[0]
    x = rng.normal(loc=3.0, size=(16, 4)).astype(np.float32)
    model.fit(x, np.zeros((16, 4), dtype=np.float32), batch_size=16, epochs=1, shuffle=False, verbose=0)
    # One step: moving = 0.5 * initial + 0.5 * batch statistic.
    np.testing.assert_allclose(bn.moving_mean.value, 0.5 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.value, 0.5 + 0.5 * x.var(axis=0), rtol=1e-5)
    gamma, beta, mm, mv = bn.get_weights()
    expected = gamma * (x - mm) / np.sqrt(mv + 1e-3) + beta  # moving statistics, no dropout
    predictions = model.predict(x, verbose=0)
    np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x, verbose=0), predictions)
    before = bn.get_weights()
    loss = model.evaluate(x, np.zeros((16, 4)), verbose=0)
    assert loss == pytest.approx(float(np.mean(expected.astype(np.float64) ** 2)), rel=1e-5)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_dropout_drops_in_train_on_batch_only(rng):
    model = Sequential([Input((50,)), Dropout(0.5, seed=6), Dense(1, kernel_initializer="ones", use_bias=False)])
    model.compile(optimizer=SGD(learning_rate=0.0), loss="mse")
    x = rng.uniform(1.0, 2.0, size=(8, 50)).astype(np.float32)
    y = np.zeros((8, 1), dtype=np.float32)
    dropped = Dropout(0.5, seed=6)(x, training=True)  # the same generator, the same first mask
    train_loss = model.train_on_batch(x, y)
    assert train_loss == pytest.approx(float(np.mean(dropped.sum(axis=1) ** 2)), rel=1e-5)
    assert model.test_on_batch(x, y) == pytest.approx(float(np.mean(x.sum(axis=1) ** 2)), rel=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), x.sum(axis=1, keepdims=True), rtol=1e-6)


def test_optimizer_never_touches_moving_statistics(rng):
    model = Sequential([Input((3,)), BatchNormalization(), Dense(1)])
    model.compile(optimizer=SGD(learning_rate=0.5, momentum=0.9), loss="mse")
    bn = model.layers[0]
    x = rng.normal(size=(8, 3)).astype(np.float32)
    model._prepare_training()
    assert [v.name for v in model._train_vars] == ["gamma", "beta", "kernel", "bias"]
    model.train_on_batch(x, np.ones((8, 1)))
    # The moving statistics moved only by the momentum rule.
    np.testing.assert_allclose(bn.moving_mean.value, 0.01 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.value, 0.99 + 0.01 * x.var(axis=0), rtol=1e-5)
    assert len(model.optimizer.get_weights()) >= 1


@pytest.mark.parametrize("frozen", ["batch_normalization", "p_re_lu"])
def test_frozen_layers_keep_their_weights_in_fit(frozen, rng):
    model = Sequential([Input((5,)), Dense(6), BatchNormalization(), PReLU(alpha_initializer="ones"), Dense(2)])
    layer = next(lay for lay in model.layers if lay.name == frozen)
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == len(layer.weights)
    assert layer.get_config()["trainable"] is False
    before = layer.get_weights()
    others = [lay.get_weights() for lay in model.layers if lay is not layer]
    model.compile(optimizer="adam", loss="mse")
    x = rng.normal(size=(32, 5)).astype(np.float32)
    model.fit(x, rng.normal(size=(32, 2)), batch_size=8, epochs=2, verbose=0)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    changed = [lay.get_weights() for lay in model.layers if lay is not layer]
    assert any(not np.array_equal(a, b) for old, new in zip(others, changed) for a, b in zip(old, new))


def test_frozen_batch_normalization_runs_in_inference_mode(rng):
    layer = BatchNormalization(trainable=False)
    x = rng.normal(loc=1.0, size=(6, 3)).astype(np.float32)
    layer.build((None, 3))
    layer.set_weights([rng.uniform(0.5, 1.5, 3), rng.normal(size=3), rng.normal(size=3), rng.uniform(0.5, 2, 3)])
    np.testing.assert_array_equal(layer(x, training=True), layer(x))
    before = layer.get_weights()
    layer(x, training=True)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    layer.trainable = True
    assert not np.allclose(layer(x, training=True), layer(x))


def test_first_layer_skips_its_input_gradient(rng):
    model = Sequential([Input((3,)), BatchNormalization(), PReLU(), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model._prepare_training()
    assert [layer.need_input_grad for layer in model.layers] == [False, True, True]
    bn = model.layers[0]
    bn(rng.normal(size=(4, 3)), training=True)
    assert bn.backward(np.ones((4, 3), dtype=np.float32)) is None
    assert np.all(bn.beta.grad == 4.0)


def test_layers_on_3d_inputs_inside_a_model(rng):
    model = Sequential([
        Input((3, 4)), BatchNormalization(), LeakyReLU(), Dropout(0.2, noise_shape=(None, 1, 4)), Dense(5),
        ELU(), Reshape((5, 3)), Softmax(axis=1), Flatten(), ReLU(max_value=6.0), Dense(2, activation="softmax"),
    ])
    assert model.output_shape == (None, 2)
    assert [lay.compute_output_shape((None, 3, 4)) for lay in model.layers[:3]] == [(None, 3, 4)] * 3
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = rng.normal(size=(20, 3, 4)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, size=20)]
    history = model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(x, verbose=0).shape == (20, 2)
    assert model.predict(x, batch_size=7, verbose=0).shape == (20, 2)


def test_softmax_layer_head_trains_like_a_softmax_dense(rng):
    x = rng.normal(size=(12, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=12)]
    weights = None
    results = []
    for head in ([Dense(3, activation="softmax")], [Dense(3), Softmax()]):
        model = Sequential([Input((4,))] + head)
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model._prepare_training()
        assert model._head_activation.name == "softmax"  # the fused (a - y) gradient
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_summary_counts_non_trainable_statistics():
    model = Sequential([Input((4,)), Dense(8), BatchNormalization(), Dropout(0.5), Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "batch_normalization (BatchNormalization)" in text and "dropout (Dropout)" in text
    assert " Trainable params: 65 " in text and " Non-trainable params: 16 " in text


# -- gradients (float64) ------------------------------------------------------------------

def _randomize(layer, rng):
    for var in layer.weights:
        if var.name in ("gamma", "moving_variance"):
            var.assign(rng.uniform(0.5, 1.5, size=var.shape))
        else:
            var.assign(rng.normal(size=var.shape))


GRADIENT_CASES = [
    pytest.param(lambda: BatchNormalization(), (6, 4), (), id="batch_normalization"),
    pytest.param(lambda: BatchNormalization(axis=1, momentum=0.5), (3, 4, 2), (), id="batch_normalization_axis1"),
    pytest.param(lambda: BatchNormalization(center=False), (5, 3), (), id="batch_normalization_no_center"),
    pytest.param(lambda: BatchNormalization(scale=False), (2, 3, 3), (), id="batch_normalization_no_scale"),
    pytest.param(lambda: BatchNormalization(trainable=False), (5, 3), (), id="batch_normalization_frozen"),
    pytest.param(lambda: ReLU(), (4, 5), (0.0,), id="relu"),
    pytest.param(lambda: ReLU(max_value=2.0, negative_slope=0.2, threshold=0.5), (4, 6), (0.5, 2.0), id="relu_all"),
    pytest.param(lambda: LeakyReLU(), (2, 3, 4), (0.0,), id="leaky_relu"),
    pytest.param(lambda: ELU(alpha=0.7), (4, 5), (0.0,), id="elu"),
    pytest.param(lambda: PReLU(), (4, 5), (0.0,), id="prelu"),
    pytest.param(lambda: PReLU(shared_axes=[1]), (3, 4, 5), (0.0,), id="prelu_shared_axes"),
    pytest.param(lambda: Softmax(), (3, 5), (), id="softmax"),
    pytest.param(lambda: Softmax(axis=1), (2, 3, 4), (), id="softmax_axis1"),
    pytest.param(lambda: Softmax(axis=(1, 2)), (2, 3, 2), (), id="softmax_two_axes"),
    pytest.param(lambda: Flatten(), (2, 3, 4), (), id="flatten"),
    pytest.param(lambda: Flatten(data_format="channels_first"), (2, 3, 2, 2), (), id="flatten_channels_first"),
    pytest.param(lambda: Reshape((-1, 3)), (2, 3, 4), (), id="reshape"),
]


@pytest.mark.parametrize(("make", "shape", "kinks"), GRADIENT_CASES)
def test_layer_gradients(make, shape, kinks, rng, float64):
    layer = make()
    x = away_from(rng, shape, kinks)
    layer(x)
    _randomize(layer, rng)
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize("noise_shape", [None, (None, 1, 3)], ids=["elementwise", "noise_shape"])
def test_dropout_gradients_with_a_fixed_mask(noise_shape, rng, float64):
    layer = Dropout(0.4, noise_shape=noise_shape)
    x = rng.normal(size=(4, 2, 3))
    set_random_seed(3)
    out = layer(x, training=True)
    assert (out == 0).any() and (out != 0).any()
    check_layer_gradients(layer, x, rng, reseed=3)


def test_model_training_step_through_every_layer_follows_the_loss_gradient(rng, float64):
    model = Sequential([
        Input((2, 3)), BatchNormalization(), Flatten(), Dense(5), PReLU(), Dropout(0.3), BatchNormalization(),
        ELU(), LeakyReLU(), Reshape((5, 1)), Softmax(axis=1), Flatten(), Dense(3), Softmax(),
    ])
    # With learning_rate=1.0 plain SGD moves each weight by exactly minus its gradient.
    model.compile(optimizer=SGD(learning_rate=1.0), loss="categorical_crossentropy")
    for layer in model.layers:
        _randomize(layer, rng)
    x = rng.normal(size=(6, 2, 3))
    y = np.eye(3)[rng.integers(0, 3, size=6)]

    def objective():
        set_random_seed(8)  # the same dropout mask on every pass
        return model.loss(y, model._forward(x, training=True))

    before = model.get_weights()
    statistics = [(lay.moving_mean.numpy(), lay.moving_variance.numpy())
                  for lay in model.layers if isinstance(lay, BatchNormalization)]
    numeric = [numeric_grad(objective, var.value) for var in model.trainable_weights]
    for lay, (mm, mv) in zip([lay for lay in model.layers if isinstance(lay, BatchNormalization)], statistics):
        lay.moving_mean.assign(mm)
        lay.moving_variance.assign(mv)
    set_random_seed(8)
    model.train_on_batch(x, y)
    trainable = {id(v) for v in model.trainable_weights}
    numeric_iter = iter(numeric)
    for var, w_before in zip(model.weights, before):
        if id(var) in trainable:
            assert_close(w_before - var.value, next(numeric_iter))


def test_regularizers_and_constraints_of_batch_normalization_and_prelu(rng, float64):
    model = Sequential([
        Input((4,)), Dense(5), BatchNormalization(gamma_regularizer=regularizers.L2(0.1), beta_regularizer="l1",
                                                  activity_regularizer=regularizers.L2(0.01)),
        PReLU(alpha_regularizer=regularizers.L2(0.2), alpha_constraint="non_neg"), Dense(2),
    ])
    model.compile(optimizer=SGD(learning_rate=1.0), loss="mse")
    bn, prelu = model.layers[1], model.layers[2]
    for layer in model.layers:
        _randomize(layer, rng)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))

    def objective():
        h = bn(model.layers[0](x), training=True)  # the activity penalty is on this output
        out = model.layers[3](prelu(h))
        penalty = 0.1 * np.sum(bn.gamma.value ** 2) + 0.01 * np.sum(np.abs(bn.beta.value))
        penalty += 0.2 * np.sum(prelu.alpha.value ** 2) + 0.01 * np.sum(h ** 2) / len(x)
        return model.loss(y, out) + penalty

    expected_loss = objective()
    numeric = [numeric_grad(objective, var.value) for var in model.trainable_weights]
    before = model.get_weights()
    trainable = [model.weights.index(v) for v in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    after = model.get_weights()
    for index, num in zip(trainable, numeric):
        if model.weights[index] is prelu.alpha:
            assert_close(after[index], np.maximum(before[index] - num, 0))  # the step, then the projection
        else:
            assert_close(before[index] - after[index], num)
    assert (prelu.alpha.value >= 0).all()


# -- configs and files --------------------------------------------------------------------

CONFIG_CASES = [
    lambda: Dropout(0.3, noise_shape=(None, 1), seed=5),
    lambda: Flatten(data_format="channels_first"),
    lambda: Reshape((-1, 4)),
    lambda: BatchNormalization(axis=1, momentum=0.9, epsilon=0.01, center=False,
                               gamma_initializer=initializers.RandomNormal(stddev=0.1, seed=1)),
    lambda: ReLU(max_value=6.0, negative_slope=0.1, threshold=0.2),
    lambda: LeakyReLU(negative_slope=0.2),
    lambda: PReLU(alpha_initializer="ones", shared_axes=[1, 2]),
    lambda: ELU(alpha=0.5),
    lambda: Softmax(axis=[1, 2]),
    lambda: BatchNormalization(name="frozen_bn", trainable=False),
    lambda: BatchNormalization(gamma_regularizer=regularizers.L2(0.1), beta_regularizer="l1",
                               gamma_constraint=constraints.MaxNorm(2.0), beta_constraint="non_neg"),
    lambda: PReLU(alpha_regularizer="l2", alpha_constraint=constraints.NonNeg()),
    lambda: ReLU(activity_regularizer="l2"),
]


@pytest.mark.parametrize("make", CONFIG_CASES)
def test_config_round_trips_through_json(make):
    layer = make()
    serialized = layers.serialize(layer)
    assert serialized["module"] == "keras.layers" and serialized["registered_name"] is None
    clone = layers.deserialize(json.loads(json.dumps(serialized)))
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config() == json.loads(json.dumps(layer.get_config()))
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_configs_have_keras_keys():
    keys = {
        Dropout(0.5): ["rate", "seed", "noise_shape"],
        Flatten(): ["data_format"],
        Reshape((2, 2)): ["target_shape"],
        ReLU(): ["max_value", "negative_slope", "threshold"],
        LeakyReLU(): ["negative_slope"],
        PReLU(): ["alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"],
        ELU(): ["alpha"],
        Softmax(): ["axis"],
        BatchNormalization(): ["axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                               "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                               "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint",
                               "synchronized", "renorm", "renorm_clipping", "renorm_momentum"],
    }
    for layer, expected in keys.items():
        assert list(layer.get_config()) == ["name", "trainable", "dtype"] + expected
    assert LeakyReLU().get_config()["negative_slope"] == 0.3
    assert Flatten().get_config()["data_format"] == "channels_last"
    assert PReLU().get_config()["alpha_initializer"]["class_name"] == "Zeros"


def test_h5_round_trip_with_every_layer(tmp_path, rng):
    model = Sequential([
        Input((3, 4)), BatchNormalization(), Flatten(), Dense(8), PReLU(), Dropout(0.3, seed=2),
        ReLU(max_value=3.0), BatchNormalization(name="frozen", trainable=False), LeakyReLU(), Reshape((4, 2)),
        Softmax(axis=1), Flatten(data_format="channels_first"), ELU(alpha=0.5), Dense(3), Softmax(),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = rng.normal(size=(24, 3, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=24)]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path / "model.h5"
    model.save(path)
    loaded = load_model(path)
    assert loaded.get_config() == model.get_config()
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert [lay.trainable for lay in loaded.layers] == [lay.trainable for lay in model.layers]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert len(loaded.trainable_weights) == len(model.trainable_weights)
    weights_only = tmp_path / "weights.h5"
    model.save_weights(weights_only)
    fresh = Sequential.from_config(model.get_config())
    fresh.load_weights(weights_only)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


# -- Keras 1/2 names ----------------------------------------------------------------------

def test_legacy_argument_names_warn_and_map():
    with pytest.warns(DeprecationWarning, match=r"`p` .* use `rate` instead \(`rate=0.4`\)"):
        assert Dropout(p=0.4).rate == 0.4
    with pytest.warns(DeprecationWarning, match="use `negative_slope` instead"):
        assert LeakyReLU(alpha=0.1).negative_slope == 0.1
    with pytest.warns(DeprecationWarning, match="use `alpha_initializer` instead"):
        assert type(PReLU(init="ones").alpha_initializer).__name__ == "Ones"
    with pytest.warns(DeprecationWarning, match="use `gamma_initializer` instead"):
        assert type(BatchNormalization(gamma_init="zeros").gamma_initializer).__name__ == "Zeros"
    with pytest.warns(DeprecationWarning, match="use `beta_initializer` instead"):
        assert type(BatchNormalization(beta_init="ones").beta_initializer).__name__ == "Ones"
    with pytest.warns(DeprecationWarning, match="mode=0"):
        BatchNormalization(mode=0)
    with pytest.raises(TypeError, match="Keras 1 mode"):
        BatchNormalization(mode=2)
    with pytest.raises(TypeError, match="both the legacy argument `p` and its replacement `rate`"):
        Dropout(0.5, p=0.4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert BatchNormalization(axis=[1]).axis == 1  # tf-keras files store the axis as a list


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: Dropout(1.0), ValueError, r"`rate` to be a number in \[0, 1\)\. Received: rate=1\.0"),
    (lambda: Dropout(-0.1), ValueError, r"\[0, 1\)"),
    (lambda: Dropout("half"), ValueError, "rate='half'"),
    (lambda: Dropout(), TypeError, "missing the required argument `rate`"),
    (lambda: Dropout(0.5, seed=-1), ValueError, "non-negative integer"),
    (lambda: Dropout(0.5, noise_shape=(None, 0)), ValueError, "positive integers"),
    (lambda: Dropout(0.5, rat=0.1), TypeError, "unknown keyword argument.*`rat`"),
    (lambda: Reshape((2, -1, -1)), ValueError, "at most one -1"),
    (lambda: Reshape((0, 2)), ValueError, "positive integers"),
    (lambda: Reshape(), TypeError, "target_shape"),
    (lambda: Flatten(data_format="NCHW"), ValueError, "'channels_last' or 'channels_first'"),
    (lambda: BatchNormalization(momentum=1.5), ValueError, r"`momentum` to be a number in \[0, 1\]"),
    (lambda: BatchNormalization(epsilon=0), ValueError, "`epsilon` to be a number > 0"),
    (lambda: BatchNormalization(axis="last"), ValueError, "`axis` to be an integer"),
    (lambda: BatchNormalization(renorm=True), NotImplementedError, "renorm=True"),
    (lambda: BatchNormalization(synchronized=True), ValueError, "synchronized=True"),
    (lambda: BatchNormalization(gamma_regularizer="l7"), ValueError, "Unknown regularizer 'l7'"),
    (lambda: PReLU(alpha_constraint="nonnegative"), ValueError, "Unknown constraint 'nonnegative'"),
    (lambda: PReLU(shared_axes=[0]), ValueError, "count from 1"),
    (lambda: ReLU(max_value=-1.0), ValueError, "`max_value` to be a number >= 0 or None"),
    (lambda: ReLU(negative_slope=None), ValueError, "negative_slope"),
    (lambda: ReLU(threshold=-0.5), ValueError, "threshold"),
    (lambda: LeakyReLU(negative_slope=-0.1), ValueError, "`negative_slope` to be a number >= 0"),
    (lambda: ELU(alpha=float("nan")), ValueError, "alpha"),
    (lambda: Softmax(axis=1.5), ValueError, "`axis` to be an integer"),
    (lambda: Softmax(axis=[]), ValueError, "non-empty"),
])
def test_bad_arguments_fail_early(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(("layers_", "match"), [
    ([Input((3, 4)), Reshape((5, 2))],
     r"cannot reshape samples of shape \(3, 4\) \(12 values\) to target_shape=\(5, 2\), which needs 10 values"),
    ([Input((3, 4)), Reshape((5, -1))], r"needs a multiple of 5 values"),
    ([Input((3, 4)), BatchNormalization(axis=3)], r"`axis=3`, which is out of range for inputs of shape \(None, 3, 4\)"),
    ([Input((3,)), BatchNormalization(axis=0)], "the batch axis"),
    ([Input((None, 4)), BatchNormalization(axis=1)], "unknown size"),
    ([Input((3, 4)), PReLU(shared_axes=[3])], r"shared axes must lie in 1\.\.2"),
    ([Input((3, 4)), Dropout(0.5, noise_shape=(None, 2, 4))], r"noise_shape=\(None, 2, 4\), which does not broadcast"),
    ([Input((3, 4)), Dropout(0.5, noise_shape=(None, 1))], "one entry per input axis"),
    ([Input((3,)), Softmax(axis=2)], "out of range"),
    ([Input((3,)), Softmax(axis=[1, -1])], "same axis twice"),
])
def test_bad_shapes_fail_when_the_model_is_built(layers_, match):
    with pytest.raises(ValueError, match=match):
        Sequential(layers_)


def test_backward_needs_a_training_call():
    for layer in (Dropout(0.5), Flatten(), Reshape((4,)), BatchNormalization(), ReLU(), PReLU(), Softmax()):
        x = np.ones((2, 4), dtype=np.float32)
        layer(x)
        with pytest.raises(RuntimeError, match=r"backward\(\) needs a preceding call with training=True"):
            layer.backward(x)


def test_layers_check_their_input_shape():
    layer = BatchNormalization()
    layer(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 3\), but received inputs of shape \(2, 4\)"):
        layer(np.ones((2, 4), dtype=np.float32))
