"""The process-wide random state: one seeded ``numpy.random.Generator``.

Every random draw in minikeras (weight initialization, shuffling) comes from
:func:`generator` unless an object was given its own ``seed``, so seeding once
with :func:`set_seed` makes a whole run reproducible bit for bit.
"""

from __future__ import annotations

import random as _py_random

import numpy as np

_GENERATOR = np.random.default_rng()


def generator() -> np.random.Generator:
    """Returns the global generator."""
    return _GENERATOR


def set_seed(seed: int) -> None:
    """Re-seeds the global generator, Python's ``random`` and NumPy's legacy state.

    Args:
        seed: A non-negative integer.
    """
    global _GENERATOR
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            f"Expected `seed` to be a non-negative integer. Received: seed={seed!r}."
        )
    _GENERATOR = np.random.default_rng(int(seed))
    _py_random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))


def make_generator(seed: int | None) -> np.random.Generator:
    """Returns a generator of its own for ``seed``, or the global one for ``None``."""
    if seed is None:
        return _GENERATOR
    return np.random.default_rng(int(seed))
