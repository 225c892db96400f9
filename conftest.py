"""Shared fixtures for tests and doctests: fresh names and seed for every test."""

from pathlib import Path

import numpy as np
import pytest

import minikeras
from minikeras import backend

# The scripts that write reference files with real Keras are not tests and need Keras.
collect_ignore_glob = ["tests/fixtures/*"]

_INTEROP = Path(__file__).resolve().parent / "tests" / "interop"


def _within_interop(path):
    return path == _INTEROP or _INTEROP in path.parents


def pytest_ignore_collect(collection_path, config):
    """tests/interop needs real Keras: collected only when named on the command line (`make interop`)."""
    if not _within_interop(collection_path):
        return None
    named = (config.invocation_params.dir / arg.split("::")[0] for arg in config.args)
    return None if any(_within_interop(path.resolve()) for path in named) else True


@pytest.fixture(autouse=True)
def _fresh_state():
    backend.clear_session()
    minikeras.utils.set_random_seed(1234)
    previous = backend.floatx()
    yield
    backend.set_floatx(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def float64():
    """Runs the test with ``floatx()`` set to float64."""
    previous = backend.floatx()
    backend.set_floatx("float64")
    yield
    backend.set_floatx(previous)


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace, tmp_path):
    from minikeras.layers import Activation, Dense, Input
    from minikeras.models import Sequential

    doctest_namespace.update(np=np, mk=minikeras, Sequential=Sequential, Dense=Dense,
                             Activation=Activation, Input=Input, json=__import__("json"),
                             tmp_dir=tmp_path)
