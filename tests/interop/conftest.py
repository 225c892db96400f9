"""Set-up for the interoperability tests: real Keras 3 with the torch backend.

These tests are collected only when named on the command line (``make interop``
runs ``pytest tests/interop`` in its own environment, ``.venv-interop``).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

try:
    import keras
except ImportError as err:  # pragma: no cover - depends on the environment
    raise pytest.UsageError(
        f"tests/interop needs Keras 3 with the torch backend, which cannot be imported here ({err}). "
        "Run `make interop`, which installs them in .venv-interop and runs these tests."
    ) from None

if keras.backend.backend() != "torch":  # pragma: no cover - depends on the environment
    raise pytest.UsageError(
        f"tests/interop compares against Keras's torch backend, but KERAS_BACKEND selects "
        f"{keras.backend.backend()!r}. Run with KERAS_BACKEND=torch (as `make interop` does)."
    )

