"""Activation functions: names, Keras 3 formulas and numbers, derivatives, dtypes, stability, configs.

``tests/fixtures/keras3/activations.json`` holds values and gradients computed by real
Keras 3.15.1 (torch backend); it is written by ``tests/fixtures/keras3/make_activations.py``.
Keras is not needed to run these tests.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import away_from, numeric_grad

from minikeras import activations, backend, losses
from minikeras.layers import Activation, Dense, Input
from minikeras.models import Sequential, model_from_json
from minikeras.optimizers import SGD

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "keras3" / "activations.json").read_text())

# Keras 3's activation names that minikeras implements, with the canonical name each resolves to.
KERAS_NAMES = {
    "linear": "linear", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu",
    "elu": "elu", "selu": "selu", "softplus": "softplus", "softsign": "softsign", "gelu": "gelu",
    "silu": "silu", "swish": "silu", "hard_sigmoid": "hard_sigmoid", "hard_silu": "hard_silu",
    "hard_swish": "hard_silu", "relu6": "relu6", "mish": "mish", "exponential": "exponential",
    "softmax": "softmax", "log_softmax": "log_softmax",
}

# Every activation with arguments beyond the defaults that the tests exercise.
VARIANTS = {
    "relu_all_arguments": activations.ReLU(negative_slope=0.1, max_value=3.0, threshold=0.5),
    "relu_max_value": activations.ReLU(max_value=6.0),
    "relu_negative_slope": activations.ReLU(negative_slope=0.3),
    "relu_negative_threshold": activations.ReLU(threshold=-1.0),
    "relu_negative_threshold_max_value": activations.ReLU(threshold=-1.0, max_value=5.0),
    "leaky_relu_0.1": activations.LeakyReLU(0.1),
    "elu_alpha_0.5": activations.ELU(alpha=0.5),
    "gelu_approximate": activations.GELU(approximate=True),
    "softmax_axis_0": activations.Softmax(axis=0),
    "log_softmax_axis_0": activations.LogSoftmax(axis=0),
}
ALL = {name: activations.get(name) for name in activations.names()} | VARIANTS
ALL_PARAMS = [pytest.param(act, id=name) for name, act in ALL.items()]
ROW_WISE = (activations.Softmax, activations.LogSoftmax)

# Every kink of the activations above, and how far test points keep from them.
KINKS = (-3.0, -1.0, 0.0, 0.5, 3.0, 5.0, 6.0)
KINK_MARGIN = 0.05
EPS = 1e-6


def away_from_kinks(rng, shape, low=-7.0, high=7.0):
    return away_from(rng, shape, KINKS, KINK_MARGIN, low, high)


def numeric_vjp(act, x, g, eps=EPS):
    """Central differences of ``sum(g * act(x))`` with respect to every element of ``x``."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        # Summing g * (difference) rather than differencing two sums keeps large
        # outputs elsewhere (exponential) from drowning the change in rounding error.
        grad[idx] = np.sum(g * (act(plus) - act(minus))) / (2.0 * eps)
    return grad


def numeric_jacobian(act, x, eps=EPS):
    """``J[..., i, j] = d act(x)[..., i] / d x[..., j]`` along the last axis."""
    k = x.shape[-1]
    jac = np.zeros(x.shape + (k,))
    for j in range(k):
        e = np.zeros_like(x)
        e[..., j] = eps
        jac[..., :, j] = (act(x + e) - act(x - e)) / (2.0 * eps)
    return jac


def fixture_activation(case):
    act = activations.get(case["name"])
    return type(act)(**case["kwargs"]) if case["kwargs"] else act


# -- names ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "canonical"), KERAS_NAMES.items())
def test_every_keras_name_resolves_to_the_module_attribute(name, canonical):
    act = activations.get(name)
    assert act.name == canonical
    assert act is getattr(activations, name)
    assert act is activations.get(canonical)
    assert name in activations.names()
    assert activations.serialize(act) == canonical


def test_aliases_are_the_same_objects():
    assert activations.swish is activations.silu
    assert activations.hard_swish is activations.hard_silu
    assert activations.get(None) is activations.linear
    assert set(activations.names()) == set(KERAS_NAMES)


def test_unknown_name_lists_the_names_and_suggests_the_closest():
    with pytest.raises(ValueError, match=r"Unknown activation 'sellu'\. Did you mean 'selu'\?.*hard_swish"):
        activations.get("sellu")


