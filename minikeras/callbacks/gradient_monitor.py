"""``GradientMonitor``: per-layer gradient norms, dead ReLU units and saturated units, epoch by epoch.

Gradients exist only inside a training step: the optimizer update overwrites each
weight's ``grad`` buffer (SGD scales it by the learning rate, Adam turns it into the
step). ``fit`` therefore calls the ``on_gradients(x, variables)`` method of every
callback that has one at the point where they are complete, just before the update.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras._validation import check_positive_int, shape_str
from minikeras.callbacks.callback import Callback, register

#: A sigmoid unit is saturated on a sample when its output is below this value ...
SIGMOID_LOW = 0.01
#: ... or above this one; there its derivative ``a (1 - a)`` is under 0.0099 (4% of its peak 0.25).
SIGMOID_HIGH = 0.99
#: A tanh unit is saturated when ``|a|`` exceeds this; its derivative ``1 - a^2`` is then under 0.02.
TANH_LIMIT = 0.99


def activation_kind(layer: Any) -> str | None:
    """Which statistic a layer's output gets: ``"relu"``, ``"sigmoid"``, ``"tanh"`` or ``None``.

    A layer counts when its ``activation`` (``Dense``, ``Activation``) is named ``relu``,
    ``sigmoid`` or ``tanh``, or when it is a ``ReLU`` layer. A ReLU with a non-zero
    ``negative_slope`` is leaky, has no dead units, and is not counted.

    Examples:
        >>> activation_kind(Dense(4, activation="relu")), activation_kind(Dense(4))
        ('relu', None)
    """
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "name", None) if activation is not None else None
    if name is None and type(layer).__name__ == "ReLU":
        name, activation = "relu", layer
    if name == "relu":
        return "relu" if not getattr(activation, "negative_slope", 0.0) else None
    return name if name in ("sigmoid", "tanh") else None


def dead_fraction(outputs: np.ndarray) -> float:
    """Fraction of units whose output is zero for every sample (rows are samples).

    Examples:
        >>> dead_fraction(np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]]))
        0.5
    """
    flat = np.asarray(outputs).reshape(len(outputs), -1)
    return float(np.mean(np.all(flat == 0, axis=0)))


def saturated_fraction(outputs: np.ndarray, kind: str) -> float:
    """Fraction of (sample, unit) outputs in the flat tails of ``"sigmoid"`` or ``"tanh"``.

    That is the fraction of saturated units, averaged over the samples.

    Examples:
        >>> saturated_fraction(np.array([[0.001, 0.5], [0.999, 0.995]]), "sigmoid")
        0.75
        >>> saturated_fraction(np.array([[-0.995, 0.2]]), "tanh")
        0.5
    """
    a = np.asarray(outputs)
    if kind == "sigmoid":
        tails = (a < SIGMOID_LOW) | (a > SIGMOID_HIGH)
    elif kind == "tanh":
        tails = np.abs(a) > TANH_LIMIT
    else:
        raise ValueError(f"saturated_fraction() expects kind 'sigmoid' or 'tanh'. Received: kind={kind!r}.")
    return float(np.mean(tails))


def _l2_norm(values: np.ndarray) -> float:
    """L2 norm of an array; recomputed in float64 if the float32 sum of squares overflows."""
    flat = values.reshape(-1)
    norm = math.sqrt(float(np.dot(flat, flat)))
    if math.isinf(norm) and flat.dtype != np.float64:
        flat = flat.astype(np.float64)
        norm = math.sqrt(float(np.dot(flat, flat)))
    return norm


@register()
class GradientMonitor(Callback):
    """Records, per layer and per epoch, how well gradients flow and how units behave.

    Three kinds of numbers are written into the epoch logs (so ``History``, and a
    ``CSVLogger`` or ``EarlyStopping`` placed *after* the monitor in ``callbacks``, see
    them) and into :attr:`history`:

    - ``grad_norm/<layer>/<weight>`` (e.g. ``grad_norm/dense_1/kernel``): the L2 norm of
      the gradient of the training loss (regularization penalties included) with
      respect to each trainable weight, averaged over the epoch's batches. It is read
      before the optimizer clips it (``clipnorm`` and friends), so it shows the raw
      gradient.
    - ``dead_relu/<layer>``: for ReLU layers (``Dense(activation="relu")``,
      ``Activation("relu")``, ``ReLU()``), the fraction of units whose output is zero
      for every sample of the probe batch. Such a unit passes no gradient and stops
      learning.
    - ``saturated/<layer>``: for sigmoid and tanh layers, the fraction of outputs in
      the flat tails, averaged over the probe samples: sigmoid below
      ``SIGMOID_LOW = 0.01`` or above ``SIGMOID_HIGH = 0.99``, tanh with ``|a| >
      TANH_LIMIT = 0.99``. There the derivative is under 4% (sigmoid) or 2% (tanh) of
      its peak.

    The activation statistics come from an inference forward pass
    (``training=False``) over ``probe`` at the end of every epoch, or, without a
    probe, over the epoch's last training batch.

    Args:
        probe: Inputs for the activation statistics, shaped like the model's inputs
            (e.g. a slice of the training data). ``None`` uses the last training batch
            of each epoch.
        max_probe: Use at most this many rows of ``probe`` (the first ones). Defaults
            to ``256``.
        verbose: ``1`` prints a short table per epoch; ``0`` (default) is silent.

    Attributes:
        history: Log key -> list of per-epoch values, across ``fit`` calls.
        epoch: The epochs recorded by the last ``fit``.

    Examples:
        >>> model = Sequential([Input((3,)), Dense(4, activation="relu", name="hidden"),
        ...                     Dense(1, activation="sigmoid", name="out")])
        >>> model.compile(optimizer="sgd", loss="binary_crossentropy")
        >>> x, y = np.ones((8, 3)), np.ones((8, 1))
        >>> monitor = GradientMonitor(probe=x)
        >>> history = model.fit(x, y, epochs=2, verbose=0, callbacks=[monitor])
        >>> sorted(monitor.history)
        ['dead_relu/hidden', 'grad_norm/hidden/bias', 'grad_norm/hidden/kernel', 'grad_norm/out/bias', 'grad_norm/out/kernel', 'saturated/out']
        >>> len(history.history["grad_norm/out/kernel"])
        2
    """

    def __init__(self, probe: Any = None, max_probe: int = 256, verbose: int = 0) -> None:
        super().__init__()
        self.max_probe = check_positive_int("GradientMonitor", "max_probe", max_probe)
        if isinstance(verbose, bool) or verbose not in (0, 1):
            raise ValueError(f"GradientMonitor expects `verbose` to be 0 or 1. Received: verbose={verbose!r}.")
        self.verbose = int(verbose)
        self.probe = None if probe is None else _check_probe(probe)[: self.max_probe].copy()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self._last_batch: np.ndarray | None = None
        self._keys: dict[int, str] = {}
        self._sums: dict[str, float] = {}
        self._batches = 0

    # -- hooks --------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        model = self.model
        if getattr(model, "optimizer", None) is None:
            raise RuntimeError(
                "GradientMonitor needs a compiled model: it reads the gradients as model.optimizer "
                "applies them. Call model.compile(...) and pass the monitor to fit(callbacks=[...])."
            )
        if self.probe is not None:
            self._check_probe_fits(model)
        self._keys = {id(var): f"grad_norm/{layer.name}/{var.name}"
                      for layer in model.layers for var in layer.trainable_weights}
        self.epoch = []
        self._reset()

    def on_gradients(self, x: np.ndarray, variables: list[Any]) -> None:
        """Called by ``fit`` in every training step with the batch and the fresh gradients."""
        keys, sums = self._keys, self._sums
        for var in variables:
            key = keys.get(id(var))
            if key is not None:
                sums[key] = sums.get(key, 0.0) + _l2_norm(var.grad)
        self._batches += 1
        self._last_batch = x  # read at epoch end, before the next epoch overwrites it

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        values = {key: (self._sums[key] / self._batches if self._batches else math.nan)
                  for key in self._sums}
        probe = self.probe if self.probe is not None else self._last_batch
        if probe is not None:
            values.update(self._activation_stats(probe[: self.max_probe]))
        if logs is not None:
            logs.update(values)
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        if self.verbose:
            self._print(epoch, values)

    def on_train_end(self, logs=None):
        self._last_batch = None

    # -- internals ----------------------------------------------------------------------
    def _reset(self) -> None:
        self._sums = dict.fromkeys(self._keys.values(), 0.0)
        self._batches = 0

    def _check_probe_fits(self, model: Any) -> None:
        expected = getattr(model, "input_shape", None)
        if expected is not None and (len(expected) != self.probe.ndim or any(
                e is not None and e != s for e, s in zip(expected[1:], self.probe.shape[1:]))):
            raise ValueError(
                f"GradientMonitor received a probe of shape {shape_str(self.probe.shape)}, but the model "
                f"expects inputs of shape {shape_str(expected)}. Pass rows of the training inputs as `probe`."
            )
        dtype = getattr(model, "dtype", None)
        if dtype is not None and self.probe.dtype != np.dtype(dtype):
            self.probe = self.probe.astype(dtype)

    def _activation_stats(self, x: np.ndarray) -> dict[str, float]:
        stats: dict[str, float] = {}
        for layer in self.model.layers:
            x = layer(x, training=False)
            kind = activation_kind(layer)
            if kind == "relu":
                stats[f"dead_relu/{layer.name}"] = dead_fraction(x)
            elif kind is not None:
                stats[f"saturated/{layer.name}"] = saturated_fraction(x, kind)
        return stats

    def _print(self, epoch: int, values: dict[str, float]) -> None:
        rows: dict[str, list[str]] = {}
        for key, value in values.items():
            kind, _, rest = key.partition("/")
            if kind == "grad_norm":
                layer, _, weight = rest.rpartition("/")
                rows.setdefault(layer, []).append(f"{weight} {value:.2e}")
            else:
                label = "dead relu" if kind == "dead_relu" else "saturated"
                rows.setdefault(rest, []).append(f"{label} {value:.1%}")
        width = max((len(name) for name in rows), default=0)
        print(f"Gradient monitor, epoch {epoch + 1}:")
        for name, cells in rows.items():
            print(f"  {name.ljust(width)}  " + "  ".join(cells))

    # -- configuration ------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments (``probe`` as nested lists, JSON-ready)."""
        probe = None if self.probe is None else self.probe.tolist()
        return {"probe": probe, "max_probe": self.max_probe, "verbose": self.verbose}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GradientMonitor:
        """Builds the monitor from :meth:`get_config` output."""
        return cls(**config)


def _check_probe(probe: Any) -> np.ndarray:
    """Returns ``probe`` as a float array of shape ``(rows, features...)`` or raises."""
    try:
        array = np.asarray(probe)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(
            f"GradientMonitor expects `probe` to be an array of numbers shaped like the model's inputs, "
            f"e.g. probe=x_train[:256]. Received an object of type {type(probe).__name__}."
        )
    if array.ndim < 2 or len(array) == 0:
        raise ValueError(
            "GradientMonitor expects `probe` of shape (samples, features...) with at least one sample. "
            f"Received shape {shape_str(array.shape)}; for one sample use x.reshape(1, -1)."
        )
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError("GradientMonitor received a `probe` containing NaN or infinite values; pass finite inputs.")
    return array
