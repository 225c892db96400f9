"""Data sources of fit / evaluate / predict: array-likes, on-disk arrays (h5py), generators, Sequence.

Every source is checked against the same data given as NumPy arrays in memory:
the weights and History must be bit-identical, not merely close.
"""

import math
import warnings

import h5py
import numpy as np
import pytest

import minikeras
from minikeras import callbacks, utils
from minikeras.layers import Dense, Input
from minikeras.models import Sequential

N, FEATURES, CLASSES = 30, 3, 2


# -- helpers -------------------------------------------------------------------------------
def dataset(n=N, seed=0):
    """Float64 inputs (row id in column 0) and integer labels, so casts are exercised too."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES))
    x[:, 0] = np.arange(n)
    labels = rng.integers(0, CLASSES, size=n)
    return x, labels


def model(loss="sparse_categorical_crossentropy", metrics=("accuracy",), seed=7):
    utils.set_random_seed(seed)
    m = Sequential([Input((FEATURES,)), Dense(4, activation="tanh"), Dense(CLASSES, activation="softmax")])
    m.compile(optimizer="sgd", loss=loss, metrics=list(metrics))
    return m


def weights_bytes(m):
    return [w.tobytes() for w in m.get_weights()]


def same_weights(a, b):
    return weights_bytes(a) == weights_bytes(b)


def record_train_rows(m):
    """Makes ``m`` remember the row ids (column 0) of every training batch."""
    rows = []
    step = m._train_step

    def recording(x, y, w):
        rows.append(x[:, 0].astype(int).tolist())
        return step(x, y, w)

    m._train_step = recording
    return rows


class Counter(callbacks.Callback):
    """Counts batches and keeps the params and epoch logs."""

    def __init__(self):
        super().__init__()
        self.train_batches = self.test_batches = self.predict_batches = 0
        self.epoch_logs = {}
        self.seen_params = None

    def on_train_begin(self, logs=None):
        self.seen_params = dict(self.params)

    def on_train_batch_end(self, batch, logs=None):
        self.train_batches += 1

    def on_test_batch_end(self, batch, logs=None):
        self.test_batches += 1

    def on_predict_batch_end(self, batch, logs=None):
        self.predict_batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs[epoch] = dict(logs)


class FakeFrame:
    """A pandas-like container: only ``to_numpy()``."""

    def __init__(self, values):
        self._values = np.asarray(values)

    def to_numpy(self):
        return self._values.copy()


class ReadLog:
    """An on-disk array that records every key read from it (wraps an ``h5py.Dataset``)."""

    def __init__(self, ds):
        self._ds = ds
        self.dtype = ds.dtype
        self.shape = ds.shape
        self.keys = []

    def __getitem__(self, key):
        self.keys.append(key)
        return self._ds[key]

    def spans(self):
        """``(start, stop)`` of every slice read, clipped to the rows there are."""
        return [key.indices(self.shape[0])[:2] for key in self.keys]

    def rows_per_read(self):
        sizes = []
        for key in self.keys:
            if isinstance(key, slice):
                start, stop, step = key.indices(self.shape[0])
                sizes.append(len(range(start, stop, step)))
            else:
                sizes.append(np.asarray(key).size)
        return sizes


@pytest.fixture
def h5(tmp_path):
    """An open HDF5 file holding ``x``, ``y`` (and a float copy ``yf``) from :func:`dataset`."""
    x, labels = dataset()
    f = h5py.File(tmp_path / "data.h5", "w")
    f["x"], f["y"] = x, labels
    yield f
    f.close()


def fit_both(first, second, **kwargs):
    """Fits two identically seeded models on two forms of the same data; returns both and histories."""
    a, b = model(), model()
    ha = a.fit(*first, verbose=0, **kwargs)
    hb = b.fit(*second, verbose=0, **kwargs)
    return a, b, ha, hb


# -- array-likes ---------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["list", "to_numpy"])
def test_lists_and_to_numpy_objects_train_like_arrays(form):
    x, labels = dataset()
    wrap = (lambda a: a.tolist()) if form == "list" else FakeFrame
    a, b, ha, hb = fit_both((x, labels), (wrap(x), wrap(labels)), epochs=2, batch_size=8,
                            validation_split=0.2)
    assert same_weights(a, b)
    assert ha.history == hb.history
    np.testing.assert_array_equal(a.predict(wrap(x), verbose=0), a.predict(x, verbose=0))
    assert a.evaluate(wrap(x), wrap(labels), verbose=0) == a.evaluate(x, labels, verbose=0)


# -- on-disk arrays ------------------------------------------------------------------------
@pytest.mark.parametrize("shuffle", [False, True, "batch"])
@pytest.mark.parametrize("split", [0.0, 0.3])
def test_h5py_training_is_bit_identical_to_memory(h5, shuffle, split):
    x, labels = dataset()
    a, b, ha, hb = fit_both((x, labels), (h5["x"], h5["y"]), epochs=3, batch_size=7, shuffle=shuffle,
                            validation_split=split)
    assert same_weights(a, b)
    assert ha.history == hb.history
    assert ("val_loss" in hb.history) == bool(split)


@pytest.mark.parametrize("shuffle", [False, True, "batch"])
def test_h5py_is_read_batch_by_batch(h5, shuffle):
    xs, ys = ReadLog(h5["x"]), ReadLog(h5["y"])
    m = model()
    m.fit(xs, ys, epochs=2, batch_size=7, shuffle=shuffle, validation_split=0.3, verbose=0)
    m.evaluate(xs, ys, batch_size=7, verbose=0)
    m.predict(xs, batch_size=7, verbose=0)
    for log in (xs, ys):
        assert log.keys, "the dataset was read"
        assert max(log.rows_per_read()) <= 7, "no read covers more than one batch"
        # Shuffled reads ask for increasing rows (h5py requires it).
        for key in log.keys:
            if not isinstance(key, slice):
                assert np.all(np.diff(key) > 0)
        if shuffle is not True:
            assert all(isinstance(key, slice) for key in log.keys), "unshuffled reads are contiguous slices"


def test_h5py_unshuffled_reads_follow_the_rows_in_order(h5):
    xs = ReadLog(h5["x"])
    m = model()
    m.fit(xs, h5["y"], epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert xs.spans() == [(0, 8), (8, 16), (16, 24), (24, 30)]
    xs.keys.clear()
    m.fit(xs, h5["y"], epochs=1, batch_size=8, shuffle=False, validation_split=0.5, verbose=0)
    # 15 training rows, then the validation rows 15..29.
    assert xs.spans() == [(0, 8), (8, 15), (15, 23), (23, 30)]


def test_h5py_predict_and_evaluate_equal_memory(h5):
    x, labels = dataset()
    m = model()
    m.fit(x, labels, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(m.predict(h5["x"], batch_size=8, verbose=0), m.predict(x, batch_size=8, verbose=0))
    assert m.evaluate(h5["x"], h5["y"], batch_size=8, verbose=0) == m.evaluate(x, labels, batch_size=8, verbose=0)
    # A dataset as validation_data too.
    a, b = model(), model()
    ha = a.fit(x, labels, epochs=2, batch_size=8, validation_data=(x[:10], labels[:10]), verbose=0)
    hb = b.fit(x, labels, epochs=2, batch_size=8, validation_data=(h5["x"], h5["y"]), verbose=0)
    assert ha.history["loss"] == hb.history["loss"] and "val_loss" in hb.history
    assert same_weights(a, b)


def test_nan_in_h5py_names_the_row_and_argument(tmp_path):
    x, labels = dataset()
    x[17, 1] = np.nan
    with h5py.File(tmp_path / "nan.h5", "w") as f:
        f["x"], f["y"] = x, labels
        for shuffle in (False, True, "batch"):
            with pytest.raises(ValueError, match=r"fit\(\) argument `x` contains NaN.*row 17\b"):
                model().fit(f["x"], f["y"], batch_size=8, shuffle=shuffle, verbose=0)
        with pytest.raises(ValueError, match=r"`x` contains NaN.*row 17\b"):
            model().predict(f["x"], batch_size=8, verbose=0)
        # Row 17 falls in the validation part of a split: still named by its row in the dataset.
        with pytest.raises(ValueError, match=r"`x` contains NaN.*row 17\b"):
            model().fit(f["x"], f["y"], batch_size=8, validation_split=0.5, shuffle=False, verbose=0)


def test_sparse_labels_out_of_range_in_h5py_are_reported(tmp_path):
    x, labels = dataset()
    labels[20] = 5
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f["x"], f["y"] = x, labels
        with pytest.raises(ValueError, match=r"class labels in \[0, 1\].*from 0 to 5"):
            model().fit(f["x"], f["y"], batch_size=8, verbose=0)
        with pytest.raises(ValueError, match=r"from 0 to 5"):
            model().evaluate(f["x"], f["y"], batch_size=8, verbose=0)


def test_class_weight_with_h5py_labels_works_like_memory(h5):
    x, labels = dataset()
    cw = {0: 1.0, 1: 3.0}
    for shuffle in (False, True):
        a, b, ha, hb = fit_both((x, labels), (h5["x"], h5["y"]), epochs=2, batch_size=8, shuffle=shuffle,
                                class_weight=cw, validation_split=0.2)
        assert same_weights(a, b)
        assert ha.history == hb.history
    plain = model()
    plain.fit(x, labels, epochs=2, batch_size=8, verbose=0)
    assert not same_weights(plain, b), "the class weights made a difference"


# -- generators ----------------------------------------------------------------------------
def batches(x, y, size, w=None, loop=False):
    while True:
        for start in range(0, len(x), size):
            rows = slice(start, start + size)
            yield (x[rows], y[rows]) if w is None else (x[rows], y[rows], w[rows])
        if not loop:
            return


@pytest.mark.parametrize("weighted", [False, True])
def test_generator_of_tuples_trains_like_unshuffled_arrays(weighted):
    x, labels = dataset()
    w = np.linspace(0.5, 2.0, N) if weighted else None
    a, b = model(), model()
    ha = a.fit(x, labels, sample_weight=w, batch_size=10, epochs=1, shuffle=False, verbose=0)
    hb = b.fit(batches(x, labels, 10, w), epochs=1, verbose=0)
    assert same_weights(a, b)
    assert ha.history == hb.history


def test_generator_with_steps_per_epoch():
    x, labels = dataset()
    a, b = model(), model()
    counter = Counter()
    a.fit(x, labels, batch_size=10, epochs=3, shuffle=False, verbose=0)
    h = b.fit(batches(x, labels, 10, loop=True), steps_per_epoch=3, epochs=3, callbacks=[counter], verbose=0)
    assert counter.train_batches == 9 and h.epoch == [0, 1, 2]
    assert counter.seen_params["steps"] == 3
    assert same_weights(a, b)


def test_generator_running_dry_mid_epoch_warns_and_stops():
    x, labels = dataset()
    counter = Counter()
    with pytest.warns(UserWarning, match=r"steps_per_epoch \* epochs = 8 batches") as caught:
        h = model().fit(batches(x, labels, 10), steps_per_epoch=2, epochs=4, callbacks=[counter], verbose=0)
    assert "after 1 of the epoch's steps_per_epoch=2" in str(caught[0].message)
    assert "epoch 2" in str(caught[0].message)
    assert h.epoch == [0, 1] and len(h.history["loss"]) == 2
    assert counter.train_batches == 3


def test_generator_used_up_exactly_at_an_epoch_end():
    x, labels = dataset()
    with pytest.warns(UserWarning, match=r"stopped in epoch 2.*after 0 of.*= 6 batches"):
        h = model().fit(batches(x, labels, 10), steps_per_epoch=3, epochs=2, verbose=0)
    assert h.epoch == [0]


def test_generator_without_steps_runs_one_epoch_then_warns():
    x, labels = dataset()
    counter = Counter()
    with pytest.warns(UserWarning, match=r"stopped before epoch 2.*used up"):
        h = model().fit(batches(x, labels, 10), epochs=3, callbacks=[counter], verbose=0)
    assert h.epoch == [0] and counter.train_batches == 3
    assert counter.seen_params["steps"] is None


def test_empty_generator_is_an_error():
    with pytest.raises(ValueError, match="yielded no batch at all"):
        model().fit(iter(()), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="yielded no batch at all"):
        model().predict((b for b in []), verbose=0)


@pytest.mark.parametrize("bad", [{"x": 1}, (1, 2, 3, 4)], ids=["dict", "4-tuple"])
@pytest.mark.parametrize("position", [0, 1])
def test_generator_bad_item_is_a_clear_error(bad, position):
    x, labels = dataset()
    good = (x[:5], labels[:5])
    items = [good, bad] if position else [bad, good]
    with pytest.raises(ValueError, match=r"generator passed to fit\(\) must give batches as \(x, y\).*Received a "
                       + type(bad).__name__):
        model().fit(iter(items), verbose=0)


def test_generator_bad_batches_are_clear_errors():
    x, labels = dataset()
    wide = np.ones((5, FEATURES + 1))
    with pytest.raises(ValueError, match=r"expects 3 input features, but x has 4"):
        model().fit(iter([(x[:5], labels[:5]), (wide, labels[:5])]), verbose=0)
    with pytest.raises(ValueError, match=r"expects 3 input features, but x has 4"):
        model().fit(iter([(wide, labels[:5])]), verbose=0)
    with pytest.raises(ValueError, match=r"batch with 5 inputs and 4 targets"):
        model().fit(iter([(x[:5], labels[:4])]), verbose=0)
    nan = x[:5].copy()
    nan[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"x of a batch from the generator passed to fit\(\) contains NaN.*row 3"):
        model().fit(iter([(x[:5], labels[:5]), (nan, labels[:5])]), verbose=0)
    with pytest.raises(ValueError, match=r"sample weights of shape \(3,\)"):
        model().fit(iter([(x[:5], labels[:5], np.ones(3))]), verbose=0)
    with pytest.raises(ValueError, match=r"needs targets"):
        model().fit(iter([x[:5]]), verbose=0)


def test_generator_argument_misuse():
    x, labels = dataset()
    with pytest.raises(ValueError, match=r"received `y` together with a generator"):
        model().fit(batches(x, labels, 10), labels, verbose=0)
    with pytest.raises(ValueError, match=r"received `sample_weight` together with a generator"):
        model().fit(batches(x, labels, 10), sample_weight=np.ones(N), verbose=0)
    with pytest.raises(ValueError, match=r"validation_split.*Pass `validation_data` instead"):
        model().fit(batches(x, labels, 10), validation_split=0.2, verbose=0)
    with pytest.warns(UserWarning, match=r"ignores `batch_size=16`"):
        model().fit(batches(x, labels, 10), batch_size=16, verbose=0)
    with pytest.warns(UserWarning, match=r"predict\(\) ignores `batch_size=4`"):
        model().predict(batches(x, labels, 10), batch_size=4, verbose=0)


def test_generator_class_weight_is_applied_per_batch():
    x, labels = dataset()
    cw = {0: 1.0, 1: 3.0}
    w = np.where(labels == 1, 3.0, 1.0)
    a, b = model(), model()
    ha = a.fit(batches(x, labels, 10, w), epochs=1, verbose=0)
    hb = b.fit(batches(x, labels, 10), class_weight=cw, epochs=1, verbose=0)
    assert same_weights(a, b)
    assert ha.history == hb.history


# -- Sequence ------------------------------------------------------------------------------
class Rows(utils.Sequence):
    """Batches of :func:`dataset` by index; records the indices read in every epoch."""

    def __init__(self, size=10, x_only=False, **kwargs):
        super().__init__(**kwargs)
        self.x, self.labels = dataset()
        self.size, self.x_only = size, x_only
        self.begins = self.ends = 0
        self.epochs = [[]]

    def __len__(self):
        return math.ceil(len(self.x) / self.size)

    def __getitem__(self, index):
        rows = slice(index * self.size, (index + 1) * self.size)
        self.epochs[-1].append(index)
        return self.x[rows] if self.x_only else (self.x[rows], self.labels[rows])

    def on_epoch_begin(self):
        self.begins += 1
        self.epochs.append([])

    def on_epoch_end(self):
        self.ends += 1


def test_sequence_len_getitem_and_alias():
    seq = Rows(size=8)
    assert len(seq) == 4 and seq.num_batches == 4
    xb, yb = seq[3]
    assert xb.shape == (6, FEATURES) and yb.shape == (6,)
    assert [b[0].shape[0] for b in seq] == [8, 8, 8, 6]
    assert minikeras.utils.PyDataset is minikeras.utils.Sequence


def test_sequence_epoch_hooks_once_per_epoch_and_per_validation():
    train, val = Rows(), Rows()
    m = model()
    m.fit(train, validation_data=val, epochs=3, verbose=0)
    assert (train.begins, train.ends) == (3, 3)
    assert (val.begins, val.ends) == (3, 3)
    m.fit(train, validation_data=val, epochs=4, validation_freq=2, verbose=0)
    assert (train.begins, train.ends) == (7, 7)
    assert (val.begins, val.ends) == (5, 5)
    test = Rows()
    m.evaluate(test, verbose=0)
    m.predict(test, verbose=0)
    assert (test.begins, test.ends) == (2, 2)


def test_sequence_batch_order_per_epoch():
    seq = Rows(size=4)  # 8 batches
    model().fit(seq, epochs=3, shuffle=True, verbose=0)
    orders = seq.epochs[1:]
    assert all(sorted(o) == list(range(8)) for o in orders)
    assert len({tuple(o) for o in orders}) > 1, "reshuffled every epoch"
    assert any(o != list(range(8)) for o in orders)
    seq = Rows(size=4)
    model().fit(seq, epochs=3, shuffle=False, verbose=0)
    assert seq.epochs[1:] == [list(range(8))] * 3
    # The same seed, the same orders.
    again = Rows(size=4)
    model().fit(again, epochs=3, shuffle=True, verbose=0)
    assert again.epochs[1:] == orders


def test_sequence_trains_like_unshuffled_arrays():
    x, labels = dataset()
    a, b = model(), model()
    ha = a.fit(x, labels, batch_size=10, epochs=2, shuffle=False, verbose=0)
    hb = b.fit(Rows(), epochs=2, shuffle=False, verbose=0)
    assert same_weights(a, b) and ha.history == hb.history


def test_sequence_workers_give_the_same_results():
    results = []
    for workers in (1, 2):
        seq, val = Rows(size=4, workers=workers), Rows(size=7, workers=workers)
        m = model()
        h = m.fit(seq, validation_data=val, epochs=2, verbose=0)
        results.append((weights_bytes(m), h.history, seq.epochs[1:], m.predict(seq, verbose=0).tobytes()))
    assert results[0] == results[1]


def test_sequence_of_inputs_only():
    m = model()
    out = m.predict(Rows(x_only=True), verbose=0)
    np.testing.assert_array_equal(out, m.predict(dataset()[0], verbose=0))
    with pytest.raises(ValueError, match=r"fit\(\) needs targets, but the Rows passed to fit\(\) gave a batch"):
        model().fit(Rows(x_only=True), verbose=0)


def test_sequence_without_super_init():
    class Bare(utils.Sequence):
        def __init__(self):
            self.x, self.labels = dataset()

        def __len__(self):
            return 3

        def __getitem__(self, index):
            return self.x[index * 10:(index + 1) * 10], self.labels[index * 10:(index + 1) * 10]

    x, labels = dataset()
    a, b = model(), model()
    a.fit(x, labels, batch_size=10, epochs=2, shuffle=False, verbose=0)
    b.fit(Bare(), epochs=2, shuffle=False, verbose=0)
    assert same_weights(a, b)


def test_keras2_style_sequence_with_only_len():
    """A class named ``Sequence`` that is not minikeras's (Keras 2's ``keras.utils.Sequence``)."""

    class Sequence:
        def __len__(self):
            return 3

    class Old(Sequence):
        def __init__(self):
            self.x, self.labels = dataset()
            self.ends = 0

        def __getitem__(self, index):
            return self.x[index * 10:(index + 1) * 10], self.labels[index * 10:(index + 1) * 10]

        def on_epoch_end(self):
            self.ends += 1

    x, labels = dataset()
    a, b = model(), model()
    a.fit(x, labels, batch_size=10, epochs=2, shuffle=False, verbose=0)
    old = Old()
    b.fit(old, epochs=2, shuffle=False, verbose=0)
    assert same_weights(a, b) and old.ends == 2


def test_sequence_constructor_checks():
    with pytest.raises(ValueError, match=r"use_multiprocessing=True"):
        Rows(use_multiprocessing=True)
    with pytest.raises(ValueError, match=r"`workers`.*workers=-1"):
        Rows(workers=-1)
    with pytest.raises(ValueError, match=r"`max_queue_size`.*max_queue_size=0"):
        Rows(max_queue_size=0)


def test_endless_sequence_with_steps_per_epoch():
    class Endless(utils.Sequence):
        def __init__(self):
            super().__init__()
            self.read = []
            self.x, self.labels = dataset()

        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            self.read.append(index)
            rows = slice((index % 3) * 10, (index % 3 + 1) * 10)
            return self.x[rows], self.labels[rows]

    seq = Endless()
    counter = Counter()
    h = model().fit(seq, steps_per_epoch=4, epochs=2, callbacks=[counter], verbose=0)
    assert h.epoch == [0, 1] and counter.train_batches == 8
    assert seq.read[1:] == list(range(8)), "the stream carries on across epochs"
    assert counter.seen_params["steps"] == 4
    out = model().predict(seq, steps=2, verbose=0)
    assert out.shape == (20, CLASSES)
    # Without a number of steps an endless sequence would never end: each method asks for one.
    x, labels = dataset()
    for call, name in ((lambda m: m.fit(seq, verbose=0), "steps_per_epoch"),
                       (lambda m: m.fit(x, labels, validation_data=seq, verbose=0), "validation_steps"),
                       (lambda m: m.evaluate(seq, verbose=0), "steps"),
                       (lambda m: m.predict(seq, verbose=0), "steps")):
        with pytest.raises(ValueError, match=rf"The Endless passed to .* is endless \(num_batches is None\), "
                                             rf"so .* needs `{name}`"):
            call(model())


def test_validation_generator_shorter_than_validation_steps_warns():
    x, labels = dataset()
    two_batches = iter(list(batches(x, labels, 10))[:2])
    with pytest.warns(UserWarning, match=r"fit\(validation_data\) used only 2 of the 5 batches asked for "
                                         r"\(validation_steps\): the generator passed to fit\(validation_data\)"):
        h = model().fit(x, labels, validation_data=two_batches, validation_steps=5, verbose=0)
    assert len(h.history["val_loss"]) == 1


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["arrays", "h5py", "generator", "sequence"])
def test_validation_data_kinds(kind, h5):
    x, labels = dataset()
    val = {
        "arrays": lambda: (x, labels),
        "h5py": lambda: (h5["x"], h5["y"]),
        "generator": lambda: batches(x, labels, 10, loop=True),
        "sequence": lambda: Rows(),
    }[kind]()
    counter = Counter()
    m = model()
    steps = 3 if kind == "generator" else None
    h = m.fit(x, labels, batch_size=10, epochs=2, validation_data=val, validation_steps=steps,
              callbacks=[counter], verbose=0)
    assert counter.test_batches == 6
    reference = m.evaluate(x, labels, batch_size=10, verbose=0, return_dict=True)
    assert h.history["val_loss"][-1] == reference["loss"]
    assert h.history["val_accuracy"][-1] == reference["accuracy"]


def test_validation_generator_used_up_is_a_clear_error():
    x, labels = dataset()
    with pytest.raises(ValueError, match=r"got no data.*validation_steps"):
        model().fit(x, labels, epochs=2, validation_data=batches(x, labels, 10), verbose=0)


def test_validation_steps_and_batch_size():
    x, labels = dataset()
    counter = Counter()
    model().fit(x, labels, batch_size=10, epochs=2, validation_data=(x, labels), validation_steps=2,
                callbacks=[counter], verbose=0)
    assert counter.test_batches == 4
    counter = Counter()
    model().fit(x, labels, batch_size=10, epochs=2, validation_data=(x, labels), validation_batch_size=4,
                callbacks=[counter], verbose=0)
    assert counter.test_batches == 2 * 8
    counter = Counter()
    model().fit(x, labels, batch_size=10, epochs=1, validation_split=0.5, validation_batch_size=4,
                callbacks=[counter], verbose=0)
    assert counter.test_batches == 4 and counter.train_batches == 2
    with pytest.warns(UserWarning, match=r"ignores `validation_batch_size=4`"):
        model().fit(x, labels, epochs=1, validation_data=Rows(), validation_batch_size=4, verbose=0)


@pytest.mark.parametrize("freq, validated", [(2, [1, 3]), ([1, 3], [0, 2]), (range(4, 5), [3]), (5, [])])
def test_validation_freq(freq, validated):
    x, labels = dataset()
    counter = Counter()
    h = model().fit(x, labels, batch_size=10, epochs=4, validation_split=0.2, validation_freq=freq,
                    callbacks=[counter], verbose=0)
    # As in Keras 3, History appends only the keys an epoch logged: val_ lists are shorter.
    assert [e for e, logs in counter.epoch_logs.items() if "val_loss" in logs] == validated
    assert len(h.history["loss"]) == 4
    assert len(h.history.get("val_loss", [])) == len(validated)
    assert counter.test_batches == len(validated)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, [0, 2], [1, "2"], None])
def test_bad_validation_freq(bad):
    x, labels = dataset()
    with pytest.raises(ValueError, match=r"`validation_freq`"):
        model().fit(x, labels, validation_split=0.2, validation_freq=bad, verbose=0)


@pytest.mark.parametrize("name", ["steps_per_epoch", "validation_steps", "validation_batch_size"])
@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_bad_fit_steps(name, bad):
    x, labels = dataset()
    with pytest.raises(ValueError, match=rf"fit\(\) expects `{name}` to be a positive integer"):
        model().fit(x, labels, validation_split=0.2, verbose=0, **{name: bad})


@pytest.mark.parametrize("bad", [0, -1, 2.0, False])
def test_bad_evaluate_predict_steps(bad):
    x, labels = dataset()
    with pytest.raises(ValueError, match=r"evaluate\(\) expects `steps`"):
        model().evaluate(x, labels, steps=bad, verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\) expects `steps`"):
        model().predict(x, steps=bad, verbose=0)


# -- steps with arrays ---------------------------------------------------------------------
def test_steps_per_epoch_sets_the_batch_size_of_arrays():
    x, labels = dataset(n=10)
    m = model()
    rows = record_train_rows(m)
    counter = Counter()
    m.fit(x, labels, steps_per_epoch=3, epochs=1, shuffle=False, callbacks=[counter], verbose=0)
    assert rows == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]  # ceil(10 / 3) = 4 rows a batch
    assert counter.seen_params["steps"] == 3


def test_steps_per_epoch_spreads_the_training_part_of_a_split():
    x, labels = dataset()  # 30 rows: 24 for training, 6 for validation
    m = model()
    rows = record_train_rows(m)
    counter = Counter()
    m.fit(x, labels, steps_per_epoch=4, validation_split=0.2, shuffle=False, callbacks=[counter], verbose=0)
    assert [len(r) for r in rows] == [6, 6, 6, 6]  # ceil(24 / 4), as Keras sizes it
    assert counter.test_batches == 1  # the validation batches stay at 32 rows
    counter = Counter()
    model().fit(x, labels, batch_size=4, validation_split=0.2, validation_steps=2, callbacks=[counter], verbose=0)
    assert counter.test_batches == 2
    counter = Counter()
    model().fit(x, labels, validation_split=0.5, validation_steps=3, callbacks=[counter], verbose=0)
    assert counter.test_batches == 3  # 15 rows in batches of ceil(15 / 3)


def test_evaluate_and_predict_steps_spread_the_arrays():
    x, labels = dataset()
    m = model()
    counter = Counter()
    out = m.predict(x, steps=3, callbacks=[counter], verbose=0)
    np.testing.assert_array_equal(out, m.predict(x, batch_size=10, verbose=0))
    assert counter.predict_batches == 3
    assert m.evaluate(x, labels, steps=4, callbacks=[counter], verbose=0) == m.evaluate(x, labels, batch_size=8,
                                                                                       verbose=0)
    assert counter.test_batches == 4


def test_arrays_without_samples_are_an_error():
    empty_x, empty_y = np.zeros((0, FEATURES)), np.zeros(0, dtype=int)
    with pytest.raises(ValueError, match=r"fit\(\) received `x` with 0 samples"):
        model().fit(empty_x, empty_y, verbose=0)
    with pytest.raises(ValueError, match=r"evaluate\(\) received `x` with 0 samples"):
        model().evaluate(empty_x, empty_y, verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\) received `x` with 0 samples"):
        model().predict(empty_x, verbose=0)


def test_steps_per_epoch_carries_on_across_epochs():
    x, labels = dataset(n=10)
    m = model()
    rows = record_train_rows(m)
    progbar = callbacks.ProgbarLogger()
    h = m.fit(x, labels, batch_size=2, steps_per_epoch=3, epochs=3, shuffle=False, callbacks=[progbar], verbose=0)
    assert progbar.params["steps"] == 3
    assert rows == [[0, 1], [2, 3], [4, 5],   # epoch 1
                    [6, 7], [8, 9], [0, 1],   # epoch 2: the pass ends, a new one begins
                    [2, 3], [4, 5], [6, 7]]   # epoch 3
    assert h.epoch == [0, 1, 2]


def test_steps_per_epoch_larger_than_the_data_rereads_it():
    x, labels = dataset(n=10)
    m = model()
    rows = record_train_rows(m)
    m.fit(x, labels, batch_size=4, steps_per_epoch=5, epochs=1, shuffle=True, verbose=0)
    assert len(rows) == 5
    assert sorted(sum(rows[:3], [])) == list(range(10)) and [len(r) for r in rows] == [4, 4, 2, 4, 4]


def test_evaluate_and_predict_steps_use_only_k_batches():
    x, labels = dataset()
    m = model()
    counter = Counter()
    full = m.predict(x, batch_size=4, verbose=0)
    part = m.predict(x, batch_size=4, steps=3, callbacks=[counter], verbose=0)
    np.testing.assert_array_equal(part, full[:12])
    assert counter.predict_batches == 3
    result = m.evaluate(x, labels, batch_size=4, steps=2, callbacks=[counter], verbose=0, return_dict=True)
    assert counter.test_batches == 2
    assert result == m.evaluate(x[:8], labels[:8], batch_size=4, verbose=0, return_dict=True)
    seq = Rows()
    m.evaluate(seq, steps=2, verbose=0)
    assert seq.epochs[-1] == [0, 1]
    # Steps beyond a generator's end: it simply ends.
    out = m.predict(batches(x, labels, 10), steps=5, verbose=0)
    assert out.shape == (N, CLASSES)


def test_predict_on_a_generator_concatenates_the_batches():
    x, _ = dataset()
    m = model()

    def uneven():
        yield x[:2]
        yield (x[2:5],)
        yield x[5:9], np.zeros(4)

    out = m.predict(uneven(), verbose=0)
    np.testing.assert_array_equal(out, m.predict(x[:9], verbose=0))
    result = m.evaluate(batches(x, dataset()[1], 7), verbose=0)
    assert result == m.evaluate(x, dataset()[1], batch_size=7, verbose=0)


def test_no_warning_for_well_formed_sources(h5):
    x, labels = dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = model()
        m.fit(h5["x"], h5["y"], epochs=1, verbose=0)
        m.fit(Rows(), validation_data=Rows(), epochs=1, verbose=0)
        m.fit(batches(x, labels, 10), epochs=1, verbose=0)
