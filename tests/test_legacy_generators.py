"""Keras 1/2 ``fit_generator``, ``evaluate_generator`` and ``predict_generator``."""

import numpy as np
import pytest

from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.utils import Sequence, set_random_seed

RNG = np.random.default_rng(3)
X = RNG.normal(size=(100, 4)).astype("float32")
Y = (X[:, :1] > 0).astype("float32")


def batches(size=20, forever=True):
    while True:
        for start in range(0, len(X), size):
            yield X[start:start + size], Y[start:start + size]
        if not forever:
            return


def messages(record):
    return " | ".join(str(w.message) for w in record)


def model():
    set_random_seed(5)
    m = Sequential([Input((4,)), Dense(3, activation="tanh"), Dense(1, activation="sigmoid")])
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return m


def test_fit_generator_with_keras_1_names_trains_like_fit():
    a = model()
    with pytest.warns(DeprecationWarning) as record:
        history = a.fit_generator(batches(), samples_per_epoch=100, nb_epoch=3, verbose=0,
                                  validation_data=batches(), nb_val_samples=40)
    text = messages(record)
    assert "fit_generator() was removed in Keras 2.6" in text and "model.fit(generator" in text
    assert "`samples_per_epoch` counts samples in Keras 1" in text and "100 samples in batches of 20 make 5" in text
    assert "40 samples in batches of 20 make 2 batches" in text
    b = model()
    expected = b.fit(batches(), steps_per_epoch=5, epochs=3, verbose=0, validation_data=batches(),
                     validation_steps=2)
    assert history.params["steps"] == 5 and history.epoch == [0, 1, 2]
    assert history.history == expected.history
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


def test_samples_round_up_to_whole_batches():
    m = model()
    with pytest.warns(DeprecationWarning) as record:
        out = m.predict_generator(batches(), val_samples=50)
    assert "50 samples in batches of 20 make 3 batches" in messages(record)
    assert out.shape == (60, 1)
    np.testing.assert_array_equal(out, m.predict(X[:60], batch_size=20, verbose=0))


def test_evaluate_generator_matches_evaluate():
    m = model()
    with pytest.deprecated_call(match=r"Write model.evaluate\(generator, steps=\.\.\.\)"):
        result = m.evaluate_generator(batches(), steps=5)
    assert result == pytest.approx(m.evaluate(X, Y, batch_size=20, verbose=0), rel=1e-6)


def test_keras_2_names_and_a_sequence():
    class Rows(Sequence):
        batch_size = 25

        def __len__(self):
            return 4

        def __getitem__(self, index):
            rows = slice(25 * index, 25 * index + 25)
            return X[rows], Y[rows]

    m = model()
    with pytest.deprecated_call():
        history = m.fit_generator(Rows(), steps_per_epoch=4, epochs=2, workers=1, use_multiprocessing=False,
                                  max_queue_size=4, verbose=0)
    assert history.epoch == [0, 1]


def test_parallel_loading_options_are_refused_with_the_way_to_get_them():
    with pytest.raises(ValueError, match=r"nb_worker|workers=4.*Sequence\(workers=N\)"):
        model().fit_generator(batches(), steps_per_epoch=5, nb_worker=4, verbose=0)
    with pytest.raises(ValueError, match=r"use_multiprocessing=True"):
        model().fit_generator(batches(), steps_per_epoch=5, pickle_safe=True, verbose=0)


def test_unknown_and_doubled_arguments():
    with pytest.raises(TypeError, match=r"fit_generator\(\) received unknown keyword argument\(s\): `nb_epochs`"):
        model().fit_generator(batches(), steps_per_epoch=5, nb_epochs=2, verbose=0)
    with pytest.raises(TypeError, match="both the legacy argument `nb_epoch` and its replacement `epochs`"):
        model().fit_generator(batches(), steps_per_epoch=5, nb_epoch=2, **{"epochs": 2}, verbose=0)
