"""Numeric settings, random state and naming shared by the whole library."""

from __future__ import annotations

from minikeras.backend import random
from minikeras.backend.config import epsilon, floatx, set_epsilon, set_floatx
from minikeras.backend.naming import reset_names


def clear_session() -> None:
    """Resets automatic names, so new layers start again at ``dense``, ``dense_1``.

    Examples:
        >>> clear_session()
    """
    reset_names()


__all__ = ["clear_session", "epsilon", "floatx", "random", "set_epsilon", "set_floatx"]
