"""The process-wide random state: one seeded ``numpy.random.Generator``.

Every random draw in minikeras (weight initialization, shuffling, dropout) comes
from :func:`generator` unless an object was given its own ``seed``, so seeding
once with :func:`set_seed` makes a whole run reproducible bit for bit.

Training draws (the shuffle order and dropout masks of an epoch) come from a
generator that depends only on the seed and the optimizer's step count at the
start of the epoch (:func:`training_scope`). A run saved after N epochs and
resumed in a new process therefore draws exactly what an uninterrupted run
draws in epoch N + 1.
"""

from __future__ import annotations

import contextlib
import random as _py_random
from collections.abc import Iterator

import numpy as np

_GENERATOR = np.random.default_rng()
_SEED: int | None = None
_SESSION_ENTROPY: int | None = None
# While training: the epoch's generator and one generator per layer seed.
_SCOPE: tuple[np.random.Generator, dict[int, np.random.Generator], int] | None = None


def generator() -> np.random.Generator:
    """Returns the generator for the current draw: the epoch's while training, else the global one."""
    if _SCOPE is not None:
        return _SCOPE[0]
    return _GENERATOR


def seeded_generator(seed: int, own: np.random.Generator) -> np.random.Generator:
    """Returns the generator of an object with its own ``seed`` (e.g. ``Dropout(seed=1)``).

    Outside training that is the object's own stream ``own``; while training it
    is derived from ``seed`` and the epoch's step count, like :func:`generator`.
    """
    if _SCOPE is None:
        return own
    per_seed, step = _SCOPE[1], _SCOPE[2]
    rng = per_seed.get(seed)
    if rng is None:
        rng = per_seed[seed] = np.random.default_rng([int(seed), step])
    return rng


def _base_entropy() -> int:
    global _SESSION_ENTROPY
    if _SEED is not None:
        return _SEED
    if _SESSION_ENTROPY is None:
        # Unseeded: fixed for this process, so that epochs still differ from each other.
        _SESSION_ENTROPY = int(_GENERATOR.integers(0, 2**63 - 1))
    return _SESSION_ENTROPY


@contextlib.contextmanager
def training_scope(step: int) -> Iterator[np.random.Generator]:
    """Makes :func:`generator` return a generator that depends only on the seed and ``step``.

    ``fit`` enters one scope per epoch with the optimizer's step count, so the
    epoch's shuffle order and dropout masks are the same whether or not the run
    was saved and resumed before it.

    Examples:
        >>> set_seed(1)
        >>> with training_scope(100) as rng:
        ...     first = rng.random()
        >>> with training_scope(100) as rng:
        ...     first == rng.random()
        True
    """
    global _SCOPE
    previous = _SCOPE
    rng = np.random.default_rng([_base_entropy(), int(step), 0x7261696E])
    _SCOPE = (rng, {}, int(step))
    try:
        yield rng
    finally:
        _SCOPE = previous


def set_seed(seed: int) -> None:
    """Re-seeds the global generator, Python's ``random`` and NumPy's legacy state.

    Args:
        seed: A non-negative integer.
    """
    global _GENERATOR, _SEED
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            f"Expected `seed` to be a non-negative integer. Received: seed={seed!r}."
        )
    _GENERATOR = np.random.default_rng(int(seed))
    _SEED = int(seed)
    _py_random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))


def make_generator(seed: int | None) -> np.random.Generator:
    """Returns a generator of its own for ``seed``, or the global one for ``None``."""
    if seed is None:
        return _GENERATOR
    return np.random.default_rng(int(seed))