def test_dict_identifiers_in_every_form_keras_writes():
    assert activations.get({"module": "builtins", "class_name": "function", "config": "gelu",
                            "registered_name": "function"}) is activations.gelu
    assert activations.get({"class_name": "swish", "config": {}}) is activations.silu
    assert activations.get({"class_name": "relu", "config": {"name": "relu"}}) is activations.relu
    relu = activations.get({"module": "keras.activations", "class_name": "relu",
                            "config": {"max_value": 6.0}, "registered_name": None})
    assert relu == activations.ReLU(max_value=6.0)
    with pytest.raises(ValueError, match=r"expected a name or a dict with 'class_name' and 'config'"):
        activations.get({"config": {}})


def test_custom_objects_take_precedence():
    custom = activations.ReLU(max_value=1.0)
    assert activations.deserialize("capped", custom_objects={"capped": custom}) is custom
    built = activations.deserialize({"class_name": "Capped", "config": {"max_value": 2.0}},
                                    custom_objects={"Capped": activations.ReLU})
    assert built == activations.ReLU(max_value=2.0)


# -- formulas ----------------------------------------------------------------------------

SELU_ALPHA_KERAS = 1.6732632423543772848170429916717
SELU_SCALE_KERAS = 1.0507009873554804934193349852946


def _relu_reference(v, negative_slope=0.0, max_value=None, threshold=0.0):
    # Keras 3: x above the threshold is kept (zero otherwise), clipped to [0, max_value],
    # minus negative_slope * max(threshold - x, 0).
    p = (v if v > threshold else 0.0) if threshold != 0.0 else max(v, 0.0)
    if max_value is not None:
        p = min(max(p, 0.0), max_value)
    return p - negative_slope * max(threshold - v, 0.0)


def _hard_sigmoid(v):
    return 0.0 if v <= -3 else 1.0 if v >= 3 else v / 6.0 + 0.5


ELEMENTWISE_FORMULAS = {
    "linear": lambda v: v,
    "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
    "tanh": math.tanh,
    "relu": _relu_reference,
    "relu_all_arguments": lambda v: _relu_reference(v, 0.1, 3.0, 0.5),
    "relu_max_value": lambda v: _relu_reference(v, max_value=6.0),
    "relu_negative_slope": lambda v: _relu_reference(v, negative_slope=0.3),
    "relu_negative_threshold": lambda v: _relu_reference(v, threshold=-1.0),
    "relu_negative_threshold_max_value": lambda v: _relu_reference(v, threshold=-1.0, max_value=5.0),
    "leaky_relu": lambda v: v if v >= 0 else 0.2 * v,
    "leaky_relu_0.1": lambda v: v if v >= 0 else 0.1 * v,
    "elu": lambda v: v if v > 0 else math.exp(v) - 1.0,
    "elu_alpha_0.5": lambda v: v if v > 0 else 0.5 * (math.exp(v) - 1.0),
    "selu": lambda v: SELU_SCALE_KERAS * (v if v > 0 else SELU_ALPHA_KERAS * (math.exp(v) - 1.0)),
    "softplus": lambda v: math.log1p(math.exp(v)),
    "softsign": lambda v: v / (1.0 + abs(v)),
    "gelu": lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))),
    "gelu_approximate": lambda v: 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3))),
    "silu": lambda v: v / (1.0 + math.exp(-v)),
    "swish": lambda v: v / (1.0 + math.exp(-v)),
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda v: v * _hard_sigmoid(v),
    "hard_swish": lambda v: v * _hard_sigmoid(v),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "mish": lambda v: v * math.tanh(math.log1p(math.exp(v))),
    "exponential": math.exp,
}


def _softmax_reference(row):
    e = [math.exp(v) for v in row]
    return [v / math.fsum(e) for v in e]


def _log_softmax_reference(row):
    lse = math.log(math.fsum(math.exp(v) for v in row))
    return [v - lse for v in row]


def test_every_activation_has_a_reference_formula():
    assert set(ELEMENTWISE_FORMULAS) | {"softmax", "log_softmax", "softmax_axis_0", "log_softmax_axis_0"} == set(ALL)


