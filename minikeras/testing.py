"""Numerical gradient checks for layers and models: ``check_gradients``.

A layer's :meth:`~minikeras.layers.Layer.backward` (or a model's training step)
computes gradients analytically. :func:`check_gradients` compares them with
central differences,

    (f(theta + eps) - f(theta - eps)) / (2 eps),

taken one scalar entry at a time in float64, so a custom layer can be tested
the way the built-in ones are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from minikeras._validation import shape_str
from minikeras.backend import config as _config
from minikeras.backend import random as _random
from minikeras.layers.base import Layer
from minikeras.models.trainer import Trainer


@dataclass(frozen=True)
class ArrayCheck:
    """The comparison for one array: the layer input or one trainable weight.

    Attributes:
        name: ``"input"`` or the weight's path, e.g. ``"dense/kernel"``.
        shape: Shape of the array.
        checked: Number of entries compared (all, or a sample of ``max_entries``).
        failures: Number of compared entries outside the tolerance.
        max_abs_error: Largest ``|analytic - numeric|``.
        max_rel_error: Largest ``|analytic - numeric| / max(|analytic|, |numeric|, atol)``.
        error_ratio: Largest ``|analytic - numeric| / (atol + rtol * max(|analytic|, |numeric|))``;
            the array passes when it is at most 1.
        worst_index: Index of the entry with the largest ``error_ratio``.
        worst_analytic: The gradient ``backward`` gave at ``worst_index``.
        worst_numeric: The central difference at ``worst_index``.
    """

    name: str
    shape: tuple[int, ...]
    checked: int
    failures: int
    max_abs_error: float
    max_rel_error: float
    error_ratio: float
    worst_index: tuple[int, ...]
    worst_analytic: float
    worst_numeric: float

    @property
    def passed(self) -> bool:
        """Whether every compared entry is within the tolerance."""
        return self.failures == 0


@dataclass(frozen=True)
class GradientCheck:
    """The result of :func:`check_gradients`: one :class:`ArrayCheck` per array.

    It is true when the check passed, so ``assert check_gradients(..., raise_on_failure=False)``
    works; ``str(result)`` is a table of every array.

    Attributes:
        arrays: The per-array results, the input first (for a layer), then the
            trainable weights in ``trainable_weights`` order.
        eps: The central-difference step.
        rtol: The relative tolerance.
        atol: The absolute tolerance.
    """

    arrays: tuple[ArrayCheck, ...]
    eps: float
    rtol: float
    atol: float

    @property
    def passed(self) -> bool:
        """Whether every array passed."""
        return all(a.passed for a in self.arrays)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def worst(self) -> ArrayCheck | None:
        """The array with the largest ``error_ratio`` (``None`` if nothing was checked)."""
        return max(self.arrays, key=lambda a: a.error_ratio, default=None)

    def __getitem__(self, name: str) -> ArrayCheck:
        for array in self.arrays:
            if array.name == name:
                return array
        raise KeyError(f"No array named {name!r} was checked. Checked: {', '.join(a.name for a in self.arrays)}.")

    def __str__(self) -> str:
        header = ("array", "shape", "checked", "max abs err", "max rel err", "worst entry", "analytic",
                  "numeric", "ok")
        rows = [header] + [
            (a.name, shape_str(a.shape), str(a.checked), f"{a.max_abs_error:.2e}", f"{a.max_rel_error:.2e}",
             shape_str(a.worst_index), f"{a.worst_analytic:.6g}", f"{a.worst_numeric:.6g}",
             "yes" if a.passed else f"NO ({a.failures} off)")
            for a in self.arrays
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [f"Gradient check {'passed' if self.passed else 'FAILED'} "
                 f"(eps={self.eps:g}, rtol={self.rtol:g}, atol={self.atol:g})"]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        return "\n".join(lines)

    def failure_message(self) -> str:
        """A message naming the worst array and entry, followed by the table."""
        worst = self.worst
        if worst is None or worst.passed:
            return str(self)
        failed = [a.name for a in self.arrays if not a.passed]
        allowed = self.atol + self.rtol * max(abs(worst.worst_analytic), abs(worst.worst_numeric))
        return (
            f"Gradient check failed for {', '.join(repr(n) for n in failed)}. Worst: {worst.name!r} "
            f"{shape_str(worst.shape)} at entry {shape_str(worst.worst_index)}: the backward pass gives "
            f"{worst.worst_analytic:.6g}, central differences give {worst.worst_numeric:.6g} (abs error "
            f"{abs(worst.worst_analytic - worst.worst_numeric):.3g}, allowed {allowed:.3g}); "
            f"{worst.failures} of {worst.checked} checked entries are off. Check the backward pass for that "
            "array; if the function has a kink (relu at 0, abs, max, clipping), keep the inputs and weights "
            "away from it.\n" + str(self)
        )


def check_gradients(model_or_layer: Any, x: Any, y: Any = None, *, sample_weight: Any = None,
                    eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7, max_entries: int | None = 100,
                    seed: int = 0, raise_on_failure: bool = True) -> GradientCheck:
    """Compares analytic gradients with central differences, in float64.

    For a **layer**, the scalar is ``sum(layer(x, training=True) * P)`` with a fixed
    random projection ``P`` (random rather than ones, so errors in different entries
    cannot cancel out); ``layer.backward(P)`` must return its derivative with respect
    to ``x`` and write the derivative with respect to each trainable weight into that
    weight's ``grad``. The layer is built for ``x`` if it is not built yet.

    For a **compiled model** with targets ``y``, the scalar is the loss of one training
    step on ``(x, y, sample_weight)``, regularization penalties included, and the
    gradients are those the model's own backward pass computes (including the fused
    softmax/sigmoid and cross-entropy path). No optimizer step is taken; the
    optimizer and the metrics are untouched.

    The check runs on float64 copies of the weights (whatever their dtype), with
    ``backend.floatx()`` set to ``"float64"``; the object's own weights are never
    modified and the previous ``floatx`` is restored. Every forward pass draws the
    same random numbers, so ``Dropout`` drops the same entries each time;
    ``BatchNormalization`` runs in training mode, on batch statistics (its moving
    statistics change only on the copies). Weight constraints are not applied.
    Regularization penalties belong to the loss: a layer's check leaves them out,
    a model's check includes them.

    An entry passes when ``|a - n| <= atol + rtol * max(|a|, |n|)`` for the analytic
    gradient ``a`` and the central difference ``n``. Central differences are exact
    only for smooth functions: keep inputs and weights away from kinks (``relu`` at 0,
    ``abs``, ``max``, clipping), or a correct layer may fail.

    Args:
        model_or_layer: A :class:`~minikeras.layers.Layer` or a compiled
            :class:`~minikeras.models.Sequential` model.
        x: A batch of inputs (batch dimension first).
        y: Targets, for a model only (as ``fit`` takes them).
        sample_weight: Per-sample loss weights, for a model only.
        eps: The central-difference step (for float64 values of order 1, ``1e-6``
            balances truncation and rounding errors).
        rtol: Relative tolerance.
        atol: Absolute tolerance, for gradients close to zero.
        max_entries: Largest number of entries compared per array; a larger array is
            checked on a random sample of that many entries. ``None`` checks them all.
        seed: Seed of the projection ``P`` and of the samples of entries; together with
            the global seed (:func:`minikeras.utils.set_random_seed`) it also fixes the
            random numbers every forward pass draws (e.g. ``Dropout``'s mask).
        raise_on_failure: Raise ``AssertionError`` (whose message names the worst
            array and entry) when some entry is off; otherwise return the result.

    Returns:
        A :class:`GradientCheck`: per-array errors, ``passed`` and a printable table.

    Raises:
        AssertionError: If ``raise_on_failure`` and some entry is off, or if
            ``backward`` returns no input gradient or one of the wrong shape.
        TypeError: If ``model_or_layer`` is neither a layer nor a model.
        ValueError: If an argument is invalid (e.g. ``y`` for a layer, none for a model).
        RuntimeError: If the model is not compiled.

    Examples:
        >>> from minikeras.testing import check_gradients
        >>> layer = Dense(3, activation="tanh")
        >>> result = check_gradients(layer, np.random.default_rng(0).normal(size=(4, 2)))
        >>> result.passed, [a.name for a in result.arrays]
        (True, ['input', 'dense/kernel', 'dense/bias'])
    """
    eps = _check_positive_float("eps", eps)
    rtol, atol = _check_tolerance("rtol", rtol), _check_tolerance("atol", atol)
    if max_entries is not None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, (int, np.integer)) or max_entries < 1:
            raise ValueError(
                "check_gradients() expects `max_entries` to be a positive integer or None (check every entry). "
                f"Received: max_entries={max_entries!r}."
            )
        max_entries = int(max_entries)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"check_gradients() expects `seed` to be a non-negative integer. Received: seed={seed!r}.")
    rng = np.random.default_rng(int(seed))
    compare = _Comparer(eps, rtol, atol, max_entries, rng, int(seed))
    with _float64_floatx():
        if isinstance(model_or_layer, Trainer):
            arrays = _check_model(model_or_layer, x, y, sample_weight, compare)
        elif isinstance(model_or_layer, Layer):
            arrays = _check_layer(model_or_layer, x, y, sample_weight, compare)
        else:
            raise TypeError(
                "check_gradients() expects a minikeras Layer or a compiled Sequential model. "
                f"Received: {model_or_layer!r} of type {type(model_or_layer).__name__}."
            )
    result = GradientCheck(tuple(arrays), eps, rtol, atol)
    if raise_on_failure and not result.passed:
        raise AssertionError(result.failure_message())
    return result


# -- layers -------------------------------------------------------------------------------

def _check_layer(layer: Layer, x: Any, y: Any, sample_weight: Any, compare: _Comparer) -> list[ArrayCheck]:
    owner = f"check_gradients() of layer '{layer.name}' ({type(layer).__name__})"
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(
                f"{owner} received `{name}`, which only a model takes: a layer is checked through "
                f"sum(output * random projection). Remove `{name}`, or check a compiled model instead."
            )
    x = _float_batch(x, owner)
    if not layer.built:
        layer.build((None,) + tuple(x.shape[1:]))
    need_input_grad = layer.need_input_grad
    with _float64_copies([layer]):
        weights = layer.trainable_weights
        layer.need_input_grad = True

        def forward() -> np.ndarray:
            with _random.training_scope(compare.seed):
                return np.array(layer(x, training=True), dtype=np.float64)

        try:
            out = forward()
            projection = compare.rng.normal(size=out.shape)
            try:
                dx = layer.backward(projection.copy())
            except NotImplementedError:
                raise NotImplementedError(
                    f"{owner}: the layer has no backward pass. Implement backward(grad): it receives "
                    "dL/d(output), writes dL/d(weight) into each weight's `grad` and returns dL/d(input)."
                ) from None
            if dx is None:
                raise AssertionError(
                    f"{owner}: backward() returned None although need_input_grad is True. Return dL/d(input), "
                    "an array of the input's shape (None only when need_input_grad is False)."
                )
            dx = np.asarray(dx, dtype=np.float64)
            if dx.shape != x.shape:
                raise AssertionError(
                    f"{owner}: backward() returned an input gradient of shape {shape_str(dx.shape)} for inputs "
                    f"of shape {shape_str(x.shape)}. Return an array of the input's shape."
                )
            grads = [np.array(v.grad, dtype=np.float64) for v in weights]

            def directional(arr: np.ndarray, idx: tuple[int, ...], eps: float) -> float:
                plus, minus = _shifted(arr, idx, eps, forward)
                # Summing P * (difference) rather than differencing two sums keeps rounding errors small.
                return float(np.sum(projection * (plus - minus))) / (2.0 * eps)

            arrays = [compare("input", dx, x, directional)]
            arrays += [compare(v.path, g, v.value, directional) for v, g in zip(weights, grads)]
        finally:
            layer.need_input_grad = need_input_grad
            layer.clear_cache()
    return arrays


# -- models -------------------------------------------------------------------------------

def _check_model(model: Any, x: Any, y: Any, sample_weight: Any, compare: _Comparer) -> list[ArrayCheck]:
    model._assert_compiled("check_gradients")
    if y is None:
        raise ValueError(
            f"check_gradients() of model '{model.name}' needs targets `y`: a model is checked through its loss. "
            "Pass y as fit() takes it, or check a single layer without y."
        )
    _float_batch(x, f"check_gradients() of model '{model.name}'")
    stack = model._stack()
    dtype = model.dtype
    need_input_grad = [layer.need_input_grad for layer in stack]
    # A check from inside fit() (a callback) must leave fit's prepared step as it was.
    prepared = hasattr(model, "_train_vars")
    try:
        model.dtype = "float64"
        data = model._data(x, y, sample_weight, "check_gradients")
        xb, yb, wb = next(data.batches(len(data)))
        stack = model._stack()
        with _float64_copies(stack):
            model._prepare_training()
            weights = list(model._train_vars)
            if not weights:
                raise ValueError(
                    f"check_gradients() found no trainable weights in model '{model.name}'; nothing to check. "
                    "Unfreeze some layers (layer.trainable = True)."
                )

            def loss() -> float:
                # The forward and backward pass of a training step, without the update.
                with _random.training_scope(compare.seed):
                    return float(model._compute_gradients(xb, yb, wb)[0])

            loss()
            grads = [np.array(v.grad, dtype=np.float64) for v in weights]

            def directional(arr: np.ndarray, idx: tuple[int, ...], eps: float) -> float:
                plus, minus = _shifted(arr, idx, eps, loss)
                return (plus - minus) / (2.0 * eps)

            return [compare(v.path, g, v.value, directional) for v, g in zip(weights, grads)]
    finally:
        model.dtype = dtype
        if prepared:
            model._prepare_training()
        for layer, flag in zip(stack, need_input_grad):
            layer.need_input_grad = flag
            layer.clear_cache()


# -- comparison ---------------------------------------------------------------------------

Directional = Callable[[np.ndarray, tuple[int, ...], float], float]


class _Comparer:
    """Compares one analytic gradient with central differences on (a sample of) its entries."""

    def __init__(self, eps: float, rtol: float, atol: float, max_entries: int | None,
                 rng: np.random.Generator, seed: int) -> None:
        self.eps, self.rtol, self.atol, self.max_entries, self.rng = eps, rtol, atol, max_entries, rng
        # Every forward pass runs in the random scope of this step, so all of them draw the same numbers.
        self.seed = seed

    def __call__(self, name: str, analytic: np.ndarray, arr: np.ndarray, directional: Directional) -> ArrayCheck:
        if analytic.shape != arr.shape:
            raise AssertionError(
                f"The gradient of {name!r} has shape {shape_str(analytic.shape)}, but the array has shape "
                f"{shape_str(arr.shape)}. Write a gradient of the array's shape."
            )
        flat = np.arange(arr.size)
        if self.max_entries is not None and arr.size > self.max_entries:
            flat = np.sort(self.rng.choice(arr.size, size=self.max_entries, replace=False))
        indices = [tuple(int(i) for i in np.unravel_index(f, arr.shape)) for f in flat]
        a = np.array([analytic[idx] for idx in indices], dtype=np.float64)
        n = np.array([directional(arr, idx, self.eps) for idx in indices], dtype=np.float64)
        if not indices:
            return ArrayCheck(name, tuple(arr.shape), 0, 0, 0.0, 0.0, 0.0, (), 0.0, 0.0)
        diff = np.abs(a - n)
        scale = np.maximum(np.abs(a), np.abs(n))
        ratio = diff / (self.atol + self.rtol * scale) if self.atol or self.rtol else np.where(diff > 0, np.inf, 0.0)
        # NaN anywhere is a failure, and the worst entry.
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        worst = int(np.argmax(ratio))
        rel = diff / np.maximum(scale, max(self.atol, np.finfo(np.float64).tiny))
        return ArrayCheck(
            name=name, shape=tuple(arr.shape), checked=len(indices), failures=int(np.sum(~(ratio <= 1.0))),
            max_abs_error=float(np.max(diff)), max_rel_error=float(np.max(rel)), error_ratio=float(ratio[worst]),
            worst_index=indices[worst], worst_analytic=float(a[worst]), worst_numeric=float(n[worst]),
        )


# -- state kept during a check ------------------------------------------------------------

@contextlib.contextmanager
def _float64_floatx() -> Iterator[None]:
    previous = _config.floatx()
    _config.set_floatx("float64")
    try:
        yield
    finally:
        _config.set_floatx(previous)


@contextlib.contextmanager
def _float64_copies(layers: list[Layer]) -> Iterator[None]:
    """Gives every weight of ``layers`` a float64 copy of its value (and a float64 ``grad``),
    and puts the original arrays back afterwards, untouched."""
    saved = [(layer, layer.dtype, [(v, v.value, v.grad) for v in layer.weights]) for layer in layers]
    try:
        for layer, _, variables in saved:
            layer.dtype = "float64"
            for var, value, _grad in variables:
                var.value = np.array(value, dtype=np.float64)
                var.grad = np.zeros(value.shape, dtype=np.float64)
        yield
    finally:
        for layer, dtype, variables in saved:
            layer.dtype = dtype
            for var, value, grad in variables:
                var.value, var.grad = value, grad


def _float_batch(x: Any, owner: str) -> np.ndarray:
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{owner} expects `x` to be an array of numbers (batch dimension first). "
            f"Received: {type(x).__name__}."
        ) from None
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(
            f"{owner} expects `x` to be a non-empty batch, shape (batch, ...). Received shape {shape_str(arr.shape)}."
        )
    return arr


def _check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not float(value) > 0:
        raise ValueError(f"check_gradients() expects `{name}` to be a positive number. Received: {name}={value!r}.")
    return float(value)


def _check_tolerance(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not float(value) >= 0:
        raise ValueError(
            f"check_gradients() expects `{name}` to be a non-negative number. Received: {name}={value!r}."
        )
    return float(value)


__all__ = ["ArrayCheck", "GradientCheck", "check_gradients"]


def _shifted(arr: np.ndarray, idx: tuple[int, ...], eps: float, evaluate: Callable[[], Any]) -> tuple[Any, Any]:
    """``evaluate()`` with ``arr[idx]`` moved up by ``eps`` and then down by ``eps``; restores it."""
    old = arr[idx]
    arr[idx] = old + eps
    plus = evaluate()
    arr[idx] = old - eps
    minus = evaluate()
    arr[idx] = old
    return plus, minus
