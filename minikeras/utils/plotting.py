"""Learning curves from a training ``History``, drawn with matplotlib (an optional extra).

``pip install minikeras[plot]`` installs matplotlib. It is imported only when a plot
is drawn, so ``import minikeras`` never needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "Plotting needs matplotlib, which is an optional extra of minikeras. Install it with "
            "`pip install minikeras[plot]` (or `pip install matplotlib`)."
        ) from None
    return plt


def _history_dict(history: Any) -> tuple[dict[str, list[float]], list[int]]:
    """``(values by key, 0-based epochs)`` from a ``History``, a fitted model or a dict."""
    if hasattr(history, "history") and not isinstance(history, dict):
        values = history.history
        if hasattr(values, "history"):  # a model: model.history is its History
            values = values.history
        epochs = list(getattr(history, "epoch", []) or [])
    else:
        values, epochs = history, []
    if not isinstance(values, dict) or not values:
        raise ValueError(
            "plot_history() expects the History that fit() returns (or its .history dict) with at "
            f"least one recorded value. Received: {type(history).__name__} with no values."
        )
    length = max(len(v) for v in values.values())
    if len(epochs) != length:
        epochs = list(range(length))
    return values, epochs


def _epochs_of(series: list[float], numbers: list[int]) -> list[int]:
    """The 1-based epochs of ``series``: every epoch, or every k-th with ``validation_freq=k``."""
    if len(series) == len(numbers):
        return numbers
    every = len(numbers) // len(series)
    if every * len(series) == len(numbers):
        return numbers[every - 1::every]
    return numbers[len(numbers) - len(series):]  # validated on listed epochs: the latest ones


def plot_history(history: Any, keys: Sequence[str] | None = None, title: str | None = None) -> Any:
    """Plots learning curves: one panel per quantity, training solid, validation dashed.

    Args:
        history: The ``History`` returned by ``fit`` (or ``model``, or ``history.history``).
        keys: Quantities to plot, e.g. ``["loss", "accuracy"]`` (without ``val_``).
            Defaults to every logged quantity that is not a validation value.
        title: Title over the figure.

    Returns:
        The matplotlib ``Figure`` (call ``.savefig(path)`` to keep it).

    Raises:
        ImportError: If matplotlib is not installed, saying how to install it.
        ValueError: If a requested key was not logged.

    Examples:
        >>> history = {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6]}
        >>> figure = plot_history(history)            # doctest: +SKIP
        >>> figure.savefig("curves.png")              # doctest: +SKIP
    """
    values, epochs = _history_dict(history)
    if keys is None:
        keys = [k for k in values if not k.startswith("val_")] or [k[4:] for k in values]
    else:
        keys = [keys] if isinstance(keys, str) else list(keys)
        missing = [k for k in keys if k not in values and f"val_{k}" not in values]
        if missing:
            raise ValueError(
                f"plot_history() cannot plot {missing}: they were not logged. Logged keys: {sorted(values)}."
            )
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.5), squeeze=False)
    numbers = [e + 1 for e in epochs]
    for ax, key in zip(axes[0], keys):
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            series = values.get(name)
            if series:
                ax.plot(_epochs_of(series, numbers), series, style, marker="o", markersize=3,
                        label="validation" if name.startswith("val_") else "training")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_gradient_norms(history: Any, weight: str = "kernel", title: str | None = None) -> Any:
    """Plots each layer's gradient norm over the epochs, on a log scale.

    The values are those a :class:`~minikeras.callbacks.GradientMonitor` logged
    (``grad_norm/<layer>/<weight>``). In a deep sigmoid network the first layers'
    curves lie orders of magnitude below the last ones': the vanishing gradient.

    Args:
        history: The ``History`` returned by ``fit`` (or the monitor, or a dict of logs).
        weight: Which weight of each layer: ``"kernel"`` (default) or ``"bias"``.
        title: Title over the figure.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ImportError: If matplotlib is not installed, saying how to install it.
        ValueError: If no gradient norms were logged.

    Examples:
        >>> logs = {"grad_norm/dense/kernel": [1e-4, 2e-4], "grad_norm/dense_1/kernel": [0.1, 0.08]}
        >>> figure = plot_gradient_norms(logs)        # doctest: +SKIP
    """
    values, epochs = _history_dict(history)
    suffix = f"/{weight}"
    series = {key[len("grad_norm/"):-len(suffix)]: v for key, v in values.items()
              if key.startswith("grad_norm/") and key.endswith(suffix)}
    if not series:
        raise ValueError(
            f"plot_gradient_norms() found no gradient norms of `{weight}` weights. Train with "
            "callbacks=[minikeras.callbacks.GradientMonitor()] and pass the History it filled. "
            f"Logged keys: {sorted(values)}."
        )
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(6, 4))
    numbers = [e + 1 for e in epochs]
    for layer, norms in series.items():
        ax.plot(numbers[len(numbers) - len(norms):], norms, marker="o", markersize=3, label=layer)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"gradient norm ({weight})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="layer (input to output)")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