@pytest.mark.parametrize("name", list(ELEMENTWISE_FORMULAS))
def test_elementwise_values_follow_the_keras_formula(name):
    # A grid over [-8, 8] with the kinks and the points just beside them.
    beside_kinks = [k + d for k in KINKS for d in (-1e-9, 0.0, 1e-9)]
    x = np.concatenate([np.linspace(-8.0, 8.0, 161), beside_kinks])
    expected = np.array([ELEMENTWISE_FORMULAS[name](float(v)) for v in x])
    np.testing.assert_allclose(ALL[name](x), expected, rtol=2e-15, atol=1e-15)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmax_axis_0", "log_softmax_axis_0"])
def test_row_wise_values_follow_the_keras_formula(name, rng):
    x = rng.normal(scale=3.0, size=(4, 5))
    reference = _softmax_reference if name.startswith("softmax") else _log_softmax_reference
    if name.endswith("axis_0"):
        expected = np.array([reference(col) for col in x.T]).T
    else:
        expected = np.array([reference(row) for row in x])
    np.testing.assert_allclose(ALL[name](x), expected, rtol=1e-14, atol=1e-15)


def test_keras_3_constants_and_landmark_values():
    assert activations.SELU_ALPHA == 1.6732632423543772
    assert activations.SELU_SCALE == 1.0507009873554805
    # Keras 3's hard sigmoid is relu6(x + 3) / 6, not Keras 2's clip(0.2 x + 0.5, 0, 1).
    np.testing.assert_allclose(activations.hard_sigmoid(np.array([1.0, 2.6])), [4 / 6, 5.6 / 6], rtol=1e-15)
    assert activations.leaky_relu(np.array([-1.0]))[0] == -0.2  # function default, not the layer's 0.3
    assert activations.relu(np.array([-10.0, -5.0, 0.0, 5.0, 10.0]), threshold=5.0).tolist() == [0, 0, 0, 0, 10]
    assert activations.elu(np.array([-1.0]), alpha=2.0)[0] == pytest.approx(2.0 * math.expm1(-1.0))
    # Exact GELU is the default; the tanh form differs from it by about 1.6e-4 at x = 1.
    assert activations.gelu(np.array([1.0]))[0] == pytest.approx(0.8413447460685429, rel=1e-15)
    assert activations.gelu(np.array([1.0]), approximate=True)[0] == pytest.approx(0.8411919906082768, rel=1e-15)


def test_erf_and_erfc_are_float64_accurate_against_math():
    x = np.linspace(-6.0, 6.0, 4801)
    erf_error = np.abs(activations._erf(x) - np.array([math.erf(v) for v in x]))
    assert erf_error.max() < 1e-15  # a few units in the last place of erf near +-1
    z = np.linspace(0.0, 26.0, 5201)
    exact = np.array([math.erfc(v) for v in z])
    relative = np.abs(activations._erfc(z) - exact) / exact
    assert relative.max() < 4e-15  # relative accuracy all the way down to erfc(26) = 5.7e-296
    negative = np.linspace(-26.0, 0.0, 521)
    np.testing.assert_allclose(activations._erfc(negative), [math.erfc(v) for v in negative], rtol=1e-15)


def test_normal_cdf_keeps_relative_accuracy_in_the_left_tail():
    x = np.linspace(-37.0, 8.0, 4501)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    cdf64, _ = activations._normal_cdf(x)
    # The reference rounds -v / sqrt(2), an error erfc magnifies to about 1.1e-16 * v**2.
    assert (np.abs(cdf64 - exact) / exact / (1.0 + x * x)).max() < 1e-15
    # The shorter series used for float32 input is still far below float32 resolution.
    cdf32, _ = activations._normal_cdf(x.astype(np.float32))
    exact32 = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2.0)) for v in x.astype(np.float32)])
    assert (np.abs(cdf32 - exact32) / exact32).max() < 1e-8


def test_float32_gelu_is_correctly_rounded_to_within_one_ulp():
    x = np.linspace(-12.0, 12.0, 6001).astype(np.float32)
    exact = np.array([float(v) * 0.5 * math.erfc(-float(v) / math.sqrt(2.0)) for v in x])
    y = activations.gelu(x)
    assert y.dtype == np.float32
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert (np.abs(y - exact) / ulp).max() <= 1.0


# -- derivatives ---------------------------------------------------------------------------

