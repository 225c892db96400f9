"""Keras 3 and minikeras understand each other's configurations of every object.

* Every class minikeras registers (initializers, regularizers, constraints, metrics,
  losses, optimizers, layers) serialized by minikeras is read by Keras, and Keras's
  serialization of it is read back by minikeras with the same configuration.
* Models written by Keras with every initializer (non-default arguments) and
  compiled with every metric class (non-default arguments) load in minikeras from
  ``.keras`` and ``.h5`` with the same initializer configurations, predictions and
  ``evaluate`` numbers.

Needs Keras 3.15.1 with the torch backend: run ``make interop``.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from minikeras._registry import get_registry
from minikeras.models import load_model

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

RTOL, ATOL = 1e-5, 1e-6
FAMILIES = {
    "initializer": keras.initializers, "regularizer": keras.regularizers, "constraint": keras.constraints,
    "metric": keras.metrics, "loss": keras.losses, "optimizer": keras.optimizers, "layer": keras.layers,
}
# Classes that need arguments, with the arguments; other classes are made with none.
ARGUMENTS = {
    "Activation": {"activation": "tanh"}, "Dense": {"units": 3}, "Dropout": {"rate": 0.3},
    "InputLayer": {"shape": (4,)}, "Reshape": {"target_shape": (2, 2)},
}
# minikeras keeps options in a configuration that Keras leaves out of its own (Keras
# reads them back all the same): documented in docs/porting.md. Keras 3.15.1's Identity
# initializer writes no configuration at all, so its `gain` is lost in Keras's own files.
EXTRA_KEYS = {("initializer", "Identity"): {"gain"}, ("loss", "CosineSimilarity"): {"axis"},
              ("loss", "Huber"): {"delta"}}


def _classes():
    for family in FAMILIES:
        registry = get_registry(family)
        for name in registry.names(include_aliases=False):
            entry = registry.lookup(name)
            if isinstance(entry, type) and name != "LossMetric":  # the compile-time wrapper of a loss
                yield family, name


def _plain(config):
    return json.loads(json.dumps(config, default=str))


@pytest.mark.parametrize("family, name", list(_classes()))
def test_every_registered_class_round_trips_through_keras(family, name):
    registry, module = get_registry(family), FAMILIES[family]
    ours = registry.lookup(name)(**ARGUMENTS.get(name, {}))
    payload = json.loads(json.dumps(registry.serialize(ours)))
    theirs = module.deserialize(payload)
    assert type(theirs).__name__ == name
    extra = EXTRA_KEYS.get((family, name), set())
    keras_config = {k: v for k, v in _plain(theirs.get_config()).items() if k not in {"dtype"}}
    our_config = {k: v for k, v in _plain(ours.get_config()).items() if k not in extra | {"dtype"}}
    shared = set(keras_config) & set(our_config)
    assert {k: our_config[k] for k in shared} == {k: keras_config[k] for k in shared}
    assert set(our_config) <= set(keras_config) | {"build_config"}, set(our_config) - set(keras_config)
    back = registry.deserialize(json.loads(json.dumps(module.serialize(theirs))))
    assert {k: v for k, v in back.get_config().items() if k not in extra} == \
        {k: v for k, v in ours.get_config().items() if k not in extra}


def _initializers(k):
    i = k.initializers
    return [
        (i.Constant(0.3), i.RandomNormal(0.1, 0.2, seed=8)),
        (i.GlorotNormal(seed=1), i.RandomUniform(-0.2, 0.3, seed=9)),
        (i.GlorotUniform(seed=2), i.TruncatedNormal(0.0, 0.3, seed=10)),
        (i.HeNormal(seed=3), i.Zeros()),
        (i.HeUniform(seed=4), i.Ones()),
        (i.Identity(gain=2.0), i.Constant(-0.1)),
        (i.LecunNormal(seed=5), i.Zeros()),
        (i.LecunUniform(seed=6), i.Zeros()),
        (i.Orthogonal(gain=0.5, seed=7), i.Zeros()),
        (i.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=11), i.Zeros()),
    ]


def _metrics(k, sparse):
    m = k.metrics
    if sparse:
        return [m.SparseCategoricalAccuracy(name="sacc"), m.SparseCategoricalCrossentropy(name="scce"),
                m.SparseTopKCategoricalAccuracy(k=2, name="stop2")]
    return [
        m.AUC(num_thresholds=50, curve="PR", name="auc_pr"), m.Accuracy(), m.BinaryAccuracy(threshold=0.3),
        m.BinaryCrossentropy(label_smoothing=0.1), m.CategoricalAccuracy(),
        m.CategoricalCrossentropy(label_smoothing=0.1), m.CategoricalHinge(), m.CosineSimilarity(axis=-1),
        m.FalseNegatives(thresholds=0.4), m.FalsePositives(), m.Hinge(), m.KLDivergence(), m.LogCoshError(),
        m.MeanAbsoluteError(), m.MeanAbsolutePercentageError(), m.MeanSquaredError(),
        m.MeanSquaredLogarithmicError(), m.Poisson(), m.Precision(thresholds=0.4), m.Recall(thresholds=[0.3, 0.6]),
        m.SquaredHinge(), m.TopKCategoricalAccuracy(k=2), m.TrueNegatives(), m.TruePositives(thresholds=0.2),
    ]


def _keras_model(sparse):
    keras.utils.clear_session()
    keras.utils.set_random_seed(5)
    layers = [keras.Input((4,))]
    for kernel, bias in _initializers(keras):
        layers.append(keras.layers.Dense(4, activation="tanh", kernel_initializer=kernel, bias_initializer=bias))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    model = keras.Sequential(layers)
    loss = "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=_metrics(keras, sparse))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(24, 4)).astype("float32")
    labels = rng.integers(0, 3, size=24)
    y = labels.astype("int32") if sparse else np.eye(3, dtype="float32")[labels]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    return model, x, y


@pytest.mark.parametrize("kind", [".keras", ".h5"])
@pytest.mark.parametrize("sparse", [False, True], ids=["onehot", "sparse"])
def test_every_initializer_and_metric_class_written_by_keras_loads(tmp_path, kind, sparse):
    model, x, y = _keras_model(sparse)
    path = tmp_path / f"m{kind}"
    model.save(path)
    expected = model.evaluate(x, y, batch_size=8, verbose=0)
    ours = load_model(path)
    keras_layers = model.get_config()["layers"][1:]
    for theirs, mine in zip(keras_layers, ours.get_config()["layers"][1:]):
        for key in ("kernel_initializer", "bias_initializer"):
            name = theirs["config"][key]["class_name"]
            assert mine["config"][key]["class_name"] == name
            extra = EXTRA_KEYS.get(("initializer", name), set())
            assert {k: v for k, v in _plain(mine["config"][key]["config"]).items() if k not in extra} == \
                _plain(theirs["config"][key]["config"])
    np.testing.assert_allclose(ours.predict(x, verbose=0), model.predict(x, verbose=0), rtol=RTOL, atol=ATOL)
    # Keras 3.15.1's .h5 reader renames metrics after their functions: compare in compile order.
    flat = [np.ravel(v) for v in ours.evaluate(x, y, batch_size=8, verbose=0)]
    assert [len(v) for v in flat] == [np.size(v) for v in expected]
    np.testing.assert_allclose(np.concatenate(flat), np.concatenate([np.ravel(v) for v in expected]),
                               rtol=1e-4, atol=1e-6)
