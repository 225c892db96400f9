"""Losses: names, values, gradients, reductions, configurations and training with each.

Values are checked against Keras's documented formulas (written out below in float64)
and against ``tests/fixtures/keras3/losses.json``, which holds values, reductions and
gradients computed by real Keras 3.15.1 (torch backend); it is written by
``tests/fixtures/keras3/make_losses.py``. Gradients are checked against central
differences in float64.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from _helpers import numeric_grad

import minikeras as mk
from minikeras import activations, losses
from minikeras.layers import Dense, Input
from minikeras.models import Sequential, model_from_json
from minikeras.optimizers import SGD

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "keras3" / "losses.json").read_text())
EPS = 1e-7
N, K = 6, 4


# -- names ----------------------------------------------------------------------------------
# Every loss name Keras 3.15's losses.get accepts for these losses, and the class it means.
KERAS3_NAMES = {
    losses.MeanSquaredError: ["mean_squared_error", "mse", "MSE", "MeanSquaredError"],
    losses.MeanAbsoluteError: ["mean_absolute_error", "mae", "MAE", "MeanAbsoluteError"],
    losses.MeanAbsolutePercentageError: ["mean_absolute_percentage_error", "mape", "MAPE",
                                         "MeanAbsolutePercentageError"],
    losses.MeanSquaredLogarithmicError: ["mean_squared_logarithmic_error", "msle", "MSLE",
                                         "MeanSquaredLogarithmicError"],
    losses.BinaryCrossentropy: ["binary_crossentropy", "bce", "BCE", "BinaryCrossentropy"],
    losses.CategoricalCrossentropy: ["categorical_crossentropy", "CategoricalCrossentropy"],
    losses.SparseCategoricalCrossentropy: ["sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"],
    losses.Hinge: ["hinge", "Hinge"],
    losses.SquaredHinge: ["squared_hinge", "SquaredHinge"],
    losses.CategoricalHinge: ["categorical_hinge", "CategoricalHinge"],
    losses.KLDivergence: ["kl_divergence", "kld", "KLD", "KLDivergence"],
    losses.Poisson: ["poisson", "Poisson"],
    losses.LogCosh: ["log_cosh", "LogCosh"],
    losses.Huber: ["huber", "Huber"],
    losses.CosineSimilarity: ["cosine_similarity", "CosineSimilarity"],
}
NAME_CASES = [pytest.param(name, cls, id=name) for cls, names in KERAS3_NAMES.items() for name in names]

FUNCTIONS = [
    (losses.mean_squared_error, losses.MeanSquaredError), (losses.mse, losses.MeanSquaredError),
    (losses.MSE, losses.MeanSquaredError), (losses.mean_absolute_error, losses.MeanAbsoluteError),
    (losses.mae, losses.MeanAbsoluteError), (losses.mean_absolute_percentage_error, losses.MeanAbsolutePercentageError),
    (losses.mape, losses.MeanAbsolutePercentageError),
    (losses.mean_squared_logarithmic_error, losses.MeanSquaredLogarithmicError),
    (losses.msle, losses.MeanSquaredLogarithmicError), (losses.binary_crossentropy, losses.BinaryCrossentropy),
    (losses.categorical_crossentropy, losses.CategoricalCrossentropy),
    (losses.sparse_categorical_crossentropy, losses.SparseCategoricalCrossentropy), (losses.hinge, losses.Hinge),
    (losses.squared_hinge, losses.SquaredHinge), (losses.categorical_hinge, losses.CategoricalHinge),
    (losses.kl_divergence, losses.KLDivergence), (losses.kld, losses.KLDivergence), (losses.KLD, losses.KLDivergence),
    (losses.poisson, losses.Poisson), (losses.log_cosh, losses.LogCosh), (losses.huber, losses.Huber),
    (losses.cosine_similarity, losses.CosineSimilarity),
]


def test_registered_names_are_exactly_keras3s():
    assert sorted(losses.names()) == sorted(name for names in KERAS3_NAMES.values() for name in names)


@pytest.mark.parametrize(("name", "cls"), NAME_CASES)
def test_every_name_resolves_and_compiles(name, cls):
    assert type(losses.get(name)) is cls
    model = Sequential([Input((3,)), Dense(K)])
    model.compile(optimizer="sgd", loss=name)
    assert type(model.loss) is cls
    # Files name the loss by its canonical function name, never an alias or class name.
    assert model.get_compile_config()["loss"] == cls.fn_name
    assert losses.get(cls.fn_name).fn_name == cls.fn_name


@pytest.mark.parametrize(("fn", "cls"), FUNCTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_function_and_class_forms_compile_as_the_class(fn, cls):
    for form in (fn, cls, cls()):
        model = Sequential([Input((3,)), Dense(K)])
        model.compile(optimizer="sgd", loss=form)
        assert type(model.loss) is cls
        assert model.get_compile_config()["loss"] == cls.fn_name


@pytest.mark.parametrize(("old", "cls"), [
    ("logcosh", losses.LogCosh), ("kullback_leibler_divergence", losses.KLDivergence),
    ("huber_loss", losses.Huber), ("cosine_proximity", losses.CosineSimilarity), ("cosine", losses.CosineSimilarity),
])
def test_keras2_names_resolve_with_a_deprecation_warning(old, cls):
    model = Sequential([Input((3,)), Dense(K)])
    with pytest.warns(DeprecationWarning, match=rf"The loss name '{old}' is from Keras 2; Keras 3 calls it "
                                                rf"'{cls.fn_name}'\. Use loss='{cls.fn_name}'"):
        model.compile(optimizer="sgd", loss=old)
    assert type(model.loss) is cls
    assert model.get_compile_config()["loss"] == cls.fn_name


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"Unknown loss 'mean_square_error'\. Did you mean 'mean_squared_error'\?"):
        losses.get("mean_square_error")


def test_default_names_follow_keras():
    assert losses.Huber().name == "huber_loss"
    assert losses.KLDivergence().name == "kl_divergence"
    assert losses.LogCosh().name == "log_cosh"
    assert losses.Huber(name="robust").name == "robust"


# -- values against Keras's documented formulas ---------------------------------------------------
def _bce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)), axis=-1)


def _cce(y, p):
    return -np.sum(y * np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)), axis=-1)


def _signed(y):
    return 2 * y - 1 if np.isin(y, (0, 1)).all() else y


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), EPS)


def _huber(delta):
    def f(y, p):
        e = np.abs(p - y)
        return np.mean(np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2), axis=-1)
    return f


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


FORMULAS = {
    "mse": (losses.MeanSquaredError, {}, "regression", lambda y, p: np.mean((y - p) ** 2, -1)),
    "mae": (losses.MeanAbsoluteError, {}, "regression", lambda y, p: np.mean(np.abs(y - p), -1)),
    "mape": (losses.MeanAbsolutePercentageError, {}, "regression",
             lambda y, p: 100 * np.mean(np.abs(y - p) / np.maximum(np.abs(y), EPS), -1)),
    "msle": (losses.MeanSquaredLogarithmicError, {}, "regression",
             lambda y, p: np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2, -1)),
    "bce": (losses.BinaryCrossentropy, {}, "binary_prob", _bce),
    "bce_smoothing": (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "binary_prob",
                      lambda y, p: _bce(y * 0.8 + 0.1, p)),
    "bce_logits": (losses.BinaryCrossentropy, {"from_logits": True}, "binary_logit",
                   lambda y, z: np.mean(-(y * np.log(_sigmoid(z)) + (1 - y) * np.log(1 - _sigmoid(z))), -1)),
    "cce": (losses.CategoricalCrossentropy, {}, "categorical_prob", _cce),
    "cce_smoothing": (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "categorical_prob",
                      lambda y, p: _cce(y * 0.9 + 0.1 / K, p)),
    "cce_logits": (losses.CategoricalCrossentropy, {"from_logits": True}, "categorical_logit",
                   lambda y, z: -np.sum(y * np.log(_softmax(z)), -1)),
    "scce": (losses.SparseCategoricalCrossentropy, {}, "sparse_prob",
             lambda y, p: _cce(np.eye(K)[y.astype(int)], p)),
    "scce_logits": (losses.SparseCategoricalCrossentropy, {"from_logits": True}, "sparse_logit",
                    lambda y, z: -np.log(_softmax(z)[np.arange(len(z)), y.astype(int)])),
    "hinge": (losses.Hinge, {}, "binary_margin", lambda y, p: np.mean(np.maximum(1 - _signed(y) * p, 0), -1)),
    "squared_hinge": (losses.SquaredHinge, {}, "binary_margin",
                      lambda y, p: np.mean(np.maximum(1 - _signed(y) * p, 0) ** 2, -1)),
    "categorical_hinge": (losses.CategoricalHinge, {}, "categorical_margin",
                          lambda y, p: np.maximum(np.max((1 - y) * p, -1) - np.sum(y * p, -1) + 1, 0)),
    "kld": (losses.KLDivergence, {}, "distributions",
            lambda y, p: np.sum(np.clip(y, EPS, 1) * np.log(np.clip(y, EPS, 1) / np.clip(p, EPS, 1)), -1)),
    "poisson": (losses.Poisson, {}, "positive", lambda y, p: np.mean(p - y * np.log(p + EPS), -1)),
    "log_cosh": (losses.LogCosh, {}, "regression", lambda y, p: np.mean(np.log(np.cosh(p - y)), -1)),
    "huber": (losses.Huber, {}, "regression", _huber(1.0)),
    "huber_delta": (losses.Huber, {"delta": 0.5}, "regression", _huber(0.5)),
    "cosine_similarity": (losses.CosineSimilarity, {}, "regression", lambda y, p: -np.sum(_unit(y) * _unit(p), -1)),
}


def make_data(kind, rng, shape=(N, K)):
    """Targets and predictions, away from kinks and clipping unless the kind says otherwise."""
    k = shape[-1]
    labels = rng.integers(0, k, size=shape[:-1])
    one_hot = np.eye(k)[labels]
    if kind == "regression":
        y = rng.normal(size=shape)
        offset = rng.uniform(0.1, 2.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        p = y + offset
        # Keep |p - y| away from the Huber deltas used here (0.5, 1.0, 2.0) and 0.
        for delta in (0.5, 1.0, 2.0):
            near = np.abs(np.abs(offset) - delta) < 0.05
            p[near] += 0.1 * np.sign(offset[near])
        return y, p
    if kind == "positive":
        return rng.uniform(0.1, 3.0, size=shape), rng.uniform(0.1, 3.0, size=shape)
    if kind == "binary_prob":
        return rng.integers(0, 2, size=shape).astype(float), rng.uniform(0.05, 0.95, size=shape)
    if kind == "binary_logit":
        return rng.integers(0, 2, size=shape).astype(float), rng.normal(scale=2.0, size=shape)
    if kind == "categorical_prob":
        return one_hot, rng.uniform(0.05, 0.95, size=shape)
    if kind == "soft_prob":
        return rng.dirichlet(np.ones(k), size=shape[:-1]), rng.uniform(0.05, 0.95, size=shape)
    if kind == "categorical_logit":
        return one_hot, rng.normal(scale=2.0, size=shape)
    if kind == "soft_logit":
        return rng.uniform(0, 1, size=shape), rng.normal(scale=2.0, size=shape)
    if kind == "sparse_prob":
        return labels.astype(float), rng.uniform(0.05, 0.95, size=shape)
    if kind == "sparse_logit":
        return labels.astype(float), rng.normal(scale=2.0, size=shape)
    if kind in ("binary_margin", "signed_margin"):
        y = rng.integers(0, 2, size=shape).astype(float)
        if kind == "signed_margin":
            y = 2 * y - 1
        p = rng.normal(scale=1.5, size=shape)
        p[np.abs(np.abs(p) - 1) < 0.05] += 0.1
        return y, p
    if kind == "categorical_margin":
        while True:
            p = rng.normal(scale=1.5, size=shape)
            others = (1 - one_hot) * p
            margin = others.max(-1) - (one_hot * p).sum(-1) + 1
            ordered = np.sort(others, axis=-1)
            if np.abs(margin).min() > 0.05 and (ordered[..., -1] - ordered[..., -2]).min() > 1e-3:
                return one_hot, p
    if kind == "distributions":
        return rng.dirichlet(np.ones(k), size=shape[:-1]), rng.dirichlet(np.ones(k), size=shape[:-1])
    raise AssertionError(kind)


@pytest.mark.parametrize("case", sorted(FORMULAS))
def test_values_and_reductions_follow_the_documented_formulas(case, rng, float64):
    cls, kwargs, kind, formula = FORMULAS[case]
    y, p = make_data(kind, rng)
    w = rng.uniform(0.2, 2.0, size=N)
    expected = formula(y, p)
    assert expected.shape == (N,)

    loss = cls(**kwargs)
    np.testing.assert_allclose(loss.call(loss.prepare_targets(y, p), p), expected, rtol=1e-10)
    assert loss(y, p) == pytest.approx(expected.mean(), rel=1e-10)
    assert loss(y, p, sample_weight=w) == pytest.approx(np.sum(w * expected) / N, rel=1e-10)
    assert cls(reduction="mean", **kwargs)(y, p, w) == pytest.approx(np.sum(w * expected) / N, rel=1e-10)
    assert cls(reduction="sum", **kwargs)(y, p, w) == pytest.approx(np.sum(w * expected), rel=1e-10)
    assert cls(reduction="mean_with_sample_weight", **kwargs)(y, p, w) == pytest.approx(
        np.sum(w * expected) / w.sum(), rel=1e-10)
    np.testing.assert_allclose(cls(reduction="none", **kwargs)(y, p, w), w * expected, rtol=1e-10)
    np.testing.assert_allclose(cls(reduction=None, **kwargs)(y, p), expected, rtol=1e-10)

    fn = getattr(losses, cls.fn_name)
    np.testing.assert_allclose(fn(y, p, **kwargs), expected, rtol=1e-10)


def test_hinge_keeps_targets_that_are_not_all_binary():
    y = np.array([[0.0, 1.0], [1.0, -1.0]])
    p = np.array([[0.3, -0.2], [0.1, 0.4]])
    # Not all 0/1 (there is a -1): the 0 stays 0 rather than becoming -1.
    expected = np.mean(np.maximum(1 - y * p, 0), axis=-1)
    np.testing.assert_allclose(losses.hinge(y, p), expected.astype(np.float64))
    np.testing.assert_allclose(losses.hinge(y[:1], p[:1]), np.mean(np.maximum(1 - (2 * y[:1] - 1) * p[:1], 0), -1))


def test_clipping_keeps_probabilities_of_0_and_1_finite():
    y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    p = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    for loss in (losses.BinaryCrossentropy(), losses.CategoricalCrossentropy(), losses.KLDivergence()):
        value = loss(y, p)
        assert np.isfinite(value) and value > 10
        assert np.isfinite(loss.gradient(y, p)).all()
    # -log(eps) = 16.118..., the largest value clipping allows.
    assert losses.categorical_crossentropy(y, p)[0] == pytest.approx(-np.log(np.float32(EPS)), rel=1e-5)


def test_zero_vectors_give_zero_cosine_similarity():
    y = np.array([[0.0, 0.0], [1.0, 0.0]])
    p = np.array([[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(losses.cosine_similarity(y, p), [0.0, 0.0])
    assert np.isfinite(losses.CosineSimilarity().gradient(y, p)).all()


def test_ignore_class_leaves_samples_out_of_the_batch_size(rng, float64):
    p = rng.uniform(0.05, 0.95, size=(N, K))
    y = np.array([0, -1, 2, 3, -1, 1])
    w = rng.uniform(0.2, 2.0, size=N)
    keep = y != -1
    per_sample = _cce(np.eye(K)[np.where(keep, y, 0)], p) * keep
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    np.testing.assert_allclose(loss.call(loss.prepare_targets(y, p), p), per_sample)
    # Keras: the left-out samples count neither in the sum nor in the batch size.
    assert loss(y, p) == pytest.approx(per_sample.sum() / keep.sum())
    assert loss(y, p, w) == pytest.approx(np.sum(w * per_sample) / keep.sum())
    total = losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction="sum")
    assert total(y, p, w) == pytest.approx(np.sum(w * per_sample))
    weighted = losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction="mean_with_sample_weight")
    assert weighted(y, p, w) == pytest.approx(np.sum(w * per_sample) / np.sum(w * keep))
    assert losses.SparseCategoricalCrossentropy(ignore_class=-1)(np.array([-1, -1]), p[:2]) == 0.0


def test_outputs_with_three_axes_reduce_per_position(rng, float64):
    y, p = make_data("regression", rng, shape=(N, 3, K))
    element = np.mean((y - p) ** 2, axis=-1)
    w = rng.uniform(0.2, 2.0, size=N)
    loss = losses.MeanSquaredError()
    np.testing.assert_allclose(losses.mean_squared_error(y, p), element)
    np.testing.assert_allclose(loss.call(y, p), element.mean(axis=1))
    assert loss(y, p, w) == pytest.approx(np.sum(w[:, None] * element) / element.size)
    assert losses.MeanSquaredError(reduction="sum")(y, p, w) == pytest.approx(np.sum(w[:, None] * element))
    assert losses.MeanSquaredError(reduction="none")(y, p, w).shape == (N, 3)
    # One weight per position works too.
    w2 = rng.uniform(0.2, 2.0, size=(N, 3))
    assert loss(y, p, w2) == pytest.approx(np.sum(w2 * element) / element.size)


def test_scalar_sample_weight_scales_the_loss(rng, float64):
    y, p = make_data("regression", rng)
    loss = losses.MeanAbsoluteError()
    assert loss(y, p, 2.5) == pytest.approx(2.5 * loss(y, p))
    np.testing.assert_allclose(loss.gradient(y, p, 2.5), 2.5 * loss.gradient(y, p))


def test_empty_batch_gives_zero():
    assert losses.MeanSquaredError()(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    assert losses.MeanSquaredError().gradient(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0, 2)


# -- real Keras ----------------------------------------------------------------------------------
# Keras 3 drops `delta` and `axis` from these configs (so they do not survive a round trip);
# minikeras keeps them.
EXTRA_CONFIG_KEYS = {"Huber": {"delta"}, "CosineSimilarity": {"axis"}}


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=lambda c: c["id"])
def test_matches_real_keras(case):
    cls = getattr(losses, case["class_name"])
    y = np.array(case["y_true"], dtype=np.float32)
    p = np.array(case["y_pred"], dtype=np.float32)
    w = np.array(case["sample_weight"], dtype=np.float32)
    loss = cls(**case["kwargs"])

    np.testing.assert_allclose(getattr(losses, cls.fn_name)(y, p, **case["kwargs"]), case["values"],
                               rtol=1e-5, atol=1e-6)
    assert loss(y, p) == pytest.approx(case["reduced"]["unweighted"], rel=1e-5, abs=1e-6)
    for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight"):
        value = cls(reduction=reduction, **case["kwargs"])(y, p, w)
        assert value == pytest.approx(case["reduced"][reduction], rel=1e-5, abs=1e-6), reduction
    np.testing.assert_allclose(cls(reduction="none", **case["kwargs"])(y, p, w), case["reduced"]["none"],
                               rtol=1e-5, atol=1e-6)

    grad = loss.gradient(y, p, w)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, case["gradient"], rtol=1e-5, atol=1e-6)

    config = loss.get_config()
    extra = EXTRA_CONFIG_KEYS.get(case["class_name"], set())
    assert {k: v for k, v in config.items() if k not in extra} == case["config"]
    assert type(losses.deserialize({"class_name": case["class_name"], "config": case["config"]})) is cls


def test_fixture_covers_every_loss_class():
    assert {c["class_name"] for c in FIXTURE["cases"]} == {cls.__name__ for cls in KERAS3_NAMES}
    assert FIXTURE["keras_version"] == "3.15.1"


# -- gradients -----------------------------------------------------------------------------------
GRADIENT_CASES = [
    (losses.MeanSquaredError, {}, "regression"),
    (losses.MeanAbsoluteError, {}, "regression"),
    (losses.MeanAbsolutePercentageError, {}, "regression"),
    (losses.MeanSquaredLogarithmicError, {}, "positive"),
    (losses.MeanSquaredLogarithmicError, {}, "regression"),
    (losses.BinaryCrossentropy, {}, "binary_prob"),
    (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "binary_prob"),
    (losses.BinaryCrossentropy, {"from_logits": True}, "binary_logit"),
    (losses.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.3}, "binary_logit"),
    (losses.CategoricalCrossentropy, {}, "categorical_prob"),
    (losses.CategoricalCrossentropy, {}, "soft_prob"),
    (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "categorical_prob"),
    (losses.CategoricalCrossentropy, {"from_logits": True}, "categorical_logit"),
    (losses.CategoricalCrossentropy, {"from_logits": True}, "soft_logit"),
    (losses.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.2}, "categorical_logit"),
    (losses.SparseCategoricalCrossentropy, {}, "sparse_prob"),
    (losses.SparseCategoricalCrossentropy, {"from_logits": True}, "sparse_logit"),
    (losses.SparseCategoricalCrossentropy, {"ignore_class": -1}, "sparse_prob_ignore"),
    (losses.SparseCategoricalCrossentropy, {"from_logits": True, "ignore_class": -1}, "sparse_logit_ignore"),
    (losses.Hinge, {}, "binary_margin"),
    (losses.Hinge, {}, "signed_margin"),
    (losses.SquaredHinge, {}, "binary_margin"),
    (losses.SquaredHinge, {}, "signed_margin"),
    (losses.CategoricalHinge, {}, "categorical_margin"),
    (losses.KLDivergence, {}, "distributions"),
    (losses.Poisson, {}, "positive"),
    (losses.LogCosh, {}, "regression"),
    (losses.Huber, {}, "regression"),
    (losses.Huber, {"delta": 2.0}, "regression"),
    (losses.CosineSimilarity, {}, "regression"),
]


def _case_id(cls, kwargs, kind):
    options = "_".join(f"{k}={v}" for k, v in kwargs.items())
    return "-".join(filter(None, [cls.__name__, options, kind]))


def gradient_data(kind, rng, shape=(N, K)):
    if kind.startswith("sparse") and kind.endswith("_ignore"):
        y, p = make_data(kind[:-len("_ignore")], rng, shape)
        y.flat[[1, 4]] = -1
        return y, p
    return make_data(kind, rng, shape)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("cls", "kwargs", "kind"), [pytest.param(*c, id=_case_id(*c)) for c in GRADIENT_CASES])
def test_gradient_matches_central_differences(cls, kwargs, kind, weighted, reduction, rng, float64):
    loss = cls(reduction=reduction, **kwargs)
    y, p = gradient_data(kind, rng)
    w = rng.uniform(0.2, 2.0, size=N) if weighted else None

    expected = numeric_grad(lambda: loss(y, p, w), p)
    grad = loss.gradient(y, p.copy(), w)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


def test_every_loss_class_has_gradient_checks():
    assert {c[0] for c in GRADIENT_CASES} == set(KERAS3_NAMES)


@pytest.mark.parametrize(("cls", "kwargs", "kind", "shape"), [
    (losses.MeanSquaredError, {}, "regression", (N, 3, K)),
    (losses.BinaryCrossentropy, {"axis": 1}, "binary_prob", (N, K, 3)),
    (losses.CategoricalCrossentropy, {"axis": 1}, "categorical_prob", (N, K, 3)),
    (losses.CategoricalCrossentropy, {"from_logits": True, "axis": -2}, "categorical_logit", (N, K, 3)),
    (losses.CosineSimilarity, {"axis": 1}, "regression", (N, K, 3)),
    (losses.Huber, {}, "regression", (N, 3, K)),
], ids=["mse_3d", "bce_axis_1", "cce_axis_1", "cce_logits_axis_-2", "cosine_axis_1", "huber_3d"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_gradient_along_other_axes(cls, kwargs, kind, shape, weighted, rng, float64):
    loss = cls(**kwargs)
    y, p = make_data(kind, rng, shape=(shape[0],) + shape[1:][::-1] if kwargs.get("axis") in (1, -2) else shape)
    if kwargs.get("axis") in (1, -2):
        y, p = np.ascontiguousarray(np.swapaxes(y, 1, 2)), np.ascontiguousarray(np.swapaxes(p, 1, 2))
    w = rng.uniform(0.2, 2.0, size=N) if weighted else None
    expected = numeric_grad(lambda: loss(y, p, w), p)
    np.testing.assert_allclose(loss.gradient(y, p.copy(), w), expected, rtol=1e-6, atol=1e-8)
    # The per-sample gradient is that of the per-sample loss (the mean over positions).
    per_sample = loss.per_sample_gradient(loss.prepare_targets(y, p), p)
    i = 2
    expected_i = numeric_grad(lambda: loss.call(loss.prepare_targets(y, p), p)[i], p)
    np.testing.assert_allclose(per_sample[i], expected_i[i], rtol=1e-6, atol=1e-8)


def test_gradient_at_kinks_follows_keras(float64):
    # Keras (autograd) takes 1/2 of the slope at max(x, 0) == 0, and shares the gradient of a
    # maximum equally between tied entries.
    hinge = losses.Hinge().gradient(np.array([[1.0]]), np.array([[1.0]]))
    np.testing.assert_allclose(hinge, [[-0.5]])
    tied = losses.CategoricalHinge().gradient(np.array([[0.0, 0.0, 1.0]]), np.array([[0.5, 0.5, 0.2]]))
    np.testing.assert_allclose(tied, [[0.5, 0.5, -1.0]])
    np.testing.assert_allclose(losses.MeanAbsoluteError().gradient(np.array([[1.0, 2.0]]), np.array([[1.0, 3.0]])),
                               [[0.0, 0.5]])


def test_sample_weights_scale_the_gradient_per_sample(rng, float64):
    for cls, kwargs, kind in GRADIENT_CASES:
        loss = cls(**kwargs)
        y, p = gradient_data(kind, rng)
        w = rng.uniform(0.2, 2.0, size=N)
        np.testing.assert_allclose(loss.gradient(y, p, w), loss.gradient(y, p) * w[:, None], rtol=1e-12, atol=0)


def test_reduction_none_has_no_gradient(rng):
    loss = losses.MeanSquaredError(reduction="none")
    y, p = make_data("regression", rng)
    assert loss(y, p).shape == (N,)
    with pytest.raises(ValueError, match=r"Loss 'mean_squared_error' has reduction='none', which gives one value per "
                                         r"sample, but gradient\(\) needs a single number per batch\. Use "
                                         r"reduction='sum_over_batch_size'"):
        loss.gradient(y, p)


# -- the fused output-activation / loss gradient -------------------------------------------------
FUSED_CASES = [
    (losses.CategoricalCrossentropy, {}, "softmax", "categorical_prob"),
    (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "softmax", "categorical_prob"),
    (losses.CategoricalCrossentropy, {"label_smoothing": 0.3}, "softmax", "soft_prob"),
    (losses.SparseCategoricalCrossentropy, {}, "softmax", "sparse_prob"),
    (losses.SparseCategoricalCrossentropy, {"ignore_class": -1}, "softmax", "sparse_prob_ignore"),
    (losses.BinaryCrossentropy, {}, "sigmoid", "binary_prob"),
    (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "sigmoid", "binary_prob"),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("cls", "kwargs", "act_name", "kind"),
                         [pytest.param(*c, id=_case_id(c[0], c[1], c[3])) for c in FUSED_CASES])
def test_fused_logits_gradient(cls, kwargs, act_name, kind, weighted, reduction, rng, float64):
    loss = cls(reduction=reduction, **kwargs)
    act = activations.get(act_name)
    y, _ = gradient_data(kind, rng)
    z = rng.normal(scale=2.0, size=(N, K))
    w = rng.uniform(0.2, 2.0, size=N) if weighted else None
    a = act(z).copy()

    fused = loss.logits_gradient(y, a.copy(), act, w)
    assert fused is not None
    np.testing.assert_allclose(fused, numeric_grad(lambda: loss(y, act(z), w), z), rtol=1e-6, atol=1e-8)
    chained = act.backward(loss.gradient(y, a.copy(), w), z.copy(), a.copy())
    np.testing.assert_allclose(fused, chained, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", [
    losses.CategoricalCrossentropy(from_logits=True), losses.CategoricalCrossentropy(axis=1),
    losses.Hinge(), losses.LossFunctionWrapper(lambda y, p: np.mean((y - p) ** 2, axis=-1)),
], ids=["from_logits", "other_axis", "hinge", "function"])
def test_no_fused_gradient_without_a_closed_form(loss, rng):
    y, p = make_data("categorical_prob", rng, shape=(N, K, 3))
    assert loss.logits_gradient(y, activations.softmax(p), activations.softmax) is None


def test_from_logits_gradient_is_finite_for_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32)
    y = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    for loss in (losses.CategoricalCrossentropy(from_logits=True), losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=0.3)):
        grad = loss.gradient(y, z)
        assert grad.dtype == np.float32 and np.isfinite(grad).all()
        smoothed = y * (1 - loss.label_smoothing) + loss.label_smoothing / 3
        np.testing.assert_allclose(grad, np.array([[1.0, 0.0, 0.0]]) - smoothed, atol=1e-7)
        assert np.isfinite(loss(y, z))
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(sparse.gradient(np.array([1]), z), [[1.0, -1.0, 0.0]])
    assert sparse(np.array([1]), z) == pytest.approx(2000.0)
    binary = losses.BinaryCrossentropy(from_logits=True)
    zb = np.array([[1000.0], [-1000.0]], dtype=np.float32)
    yb = np.array([[0.0], [1.0]], dtype=np.float32)
    assert binary(yb, zb) == pytest.approx(1000.0)
    np.testing.assert_allclose(binary.gradient(yb, zb), [[0.5], [-0.5]])


@pytest.mark.parametrize(("loss", "units", "y", "smoothing"), [
    ("categorical_crossentropy", 3, "one_hot", 0.0), ("categorical_crossentropy", 3, "one_hot", 0.2),
    ("sparse_categorical_crossentropy", 3, "labels", 0.0),
    ("binary_crossentropy", 1, "binary", 0.0), ("binary_crossentropy", 1, "binary", 0.2),
])
def test_from_logits_with_a_linear_output_trains_like_the_activation(loss, units, y, smoothing, rng, float64):
    """A linear output with from_logits=True takes the same steps as softmax/sigmoid + the plain loss."""
    x = rng.normal(size=(16, 5))
    labels = rng.integers(0, 3, size=16)
    targets = {"one_hot": np.eye(3)[labels], "labels": labels, "binary": (labels > 0).astype(float)[:, None]}[y]
    kwargs = {"label_smoothing": smoothing} if smoothing else {}
    act = "sigmoid" if units == 1 else "softmax"
    logits = Sequential([Input((5,)), Dense(units)])
    probs = Sequential([Input((5,)), Dense(units, activation=act)])
    probs.set_weights(logits.get_weights())
    cls = type(losses.get(loss))
    logits.compile(optimizer=SGD(0.5), loss=cls(from_logits=True, **kwargs))
    probs.compile(optimizer=SGD(0.5), loss=cls(**kwargs))
    h1 = logits.fit(x, targets, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    h2 = probs.fit(x, targets, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-9)
    for a, b in zip(logits.get_weights(), probs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# -- configurations ----------------------------------------------------------------------------
CONFIG_CASES = [
    losses.MeanSquaredError(), losses.MeanSquaredError(reduction="sum", name="sq"),
    losses.MeanAbsoluteError(reduction="mean_with_sample_weight"),
    losses.MeanAbsolutePercentageError(reduction=None), losses.MeanSquaredLogarithmicError(name="msle_loss"),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2, axis=1),
    losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="sum"),
    losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
    losses.SparseCategoricalCrossentropy(axis=1), losses.Hinge(name="h"), losses.SquaredHinge(reduction="none"),
    losses.CategoricalHinge(), losses.KLDivergence(reduction="sum"), losses.Poisson(name="p"),
    losses.LogCosh(reduction="mean"), losses.Huber(delta=2.5), losses.CosineSimilarity(axis=1),
]


@pytest.mark.parametrize("loss", CONFIG_CASES, ids=lambda loss: f"{type(loss).__name__}-{loss.name}")
def test_config_round_trips_through_json(loss, rng):
    serialized = json.loads(json.dumps(losses.serialize(loss)))
    clone = losses.get(serialized)
    assert type(clone) is type(loss)
    assert clone.get_config() == loss.get_config()
    if isinstance(serialized, dict):
        assert serialized["module"] == "keras.losses" and serialized["class_name"] == type(loss).__name__
        assert serialized["registered_name"] is None
        clone = losses.deserialize(serialized)
        assert clone.get_config() == loss.get_config()
    clone = type(loss).from_config(json.loads(json.dumps(loss.get_config())))
    assert clone.get_config() == loss.get_config()


def test_default_losses_serialize_to_their_canonical_names():
    for cls in KERAS3_NAMES:
        assert losses.serialize(cls()) == cls.fn_name
    assert losses.serialize(losses.Huber(delta=1.0)) == "huber"
    assert isinstance(losses.serialize(losses.Huber(delta=2.0)), dict)


def test_model_with_configured_loss_round_trips_through_json():
    model = Sequential([Input((3,)), Dense(2)])
    model.compile(optimizer="sgd", loss=losses.Huber(delta=0.5, reduction="sum"))
    clone = model_from_json(model.to_json())
    assert type(clone.loss) is losses.Huber
    assert clone.loss.get_config() == model.loss.get_config()


def test_keras2_reduction_auto_warns_and_means_sum_over_batch_size():
    config = {"class_name": "CategoricalCrossentropy",
              "config": {"reduction": "auto", "name": "categorical_crossentropy", "from_logits": False,
                         "label_smoothing": 0.0, "axis": -1}}
    with pytest.warns(DeprecationWarning, match=r"reduction='auto' is a Keras 2 setting"):
        loss = losses.deserialize(config)
    assert loss.reduction == "sum_over_batch_size"


def test_custom_loss_class_is_serialized_with_its_class_name():
    class Cube(losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean(np.abs(y_pred - y_true) ** 3, axis=-1)

    assert losses.serialize(Cube())["registered_name"] == "Custom>Cube"


# -- training with every loss --------------------------------------------------------------------
def _training_problem(name, rng):
    """(output activation, units, targets) suited to the loss; 64 samples of 5 features."""
    x = rng.normal(size=(64, 5)).astype(np.float32)
    w = rng.normal(size=(5, 3))
    scores = x @ w
    labels = np.argmax(scores, axis=-1)
    if name in ("categorical_crossentropy", "kl_divergence", "categorical_hinge"):
        return x, "softmax" if name != "categorical_hinge" else "linear", 3, np.eye(3)[labels]
    if name == "sparse_categorical_crossentropy":
        return x, "softmax", 3, labels
    if name == "binary_crossentropy":
        return x, "sigmoid", 3, (scores > 0).astype(np.float32)
    if name in ("hinge", "squared_hinge"):
        return x, "tanh", 3, (scores > 0).astype(np.float32)
    if name in ("poisson", "mean_squared_logarithmic_error"):
        return x, "softplus", 3, np.log1p(np.exp(scores / 2)).astype(np.float32)
    if name == "mean_absolute_percentage_error":
        return x, "linear", 3, (scores + np.sign(scores) * 2).astype(np.float32)
    return x, "linear", 3, scores.astype(np.float32)


@pytest.mark.parametrize("name", sorted({cls.fn_name for cls in KERAS3_NAMES}))
def test_small_fit_lowers_the_loss(name, rng):
    x, act, units, y = _training_problem(name, rng)
    model = Sequential([Input((5,)), Dense(8, activation="tanh"), Dense(units, activation=act)])
    model.compile(optimizer=SGD(0.1 if name != "mean_absolute_percentage_error" else 0.01), loss=name)
    before = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert after < before, (name, before, after)


def test_string_function_and_class_forms_train_identically(rng):
    x, _, _, y = _training_problem("huber", rng)
    weights = None
    results = []
    for form in ("huber", losses.huber, losses.Huber, losses.Huber()):
        model = Sequential([Input((5,)), Dense(3)])
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer="sgd", loss=form)
        model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_sparse_categorical_crossentropy_with_ignore_class_trains(rng):
    x, _, _, labels = _training_problem("sparse_categorical_crossentropy", rng)
    labels = labels.copy()
    labels[::4] = 255
    model = Sequential([Input((5,)), Dense(3, activation="softmax")])
    model.compile(optimizer=SGD(0.5), loss=losses.SparseCategoricalCrossentropy(ignore_class=255))
    before = model.evaluate(x, labels, verbose=0)
    model.fit(x, labels, epochs=5, batch_size=16, verbose=0)
    assert model.evaluate(x, labels, verbose=0) < before


def test_reduction_none_is_refused_for_training(rng):
    x, _, _, y = _training_problem("mean_squared_error", rng)
    model = Sequential([Input((5,)), Dense(3)])
    model.compile(optimizer="sgd", loss=losses.MeanSquaredError(reduction="none"))
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0)):
        with pytest.raises(ValueError, match=r"has reduction='none', which gives one value per sample, but fit\(\) "
                                             r"and evaluate\(\) need a single number per batch"):
            call()


def test_sum_reduction_trains(rng):
    x, _, _, y = _training_problem("mean_squared_error", rng)
    model = Sequential([Input((5,)), Dense(3)])
    model.compile(optimizer=SGD(0.001), loss=losses.MeanSquaredError(reduction="sum"))
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


# -- user functions ------------------------------------------------------------------------------
def my_mse(y_true, y_pred):
    return np.mean((y_true - y_pred) ** 2, axis=-1)


def test_user_function_gradient_matches_the_analytic_one(rng, float64):
    y, p = make_data("regression", rng)
    w = rng.uniform(0.2, 2.0, size=N)
    wrapped = losses.get(my_mse)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "my_mse"
    assert wrapped(y, p, w) == pytest.approx(losses.MeanSquaredError()(y, p, w), rel=1e-12)
    np.testing.assert_allclose(wrapped.gradient(y, p, w), losses.MeanSquaredError().gradient(y, p, w), rtol=1e-8)
    # A non-quadratic function: checked against central differences of the reduced loss.
    cubic = losses.LossFunctionWrapper(lambda t, q: np.sum(np.abs(q - t) ** 3 + np.sin(q) * t, axis=-1))
    np.testing.assert_allclose(cubic.gradient(y, p, w), numeric_grad(lambda: cubic(y, p, w), p), rtol=1e-6)


def test_user_function_is_called_2k_times_per_gradient(rng):
    calls = []

    def counted(y_true, y_pred):
        calls.append(y_pred.dtype)
        return np.mean(np.abs(y_true - y_pred), axis=-1)

    y, p = make_data("regression", rng)
    grad = losses.get(counted).gradient(y.astype(np.float32), p.astype(np.float32))
    assert len(calls) == 2 * K
    assert set(calls) == {np.dtype(np.float64)}
    assert grad.dtype == np.float32


def test_user_function_trains_like_the_builtin(rng):
    x, _, _, y = _training_problem("mean_squared_error", rng)
    histories, weights = [], []
    for loss in (my_mse, "mse"):
        model = Sequential([Input((5,)), Dense(4, activation="tanh"), Dense(3)])
        model.set_weights([np.full(v.shape, 0.1 * (i + 1), dtype=np.float32) for i, v in enumerate(model.weights)])
        model.compile(optimizer=SGD(0.05), loss=loss)
        histories.append(model.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0).history["loss"])
        weights.append(model.get_weights())
    assert histories[0][-1] < histories[0][0]
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4)
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_user_function_with_keyword_arguments(rng, float64):
    def weighted_abs(y_true, y_pred, scale=1.0):
        return scale * np.mean(np.abs(y_true - y_pred), axis=-1)

    y, p = make_data("regression", rng)
    loss = losses.LossFunctionWrapper(weighted_abs, scale=3.0)
    assert loss(y, p) == pytest.approx(3.0 * losses.MeanAbsoluteError()(y, p))
    np.testing.assert_allclose(loss.gradient(y, p), 3.0 * losses.MeanAbsoluteError().gradient(y, p), rtol=1e-7)


def test_loss_subclass_without_a_gradient_gets_a_numeric_one(rng, float64):
    class Cube(losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean(np.abs(y_pred - y_true) ** 3, axis=-1)

    y, p = make_data("regression", rng)
    w = rng.uniform(0.2, 2.0, size=N)
    loss = Cube(reduction="sum")
    np.testing.assert_allclose(loss.gradient(y, p, w), numeric_grad(lambda: loss(y, p, w), p), rtol=1e-6)
    np.testing.assert_allclose(loss.per_sample_gradient(y, p), 3 * np.abs(p - y) * (p - y) / K, rtol=1e-7)


@pytest.mark.parametrize(("fn", "message"), [
    (lambda y, p: np.mean((y - p) ** 2), r"Loss '<lambda>' returned a single number, but a loss must return one "
                                         r"value per sample: an array of shape \(16,\) for this batch of 16 samples\. "
                                         r"Reduce over every axis except the first"),
    (lambda y, p: (y - p) ** 2, r"Loss '<lambda>' returned an array of shape \(16, 3\), but a loss must return one "
                                r"value per sample: shape \(16,\) for this batch of 16 samples\."),
    (lambda y, p: np.mean((y - p) ** 2, axis=0), r"returned an array of shape \(3,\), but a loss must return one "
                                                 r"value per sample: shape \(16,\)"),
], ids=["scalar", "elementwise", "wrong_axis"])
def test_user_function_with_the_wrong_output_shape(fn, message, rng):
    x, _, _, y = _training_problem("mean_squared_error", rng)
    model = Sequential([Input((5,)), Dense(3)])
    model.compile(optimizer="sgd", loss=fn)
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, batch_size=16, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [3, 2.5, [my_mse]], ids=["int", "float", "list"])
def test_not_callable_is_rejected(bad):
    model = Sequential([Input((5,)), Dense(3)])
    with pytest.raises(TypeError, match=rf"Expected a loss name, a minikeras\.losses\.Loss or a function "
                                        rf"f\(y_true, y_pred\) returning one loss per sample; received "
                                        rf"{re.escape(repr(bad))} \({type(bad).__name__}\)\. Pass e\.g\. loss='mse'"):
        model.compile(optimizer="sgd", loss=bad)
    with pytest.raises(TypeError, match=r"LossFunctionWrapper expects a function fn\(y_true, y_pred\)"):
        losses.LossFunctionWrapper(bad)


def test_user_function_cannot_be_saved_by_name(tmp_path, rng):
    x, _, _, y = _training_problem("mean_squared_error", rng)
    model = Sequential([Input((5,)), Dense(3)])
    model.compile(optimizer="sgd", loss=my_mse)
    model.fit(x, y, verbose=0)
    message = (r"The loss is the function 'my_mse', which cannot be saved in a training configuration: a saved "
               r"model names its loss, and no loader \(minikeras or Keras\) can turn that name back into your "
               r"function\. Save the weights with model\.save_weights")
    with pytest.raises(ValueError, match=message):
        model.get_compile_config()
    with pytest.raises(ValueError, match=message):
        model.save(tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()
    # The documented way out: weights only, and compile the rebuilt model with the function again.
    model.save_weights(tmp_path / "w.h5")
    clone = Sequential([Input((5,)), Dense(3)])
    clone.load_weights(tmp_path / "w.h5")
    clone.compile(optimizer="sgd", loss=my_mse)
    assert clone.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_registered_loss_subclass_saves_and_loads(tmp_path, rng):
    @losses.register()
    class ScaledAbsolute(losses.Loss):
        fn_name = "scaled_absolute"

        def __init__(self, scale=2.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * np.mean(np.abs(y_true - y_pred), axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    try:
        x, _, _, y = _training_problem("mean_squared_error", rng)
        model = Sequential([Input((5,)), Dense(3)])
        model.compile(optimizer="sgd", loss=ScaledAbsolute(scale=3.0))
        model.fit(x, y, verbose=0)
        model.save(tmp_path / "m.h5")
        clone = mk.models.load_model(tmp_path / "m.h5")
        assert type(clone.loss) is ScaledAbsolute and clone.loss.scale == 3.0
        assert clone.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    finally:
        losses._registry._entries.pop("ScaledAbsolute", None)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "message"), [
    (lambda: losses.MeanSquaredError(reduction="average"),
     r"MeanSquaredError expects `reduction` to be one of 'sum_over_batch_size', 'sum', 'mean', "
     r"'mean_with_sample_weight', 'none' or None\. Received: reduction='average'\."),
    (lambda: losses.Huber(delta=0.0), r"Huber expects `delta` to be a positive number such as 1\.0\. Received: delta=0\.0"),
    (lambda: losses.Huber(delta="1"), r"Received: delta='1'"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=1.5),
     r"BinaryCrossentropy expects `label_smoothing` in \[0, 1\]\. Received: label_smoothing=1\.5\."),
    (lambda: losses.CategoricalCrossentropy(axis=0),
     r"CategoricalCrossentropy expects `axis` to be a non-batch axis such as -1 \(the last\)\. Received: axis=0\."),
    (lambda: losses.CosineSimilarity(axis=0), r"CosineSimilarity expects `axis` to be a non-batch axis"),
    (lambda: losses.SparseCategoricalCrossentropy(ignore_class=0.5),
     r"expects `ignore_class` to be an integer label or None\. Received: ignore_class=0\.5\."),
    (lambda: losses.MeanSquaredError(dtype="int32"),
     r"MeanSquaredError expects a float `dtype` such as 'float32' or 'float64'\. Received: dtype='int32'\."),
])
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_constructor_argument_is_not_ignored():
    with pytest.raises(TypeError, match="from_logit"):
        losses.BinaryCrossentropy(from_logit=True)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: losses.mse(np.zeros((4, 3)), np.zeros((4, 2))),
     r"Loss 'mean_squared_error' expects y_true with the shape of y_pred, \(4, 2\), but received y_true of "
     r"shape \(4, 3\)\. Give one target per prediction\."),
    (lambda: losses.mse(np.zeros(4), np.zeros((4, 3))), r"received y_true of shape \(4,\)"),
    (lambda: losses.mse(np.zeros(4), np.zeros(4)),
     r"Loss 'mean_squared_error' expects predictions of shape \(N, \.\.\.\) with a batch axis first; received "
     r"shape \(4,\)\. For one output per sample use y_pred\.reshape\(-1, 1\)\."),
    (lambda: losses.CosineSimilarity(axis=2)(np.zeros((4, 3)), np.zeros((4, 3))),
     r"Loss 'cosine_similarity' got axis=2, which is out of range for predictions of shape \(4, 3\)\. Choose an "
     r"axis from 1 to 1"),
    (lambda: losses.BinaryCrossentropy(axis=-2)(np.zeros((4, 3)), np.zeros((4, 3))),
     r"got axis=-2, which is the batch axis for predictions of shape \(4, 3\)"),
    (lambda: losses.sparse_categorical_crossentropy(np.array([0, 3]), np.ones((2, 3))),
     r"Loss 'sparse_categorical_crossentropy' expects class labels in \[0, 2\] for predictions with 3 classes\. "
     r"Received labels from 0 to 3\."),
    (lambda: losses.sparse_categorical_crossentropy(np.zeros((2, 3)), np.ones((2, 3))),
     r"expects integer class labels of shape \(2,\) for predictions of shape \(2, 3\), but received labels of "
     r"shape \(2, 3\)\."),
    (lambda: losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 3)), sample_weight=np.ones(3)),
     r"Loss 'mean_squared_error' expects `sample_weight` of shape \(4,\), one weight per sample, or \(4,\), one per "
     r"loss value\. Received shape \(3,\)\."),
])
def test_bad_call_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_categorical_crossentropy_with_one_output_unit_warns(rng):
    model = Sequential([Input((5,)), Dense(1, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.warns(SyntaxWarning, match=r"Loss 'categorical_crossentropy' expects one output per class, but the "
                                           r"model has a single output unit \(output shape \(None, 1\)\), so the loss "
                                           r"is always about 0.*loss='binary_crossentropy'"):
        model.fit(rng.normal(size=(8, 5)), np.ones((8, 1)), verbose=0)


def test_ignore_class_labels_pass_the_label_check(rng):
    model = Sequential([Input((5,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(ignore_class=-1))
    model.fit(rng.normal(size=(8, 5)), np.array([0, 1, 2, -1, 0, -1, 2, 1]), verbose=0)
    with pytest.raises(ValueError, match=r"expects class labels in \[0, 2\] \(besides ignore_class=-1\) for a model "
                                         r"with 3 outputs\. Received labels from -2 to 2\."):
        model.fit(rng.normal(size=(8, 5)), np.array([0, 1, 2, -2, 0, -1, 2, 1]), verbose=0)


# -- numbers -------------------------------------------------------------------------------------
def test_float32_in_float32_out(rng):
    y, p = (a.astype(np.float32) for a in make_data("binary_prob", rng))
    for cls, kwargs, _ in GRADIENT_CASES[:10]:
        loss = cls(**kwargs)
        if cls in (losses.SparseCategoricalCrossentropy,):
            continue
        assert loss.gradient(y, p).dtype == np.float32
        assert getattr(losses, cls.fn_name)(y, p).dtype == np.float32


def test_dtype_argument_sets_the_precision(rng):
    y, p = (a.astype(np.float32) for a in make_data("regression", rng))
    loss64 = losses.LogCosh(dtype="float64")
    exact = losses.LogCosh()(y.astype(np.float64), p.astype(np.float64))
    assert loss64(y, p) == exact
    assert loss64.gradient(y, p).dtype == np.float32
    assert loss64.dtype == "float64" and losses.LogCosh().dtype is None


def test_integer_predictions_use_floatx():
    assert losses.mse(np.array([[1, 2]]), np.array([[1, 4]])).dtype == np.float32


def test_loss_values_are_deterministic(rng):
    y, p = (a.astype(np.float32) for a in make_data("categorical_prob", rng))
    loss = losses.CategoricalCrossentropy(label_smoothing=0.1)
    first = (loss(y, p), loss.gradient(y, p))
    second = (loss(y, p), loss.gradient(y, p))
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])


def test_repr_names_the_class_and_loss():
    assert repr(losses.Huber()) == "Huber(name='huber_loss')"
    assert repr(losses.get(my_mse)) == "LossFunctionWrapper(name='my_mse')"
    assert math.isclose(losses.get("poisson")(np.array([[1.0]]), np.array([[1.0]])), 1.0 - math.log(1 + EPS))
