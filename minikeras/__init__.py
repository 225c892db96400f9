"""minikeras: a NumPy implementation of the Keras Sequential API.

Example:
    >>> from minikeras.models import Sequential
    >>> from minikeras.layers import Dense, Activation
    >>> model = Sequential([Dense(4, input_dim=3), Activation("relu")])
    >>> model.output_shape
    (None, 4)
"""

from __future__ import annotations

__version__ = "0.1.0"

from minikeras import (  # noqa: E402
    activations,
    backend,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    saving,
    testing,
    utils,
)
from minikeras.layers import Input  # noqa: E402
from minikeras.models import Sequential, load_model  # noqa: E402

__all__ = [
    "Input", "Sequential", "__version__", "activations", "backend", "callbacks", "constraints", "initializers",
    "layers", "load_model", "losses", "metrics", "models", "optimizers", "regularizers", "saving", "testing", "utils",
]
