"""Model files written by real Keras 3: every layer and optimizer, in all three file kinds.

``tests/fixtures/keras3_matrix/`` holds models trained one epoch and saved by Keras
3.15.1 (see its README.md; written by ``tests/fixtures/make_keras_fixtures.py``).
For every model and every file (``.keras``, ``.h5``, ``.weights.h5``) minikeras must
load it, predict what Keras predicted, compile as Keras compiled, restore the
optimizer state and, trained one more epoch, land where Keras landed. Keras is not
needed to run these tests.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from minikeras import activations, losses, optimizers
from minikeras._registry import get_registry
from minikeras.models import Sequential, load_model

MATRIX = Path(__file__).parent / "fixtures" / "keras3_matrix"
INDEX = json.loads((MATRIX / "index.json").read_text())
MODELS = {entry["name"]: entry for entry in INDEX["models"]}
KINDS = (".keras", ".h5", ".weights.h5")
CONTINUED = sorted(name for name, entry in MODELS.items() if entry["continued"] is not None)
# float32 results computed in a different order than Keras computes them.
RTOL, ATOL = 1e-5, 1e-6


def data(entry):
    with np.load(MATRIX / entry["files"][".npz"]) as arrays:
        return {key: arrays[key] for key in arrays.files}


def load(entry, kind):
    """The model of ``entry`` read from its ``kind`` file.

    A weights file holds no configuration: the model is rebuilt from Keras's
    configuration, compiled as Keras compiled it, and then reads weights and
    optimizer state from the file.
    """
    path = MATRIX / entry["files"][kind]
    if kind != ".weights.h5":
        return load_model(path)
    model = Sequential.from_config(entry["config"])
    model.compile(optimizer=optimizers.deserialize(entry["optimizer"]), loss=entry["loss"],
                  metrics=entry["metrics"])
    model.load_weights(path)
    return model


def test_the_files_come_from_keras_3():
    assert INDEX["versions"]["keras"] == "3.15.1"
    assert INDEX["versions"]["backend"] == "torch"
    for entry in MODELS.values():
        for kind in (*KINDS, ".npz"):
            assert (MATRIX / entry["files"][kind]).is_file()


def test_the_matrix_covers_every_layer_optimizer_and_activation():
    layers_used = {name for entry in MODELS.values() for name in entry["layers"]}
    layer_registry = get_registry("layer")
    layer_classes = {layer_registry.lookup(n).__name__ for n in layer_registry.names()} - {"InputLayer"}
    assert layer_classes <= layers_used

    optimizer_registry = get_registry("optimizer")
    assert {optimizer_registry.lookup(n).__name__ for n in optimizer_registry.names()} <= {
        entry["optimizer"]["class_name"] for entry in MODELS.values()}
    configs = [entry["optimizer"]["config"] for entry in MODELS.values()]
    assert any(c.get("nesterov") for c in configs) and any(c.get("amsgrad") for c in configs)
    assert any(c.get("momentum") and not c.get("nesterov") and "rho" not in c for c in configs)
    assert any(c.get("centered") for c in configs) and any(c.get("momentum") and "rho" in c for c in configs)
    assert any(isinstance(c["learning_rate"], dict) for c in configs)

    layer_configs = [layer["config"] for entry in MODELS.values() for layer in entry["config"]["layers"]]
    used = {activations.get(c["activation"]) for c in layer_configs if "activation" in c}
    assert {activations.get(name) for name in get_registry("activation").names()} <= used
    dense = [c for c in layer_configs if "units" in c]
    assert any(not c["use_bias"] for c in dense)
    assert any(c.get("kernel_regularizer") for c in dense) and any(c.get("bias_regularizer") for c in dense)
    assert any(c.get("activity_regularizer") for c in dense)
    assert any(c.get("kernel_constraint") for c in dense) and any(c.get("bias_constraint") for c in dense)
    assert "mse" in {entry["loss"] for entry in MODELS.values()}


def test_keras_writes_the_mse_alias_as_given():
    # Keras 3.15.1 cannot compile from this .h5 file itself; minikeras can.
    entry = MODELS["sgd_mse_alias"]
    with h5py.File(MATRIX / entry["files"][".h5"], "r") as f:
        assert json.loads(f.attrs["training_config"])["loss"] == "mse"
    with zipfile.ZipFile(MATRIX / entry["files"][".keras"]) as archive:
        assert json.loads(archive.read("config.json"))["compile_config"]["loss"] == "mse"
    assert type(load(entry, ".h5").loss) is losses.MeanSquaredError


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_predicts_what_keras_predicted(name, kind):
    entry = MODELS[name]
    arrays = data(entry)
    model = load(entry, kind)
    assert [type(layer).__name__ for layer in model.layers] == entry["layers"]
    pred = model.predict(arrays["x"], verbose=0)
    assert pred.dtype == np.float32
    np.testing.assert_allclose(pred, arrays["pred"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiles_as_keras_compiled(name, kind):
    entry = MODELS[name]
    model = load(entry, kind)
    assert model.compiled
    assert type(model.loss) is type(losses.get(entry["loss"]))
    assert model.get_compile_config()["metrics"] == entry["metrics"]
    assert type(model.optimizer).__name__ == entry["optimizer"]["class_name"]
    assert model.optimizer.get_config() == entry["optimizer"]["config"]

    arrays = data(entry)
    logs = model.evaluate(arrays["x"], arrays["y"], batch_size=entry["batch_size"], verbose=0, return_dict=True)
    assert set(logs) == set(entry["evaluate"])
    for key, expected in entry["evaluate"].items():
        assert logs[key] == pytest.approx(expected, rel=RTOL, abs=ATOL), key


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_restores_the_optimizer_state(name, kind):
    entry = MODELS[name]
    optimizer = load(entry, kind).optimizer
    assert optimizer.built
    assert optimizer.iterations == entry["iterations"] > 0
    # Same variables in the same order as Keras's, named without the optimizer's prefix.
    assert optimizer.variable_names == [path.split("/", 1)[-1] for path in entry["optimizer_variables"]]
    assert len(optimizer.get_weights()) == len(entry["optimizer_variables"])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_three_files_hold_the_same_state(name):
    entry = MODELS[name]
    models = [load(entry, kind) for kind in KINDS]
    first = models[0]
    for other in models[1:]:
        for a, b in zip(first.get_weights(), other.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(first.optimizer.get_weights(), other.optimizer.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", CONTINUED)
def test_training_continues_where_keras_stopped(name, kind):
    entry = MODELS[name]
    arrays = data(entry)
    model = load(entry, kind)
    history = model.fit(arrays["x"], arrays["y"], epochs=1, shuffle=False, batch_size=entry["batch_size"],
                        verbose=0)
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred_continued"],
                               rtol=RTOL, atol=ATOL)
    assert model.optimizer.iterations == 2 * entry["iterations"]
    for key, expected in entry["continued"].items():
        assert history.history[key][-1] == pytest.approx(expected, rel=RTOL, abs=ATOL), key