@pytest.mark.parametrize("act", ALL_PARAMS)
def test_derivative_matches_central_differences(act, rng, float64):
    x = away_from_kinks(rng, (3, 5))
    d = act.derivative(x)
    jac = numeric_jacobian(act, x)
    if isinstance(act, ROW_WISE):
        # derivative() is the Jacobian along `axis`, moved last: shape (..., k, k).
        if act.axis == 0:
            jac = numeric_jacobian(lambda v: act(v.T).T, x.T)
        assert d.shape == np.moveaxis(x, act.axis, -1).shape + (x.shape[act.axis],)
        np.testing.assert_allclose(d, jac, rtol=1e-6, atol=1e-8)
    else:
        assert d.shape == x.shape
        np.testing.assert_allclose(d, np.einsum("rii->ri", jac), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ALL_PARAMS)
def test_backward_is_the_vector_jacobian_product(act, rng, float64):
    x = away_from_kinks(rng, (2, 3, 4))
    y = act(x).copy()
    g = rng.normal(size=x.shape)
    expected = numeric_vjp(act, x, g)
    result = act.backward(g.copy(), x.copy(), y.copy())
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-8)
    if not act.uses_input:
        # Layers pass x=None to activations that work from the output alone.
        np.testing.assert_allclose(act.backward(g.copy(), None, y.copy()), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ALL_PARAMS)
def test_forward_in_place_and_into_a_buffer(act, rng):
    x = rng.normal(scale=4.0, size=(3, 4)).astype(np.float32)
    original = x.copy()
    y = act.forward(x)
    if not isinstance(act, activations.Linear):
        assert y is not x
    np.testing.assert_array_equal(x, original)  # no out: the input is left alone
    buffer = np.empty_like(x)
    assert act.forward(x, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, y)
    assert act.forward(x, out=x) is x  # what Dense does for activations with uses_input False
    np.testing.assert_array_equal(x, y)


def test_scalars_and_integers(float64):
    for name in KERAS_NAMES:
        if name in ("softmax", "log_softmax"):
            continue
        act = activations.get(name)
        assert act(np.float64(0.5)).shape == ()
        assert act.derivative(0.5).shape == ()
        assert float(act(2.5)) == pytest.approx(ELEMENTWISE_FORMULAS[name](2.5), rel=1e-14)
    backend.set_floatx("float32")
    assert activations.relu(np.array([-1, 2])).dtype == np.float32  # integers become floatx()


def test_large_arrays_are_processed_in_blocks_with_the_same_result(rng):
    x = rng.normal(scale=3.0, size=(300, 301)).astype(np.float32)  # more than two blocks
    rows = np.concatenate([activations.gelu(row[None]) for row in x])
    np.testing.assert_array_equal(activations.gelu(x), rows)
    np.testing.assert_array_equal(activations.gelu.derivative(x),
                                  np.concatenate([activations.gelu.derivative(row[None]) for row in x]))
    np.testing.assert_array_equal(activations.gelu(np.asfortranarray(x)), rows)


# -- real Keras --------------------------------------------------------------------------

@pytest.mark.parametrize("case", FIXTURE["cases"], ids=[c["id"] for c in FIXTURE["cases"]])
def test_values_and_gradients_match_real_keras(case):
    act = fixture_activation(case)
    x = np.array(FIXTURE["values_x"], dtype=np.float32)
    y = act(x)
    assert y.dtype == np.float32
    # atol covers the tails, where Keras's 0.5 * x * (1 + erf(x / sqrt(2))) cancels to zero in
    # float32 (minikeras keeps the tiny true value) and 1 - y**2 style derivatives cancel.
    np.testing.assert_allclose(y, np.array(case["y"], dtype=np.float32), rtol=1e-5, atol=1e-6)
    xg = np.array(FIXTURE["grad_x"], dtype=np.float32)
    g = np.array(FIXTURE["g"], dtype=np.float32)
    vjp = act.backward(g.copy(), xg.copy(), act(xg))
    assert vjp.dtype == np.float32
    np.testing.assert_allclose(vjp, np.array(case["vjp"], dtype=np.float32), rtol=1e-5, atol=1e-6)


def test_fixture_covers_every_activation():
    assert {c["name"] for c in FIXTURE["cases"]} == set(KERAS_NAMES)
    assert FIXTURE["keras_version"].startswith("3.")


@pytest.mark.parametrize("name", list(FIXTURE["serialized"]))
def test_configs_hold_what_keras_writes(name):
    written = FIXTURE["serialized"][name]
    assert activations.serialize(activations.get(name)) == written["serialize"]
    assert Dense(2, activation=name).get_config()["activation"] == written["dense_config"]
    assert Activation(name).get_config()["activation"] == written["activation_layer_config"]


