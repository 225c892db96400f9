"""XOR, the function a single neuron cannot learn, solved by a network with one hidden layer.

The four inputs (0,0), (0,1), (1,0), (1,1) have targets 0, 1, 1, 0. No straight line
separates the ones from the zeros, so a lone sigmoid neuron cannot fit them; four
``tanh`` hidden units followed by one ``sigmoid`` output can. The model is trained
with Adam on the binary cross-entropy, all four samples in every batch.

What to expect (seeded, so every run prints the same): the outputs for (0,0) and
(1,1) are close to 0, those for (0,1) and (1,0) close to 1 (each within 0.1 of its
target), and the accuracy is 1.0.

Run it with ``python examples/xor.py``; it takes a second or two.
"""

import numpy as np

from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import Adam
from minikeras.utils import set_random_seed

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
Y = np.array([[0], [1], [1], [0]], dtype="float32")


def main(seed=0, epochs=300):
    """Trains the network on XOR and prints its four outputs; returns (outputs, accuracy)."""
    set_random_seed(seed)
    model = Sequential([Input((2,)), Dense(4, activation="tanh"), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(learning_rate=0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, Y, epochs=epochs, batch_size=4, verbose=0)

    outputs = model.predict(X, verbose=0)[:, 0]
    for (a, b), target, out in zip(X.astype(int), Y[:, 0].astype(int), outputs):
        print(f"{a} xor {b} = {target}   network: {out:.4f}")
    loss, accuracy = model.evaluate(X, Y, verbose=0)
    print(f"loss: {loss:.4f}  accuracy: {accuracy:.1f}")
    return outputs, accuracy


if __name__ == "__main__":
    main()
