"""fit / evaluate / predict semantics: batching, validation, logs, seeding."""

import io
import sys

import numpy as np
import pytest

from minikeras import callbacks, optimizers, utils
from minikeras.layers import Activation, Dense, Input
from minikeras.models import Sequential


def blobs(n=200, classes=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(classes, features))
    labels = rng.integers(0, classes, size=n)
    x = (centers[labels] + rng.normal(size=(n, features))).astype("float32")
    return x, labels


def classifier(features=4, classes=3):
    model = Sequential([Input((features,)), Dense(16, activation="relu"), Dense(classes), Activation("softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin", dict(logs)))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, dict(logs)))

    def on_test_begin(self, logs=None):
        self.events.append(("test_begin",))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("train_end", dict(logs)))


def test_history_keys_sorted_and_named_as_written():
    x, labels = blobs()
    y = utils.to_categorical(labels, 3)
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    assert list(history.history) == ["acc", "loss", "val_acc", "val_loss"]
    assert history.epoch == [0, 1, 2]
    assert all(len(v) == 3 for v in history.history.values())
    assert model.history is history


def test_accuracy_resolution_follows_shapes():
    x, labels = blobs()
    sparse = Sequential([Input((4,)), Dense(3, activation="softmax")])
    sparse.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sparse.fit(x, labels, verbose=0)
    assert type(sparse.metrics[0]).__name__ == "SparseCategoricalAccuracy"
    binary = Sequential([Input((4,)), Dense(1, activation="sigmoid")])
    binary.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    binary.fit(x, (labels == 0).astype("float32"), verbose=0)
    assert type(binary.metrics[0]).__name__ == "BinaryAccuracy"
    dense = classifier()
    dense.fit(x, utils.to_categorical(labels, 3), verbose=0)
    assert type(dense.metrics[0]).__name__ == "CategoricalAccuracy"


def test_epoch_loss_is_sample_weighted_mean_of_batches():
    # With a zero learning rate the weights never move, so the epoch loss must be
    # the mean over all 7 samples, not the mean of the two batch means.
    x = np.linspace(-1, 1, 14, dtype="float32").reshape(7, 2)
    y = np.arange(7, dtype="float32").reshape(7, 1)
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    per_sample = ((model.predict(x, verbose=0) - y) ** 2).ravel()
    assert history.history["loss"][0] == pytest.approx(per_sample.mean(), rel=1e-6)
    assert per_sample.mean() != pytest.approx((per_sample[:4].mean() + per_sample[4:].mean()) / 2, rel=1e-3)


def test_last_partial_batch_is_kept():
    rec = Recorder()
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((10, 2)), np.ones((10, 1)), batch_size=4, verbose=0, callbacks=[rec])
    assert [e[1] for e in rec.events if e[0] == "batch_end"] == [0, 1, 2]


