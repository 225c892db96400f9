"""Dying ReLU: a far too large learning rate leaves most ReLU units dead for good.

A ReLU unit whose pre-activation ``w . x + b`` is negative for every training input
outputs 0 everywhere and, since ``relu'(z) = 0`` for ``z < 0``, gets a zero gradient:
no later update can bring it back. The notes on activation functions name the usual
cause: one oversized update (a too large learning rate, or an outlying input) throws
``w`` and ``b`` so far that the unit never fires again.

A network with 3 hidden ReLU layers of 32 units and a softmax output learns a small
synthetic 3-class task (1000 points with 10 features in ``[0, 1]``, like pixel
intensities, the class given by the largest of three random linear functions). It is
trained twice from the same seeded start with plain SGD, batches of 32, 20 epochs: at
learning rate 0.1 and at 2.0. ``GradientMonitor(probe=x)`` then reports, per hidden
layer, the fraction of units that output 0 on all 1000 training rows.

What to expect (seeded, so every run prints the same): at rate 0.1, 0%, 0% and 9% of
the units of the three layers are dead (3% of all hidden units); the training loss
falls to 0.093 and the accuracy is 0.965. At rate 2.0, 25%, 66% and 100% are dead
(64% of all of them). With the last hidden layer silent the network's output is the
same for every input: it predicts the most frequent class everywhere (accuracy
0.400, that class's share) with a loss of 1.23, worse than the 1.10 (``ln 3``) of a
uniform guess.

Run it with ``python examples/dying_relu.py``; it takes about a second.
"""

import numpy as np

from minikeras.callbacks import GradientMonitor
from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import SGD
from minikeras.utils import set_random_seed

HIDDEN_LAYERS = 3
UNITS = 32
CLASSES = 3
RATES = (0.1, 2.0)


def make_data(seed, samples=1000, features=10):
    """Features uniform in [0, 1], labelled by the largest of ``CLASSES`` random linear functions."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(samples, features)).astype("float32")
    y = np.argmax((x - 0.5) @ rng.normal(size=(features, CLASSES)), axis=1)
    return x, y


def train(learning_rate, x, y, seed, epochs):
    """Trains the ReLU network with SGD; returns (dead fraction per hidden layer, loss, accuracy)."""
    set_random_seed(seed)
    model = Sequential(
        [Input((x.shape[1],))]
        + [Dense(UNITS, activation="relu", name=f"hidden_{i + 1}") for i in range(HIDDEN_LAYERS)]
        + [Dense(CLASSES, activation="softmax", name="output")]
    )
    model.compile(optimizer=SGD(learning_rate=learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    monitor = GradientMonitor(probe=x, max_probe=len(x))
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[monitor])
    dead = np.array([monitor.history[f"dead_relu/hidden_{i + 1}"][-1] for i in range(HIDDEN_LAYERS)])
    loss, accuracy = model.evaluate(x, y, verbose=0)
    return dead, loss, accuracy


def main(seed=0, epochs=20):
    """Prints the dead fraction per hidden layer at both rates; returns {rate: (dead, loss, accuracy)}."""
    x, y = make_data(seed)
    results = {rate: train(rate, x, y, seed, epochs) for rate in RATES}

    print(f"dead ReLU units after {epochs} epochs of SGD (output 0 on all {len(x)} training rows)")
    print(f"{'layer':<9}" + "".join(f"  {f'rate {rate}':>9}" for rate in RATES))
    for i in range(HIDDEN_LAYERS):
        print(f"{f'hidden_{i + 1}':<9}" + "".join(f"  {results[rate][0][i]:>9.0%}" for rate in RATES))
    print(f"{'all':<9}" + "".join(f"  {results[rate][0].mean():>9.0%}" for rate in RATES))
    print(f"most frequent class: {np.bincount(y).max() / len(y):.3f} of the rows")
    for rate in RATES:
        dead, loss, accuracy = results[rate]
        print(f"learning rate {rate}: dead fraction {dead.mean():.3f}, loss {loss:.4f}, accuracy {accuracy:.3f}")
    return results


if __name__ == "__main__":
    main()
