"""The "30 seconds to Keras" example, run on minikeras.

The block between the markers is the slide's code, with only ``keras`` replaced
by ``minikeras`` in the imports. Around it: synthetic data the example needs
(100 features, 10 classes with learnable structure), and a save/load round trip.

Run it with ``python examples/keras_30_seconds.py``.
"""

import os
import sys
import tempfile

import numpy as np

import minikeras
from minikeras.utils import set_random_seed, to_categorical


def make_data(n_train=4000, n_test=1000, seed=0):
    """Ten Gaussian clusters in 100 dimensions, one per class, with one-hot labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 1.0, size=(10, 100))
    labels = rng.integers(0, 10, size=n_train + n_test)
    x = (centers[labels] + rng.normal(0.0, 2.0, size=(n_train + n_test, 100))).astype("float32")
    y = to_categorical(labels, 10)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def main(seed=1):
    """Trains, evaluates, saves and reloads the slide's model; returns (loss, accuracy)."""
    set_random_seed(seed)
    X_train, Y_train, X_test, Y_test = make_data()

    # --- the slide, verbatim -----------------------------------------------------------
    from minikeras.models import Sequential
    from minikeras.layers import Dense, Activation
    from minikeras.optimizers import SGD

    model = Sequential()
    model.add(Dense(output_dim=64, input_dim=100))
    model.add(Activation("relu"))
    model.add(Dense(output_dim=10))
    model.add(Activation("softmax"))

    model.compile(loss='categorical_crossentropy',
                  optimizer='sgd', metrics=['accuracy'])

    model.fit(X_train, Y_train, nb_epoch=5, batch_size=32)

    loss = model.evaluate(X_test, Y_test, batch_size=32)
    # --- end of the slide ---------------------------------------------------------------

    del SGD  # imported by the slide; 'sgd' by name picks the same optimizer
    test_loss, test_accuracy = loss
    print(f"test loss: {test_loss:.4f}  test accuracy: {test_accuracy:.4f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "slide.h5")
        model.save(path)
        restored = minikeras.models.load_model(path)
        same = np.array_equal(restored.predict(X_test, verbose=0), model.predict(X_test, verbose=0))
        print(f"saved to and loaded from {os.path.basename(path)}: predictions identical: {same}")
    return test_loss, test_accuracy


if __name__ == "__main__":
    main()
    sys.exit(0)