def test_validation_split_takes_last_rows_before_shuffling():
    seen = []
    model = Sequential([Input((1,)), Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    original = model._train_step

    def spy_step(xb, yb, wb):
        seen.extend(xb.ravel().tolist())
        return original(xb, yb, wb)

    model._train_step = spy_step
    x = np.arange(10, dtype="float32").reshape(10, 1)
    y = np.zeros((10, 1), dtype="float32")
    history = model.fit(x, y, validation_split=0.3, epochs=2, batch_size=3, verbose=0)
    assert sorted(seen[:7]) == [0, 1, 2, 3, 4, 5, 6] and sorted(seen[7:]) == [0, 1, 2, 3, 4, 5, 6]
    assert seen[:7] != seen[7:], "each epoch reshuffles the training rows"
    assert history.history["val_loss"][0] == pytest.approx(0.0)


def test_validation_data_matches_evaluate():
    x, labels = blobs()
    y = utils.to_categorical(labels, 3)
    model = classifier()
    history = model.fit(x[:150], y[:150], validation_data=(x[150:], y[150:]), epochs=2, verbose=0)
    loss, accuracy = model.evaluate(x[150:], y[150:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(accuracy, rel=1e-6)


def test_shuffle_false_keeps_order_and_batch_shuffles_blocks():
    order = []
    model = Sequential([Input((1,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    original = model._train_step
    model._train_step = lambda xb, yb, wb: (order.append(xb.ravel().tolist()), original(xb, yb, wb))[1]
    x = np.arange(8, dtype="float32").reshape(8, 1)
    model.fit(x, x, batch_size=4, shuffle=False, verbose=0)
    assert order == [[0, 1, 2, 3], [4, 5, 6, 7]]
    order.clear()
    x = np.arange(40, dtype="float32").reshape(40, 1)
    model.optimizer.learning_rate = 0.0
    model.fit(x, x, batch_size=4, shuffle="batch", epochs=3, verbose=0)
    blocks = [[4 * k + i for i in range(4)] for k in range(10)]
    # Every batch is one batch-sized block of consecutive rows, shuffled inside ...
    assert all(sorted(b) in blocks for b in order)
    assert any(b != sorted(b) for b in order)
    # ... every epoch holds each block once, and the blocks come in a new order.
    epochs = [sorted(map(min, order[k:k + 10])) for k in (0, 10, 20)]
    assert all(e == [4 * k for k in range(10)] for e in epochs)
    firsts = [[b[0] // 4 for b in order[k:k + 10]] for k in (0, 10, 20)]
    assert firsts[0] != list(range(10)) and len({tuple(f) for f in firsts}) == 3


def test_callback_order_and_running_batch_logs():
    rec = Recorder()
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((6, 2)), np.ones((6, 1))
    model.fit(x, y, batch_size=3, epochs=2, validation_data=(x, y), verbose=0, callbacks=[rec])
    kinds = [e[0] for e in rec.events]
    assert kinds == ["train_begin", "epoch_begin", "batch_end", "batch_end", "test_begin", "epoch_end",
                     "epoch_begin", "batch_end", "batch_end", "test_begin", "epoch_end", "train_end"]
    epoch_end = [e for e in rec.events if e[0] == "epoch_end"][0]
    last_batch = [e for e in rec.events if e[0] == "batch_end"][1]
    assert epoch_end[2]["loss"] == last_batch[2]["loss"]
    assert rec.events[-1][1] == [e for e in rec.events if e[0] == "epoch_end"][-1][2]


def test_initial_epoch_continues_numbering():
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]


def test_evaluate_return_forms():
    x, labels = blobs()
    y = utils.to_categorical(labels, 3)
    model = classifier()
    result = model.evaluate(x, y, verbose=0)
    assert isinstance(result, list) and len(result) == 2
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert as_dict == {"accuracy": result[1], "loss": result[0]}
    plain = Sequential([Input((4,)), Dense(3, activation="softmax")])
    plain.compile(optimizer="sgd", loss="categorical_crossentropy")
    assert isinstance(plain.evaluate(x, y, verbose=0), float)


def test_evaluate_is_batch_size_independent():
    x, labels = blobs()
    y = utils.to_categorical(labels, 3)
    model = classifier()
    a = model.evaluate(x, y, batch_size=7, verbose=0)
    b = model.evaluate(x, y, batch_size=200, verbose=0)
    assert a == pytest.approx(b, rel=1e-5)


def test_predict_batches_match_one_batch():
    x, _ = blobs()
    model = classifier()
    full = model.predict(x, batch_size=1000, verbose=0)
    np.testing.assert_allclose(model.predict(x, batch_size=7, verbose=0), full, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_on_batch(x), full, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model(x), full, rtol=1e-6, atol=1e-7)
    assert full.dtype == np.float32 and full.shape == (200, 3)


def test_single_batch_predict_returns_a_fresh_array():
    x, _ = blobs(n=5)
    model = classifier()
    first = model.predict(x, verbose=0)  # one batch: the fast path
    expected = first.copy()
    first[:] = -1.0
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    np.testing.assert_allclose(model.predict(x, batch_size=2, verbose=0), expected, rtol=1e-6, atol=1e-7)

    identity = Sequential([Input((4,))])  # no layers: the output is the input
    out = identity.predict(x, verbose=0)
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)


def test_single_batch_predict_still_calls_callbacks():
    x, _ = blobs(n=5)
    model = classifier()
    events = []

    class PredictRecorder(callbacks.Callback):
        def on_predict_begin(self, logs=None):
            events.append("begin")

        def on_predict_batch_end(self, batch, logs=None):
            events.append(("batch_end", batch, logs["outputs"].shape))

        def on_predict_end(self, logs=None):
            events.append("end")

    model.predict(x, verbose=0, callbacks=[PredictRecorder()])
    assert events == ["begin", ("batch_end", 0, (5, 3)), "end"]


def test_accepts_lists_and_pandas_like_objects():
    class Frame:
        def __init__(self, data):
            self.data = np.asarray(data)

        def to_numpy(self):
            return self.data

    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit([[0.0, 1.0], [1.0, 0.0]], [[1.0], [0.0]], verbose=0)
    assert model.predict(Frame([[0.0, 1.0]]), verbose=0).shape == (1, 1)


def test_train_on_batch_and_test_on_batch():
    x, labels = blobs(n=32)
    y = utils.to_categorical(labels, 3)
    model = classifier()
    before = model.test_on_batch(x, y)
    after_step = model.train_on_batch(x, y)
    assert after_step[0] == pytest.approx(before[0], rel=1e-6)
    assert model.test_on_batch(x, y)[0] < before[0]
    assert set(model.train_on_batch(x, y, return_dict=True)) == {"accuracy", "loss"}


def test_seeding_gives_bit_identical_runs():
    def run():
        utils.set_random_seed(7)
        x, labels = blobs()
        model = classifier()
        history = model.fit(x, utils.to_categorical(labels, 3), epochs=3, batch_size=16, verbose=0)
        return model.get_weights(), history.history

    w1, h1 = run()
    w2, h2 = run()
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    utils.set_random_seed(8)
    w3 = classifier().get_weights()
    assert not np.array_equal(w1[0], w3[0])


def test_global_numpy_seed_does_not_affect_runs():
    utils.set_random_seed(3)
    a = classifier().get_weights()[0]
    utils.set_random_seed(3)
    np.random.seed(99)
    b = classifier().get_weights()[0]
    np.testing.assert_array_equal(a, b)


def test_learns_a_separable_problem():
    x, labels = blobs(n=400)
    model = classifier()
    model.fit(x, utils.to_categorical(labels, 3), epochs=10, batch_size=16, verbose=0)
    assert model.evaluate(x, utils.to_categorical(labels, 3), verbose=0)[1] > 0.9


def test_verbose_2_prints_clean_lines(capsys):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, batch_size=4, verbose=2)
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("2/2 - ") and " - loss: " in lines[1] and " - mae: " in lines[1]
    assert "\r" not in out and "\b" not in out and "\x1b" not in out


def test_verbose_0_prints_nothing(capsys):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0)
    model.evaluate(np.ones((8, 2)), np.ones((8, 1)), verbose=0)
    model.predict(np.ones((8, 2)), verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_auto_is_line_mode_when_not_a_terminal(capsys):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=1)
    out = capsys.readouterr().out
    assert out.startswith("1/1 - ") and "\r" not in out


def test_verbose_1_draws_a_tqdm_bar(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=1, batch_size=2, verbose=1)
    out = stream.getvalue()
    assert "4/4" in out and "loss:" in out


def test_stop_training_still_validates_and_ends_epoch():
    class StopNow(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    rec = Recorder()
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 2)), np.ones((8, 1))
    history = model.fit(x, y, batch_size=2, epochs=5, validation_data=(x, y), verbose=0, callbacks=[StopNow(), rec])
    assert history.epoch == [0]
    assert [e[0] for e in rec.events].count("batch_end") == 1
    assert "val_loss" in history.history


def test_sample_weight_scales_loss_as_keras():
    x = np.ones((4, 1), dtype="float32")
    y = np.array([[0.0], [1.0], [2.0], [3.0]], dtype="float32")
    model = Sequential([Input((1,)), Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    w = np.array([1.0, 0.0, 2.0, 0.0])
    # sum(w * l) / N, not divided by sum(w): (1*0 + 2*4) / 4 = 2
    assert model.evaluate(x, y, sample_weight=w, verbose=0) == pytest.approx(2.0)
