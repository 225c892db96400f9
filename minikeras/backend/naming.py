"""Automatic object names as Keras gives them: ``dense``, ``dense_1``, ``dense_2``."""

from __future__ import annotations

import re
from collections import defaultdict

_COUNTERS: defaultdict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """Converts a class name to Keras's snake_case prefix.

    Example:
        >>> to_snake_case("BatchNormalization"), to_snake_case("LeakyReLU")
        ('batch_normalization', 'leaky_re_lu')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix: str) -> str:
    """Returns ``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ..."""
    count = _COUNTERS[prefix]
    _COUNTERS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Forgets all name counters, so the next Dense is named ``dense`` again."""
    _COUNTERS.clear()
