"""``Dropout``: randomly zeroes inputs during training."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras._validation import pop_legacy_kwarg, shape_str
from minikeras.backend import random as _random
from minikeras.layers._checks import check_number, no_forward_error
from minikeras.layers.base import Layer, register


@register()
class Dropout(Layer):
    """Sets a random fraction ``rate`` of the inputs to 0 during training.

    Inverted dropout: each value is kept with probability ``1 - rate`` and the
    kept values are divided by ``1 - rate``, so the expected output equals the
    input and inference needs no rescaling. Only ``training=True`` (inside
    ``fit`` and ``train_on_batch``) drops values; ``evaluate``, ``predict`` and
    direct calls return the input unchanged.

    The mask comes from the layer's own generator when ``seed`` is given and from
    the global one (:func:`minikeras.utils.set_random_seed`) otherwise, so a
    seeded run draws the same masks every time. The backward pass multiplies
    the upstream gradient by the same mask and scale.

    Args:
        rate: Fraction of the inputs to drop, in ``[0, 1)``.
        noise_shape: Shape of the mask, broadcast over the inputs, e.g.
            ``(None, 1)`` to drop whole samples' features together; ``None``
            entries take the input's size. Defaults to the input shape.
        seed: Non-negative integer seed of the layer's own generator, or ``None``.
        **kwargs: Common layer arguments, and the Keras 1 name ``p`` (for
            ``rate``), which warns.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Examples:
        >>> from minikeras.layers import Dropout
        >>> layer = Dropout(0.5, seed=1)
        >>> x = np.ones((2, 4), dtype="float32")
        >>> layer(x).tolist()  # inference: unchanged
        [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
        >>> sorted(set(layer(x, training=True).ravel().tolist()))  # dropped or doubled
        [0.0, 2.0]
    """

    def __init__(self, rate: float | None = None, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        rate = pop_legacy_kwarg("Dropout", kwargs, "p", "rate", rate, None)
        if rate is None:
            raise TypeError("Dropout is missing the required argument `rate` (e.g. Dropout(0.5)).")
        super().__init__(**kwargs)
        self.rate = check_number("Dropout", "rate", rate, low=0.0, high=1.0, high_open=True)
        self.noise_shape = _check_noise_shape(noise_shape)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"Dropout expects `seed` to be a non-negative integer or None. Received: seed={seed!r}.")
        self.seed = None if seed is None else int(seed)
        self._rng = None if seed is None else _random.make_generator(self.seed)
        # The kept-values mask of the last training call (``True`` when nothing was dropped).
        self._mask: np.ndarray | bool | None = None

    def build(self, input_shape):
        if self.noise_shape is not None:
            self._resolve_noise_shape(tuple(input_shape))
        super().build(input_shape)

    def _resolve_noise_shape(self, shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        noise = self.noise_shape
        resolved = tuple(d if n is None else n for n, d in zip(noise, shape))
        if len(noise) != len(shape) or any(
                n is not None and n != 1 and d is not None and n != d for n, d in zip(noise, shape)):
            raise ValueError(
                f"Layer '{self.name}' (Dropout) received noise_shape={shape_str(noise)}, which does not "
                f"broadcast to inputs of shape {shape_str(shape)}. Give one entry per input axis "
                "(batch axis included), each None, 1 or the input's size on that axis."
            )
        return resolved

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = True if training else None
            return x
        shape = x.shape if self.noise_shape is None else self._resolve_noise_shape(x.shape)
        rng = _random.generator() if self._rng is None else _random.seeded_generator(self.seed, self._rng)
        keep_prob = 1.0 - self.rate
        mask = rng.random(shape, dtype=np.float32) < keep_prob
        out = np.divide(x, keep_prob)
        out *= mask
        self._mask = mask
        return out

    def backward(self, grad):
        mask = self._mask
        if mask is None:
            raise no_forward_error(self)
        if not self.need_input_grad:
            return None
        if mask is True:
            return grad
        grad = np.divide(grad, 1.0 - self.rate, out=grad)
        grad *= mask
        return grad

    def clear_cache(self):
        self._mask = None

    def get_config(self):
        config = super().get_config()
        config.update({
            "rate": self.rate,
            "seed": self.seed,
            "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
        })
        return config


def _check_noise_shape(noise_shape: Any) -> tuple[int | None, ...] | None:
    if noise_shape is None:
        return None
    try:
        dims = tuple(noise_shape)
    except TypeError:
        dims = None
    if dims is None or isinstance(noise_shape, str) or any(
            d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0) for d in dims):
        raise ValueError(
            "Dropout expects `noise_shape` to be a tuple of positive integers or None, one per input axis, "
            f"e.g. (None, 1). Received: noise_shape={noise_shape!r}."
        )
    return tuple(None if d is None else int(d) for d in dims)
