"""The vanishing gradient: a deep sigmoid network's first layers hardly learn; with ReLU they do.

Backpropagation multiplies the gradient, on its way from the output down to layer
``l``, by one factor ``sigma'(z) W`` per layer it passes (the chain rule
``dy/dx = f1'(x) f2'(f1) ... f5'(f4)`` of the notes on optimization problems). The
sigmoid's derivative ``sigma'(z) = sigma(z) (1 - sigma(z))`` is at most ``1/4`` (at
``z = 0``), so with weights that keep the signal's size (Glorot initialization) every
sigmoid layer shrinks the gradient about 4 times, and after five layers it is some
1000 times smaller. ReLU's derivative is 1 wherever the unit is active, so its
gradient keeps its size from layer to layer.

The same network, 6 hidden layers of 32 units and a softmax output, is trained on a
small synthetic 3-class task (1000 points in 10 dimensions, the class given by the
largest of three random linear functions) twice: with ``sigmoid`` and with ``relu``
hidden units. Everything else is equal: Glorot-uniform weights drawn from the same
seed, plain SGD at learning rate 0.05, batches of 32, 10 epochs.
``GradientMonitor`` records the mean norm of each kernel's gradient over every epoch.

What to expect (seeded, so every run prints the same): in epoch 1 the sigmoid
network's kernel gradient grows about 3-4.5 times per layer from ``hidden_1`` to
``output``, and the ratio first/last layer is about 3e-4; the ReLU network's norms
stay within a factor 1.5 of each other (ratio about 1.1). After 10 epochs the sigmoid
network is still at chance (training accuracy 0.313: it puts every point in one class)
while the ReLU network is at 0.965.

Run it with ``python examples/vanishing_gradient.py``; it takes about a second.
"""

import numpy as np

from minikeras.callbacks import GradientMonitor
from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import SGD
from minikeras.utils import set_random_seed

HIDDEN_LAYERS = 6
UNITS = 32
CLASSES = 3


def make_data(seed, samples=1000, features=10):
    """Gaussian points labelled by the largest of ``CLASSES`` random linear functions."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(features, CLASSES)), axis=1)
    return x, y


def train(activation, x, y, seed, epochs):
    """Trains the deep network with ``activation`` hidden units; returns (layer names, epoch-1 kernel norms, accuracy)."""
    set_random_seed(seed)  # the same seed: both networks start from the same kind of draw
    model = Sequential(
        [Input((x.shape[1],))]
        + [Dense(UNITS, activation=activation, name=f"hidden_{i + 1}") for i in range(HIDDEN_LAYERS)]
        + [Dense(CLASSES, activation="softmax", name="output")]
    )
    model.compile(optimizer=SGD(learning_rate=0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    monitor = GradientMonitor()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[monitor])
    names = [layer.name for layer in model.layers]
    norms = np.array([monitor.history[f"grad_norm/{name}/kernel"][0] for name in names])
    _, accuracy = model.evaluate(x, y, verbose=0)
    return names, norms, accuracy


def main(seed=0, epochs=10):
    """Prints the epoch-1 kernel gradient norms of both networks; returns {activation: (norms, accuracy)}."""
    x, y = make_data(seed)
    results = {}
    for activation in ("sigmoid", "relu"):
        names, norms, accuracy = train(activation, x, y, seed, epochs)
        results[activation] = (norms, accuracy)
    sigmoid, relu = results["sigmoid"][0], results["relu"][0]

    print(f"mean kernel gradient norm in epoch 1, {HIDDEN_LAYERS} hidden layers of {UNITS} units, input to output")
    print(f"{'layer':<9}  {'sigmoid':>9}  {'relu':>9}  {'sigmoid growth':>14}")
    for i, name in enumerate(names):
        growth = f"x{sigmoid[i] / sigmoid[i - 1]:.1f}" if i else ""
        print(f"{name:<9}  {sigmoid[i]:>9.2e}  {relu[i]:>9.2e}  {growth:>14}")
    print(f"first/last layer ratio: sigmoid {sigmoid[0] / sigmoid[-1]:.1e}, relu {relu[0] / relu[-1]:.1e}")
    print(f"training accuracy after {epochs} epochs: sigmoid {results['sigmoid'][1]:.3f}, "
          f"relu {results['relu'][1]:.3f} (chance: about {1 / CLASSES:.2f})")
    return results


if __name__ == "__main__":
    main()
