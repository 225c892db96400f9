"""``minikeras.testing.check_gradients``: passes on every built-in layer, activation and loss,
and fails, with a message naming the culprit, on a wrong backward pass."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from _helpers import away_from

from minikeras import activations, backend, losses, regularizers
from minikeras.layers import (
    ELU,
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    Input,
    Layer,
    LeakyReLU,
    PReLU,
    ReLU,
    Reshape,
    Softmax,
)
from minikeras.layers import base as layers_base
from minikeras.models import Sequential
from minikeras.testing import ArrayCheck, GradientCheck, check_gradients

DOC = Path(__file__).resolve().parent.parent / "docs" / "custom-layers.md"
# Kinks of the activations: 0 (relu family), 0.5 (the ReLU threshold below), -3 and 3
# (hard_sigmoid, hard_silu and the ReLU max_value below).
KINKS = (-3.0, 0.0, 0.5, 3.0)


def inputs(rng, shape):
    return away_from(rng, shape, KINKS, margin=0.05, low=-4.0, high=4.0)


# -- every built-in layer -------------------------------------------------------------------

LAYER_CASES = [
    pytest.param(lambda: Dense(4), (5, 3), id="Dense"),
    pytest.param(lambda: Dense(4, activation="tanh", use_bias=False), (5, 3), id="Dense_tanh_no_bias"),
    pytest.param(lambda: Dense(4, activation="softmax"), (5, 3), id="Dense_softmax"),
    pytest.param(lambda: Dense(4, activation="relu"), (2, 3, 3), id="Dense_relu_3d"),
    pytest.param(lambda: Activation("sigmoid"), (4, 5), id="Activation"),
    pytest.param(lambda: ReLU(negative_slope=0.1, max_value=3.0, threshold=0.5), (4, 5), id="ReLU"),
    pytest.param(lambda: LeakyReLU(0.2), (4, 5), id="LeakyReLU"),
    pytest.param(lambda: PReLU(alpha_initializer="random_normal"), (4, 5), id="PReLU"),
    pytest.param(lambda: PReLU(alpha_initializer="random_normal", shared_axes=[1]), (2, 3, 4), id="PReLU_shared"),
    pytest.param(lambda: ELU(alpha=0.5), (4, 5), id="ELU"),
    pytest.param(lambda: Softmax(), (4, 5), id="Softmax"),
    pytest.param(lambda: Softmax(axis=1), (2, 3, 4), id="Softmax_axis1"),
    pytest.param(lambda: BatchNormalization(), (6, 4), id="BatchNormalization"),
    pytest.param(lambda: BatchNormalization(axis=1, center=False), (3, 2, 4), id="BatchNormalization_axis1"),
    pytest.param(lambda: Dropout(0.5), (4, 6), id="Dropout"),
    pytest.param(lambda: Dropout(0.4, noise_shape=(None, 1), seed=3), (6, 4), id="Dropout_seeded_noise_shape"),
    pytest.param(lambda: Flatten(), (2, 3, 4), id="Flatten"),
    pytest.param(lambda: Reshape((4, 3)), (2, 3, 4), id="Reshape"),
]


def test_every_registered_layer_class_is_checked():
    checked = {p.id.split("_")[0] for p in LAYER_CASES}
    assert checked == set(layers_base._registry.names(include_aliases=False)) - {"InputLayer"}


@pytest.mark.parametrize(("make", "shape"), LAYER_CASES)
def test_every_built_in_layer_passes(make, shape, rng):
    layer = make()
    result = check_gradients(layer, inputs(rng, shape))
    assert isinstance(result, GradientCheck) and result.passed and result
    assert [a.name for a in result.arrays] == ["input"] + [v.path for v in layer.trainable_weights]
    assert all(a.checked == min(100, int(np.prod(a.shape))) for a in result.arrays)


@pytest.mark.parametrize("name", activations.names())
def test_every_activation_passes(name, rng):
    check_gradients(Activation(name), inputs(rng, (4, 5)))


def test_a_frozen_batch_normalization_is_checked_in_inference_mode(rng):
    layer = BatchNormalization(trainable=False)
    result = check_gradients(layer, inputs(rng, (6, 4)))
    assert [a.name for a in result.arrays] == ["input"]


# -- models: every loss, the fused paths, regularizers ---------------------------------------

N, K = 6, 3


def _labels(rng):
    return rng.integers(0, K, size=N)


def _one_hot(rng):
    return np.eye(K)[_labels(rng)]


# (loss, output activation, targets); each pair is kept away from the loss's kinks.
LOSS_CASES = [
    pytest.param("mse", "linear", lambda r: r.normal(size=(N, K)), id="mse"),
    pytest.param("mae", "tanh", lambda r: r.uniform(2.0, 3.0, size=(N, K)), id="mae"),
    pytest.param("mape", "tanh", lambda r: r.uniform(2.0, 3.0, size=(N, K)), id="mape"),
    pytest.param("msle", "sigmoid", lambda r: r.uniform(size=(N, K)), id="msle"),
    pytest.param("binary_crossentropy", "sigmoid", lambda r: r.integers(0, 2, size=(N, K)).astype(float),
                 id="bce_sigmoid_fused"),
    pytest.param(losses.BinaryCrossentropy(label_smoothing=0.2), "sigmoid",
                 lambda r: r.integers(0, 2, size=(N, K)).astype(float), id="bce_smoothing_fused"),
    pytest.param(losses.BinaryCrossentropy(from_logits=True), "linear",
                 lambda r: r.integers(0, 2, size=(N, K)).astype(float), id="bce_logits"),
    pytest.param("categorical_crossentropy", "softmax", _one_hot, id="cce_softmax_fused"),
    pytest.param(losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax", _one_hot,
                 id="cce_smoothing_fused"),
    pytest.param(losses.CategoricalCrossentropy(from_logits=True), "linear", _one_hot, id="cce_logits"),
    pytest.param("categorical_crossentropy", "sigmoid", _one_hot, id="cce_sigmoid_unfused"),
    pytest.param("sparse_categorical_crossentropy", "softmax", _labels, id="scce_softmax_fused"),
    pytest.param(losses.SparseCategoricalCrossentropy(from_logits=True), "linear", _labels, id="scce_logits"),
    pytest.param("hinge", "tanh", lambda r: r.choice([-1.0, 1.0], size=(N, K)), id="hinge"),
    pytest.param("squared_hinge", "tanh", lambda r: r.choice([-1.0, 1.0], size=(N, K)), id="squared_hinge"),
    pytest.param("categorical_hinge", "softmax", _one_hot, id="categorical_hinge"),
    pytest.param("kl_divergence", "softmax", lambda r: r.dirichlet(np.ones(K), size=N), id="kl_divergence"),
    pytest.param("poisson", "softplus", lambda r: r.uniform(0.0, 3.0, size=(N, K)), id="poisson"),
    pytest.param("log_cosh", "linear", lambda r: r.normal(size=(N, K)), id="log_cosh"),
    pytest.param(losses.Huber(delta=0.5), "linear", lambda r: r.normal(size=(N, K)), id="huber"),
    pytest.param("cosine_similarity", "linear", lambda r: r.normal(size=(N, K)), id="cosine_similarity"),
]


def _model(activation, **hidden):
    return Sequential([Input((4,)), Dense(5, activation="tanh", **hidden), Dense(K, activation=activation)])


def test_every_loss_class_is_checked():
    checked = {type(losses.get(p.values[0])) for p in LOSS_CASES}
    assert checked == {type(losses.get(name)) for name in losses._registry.names(include_aliases=False)}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("loss", "activation", "targets"), LOSS_CASES)
def test_models_pass_with_every_loss(loss, activation, targets, weighted, rng):
    model = _model(activation)
    model.compile(optimizer="sgd", loss=loss)
    sw = rng.uniform(0.2, 2.0, size=N) if weighted else None
    result = check_gradients(model, rng.normal(size=(N, 4)), targets(rng), sample_weight=sw)
    assert [a.name for a in result.arrays] == [v.path for v in model.trainable_weights]


REGULARIZED = [
    pytest.param({"kernel_regularizer": "l2", "bias_regularizer": regularizers.L1(0.1)}, "softmax", id="weights"),
    pytest.param({"kernel_regularizer": regularizers.L1L2(0.01, 0.02)}, "linear", id="l1l2"),
    pytest.param({"kernel_regularizer": regularizers.OrthogonalRegularizer(0.1)}, "linear", id="orthogonal"),
    pytest.param({"activity_regularizer": regularizers.L2(0.1)}, "softmax", id="activity_hidden"),
]


@pytest.mark.parametrize(("hidden", "activation"), REGULARIZED)
def test_regularization_penalties_are_part_of_the_checked_loss(hidden, activation, rng):
    model = _model(activation, **hidden)
    model.compile(optimizer="sgd", loss="categorical_crossentropy" if activation == "softmax" else "mse")
    y = _one_hot(rng) if activation == "softmax" else rng.normal(size=(N, K))
    check_gradients(model, rng.normal(size=(N, 4)), y)


def test_an_activity_penalty_on_the_fused_head_is_checked(rng):
    model = Sequential([Input((4,)), Dense(5, activation="tanh"),
                        Dense(K, activation="softmax", activity_regularizer=regularizers.L2(0.5))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    check_gradients(model, rng.normal(size=(N, 4)), _one_hot(rng))


def test_a_model_with_dropout_batch_normalization_and_a_custom_loss_passes(rng):
    def cubic(y_true, y_pred):
        return np.mean((y_pred - y_true) ** 3 + y_pred ** 2, axis=-1)

    # Dropout after BatchNormalization: a column of zeros would put PReLU on its kink (beta = 0).
    model = Sequential([Input((4,)), Dense(8, activation="tanh"), BatchNormalization(),
                        PReLU(alpha_initializer="random_normal", alpha_regularizer="l2"), Dropout(0.5), Dense(K)])
    model.compile(optimizer="adam", loss=cubic)
    check_gradients(model, rng.normal(size=(N, 4)), rng.normal(size=(N, K)), max_entries=None)


def test_a_model_is_left_exactly_as_it_was(rng):
    backend.set_floatx("float32")
    model = Sequential([Input((4,)), Dense(5, activation="relu", kernel_constraint="non_neg"),
                        BatchNormalization(), Dropout(0.3), Dense(K, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = rng.normal(size=(N, 4)), _one_hot(rng)
    model.fit(x, y, epochs=1, verbose=0)
    arrays = [(v.value, v.grad) for v in model.weights]
    before = model.get_weights()
    optimizer, iterations = model.optimizer, model.optimizer.iterations
    logs = model.evaluate(x, y, verbose=0, return_dict=True)

    check_gradients(model, x, y)

    assert backend.floatx() == "float32" and model.dtype == "float32"
    assert [(v.value, v.grad) for v in model.weights] == arrays  # the same array objects
    for old, new in zip(before, model.get_weights()):
        assert new.dtype == np.float32
        np.testing.assert_array_equal(old, new)
    assert model.optimizer is optimizer and model.optimizer.iterations == iterations
    assert model.evaluate(x, y, verbose=0, return_dict=True) == logs
    model.fit(x, y, epochs=1, verbose=0)  # still trains


def test_a_check_inside_fit_leaves_the_training_run_alone(rng):
    from minikeras.callbacks import LambdaCallback

    model = Sequential([Input((4,)), Dense(3, kernel_constraint="non_neg", name="dense")])
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(N, 4)), rng.normal(size=(N, K))
    results = []
    check = LambdaCallback(on_epoch_end=lambda epoch, logs: results.append(check_gradients(model, x, y)))
    model.fit(x, y, epochs=2, batch_size=3, verbose=0, callbacks=[check])
    assert len(results) == 2 and all(results)
    assert model.optimizer.iterations == 4
    assert (model.layers[0].kernel.value >= 0).all()  # the constraint still applies


def test_a_float32_layer_is_checked_in_float64_and_left_unchanged(rng):
    layer = Dense(3, activation="tanh")
    x = rng.normal(size=(4, 2)).astype(np.float32)
    layer(x)
    kernel = layer.kernel.value
    before = kernel.copy()
    check_gradients(layer, x)
    assert layer.kernel.value is kernel and kernel.dtype == np.float32 and layer.dtype == "float32"
    np.testing.assert_array_equal(kernel, before)


# -- failures ---------------------------------------------------------------------------------

class Square(Layer):
    """``w * x**2`` with a per-feature weight; ``mistake`` picks a wrong derivative."""

    def __init__(self, mistake=None, **kwargs):
        super().__init__(**kwargs)
        self.mistake = mistake

    def build(self, input_shape):
        from minikeras import initializers
        self.w = self.add_weight("w", (input_shape[-1],), initializers.get("random_normal"))
        super().build(input_shape)

    def call(self, x, training=False):
        if training:
            self._x = x
        return self.w.value * x ** 2

    def backward(self, grad):
        x = self._x
        self.w.grad[...] = np.sum(grad * x ** 2, axis=0) * (0.5 if self.mistake == "weight" else 1.0)
        if self.mistake == "none":
            return None
        if self.mistake == "shape":
            return grad[:, :1]
        return grad * self.w.value * x * (1.0 if self.mistake == "input" else 2.0)


def test_a_correct_custom_layer_passes(rng):
    check_gradients(Square(name="square"), rng.normal(size=(4, 3)))


def test_a_layer_is_checked_whatever_its_need_input_grad(rng):
    model = Sequential([Input((3,)), Dense(2, name="first")])
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))
    layer = model.layers[0]
    assert layer.need_input_grad is False
    assert check_gradients(layer, rng.normal(size=(4, 3)))["input"].passed
    assert layer.need_input_grad is False


def test_a_wrong_weight_gradient_fails_naming_the_weight(rng):
    before = backend.floatx()
    with pytest.raises(AssertionError) as info:
        check_gradients(Square(mistake="weight", name="square"), rng.normal(size=(4, 3)))
    message = str(info.value)
    assert message.startswith("Gradient check failed for 'square/w'. Worst: 'square/w' (3,) at entry (")
    assert "central differences give" in message and "3 of 3 checked entries are off" in message
    assert re.search(r"^square/w\s+\(3,\)\s+3\s.*NO \(3 off\)$", message, re.M)
    assert re.search(r"^input\s+\(4, 3\)\s+12\s.*yes$", message, re.M)
    assert backend.floatx() == before


def test_a_wrong_input_gradient_fails_naming_the_input(rng):
    result = check_gradients(Square(mistake="input", name="square"), rng.normal(size=(4, 3)),
                             raise_on_failure=False)
    assert not result and not result.passed
    assert result.worst.name == "input" and not result["input"].passed and result["square/w"].passed
    worst = result["input"]
    assert worst.failures == 12 and worst.max_rel_error == pytest.approx(0.5)
    assert worst.worst_numeric == pytest.approx(2.0 * worst.worst_analytic)
    assert "Gradient check FAILED" in str(result)
    with pytest.raises(KeyError, match="No array named 'kernel' was checked. Checked: input, square/w."):
        result["kernel"]


@pytest.mark.parametrize(("mistake", "fragment"), [
    ("none", r"backward\(\) returned None although need_input_grad is True"),
    ("shape", r"backward\(\) returned an input gradient of shape \(4, 1\) for inputs of shape \(4, 3\)"),
])
def test_a_malformed_backward_always_raises(mistake, fragment, rng):
    with pytest.raises(AssertionError, match=r"layer 'square' \(Square\): " + fragment):
        check_gradients(Square(mistake=mistake, name="square"), rng.normal(size=(4, 3)), raise_on_failure=False)


def test_a_layer_without_backward_is_told_what_to_implement(rng):
    class Forward(Layer):
        def call(self, x, training=False):
            return 2 * x

    with pytest.raises(NotImplementedError, match=r"no backward pass\. Implement backward\(grad\)"):
        check_gradients(Forward(), rng.normal(size=(2, 3)))


def test_a_dropout_whose_backward_ignores_the_mask_fails(rng):
    class MasklessDropout(Dropout):
        def backward(self, grad):
            return grad / (1.0 - self.rate)

    with pytest.raises(AssertionError, match="Gradient check failed for 'input'"):
        check_gradients(MasklessDropout(0.5), rng.normal(size=(4, 6)))


def test_a_wrong_fused_head_gradient_fails_in_a_model(rng):
    class HalfHead(Dense):
        def backward_logits(self, delta):
            return super().backward_logits(delta * 0.5)

    model = Sequential([Input((4,)), Dense(5, activation="tanh", name="hidden"),
                        HalfHead(K, activation="softmax", name="head")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    result = check_gradients(model, rng.normal(size=(N, 4)), _one_hot(rng), raise_on_failure=False)
    assert {a.name for a in result.arrays if not a.passed} == {
        "sequential/hidden/kernel", "sequential/hidden/bias", "sequential/head/kernel", "sequential/head/bias"}


def test_a_wrong_regularizer_gradient_fails_in_a_model(rng):
    class HalfL2(regularizers.Regularizer):
        def __call__(self, x):
            return float(np.sum(x ** 2))

        def gradient(self, x):
            return x  # should be 2 x

        def add_gradient(self, x, out, scale=1.0):
            out += scale * self.gradient(x)

        def get_config(self):
            return {}

    model = Sequential([Input((4,)), Dense(K, kernel_regularizer=HalfL2(), name="dense")])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(AssertionError, match=r"failed for 'sequential/dense/kernel'\. Worst: 'sequential/dense/kernel'"):
        check_gradients(model, rng.normal(size=(N, 4)), rng.normal(size=(N, K)))


# -- sampling and arguments ------------------------------------------------------------------

def test_big_arrays_are_checked_on_a_seeded_sample(rng):
    layer = Dense(30)
    x = rng.normal(size=(4, 20))
    first = check_gradients(layer, x, max_entries=7, seed=5)
    assert [a.checked for a in first.arrays] == [7, 7, 7]
    again = check_gradients(layer, x, max_entries=7, seed=5)
    assert again == first
    other = check_gradients(layer, x, max_entries=7, seed=6)
    assert other["dense/kernel"].worst_index != first["dense/kernel"].worst_index
    assert check_gradients(layer, x[:1, :2] @ np.ones((2, 20)), max_entries=None)["dense/kernel"].checked == 600


def test_the_table_lists_every_array():
    check = GradientCheck((ArrayCheck("input", (2, 3), 6, 0, 1e-11, 2e-9, 0.01, (1, 2), 0.5, 0.5),), 1e-6, 1e-5, 1e-7)
    assert str(check).splitlines() == [
        "Gradient check passed (eps=1e-06, rtol=1e-05, atol=1e-07)",
        "array  shape   checked  max abs err  max rel err  worst entry  analytic  numeric  ok",
        "input  (2, 3)  6        1.00e-11     2.00e-09     (1, 2)       0.5       0.5      yes",
    ]


@pytest.mark.parametrize(("kwargs", "error", "fragment"), [
    ({"y": np.zeros((4, 2))}, ValueError, r"received `y`, which only a model takes"),
    ({"sample_weight": np.ones(4)}, ValueError, r"received `sample_weight`, which only a model takes"),
    ({"eps": 0}, ValueError, r"`eps` to be a positive number\. Received: eps=0"),
    ({"rtol": -1}, ValueError, r"`rtol` to be a non-negative number"),
    ({"max_entries": 0}, ValueError, r"`max_entries` to be a positive integer or None"),
    ({"seed": -1}, ValueError, r"`seed` to be a non-negative integer"),
    ({"tolerance": 1}, TypeError, r"unexpected keyword argument 'tolerance'"),
])
def test_bad_arguments_are_refused(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        check_gradients(Dense(2), np.ones((4, 3)), **kwargs)


def test_bad_objects_and_inputs_are_refused():
    with pytest.raises(TypeError, match=r"expects a minikeras Layer or a compiled Sequential model\. Received: 3"):
        check_gradients(3, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"non-empty batch, shape \(batch, \.\.\.\)\. Received shape \(\)"):
        check_gradients(Dense(2), 1.0)
    model = Sequential([Input((3,)), Dense(2)])
    with pytest.raises(RuntimeError, match=r"compile\(\) before check_gradients\(\)"):
        check_gradients(model, np.ones((4, 3)), np.ones((4, 2)))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"needs targets `y`: a model is checked through its loss"):
        check_gradients(model, np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expects inputs of shape|features"):
        check_gradients(model, np.ones((4, 5)), np.ones((4, 2)))
    model.trainable = False
    with pytest.raises(ValueError, match=r"no trainable weights in model 'sequential'; nothing to check"):
        check_gradients(model, np.ones((4, 3)), np.ones((4, 2)))
    assert model.dtype == "float32"


# -- the guide ---------------------------------------------------------------------------------

def test_the_custom_layer_guide_runs_and_shows_its_output():
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    shown = re.findall(r"```\n(Gradient check passed.*?)```", text, re.S)
    assert shown and shown[0] in out.getvalue()
    assert "Gradient check failed for 'input'. Worst: 'input' (8, 4) at entry (3, 0)" in out.getvalue()
