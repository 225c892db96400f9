"""``python -m minikeras``: the ``minikeras`` command (see :mod:`minikeras.cli`)."""

from __future__ import annotations

import sys

from minikeras.cli import main

if __name__ == "__main__":
    sys.exit(main())
