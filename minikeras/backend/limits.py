"""A limit on the size of new weights, set while a model file is being read.

Loading a model builds its layers from the file's configuration before the
weights are read. A crafted configuration could ask for a layer of terabytes;
inside :func:`weight_size_limit` every new weight is checked first, so such a
layer is refused before any memory is allocated.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator

# (largest number of elements a new weight may have, why), or None for no limit.
_LIMIT: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "minikeras_weight_limit", default=None)


@contextlib.contextmanager
def weight_size_limit(max_elements: int, reason: str) -> Iterator[None]:
    """Refuses to create weights with more than ``max_elements`` elements inside the block.

    Args:
        max_elements: The largest weight (in elements) that may be created.
        reason: Explains the limit in the error message.

    Examples:
        >>> with weight_size_limit(10, "a test"):
        ...     Dense(100).build((None, 100))
        Traceback (most recent call last):
        ...
        ValueError: ...
    """
    token = _LIMIT.set((int(max_elements), reason))
    try:
        yield
    finally:
        _LIMIT.reset(token)


def check_weight_size(owner: str, name: str, shape: tuple[int, ...]) -> None:
    """Raises ``ValueError`` if a weight of ``shape`` exceeds the active limit, if any."""
    limit = _LIMIT.get()
    if limit is not None and math.prod(shape) > limit[0]:
        raise ValueError(
            f"Layer '{owner}' would create weight '{name}' of shape {tuple(int(d) for d in shape)} "
            f"({math.prod(shape):,} elements), more than {limit[0]:,}: {limit[1]}."
        )
