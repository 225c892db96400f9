"""Automatic object names as Keras gives them: ``dense``, ``dense_1``, ``dense_2``."""

from __future__ import annotations

import re
from collections import defaultdict

_COUNTERS: defaultdict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """Converts a class name to Keras's snake_case prefix.

    A digit does not start a new word (``Conv2D`` -> ``conv2d``), as in Keras.

    Examples:
        >>> to_snake_case("BatchNormalization"), to_snake_case("LeakyReLU"), to_snake_case("Dense2D")
        ('batch_normalization', 'leaky_re_lu', 'dense2d')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix: str) -> str:
    """Returns ``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ..."""
    count = _COUNTERS[prefix]
    _COUNTERS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Forgets all name counters, so the next Dense is named ``dense`` again."""
    _COUNTERS.clear()
