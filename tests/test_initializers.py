"""Initializers: Keras 3's formulas, defaults, names and configs; seeded reproducibility."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from minikeras import backend, initializers, utils
from minikeras.initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    compute_fans,
)
from minikeras.layers import Dense, Input
from minikeras.models import Sequential

# The standard deviation of a standard normal truncated at +-2 (Keras's 0.87962566103423978).
TRUNCATED_STD = 0.87962566103423978

KERAS_NAMES = {
    "zeros": Zeros, "Zeros": Zeros, "zero": Zeros, "ones": Ones, "Ones": Ones, "one": Ones,
    "constant": Constant, "Constant": Constant,
    "random_normal": RandomNormal, "RandomNormal": RandomNormal, "normal": RandomNormal,
    "random_uniform": RandomUniform, "RandomUniform": RandomUniform, "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "TruncatedNormal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "VarianceScaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "GlorotUniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "GlorotNormal": GlorotNormal,
    "he_uniform": HeUniform, "HeUniform": HeUniform, "he_normal": HeNormal, "HeNormal": HeNormal,
    "lecun_uniform": LecunUniform, "LecunUniform": LecunUniform,
    "lecun_normal": LecunNormal, "LecunNormal": LecunNormal,
    "orthogonal": Orthogonal, "Orthogonal": Orthogonal, "OrthogonalInitializer": Orthogonal,
    "identity": Identity, "Identity": Identity, "IdentityInitializer": Identity,
}


@pytest.mark.parametrize("name", sorted(KERAS_NAMES))
def test_every_keras_3_name_resolves(name):
    init = initializers.get(name)
    assert type(init) is KERAS_NAMES[name]
    assert initializers.get(name) is not init  # a new instance each time


def test_unknown_name_suggests_the_closest_and_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot_unifrom'\. Did you mean 'glorot_uniform'\?"):
        initializers.get("glorot_unifrom")
    with pytest.raises(ValueError, match="Known initializer names: .*orthogonal"):
        initializers.get("nope")


def test_get_accepts_classes_callables_and_arrays():
    assert type(initializers.get(HeNormal)) is HeNormal

    def fn(shape, dtype=None):
        return np.full(shape, 3.0, dtype=dtype)

    assert initializers.get(fn) is fn
    array_init = initializers.get(np.arange(6.0).reshape(2, 3))
    values = array_init((2, 3), "float32")
    assert values.dtype == np.float32 and values.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match=r"weight's shape \(3, 2\)\. Received an array of shape \(2, 3\)"):
        array_init((3, 2))
    with pytest.raises(TypeError, match="cannot be saved"):
        initializers.serialize(array_init)
    with pytest.raises(ValueError, match="Received: None"):
        initializers.get(None)


# -- constant initializers ------------------------------------------------------------------

def test_constant_initializers():
    assert Zeros()((2, 3)).tolist() == [[0.0] * 3] * 2
    assert Ones()((4,)).tolist() == [1.0] * 4
    assert Constant(2.5)((2, 2)).tolist() == [[2.5, 2.5], [2.5, 2.5]]
    assert Constant()((1,)).tolist() == [0.0]


@pytest.mark.parametrize("name", ["zeros", "ones", "random_uniform", "random_normal", "truncated_normal",
                                  "glorot_uniform", "he_normal", "orthogonal", "identity"])
def test_dtype_is_floatx_unless_given(name):
    init = initializers.get(name)
    assert init((3, 4)).dtype == np.float32
    assert init((3, 4), "float64").dtype == np.float64
    backend.set_floatx("float64")
    assert init((3, 4)).dtype == np.float64


# -- random initializers: formulas ----------------------------------------------------------

SHAPE = (400, 300)


def test_random_uniform_defaults_and_bounds():
    init = RandomUniform(seed=1)
    assert (init.minval, init.maxval) == (-0.05, 0.05)
    v = init(SHAPE, "float64")
    assert v.min() >= -0.05 and v.max() < 0.05
    assert v.mean() == pytest.approx(0.0, abs=1e-3)
    assert v.std() == pytest.approx(0.1 / math.sqrt(12), rel=1e-2)
    w = RandomUniform(2.0, 3.0, seed=1)(SHAPE)
    assert w.min() >= 2.0 and w.max() < 3.0


def test_random_normal_defaults_and_moments():
    init = RandomNormal(seed=2)
    assert (init.mean, init.stddev) == (0.0, 0.05)
    v = init(SHAPE, "float64")
    assert v.mean() == pytest.approx(0.0, abs=1e-3)
    assert v.std() == pytest.approx(0.05, rel=1e-2)
    w = RandomNormal(mean=1.0, stddev=2.0, seed=2)(SHAPE, "float64")
    assert w.mean() == pytest.approx(1.0, abs=2e-2) and w.std() == pytest.approx(2.0, rel=1e-2)


def test_truncated_normal_redraws_beyond_two_standard_deviations_without_rescaling():
    init = TruncatedNormal(mean=0.5, stddev=0.1, seed=3)
    v = init(SHAPE, "float64")
    assert np.abs(v - 0.5).max() <= 0.2
    assert v.mean() == pytest.approx(0.5, abs=1e-3)
    # Truncation at 2 sigma leaves a standard deviation of 0.8796 sigma.
    assert v.std() == pytest.approx(0.1 * TRUNCATED_STD, rel=1e-2)
    assert (TruncatedNormal().mean, TruncatedNormal().stddev) == (0.0, 0.05)


PRESETS = [
    (GlorotUniform, 1.0, "fan_avg", "uniform"),
    (GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    (HeUniform, 2.0, "fan_in", "uniform"),
    (HeNormal, 2.0, "fan_in", "truncated_normal"),
    (LecunUniform, 1.0, "fan_in", "uniform"),
    (LecunNormal, 1.0, "fan_in", "truncated_normal"),
]


@pytest.mark.parametrize(("cls", "scale", "mode", "distribution"), PRESETS, ids=[p[0].__name__ for p in PRESETS])
def test_presets_are_variance_scaling_with_keras_parameters(cls, scale, mode, distribution):
    init = cls(seed=5)
    assert isinstance(init, VarianceScaling)
    assert (init.scale, init.mode, init.distribution) == (scale, mode, distribution)
    # The same draws as the general form with the same seed.
    same = VarianceScaling(scale, mode, distribution, seed=5)
    np.testing.assert_array_equal(init((30, 20)), same((30, 20)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["uniform", "truncated_normal", "untruncated_normal"])
def test_variance_scaling_spread(mode, distribution):
    fan_in, fan_out = SHAPE
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    s = 2.0 / n
    v = VarianceScaling(2.0, mode, distribution, seed=6)(SHAPE, "float64")
    # Every distribution has standard deviation sqrt(s): the truncated normal is widened by 1/0.8796 first.
    assert v.std() == pytest.approx(math.sqrt(s), rel=1.5e-2)
    assert v.mean() == pytest.approx(0.0, abs=0.02 * math.sqrt(s))
    if distribution == "uniform":
        assert np.abs(v).max() <= math.sqrt(3 * s)
        assert np.abs(v).max() > 0.99 * math.sqrt(3 * s)
    elif distribution == "truncated_normal":
        assert np.abs(v).max() <= 2 * math.sqrt(s) / TRUNCATED_STD


def test_glorot_uniform_limit_is_keras_formula():
    v = GlorotUniform(seed=0)((6, 10), "float64")
    assert np.abs(v).max() <= math.sqrt(6.0 / 16)
    v = HeUniform(seed=0)((6, 10), "float64")
    assert np.abs(v).max() <= math.sqrt(6.0 / 6)


def test_variance_scaling_arguments():
    assert VarianceScaling(distribution="normal").distribution == "truncated_normal"
    assert VarianceScaling(distribution="Uniform").distribution == "uniform"
    with pytest.raises(ValueError, match=r"`scale` > 0\. Received: scale=0"):
        VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="`mode` in .*Received: mode='fan'"):
        VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="Received: distribution='gauss'"):
        VarianceScaling(distribution="gauss")
    with pytest.raises(ValueError, match="`input_axes` to be None or a list of integers"):
        VarianceScaling(input_axes="0")


def test_compute_fans_follows_keras():
    assert compute_fans(()) == (1.0, 1.0)
    assert compute_fans((7,)) == (7.0, 7.0)
    assert compute_fans((3, 5)) == (3.0, 5.0)
    assert compute_fans((2, 3, 4, 5)) == (24.0, 30.0)
    assert compute_fans((2, 3, 4, 5), input_axes=[0, 1], output_axes=[3]) == (6.0, 5.0)
    # The axes change the spread: fan_in = 6 instead of 24.
    init = VarianceScaling(1.0, "fan_in", "uniform", seed=1, input_axes=[0, 1], output_axes=[3])
    v = init((2, 3, 4, 5), "float64")
    assert np.abs(v).max() <= math.sqrt(3.0 / 6) and np.abs(v).max() > math.sqrt(3.0 / 24)


def test_fans_below_one_count_as_one():
    v = VarianceScaling(1.0, "fan_in", "uniform", seed=1)((0, 3))
    assert v.shape == (0, 3)


# -- orthogonal ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (2, 3, 4), (3, 2, 10)])
def test_orthogonal_is_orthogonal(shape):
    gain = 1.7
    q = Orthogonal(gain=gain, seed=4)(shape, "float64")
    assert q.shape == shape
    m = q.reshape(-1, shape[-1])
    rows, cols = m.shape
    if rows >= cols:
        np.testing.assert_allclose(m.T @ m, gain**2 * np.eye(cols), atol=1e-12)
    else:
        np.testing.assert_allclose(m @ m.T, gain**2 * np.eye(rows), atol=1e-12)


@pytest.mark.parametrize("shape", [(7, 3), (3, 7)])
def test_orthogonal_is_qr_of_a_seeded_normal_matrix_with_keras_sign_correction(shape):
    q = Orthogonal(seed=11)(shape, "float64")
    rows, cols = shape
    a = np.random.default_rng(11).normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
    tall = q if rows >= cols else q.T
    # With the columns' signs fixed by sign(diag(R)), Q is the unique QR factor whose R
    # has a positive diagonal, whatever sign convention LAPACK uses.
    r = tall.T @ a
    np.testing.assert_allclose(np.tril(r, -1), 0.0, atol=1e-12)
    assert (np.diag(r) > 0).all()
    np.testing.assert_allclose(tall @ r, a, atol=1e-12)


def test_orthogonal_needs_two_dimensions_and_is_reproducible():
    with pytest.raises(ValueError, match=r"at least two dimensions\. Received: shape=\(5,\) of rank 1"):
        Orthogonal()((5,))
    np.testing.assert_array_equal(Orthogonal(seed=3)((5, 4)), Orthogonal(seed=3)((5, 4)))
    assert not np.array_equal(Orthogonal(seed=3)((5, 4)), Orthogonal(seed=4)((5, 4)))
    assert Orthogonal().gain == 1.0


# -- identity ------------------------------------------------------------------------------

def test_identity():
    np.testing.assert_array_equal(Identity()((3, 3)), np.eye(3, dtype=np.float32))
    assert Identity(gain=0.5)((2, 4), "float64").tolist() == [[0.5, 0, 0, 0], [0, 0.5, 0, 0]]
    assert Identity(gain=2.0)((3, 2)).tolist() == [[2, 0], [0, 2], [0, 0]]
    for shape in [(3,), (2, 2, 2)]:
        with pytest.raises(ValueError, match=rf"only initialize 2-D weights\. Received: shape=\({shape[0]},"):
            Identity()(shape)


def test_identity_kernel_in_a_dense_layer_passes_inputs_through():
    model = Sequential([Input((3,)), Dense(3, kernel_initializer="identity")])
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    with pytest.raises(ValueError, match="only initialize 2-D weights"):
        Sequential([Input((3,)), Dense(3, bias_initializer="identity")])


# -- seeds and reproducibility -------------------------------------------------------------

RANDOM = [RandomUniform, RandomNormal, TruncatedNormal, VarianceScaling, GlorotUniform, GlorotNormal,
          HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal]


@pytest.mark.parametrize("cls", RANDOM, ids=[c.__name__ for c in RANDOM])
def test_seeded_initializers_are_bit_reproducible(cls):
    a = cls(seed=42)((20, 10))
    b = cls(seed=42)((20, 10))
    assert a.tobytes() == b.tobytes()
    assert cls(seed=42)((20, 10)).tobytes() == cls(seed=42)((20, 10)).tobytes()
    assert a.tobytes() != cls(seed=43)((20, 10)).tobytes()
    init = cls(seed=42)
    assert init((20, 10)).tobytes() == init((20, 10)).tobytes()  # the same values at every call


@pytest.mark.parametrize("cls", RANDOM, ids=[c.__name__ for c in RANDOM])
def test_unseeded_initializers_follow_the_global_seed(cls):
    utils.set_random_seed(7)
    a = cls()((8, 6))
    b = cls()((8, 6))
    assert a.tobytes() != b.tobytes()  # successive draws of the global generator
    utils.set_random_seed(7)
    assert cls()((8, 6)).tobytes() == a.tobytes()


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_bad_seeds_fail_when_created(seed):
    with pytest.raises(ValueError, match=r"`seed` to be None or a non-negative integer\. Received: seed="):
        RandomNormal(seed=seed)


def test_seeded_models_are_bit_reproducible():
    def weights():
        utils.set_random_seed(3)
        model = Sequential([Input((5,)), Dense(4, kernel_initializer="orthogonal"),
                            Dense(2, kernel_initializer="he_normal", bias_initializer="random_uniform")])
        return b"".join(w.tobytes() for w in model.get_weights())

    assert weights() == weights()


# -- configs -------------------------------------------------------------------------------

ALL = [Zeros(), Ones(), Constant(1.5), RandomUniform(-1.0, 2.0, seed=3), RandomNormal(0.5, 2.0),
       TruncatedNormal(seed=9), VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=1),
       VarianceScaling(input_axes=[0], output_axes=[1]), GlorotUniform(seed=1), GlorotNormal(),
       HeUniform(), HeNormal(seed=2), LecunUniform(), LecunNormal(), Orthogonal(gain=2.0, seed=5),
       Identity(gain=3.0)]


@pytest.mark.parametrize("init", ALL, ids=repr)
def test_configs_round_trip_through_json(init):
    config = json.loads(json.dumps(initializers.serialize(init)))
    assert config["module"] == "keras.initializers"
    assert config["class_name"] == type(init).__name__
    assert config["registered_name"] is None
    again = initializers.deserialize(config)
    assert type(again) is type(init)
    assert again.get_config() == init.get_config()
    if getattr(init, "seed", 0) is not None:  # unseeded ones draw new values at every call
        np.testing.assert_array_equal(again((4, 3)), init((4, 3)))


def test_configs_match_keras_3():
    # As written by Keras 3.15.1.
    assert initializers.serialize(GlorotUniform()) == {
        "module": "keras.initializers", "class_name": "GlorotUniform",
        "config": {"seed": None, "input_axes": None, "output_axes": None}, "registered_name": None}
    assert list(VarianceScaling().get_config()) == ["seed", "scale", "mode", "distribution", "input_axes",
                                                    "output_axes"]
    assert RandomUniform().get_config() == {"seed": None, "minval": -0.05, "maxval": 0.05}
    assert RandomNormal().get_config() == {"seed": None, "mean": 0.0, "stddev": 0.05}
    assert TruncatedNormal().get_config() == {"seed": None, "mean": 0.0, "stddev": 0.05}
    assert Orthogonal(gain=2.0, seed=3).get_config() == {"seed": 3, "gain": 2.0}
    assert Zeros().get_config() == {} and Ones().get_config() == {}


def test_keras_2_configs_are_read():
    init = initializers.deserialize({"class_name": "VarianceScaling",
                                     "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal",
                                                "seed": None}})
    assert init.distribution == "truncated_normal"
    assert type(initializers.deserialize({"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}})) \
        is Orthogonal
