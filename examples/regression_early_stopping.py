"""Early stopping on a noisy regression: stop when the validation loss stops falling.

Algorithm 4.1 of the slides repeats its SGD epochs "until the error rate on the
validation set no longer falls". Here a 64-64 ReLU network, trained with Adam, fits 240
noisy samples of

    y = sin(2 x1) + x2^2 - x3 + noise,   x uniform in [-2, 2]^3,   noise ~ N(0, 0.3^2)

``validation_split=0.25`` keeps the last 60 of the 240 training rows for validation.
``EarlyStopping(patience=20, restore_best_weights=True)`` stops 20 epochs after the
best validation loss and puts the weights of that best epoch back. The test set is
2000 fresh samples; the noise alone gives a mean squared error of 0.09, the floor no
model can go below.

What to expect (every run prints the same): training stops after epoch 101 of at most
1000, twenty epochs after the best one (81), whose validation MSE is 0.1135. The
restored model's test MSE is 0.1545, above the 0.09 noise floor; the last epoch's
weights, had they been kept, would score 0.2347. (With other seeds the stopping epoch
moves between about 40 and 100, and the test MSE stays near 0.15.)

Run it with ``python examples/regression_early_stopping.py``; it takes under a second.
"""

import numpy as np

from minikeras.callbacks import EarlyStopping, LambdaCallback
from minikeras.layers import Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import Adam
from minikeras.utils import set_random_seed

NOISE = 0.3
MAX_EPOCHS = 1000


def make_data(n, rng):
    """n samples of the noisy target; returns float32 (x, y)."""
    x = rng.uniform(-2.0, 2.0, size=(n, 3))
    y = np.sin(2.0 * x[:, 0]) + x[:, 1] ** 2 - x[:, 2] + rng.normal(0.0, NOISE, size=n)
    return x.astype("float32"), y[:, None].astype("float32")


def main(seed=0):
    """Trains with early stopping; returns (epochs run, best epoch, best val_loss, test MSE)."""
    set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x_train, y_train = make_data(240, rng)
    x_test, y_test = make_data(2000, rng)

    model = Sequential([Input((3,)), Dense(64, activation="relu"), Dense(64, activation="relu"), Dense(1)])
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
    stop = EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
    # Callbacks run in list order, so this one sees the last epoch's weights before `stop` restores the best.
    last = {}
    keep_last = LambdaCallback(on_train_end=lambda logs: last.update(weights=model.get_weights()))
    history = model.fit(x_train, y_train, validation_split=0.25, epochs=MAX_EPOCHS, batch_size=32,
                        verbose=0, callbacks=[keep_last, stop])

    epochs_run = len(history.epoch)
    val_loss = np.array(history.history["val_loss"])
    best_epoch = stop.best_epoch + 1  # callbacks count epochs from 0, the printout from 1
    test_mse = float(model.evaluate(x_test, y_test, verbose=0))
    best_weights = model.get_weights()
    model.set_weights(last["weights"])
    last_test_mse = float(model.evaluate(x_test, y_test, verbose=0))
    model.set_weights(best_weights)

    print(f"stopped after epoch {epochs_run} of at most {MAX_EPOCHS}")
    print(f"best epoch: {best_epoch}  best val_loss (MSE): {val_loss.min():.4f}  "
          f"last val_loss: {val_loss[-1]:.4f}")
    print(f"test MSE, best epoch's weights (restored): {test_mse:.4f}")
    print(f"test MSE, last epoch's weights:            {last_test_mse:.4f}")
    print(f"noise floor: {NOISE ** 2:.4f}")
    return epochs_run, best_epoch, float(val_loss.min()), test_mse


if __name__ == "__main__":
    main()
