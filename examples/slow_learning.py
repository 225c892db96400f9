"""Why a saturated sigmoid neuron learns slowly with the quadratic cost and fast with cross-entropy.

The notes on the cross-entropy cost give the equations; the set-up is the experiment
of chapter 3 of Nielsen's *Neural Networks and Deep Learning*, which the notes follow:
one sigmoid neuron, one input ``x = 1``, target
``y = 0``, started with weight ``w = 2`` and bias ``b = 2``. Its first output is
``sigma(4) = 0.982``, deep in the flat part of the sigmoid, where ``sigma'(z)`` is
about ``0.018``. Gradient descent with learning rate ``eta = 0.15`` then runs twice:

- quadratic cost ``C = (a - y)^2 / 2``: ``dC/dw = (a - y) sigma'(z) x`` (eq. 1), so the
  small ``sigma'(z)`` makes the first steps tiny;
- cross-entropy ``C = -[y ln a + (1 - y) ln(1 - a)]`` (eq. 3): ``dC/dw = x (a - y)``
  (eq. 16), no ``sigma'(z)`` factor, so the largest error gives the largest step.

Keras's ``mse`` has no ``1/2``: its gradient is ``2 (a - y) sigma'(z) x``, twice that
of eq. 1. Training with ``mse`` at learning rate ``eta / 2 = 0.075`` therefore takes
exactly the steps of eq. 1 at ``eta = 0.15``. Keras's ``binary_crossentropy`` is eq. 3
as it stands (with ``n = 1``); it clips ``a`` to ``[1e-7, 1 - 1e-7]`` before the
logarithm, which never matters here since ``a`` stays between 0.01 and 0.99 (and for a
sigmoid output minikeras takes the gradient as ``a - y`` directly).

What to expect (every run prints the same): the first gradients ``dC/dw`` are 0.0173
(quadratic) and 0.9820 (cross-entropy). After 50 epochs the quadratic cost has barely
moved the output (0.9759) while cross-entropy has brought it down to 0.0985; only
after about 150 epochs does the quadratic run leave the plateau, and after 300 it is
at 0.2028 (cross-entropy: 0.0120). The last line compares every epoch's output with
the same updates written out by hand in NumPy (float64); the difference is float32
round-off, below 1e-6.

Run it with ``python examples/slow_learning.py``; it takes about a second.
"""

import numpy as np

from minikeras.callbacks import LambdaCallback
from minikeras.initializers import Constant
from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import SGD
from minikeras.utils import set_random_seed

X = np.array([[1.0]], dtype="float32")
Y = np.array([[0.0]], dtype="float32")
W0, B0 = 2.0, 2.0
ETA = 0.15
EPOCHS = 300


def train(loss, learning_rate, epochs=EPOCHS):
    """Trains the neuron from w = b = 2 with plain gradient descent; returns the output after each epoch."""
    model = Sequential([
        Input((1,)),
        Dense(1, activation="sigmoid", kernel_initializer=Constant(W0), bias_initializer=Constant(B0)),
    ])
    model.compile(optimizer=SGD(learning_rate=learning_rate), loss=loss)
    outputs = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: outputs.append(float(model.predict(X, verbose=0)[0, 0])))
    model.fit(X, Y, epochs=epochs, batch_size=1, verbose=0, callbacks=[record])
    return np.array(outputs)


def by_hand(cross_entropy, epochs=EPOCHS):
    """The same runs written out from the notes' equations, in float64."""
    w, b, x, y = W0, B0, 1.0, 0.0
    outputs = []
    for _ in range(epochs):
        a = 1.0 / (1.0 + np.exp(-(w * x + b)))
        delta = (a - y) if cross_entropy else (a - y) * a * (1.0 - a)  # eq. 16-17, or eq. 1-2
        w, b = w - ETA * delta * x, b - ETA * delta
        outputs.append(1.0 / (1.0 + np.exp(-(w * x + b))))
    return np.array(outputs)


def main(seed=0):
    """Prints the output of both runs every 50 epochs; returns (quadratic, cross_entropy) per epoch."""
    set_random_seed(seed)  # nothing here is random; seeded all the same
    quadratic = train("mse", ETA / 2)  # mse = 2 x eq. 1's cost, so half the rate
    cross_entropy = train("binary_crossentropy", ETA)

    print(f"output a of a sigmoid neuron, x = 1, y = 0, w = b = {W0}, eta = {ETA}")
    a0 = 1 / (1 + np.exp(-(W0 + B0)))
    print(f"epoch 0: a = {a0:.4f} for both costs; dC/dw = {a0 * a0 * (1 - a0):.4f} (quadratic, eq. 1), "
          f"{a0:.4f} (cross-entropy, eq. 16)")
    print(f"{'epoch':>5}  {'quadratic':>9}  {'cross-entropy':>13}")
    for epoch in range(50, EPOCHS + 1, 50):
        print(f"{epoch:>5}  {quadratic[epoch - 1]:>9.4f}  {cross_entropy[epoch - 1]:>13.4f}")
    gap = max(np.abs(quadratic - by_hand(False)).max(), np.abs(cross_entropy - by_hand(True)).max())
    print(f"largest difference from the equations done by hand: {gap:.1e}")
    return quadratic, cross_entropy


if __name__ == "__main__":
    main()
