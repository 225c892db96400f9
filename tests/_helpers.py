"""Helpers shared by the test modules: central differences, gradient checks, comparisons and test inputs."""

from __future__ import annotations

import numpy as np

from minikeras.utils import set_random_seed

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


def check_layer_gradients(layer, x, rng, training=True, reseed=None):
    """Compares ``backward`` with central differences of ``sum(g * layer(x, training))``.

    ``reseed`` re-seeds the global generator before every call, so Dropout draws
    the same mask each time.
    """
    def forward():
        if reseed is not None:
            set_random_seed(reseed)
        return layer(x, training=training)

    out = forward()
    g = rng.normal(size=out.shape)
    dx = layer.backward(g.copy())
    grads = [v.grad.copy() for v in layer.trainable_weights]

    def objective():
        return np.sum(g * forward())

    assert_close(dx, numeric_grad(objective, x))
    for var, grad in zip(layer.trainable_weights, grads):
        assert var.value.dtype == np.float64
        assert_close(grad, numeric_grad(objective, var.value))
