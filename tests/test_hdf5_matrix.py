"""Keras 1/2 ``HDF5Matrix``: deprecated, and read batch by batch like an h5py dataset."""

import h5py
import numpy as np
import pytest

from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.utils import HDF5Matrix, set_random_seed

RNG = np.random.default_rng(11)
X = RNG.integers(0, 256, size=(90, 6)).astype("uint8")
Y = RNG.integers(0, 3, size=(90,)).astype("int64")


@pytest.fixture()
def path(tmp_path):
    file = tmp_path / "data.h5"
    with h5py.File(file, "w") as f:
        f["x"], f["y"] = X, Y
        f.create_group("group")
    return str(file)


def matrix(*args, **kwargs):
    with pytest.deprecated_call(match=r"HDF5Matrix was removed in Keras 2.4\. Pass the h5py dataset itself"):
        return HDF5Matrix(*args, **kwargs)


def model():
    set_random_seed(2)
    m = Sequential([Input((6,)), Dense(5, activation="relu"), Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.mark.parametrize("shuffle", [False, True, "batch"])
def test_training_on_hdf5_matrices_equals_training_on_the_arrays(path, shuffle):
    x = matrix(path, "x", start=10, end=80, normalizer=lambda b: b.astype("float32") / 255)
    y = matrix(path, "y", start=10, end=80)
    a, b = model(), model()
    ha = a.fit(x, y, batch_size=16, epochs=2, shuffle=shuffle, validation_split=0.2, verbose=0)
    hb = b.fit(X[10:80].astype("float32") / 255, Y[10:80], batch_size=16, epochs=2, shuffle=shuffle,
               validation_split=0.2, verbose=0)
    assert ha.history == hb.history
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(X[10:80].astype("float32") / 255, verbose=0))
    x.close()
    y.close()


def test_indexing_follows_start_and_normalizer(path):
    x = matrix(path, "x", start=5, end=9, normalizer=lambda b: b * 2.0)
    assert x.shape == (4, 6) and len(x) == 4 and x.dtype == np.float64 and x.ndim == 2 and x.size == 24
    np.testing.assert_array_equal(x[0], X[5] * 2.0)
    np.testing.assert_array_equal(x[-1], X[8] * 2.0)
    np.testing.assert_array_equal(x[1:3], X[6:8] * 2.0)
    np.testing.assert_array_equal(x[np.array([0, 3])], X[[5, 8]] * 2.0)
    with pytest.raises(IndexError, match="index 4 is out of range for 4 rows"):
        x[4]
    x.close()


def test_bad_names_and_ranges_are_reported(path):
    with pytest.raises(KeyError, match=r"has no dataset 'z'; its datasets are \['x', 'y'\]"):
        matrix(path, "z")
    with pytest.raises(KeyError, match="has no dataset 'group'"):
        matrix(path, "group")
    with pytest.raises(ValueError, match=r"0 <= start < end <= 90 .*start=50, end=20"):
        matrix(path, "x", start=50, end=20)