@pytest.mark.parametrize("entry", FIXTURE["reads_config_with_arguments_as"],
                         ids=[e["function"] for e in FIXTURE["reads_config_with_arguments_as"]])
def test_arguments_are_written_in_a_form_keras_reads(entry):
    # Keras 3 cannot write arguments of an activation function; minikeras writes them in
    # Keras's object schema, which Keras reads back as the plain function of that name.
    config = entry["config"]
    act = activations.deserialize(config)
    assert act.name == entry["function"]
    assert act.get_config() == config["config"]
    assert activations.serialize(act) == config


# -- dtypes and extreme inputs ------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("act", ALL_PARAMS)
def test_dtype_is_preserved(act, dtype, rng):
    x = rng.normal(scale=3.0, size=(3, 4)).astype(dtype)
    y = act(x)
    assert y.dtype == dtype
    assert act.derivative(x).dtype == dtype
    assert act.backward(np.ones_like(x), x, y.copy()).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("act", ALL_PARAMS)
def test_extreme_inputs_give_finite_results_without_warnings(act, dtype):
    big = float(np.finfo(dtype).max) * 0.4  # differences of two such numbers stay finite
    values = [-big, -1e4, -100.0, -30.0, -1e-30, 0.0, 1e-30, 30.0, 100.0, 1e4, big]
    if dtype == np.float16:
        values = [-big, -1e3, -100.0, -30.0, -1e-6, 0.0, 1e-6, 30.0, 100.0, 1e3, big]
    x = np.array([values, values[::-1]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            y = act(x)
            d = act.derivative(x)
            b = act.backward(np.ones_like(x), x.copy(), y.copy())
    assert not np.isnan(y).any() and not np.isnan(d).any() and not np.isnan(b).any()
    if isinstance(act, activations.Exponential):
        assert np.isinf(y[0, -1]) and y[0, 0] == 0.0  # exp overflows to inf, as in Keras
        return
    assert np.isfinite(y).all() and np.isfinite(d).all() and np.isfinite(b).all()


def test_large_input_limits():
    x = np.array([-1e4, 1e4], dtype=np.float32)
    np.testing.assert_array_equal(activations.softplus(x), [0.0, 1e4])
    np.testing.assert_array_equal(activations.silu(x), [-0.0, 1e4])
    np.testing.assert_array_equal(activations.mish(x), [-0.0, 1e4])
    np.testing.assert_array_equal(activations.gelu(x), [-0.0, 1e4])
    np.testing.assert_array_equal(activations.gelu(x, approximate=True), [-0.0, 1e4])
    np.testing.assert_allclose(activations.softsign.derivative(x), [1 / 10001**2] * 2, rtol=1e-6)
    np.testing.assert_allclose(activations.log_softmax(np.array([[1e4, 0.0]], dtype=np.float32)), [[0.0, -1e4]])
    # Tiny values keep their relative accuracy rather than rounding to zero.
    assert activations.softplus(np.array([-50.0]))[0] == pytest.approx(math.exp(-50.0), rel=1e-15)
    assert activations.gelu(np.array([-30.0]))[0] == pytest.approx(-30.0 * 0.5 * math.erfc(30.0 / math.sqrt(2.0)),
                                                                    rel=1e-13)


# -- configs -----------------------------------------------------------------------------

@pytest.mark.parametrize("act", ALL_PARAMS)
def test_config_round_trips_through_json(act, rng):
    config = json.loads(json.dumps(activations.serialize(act)))
    restored = activations.deserialize(config)
    assert restored == act
    assert type(restored) is type(act)
    x = rng.normal(size=(2, 3))
    np.testing.assert_array_equal(restored(x), act(x))
    if act.get_config():
        assert config == {"module": "keras.activations", "class_name": act.name, "config": act.get_config(),
                          "registered_name": None}
        assert type(act).from_config(act.get_config()) == act
    else:
        assert config == act.name


@pytest.mark.parametrize("act", ALL_PARAMS)
def test_layer_configs_round_trip_through_json(act):
    model = Sequential([Input((5,)), Dense(5, activation=act), Activation(act)])
    clone = model_from_json(model.to_json())
    assert clone.layers[0].activation == act
    assert clone.layers[1].activation == act


def test_argument_errors_say_what_was_expected():
    x = np.array([1.0])
    with pytest.raises(TypeError, match=r"The 'selu' activation takes no arguments\. Received: alpha=2\.0\. "
                                        r"Remove the argument\."):
        activations.selu(x, alpha=2.0)
    with pytest.raises(TypeError, match=r"takes only `approximate`\. Received: aproximate=True\. "
                                        r"Did you mean `approximate`\?"):
        activations.gelu(x, aproximate=True)
    with pytest.raises(TypeError, match=r"expects `approximate` to be True or False\. Received: approximate='yes'"):
        activations.gelu(x, approximate="yes")
    with pytest.raises(TypeError, match=r"expects `max_value` to be a number\. Received: max_value='6' of type str"):
        activations.relu(x, max_value="6")
    with pytest.raises(ValueError, match=r"elu expects `alpha` > 0\. Received: alpha=0\.0"):
        activations.elu(x, alpha=0)
    with pytest.raises(TypeError, match=r"expects `axis` to be an integer .* Received: axis=None"):
        activations.softmax(x, axis=None)
    with pytest.raises(TypeError, match=r"'leaky_relu' activation takes only `negative_slope`\. Received: alpha=0\.3"):
        activations.get({"class_name": "leaky_relu", "config": {"alpha": 0.3}})


def test_keras_2_relu_alpha_is_accepted_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"`alpha` is a Keras 1/2 argument of activations\.relu; "
                                                r"use `negative_slope` instead") as record:
        y = activations.relu(np.array([-2.0, 1.0]), alpha=0.5)
    assert record[0].filename == __file__
    np.testing.assert_array_equal(y, [-1.0, 1.0])
    with pytest.raises(TypeError, match=r"both the legacy argument `alpha` and its replacement `negative_slope`"):
        activations.relu(np.array([1.0]), alpha=0.5, negative_slope=0.5)


# -- training ----------------------------------------------------------------------------

def _pre_activations(model, x):
    first = model.layers[0]
    return x @ first.kernel.value + first.bias.value


@pytest.mark.parametrize("act", [p for p in ALL_PARAMS if not p.id.endswith("axis_0")])
def test_dense_model_training_step_follows_the_gradient(act, rng, float64):
    model = Sequential([Input((3,)), Dense(4, activation=act), Dense(2)])
    model.compile(optimizer=SGD(learning_rate=1.0), loss="mse")
    for var in model.trainable_weights:
        var.assign(rng.normal(scale=0.7, size=var.shape))
    x = rng.normal(size=(5, 3))
    y = rng.normal(size=(5, 2))
    z = _pre_activations(model, x)
    assert np.min(np.abs(z[..., None] - np.array(KINKS))) > 1e-3

    def objective():
        return model.loss(y, model.predict(x, verbose=0))

    numeric = [numeric_grad(objective, var.value, EPS) for var in model.trainable_weights]
    before = model.get_weights()
    model.train_on_batch(x, y)
    for w_before, w_after, num in zip(before, model.get_weights(), numeric):
        np.testing.assert_allclose(w_before - w_after, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", list(KERAS_NAMES))
def test_float32_model_trains_one_step_with_each_activation(name, rng):
    model = Sequential([Input((4,)), Dense(6, activation=name), Dense(3, activation="softmax")])
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy")
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=8)]
    before = model.get_weights()
    loss = model.train_on_batch(x, y)
    after = model.get_weights()
    assert np.isfinite(loss)
    assert all(w.dtype == np.float32 for w in after)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_fused_softmax_and_sigmoid_paths_still_apply(rng):
    z = rng.normal(size=(4, 3))
    y = np.eye(3)[rng.integers(0, 3, size=4)]
    cce = losses.CategoricalCrossentropy()
    assert cce.logits_gradient(y, activations.softmax(z), activations.softmax) is not None
    # Only the default softmax over the last axis is fused.
    assert cce.logits_gradient(y, activations.softmax(z), activations.Softmax(axis=0)) is None
    assert cce.logits_gradient(y, activations.log_softmax(z), activations.log_softmax) is None
    bce = losses.BinaryCrossentropy()
    assert bce.logits_gradient(y, activations.sigmoid(z), activations.sigmoid) is not None
    assert bce.logits_gradient(y, activations.hard_sigmoid(z), activations.hard_sigmoid) is None
