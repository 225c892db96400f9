"""Helpers shared by the test modules: central differences, gradient checks, comparisons and test inputs."""

from __future__ import annotations

import numpy as np

from minikeras.testing import check_gradients

EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-8


def numeric_grad(f, arr, eps=EPS):
    """Central-difference gradient of the scalar ``f()`` w.r.t. ``arr``, perturbed in place."""
    assert arr.dtype == np.float64
    grad = np.zeros(arr.shape, dtype=np.float64)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        f_plus = float(f())
        arr[idx] = old - eps
        f_minus = float(f())
        arr[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def assert_close(actual, expected, rtol=RTOL, atol=ATOL):
    """``actual`` has the shape of ``expected`` and the same values to within the tolerances."""
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def away_from(rng, shape, kinks, margin=0.05, low=-3.0, high=3.0):
    """Uniform values kept ``margin`` away from every kink."""
    x = rng.uniform(low, high, size=shape)
    while True:
        close = np.zeros(shape, dtype=bool)
        for kink in kinks:
            close |= np.abs(x - kink) < margin
        if not close.any():
            return x
        x[close] = rng.uniform(low, high, size=int(close.sum()))


def check_layer_gradients(layer, x, rng, reseed=None):
    """Compares ``backward`` with central differences of ``sum(g * layer(x, training=True))``
    on every entry, at the suite's tolerances, with the public ``check_gradients``.

    ``g`` and the sampled entries come from ``rng``. ``reseed`` is kept for the callers
    that fixed Dropout's mask with it: ``check_gradients`` draws the same random numbers
    in every forward pass by itself.
    """
    del reseed
    check_gradients(layer, x, eps=EPS, rtol=RTOL, atol=ATOL, max_entries=None, seed=int(rng.integers(2**31)))
