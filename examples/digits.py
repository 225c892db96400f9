"""Handwritten digits: scikit-learn's 8x8 ``load_digits`` images classified by an MLP.

The data set ships with scikit-learn (no download): 1797 grayscale images of the
digits 0 to 9, 8x8 pixels with values 0 to 16. The pixels are scaled to [0, 1] and
flattened to 64 inputs; a seeded, stratified quarter of the images (450) is held out
for testing. The model is the slides' classifier: a ReLU hidden layer (64 units), a
softmax output over 10 classes, the categorical cross-entropy, trained with Adam in
mini-batches of 32.

What to expect (every run prints the same): training accuracy 0.9926 and test
accuracy 0.9756 (other seeds give 0.96 to 0.98); the printout ends with the 10x10
confusion matrix of the test set (rows: true digit, columns: predicted digit), where
most mistakes are 8s taken for 1s.

Needs scikit-learn: ``pip install -e ".[examples]"`` (or ``pip install scikit-learn``).
Run it with ``python examples/digits.py``; it takes a few seconds.
"""

import sys

import numpy as np

from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.utils import set_random_seed, to_categorical


def load_data(seed=0):
    """Scaled, flattened digits split 75/25 (stratified); returns (x_train, y_train, x_test, y_test)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit('This example needs scikit-learn: pip install -e ".[examples]" (or pip install scikit-learn).')
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    return train_test_split(x, digits.target, test_size=0.25, stratify=digits.target, random_state=seed)


def main(seed=0):
    """Trains the MLP and prints train and test accuracy; returns the test accuracy."""
    set_random_seed(seed)
    x_train, x_test, y_train, y_test = load_data(seed)

    model = Sequential([Input((64,)), Dense(64, activation="relu"), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, to_categorical(y_train, 10), epochs=40, batch_size=32, verbose=0)

    _, train_accuracy = model.evaluate(x_train, to_categorical(y_train, 10), verbose=0)
    test_loss, test_accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    print(f"{len(x_train)} training images, {len(x_test)} test images")
    print(f"train accuracy: {train_accuracy:.4f}")
    print(f"test loss: {test_loss:.4f}  test accuracy: {test_accuracy:.4f}")

    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    print("confusion matrix (rows: true digit 0-9, columns: predicted digit 0-9):")
    for digit, row in enumerate(confusion):
        print(f"  {digit}: " + " ".join(f"{n:3d}" for n in row))
    return test_accuracy


if __name__ == "__main__":
    main()
