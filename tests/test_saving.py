"""HDF5 model files: layout, exact round trips, resuming training, Keras 2 files."""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from minikeras import optimizers, utils
from minikeras.layers import Activation, Dense, Input
from minikeras.models import Sequential, load_model

FIXTURES = Path(__file__).parent / "fixtures"


def trained_model(momentum=0.9, epochs=2):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = utils.to_categorical(rng.integers(0, 3, size=64), 3)
    model = Sequential([Input((5,)), Dense(8, activation="relu"), Dense(3), Activation("softmax")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=momentum, nesterov=True),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return model, x, y


def test_layout_is_keras_legacy_h5(tmp_path):
    model, _, _ = trained_model()
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "r") as f:
        assert set(f.attrs) >= {"keras_version", "backend", "model_config", "training_config"}
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert [e["class_name"] for e in config["config"]["layers"]] == ["InputLayer", "Dense", "Dense", "Activation"]
        assert all("module" not in e for e in config["config"]["layers"])
        training = json.loads(f.attrs["training_config"])
        assert training["loss"] == "categorical_crossentropy" and training["metrics"] == ["accuracy"]
        assert training["optimizer_config"]["class_name"] == "SGD"
        assert training["optimizer_config"]["config"]["momentum"] == 0.9
        weights = f["model_weights"]
        assert [n.decode() for n in weights.attrs["layer_names"]] == ["dense", "dense_1", "activation"]
        assert [n.decode() for n in weights["dense"].attrs["weight_names"]] == [
            "sequential/dense/kernel", "sequential/dense/bias"]
        assert weights["dense"]["sequential/dense/kernel"].shape == (5, 8)
        assert weights["dense"]["sequential/dense/kernel"].dtype == np.float32
        assert len(weights["activation"].attrs["weight_names"]) == 0
        # Fixed-length bytes, so readers that call .decode() on every string work.
        assert weights.attrs["layer_names"].dtype.kind == "S"
        assert isinstance(f.attrs["model_config"], bytes)
        opt_names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert opt_names[:2] == ["SGD/iteration", "SGD/learning_rate"]
        assert opt_names[2] == "SGD/sequential_dense_kernel_momentum"
        assert int(f["optimizer_weights"]["SGD/iteration"][()]) == 8


def test_round_trip_is_bit_exact(tmp_path):
    model, x, _ = trained_model()
    path = tmp_path / "m.h5"
    model.save(path)
    restored = load_model(path)
    assert restored.get_config() == model.get_config()
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert restored.optimizer.iterations == model.optimizer.iterations
    for a, b in zip(restored.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_file_round_trips_byte_for_byte_through_load_and_save(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "a.h5")
    load_model(tmp_path / "a.h5").save(tmp_path / "b.h5")

    def dump(path):
        out = {}
        with h5py.File(path, "r") as f:
            out["/"] = {k: f.attrs[k] for k in sorted(f.attrs) if k != "minikeras_version"}

            def visit(name, obj):
                out[name] = ({k: np.asarray(v).tolist() for k, v in obj.attrs.items()},
                             obj[()].tobytes() if isinstance(obj, h5py.Dataset) else None)

            f.visititems(visit)
        return out

    assert dump(tmp_path / "a.h5") == dump(tmp_path / "b.h5")


def test_loaded_model_keeps_training_like_the_original(tmp_path):
    utils.set_random_seed(5)
    model, x, y = trained_model()
    model.save(tmp_path / "m.h5")
    restored = load_model(tmp_path / "m.h5")
    utils.set_random_seed(11)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    utils.set_random_seed(11)
    restored.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    script = f"""
import sys, numpy as np
sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
from minikeras import utils, optimizers
from minikeras.layers import Dense, Input, Activation
from minikeras.models import Sequential, load_model
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 5)).astype("float32")
y = utils.to_categorical(rng.integers(0, 3, size=64), 3)
mode, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "first":
    utils.set_random_seed(3)
    model = Sequential([Input((5,)), Dense(8, activation="relu"), Dense(3), Activation("softmax")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9), loss="categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    model.save(path)
else:
    model = load_model(path)
    utils.set_random_seed(4)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    np.save(out, np.concatenate([w.ravel() for w in model.get_weights()]))
"""
    path = str(tmp_path / "m.h5")
    subprocess.run([sys.executable, "-c", script, "first", path, "-"], check=True)
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-c", script, "second", path, str(tmp_path / f"{run}.npy")], check=True)
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


def test_save_weights_and_load_weights(tmp_path):
    model, x, _ = trained_model()
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert "model_config" not in f.attrs and "layer_names" in f.attrs
    fresh = Sequential([Input((5,)), Dense(8, activation="relu"), Dense(3), Activation("softmax")])
    fresh.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    other = Sequential([Input((5,)), Dense(8, activation="relu"), Dense(3), Activation("softmax")])
    model.save(tmp_path / "full.h5")
    other.load_weights(tmp_path / "full.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_uncompiled_model_saves_and_loads_with_a_warning(tmp_path):
    model = Sequential([Input((2,)), Dense(1)])
    model.save(tmp_path / "m.h5")
    with pytest.warns(UserWarning, match="not compiled"):
        restored = load_model(tmp_path / "m.h5")
    assert not restored.compiled
    assert not load_model(tmp_path / "m.h5", compile=False).compiled


def test_overwrite_false_refuses_existing_file(tmp_path):
    model = Sequential([Input((2,)), Dense(1)])
    model.save(tmp_path / "m.h5")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "m.h5", overwrite=False)


def test_reads_a_tf_keras_file():
    data = np.load(FIXTURES / "slide_sgd_nesterov.npz")
    model = load_model(FIXTURES / "slide_sgd_nesterov.h5", compile=False)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Activation", "Dense", "Activation"]
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["pred"], rtol=1e-5, atol=1e-6)


def test_reads_a_tf_keras_weights_file():
    data = np.load(FIXTURES / "slide_sgd_nesterov.npz")
    model = Sequential([Input((100,)), Dense(64), Activation("relu"), Dense(10), Activation("softmax")])
    model.load_weights(FIXTURES / "slide_sgd_nesterov.weights-legacy.h5")
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["pred"], rtol=1e-5, atol=1e-6)
