"""Legacy ``.h5`` files of every Keras: Keras 1, Keras 2.0-2.2, tf.keras 2.10, tf-keras 2.21.

``fixtures/tf_keras_2_21/`` holds files written by real tf-keras 2.21 (see its README).
``fixtures/legacy/`` holds the same models rewritten to the documented layouts of Keras
1.2, Keras 2.0-2.2 and tf.keras 2.10 by ``make_legacy_layout_fixtures.py`` (h5py and
numpy only); ``fixtures/keras3/legacy_h5.json`` holds what real Keras 3 predicts after
continuing training from the tf-keras optimizer state (``make_legacy_h5.py``). Keras
is not needed to run these tests.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from minikeras import losses, optimizers
from minikeras.layers import Activation, BatchNormalization, Dense, Dropout, Input, LeakyReLU
from minikeras.models import Sequential, load_model
from minikeras.saving import ModelFileError, legacy_config, legacy_h5, legacy_optimizer

FIXTURES = Path(__file__).parent / "fixtures"
TF_KERAS = FIXTURES / "tf_keras_2_21"
LEGACY = FIXTURES / "legacy"
TF_INDEX = json.loads((TF_KERAS / "index.json").read_text())["models"]
LAYOUTS = json.loads((LEGACY / "index.json").read_text())
CONTINUED = json.loads((FIXTURES / "keras3" / "legacy_h5.json").read_text())
RTOL, ATOL = 1e-5, 1e-6

MODEL_FILES = sorted(name for name in LAYOUTS if not name.endswith(".weights-legacy.h5"))
SLOT_NAMES = {"momentum", "velocity", "velocity_hat", "norm", "accumulator", "accumulated_grad",
              "accumulated_delta_var", "average_gradient"}
# tf-keras 2.21's slot names -> minikeras's (Keras 3's), per optimizer.
TF_SLOTS = {"SGD": {"m": "momentum"}, "Adam": {"m": "momentum", "v": "velocity"},
            "Adamax": {"m": "momentum", "u": "norm"}, "RMSprop": {"velocity": "velocity"},
            "Adagrad": {"accumulator": "accumulator"}}


def data(source):
    with np.load(TF_KERAS / f"{source}.npz") as arrays:
        return {key: arrays[key] for key in arrays.files}


def copy(path, tmp_path, name=None):
    target = tmp_path / (name or path.name)
    shutil.copyfile(path, target)
    return target


def edit_json_attr(path, attr, edit, group="/"):
    with h5py.File(path, "r+") as f:
        value = f[group].attrs[attr]
        config = json.loads(value.decode() if isinstance(value, bytes) else value)
        edit(config)
        f[group].attrs[attr] = np.bytes_(json.dumps(config).encode())


def slot_state(model):
    """``(step count, {(index of trained weight, slot name): array})`` of a model's optimizer."""
    optimizer = model.optimizer
    values = dict(zip(optimizer.variable_names, optimizer.get_weights()))
    slots = {}
    for i, var in enumerate(model.trainable_weights):
        stem = var.path.replace("/", "_") + "_"
        for name, value in values.items():
            if name.startswith(stem) and name[len(stem):] in SLOT_NAMES:
                slots[(i, name[len(stem):])] = value
    return int(values["iteration"]), slots


def tf_keras_slots(source):
    """The optimizer state tf-keras 2.21 saved, keyed like :func:`slot_state`."""
    model = load_model(TF_KERAS / f"{source}.h5", compile=False)
    order = {var.path.split("/", 1)[1]: i for i, var in enumerate(model.trainable_weights)}
    kind = TF_INDEX[source]["compile"]["optimizer"]
    kind = {"sgd": "SGD", "adam": "Adam", "adamax": "Adamax", "rmsprop": "RMSprop"}.get(kind, kind)
    slots = {}
    with h5py.File(TF_KERAS / f"{source}.h5", "r") as f:
        group = f["optimizer_weights"]
        names = list(group.attrs["weight_names"])
        for name in names[1:]:
            _, slot, layer, weight = name.split(":")[0].split("/")
            slots[(order[f"{layer}/{weight}"], TF_SLOTS[kind][slot])] = group[name][()]
        step = int(group[names[0]][()])
    return step, slots


# -- files written by tf-keras 2.21 ---------------------------------------------------------
@pytest.mark.parametrize("source", sorted(TF_INDEX))
def test_a_tf_keras_file_predicts_what_keras_predicted(source):
    arrays = data(source)
    model = load_model(TF_KERAS / f"{source}.h5")
    assert [type(layer).__name__ for layer in model.layers] == TF_INDEX[source]["layers"]
    pred = model.predict(arrays["x"], verbose=0)
    assert pred.dtype == np.float32
    np.testing.assert_allclose(pred, arrays["pred"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("source", sorted(TF_INDEX))
def test_a_tf_keras_weights_file_loads_into_a_fresh_architecture(source):
    arrays = data(source)
    config = load_model(TF_KERAS / f"{source}.h5", compile=False).get_config()
    fresh = Sequential.from_config(json.loads(json.dumps(config)))
    assert not np.allclose(fresh.predict(arrays["x"], verbose=0), arrays["pred"], atol=1e-3)
    fresh.load_weights(TF_KERAS / f"{source}.weights-legacy.h5")
    np.testing.assert_allclose(fresh.predict(arrays["x"], verbose=0), arrays["pred"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("source", sorted(TF_INDEX))
def test_a_tf_keras_file_compiles_as_keras_compiled(source):
    model = load_model(TF_KERAS / f"{source}.h5")
    expected = TF_INDEX[source]["compile"]
    assert type(model.loss) is type(losses.get(expected["loss"]))
    assert model.get_compile_config()["metrics"] == expected["metrics"]
    assert type(model.optimizer).__name__.lower() == expected["optimizer"].lower()
    with h5py.File(TF_KERAS / f"{source}.h5", "r") as f:
        stored = json.loads(f.attrs["training_config"])["optimizer_config"]["config"]
    config = model.optimizer.get_config()
    for key, value in stored.items():
        if key in ("learning_rate", "rho", "momentum", "epsilon", "beta_1", "beta_2", "nesterov", "centered",
                   "amsgrad", "initial_accumulator_value", "name"):
            assert config[key] == pytest.approx(value), key
    json.dumps(model.get_compile_config())  # what was read is a configuration minikeras can write again


@pytest.mark.parametrize("source", sorted(TF_INDEX))
def test_a_tf_keras_optimizer_state_lands_in_keras_3_slots(source):
    step, slots = slot_state(load_model(TF_KERAS / f"{source}.h5"))
    expected_step, expected = tf_keras_slots(source)
    assert step == expected_step == 8
    if TF_INDEX[source]["compile"]["optimizer"] == "sgd" and source.startswith("reshape"):
        assert slots == {}  # momentum 0: Keras 3 keeps no momenta; tf-keras's unused ones are dropped
        return
    assert set(slots) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(slots[key], value)


def test_tf_keras_rmsprop_with_an_inert_ema_setting_loads():
    # tf-keras's RMSprop writes ema_overwrite_frequency=100 even with use_ema=False.
    with h5py.File(TF_KERAS / "dropout_bn_rmsprop_sparse.h5", "r") as f:
        stored = json.loads(f.attrs["training_config"])["optimizer_config"]["config"]
    assert stored["use_ema"] is False and stored["ema_overwrite_frequency"] == 100
    model = load_model(TF_KERAS / "dropout_bn_rmsprop_sparse.h5")
    assert model.optimizer.get_config()["ema_overwrite_frequency"] is None


# -- the documented layouts of Keras 1.2, Keras 2.0-2.2 and tf.keras 2.10 --------------------
def test_the_layout_fixtures_are_the_documented_ones():
    with h5py.File(LEGACY / "keras1_layout_mlp_adam.h5", "r") as f:
        assert f.attrs["keras_version"] == b"1.2.2" and "backend" not in f.attrs
        config = json.loads(f.attrs["model_config"])
        assert isinstance(config["config"], list) and config["config"][0]["config"]["output_dim"] == 16
        names = f["model_weights"].attrs["layer_names"]
        assert names.dtype.kind == "S" and list(names) == [b"dense_1", b"dense_2", b"dense_3"]
        assert list(f["model_weights/dense_1"].attrs["weight_names"]) == [b"dense_1_W", b"dense_1_b"]
        assert list(f["optimizer_weights"].attrs["weight_names"])[:2] == [b"param_0", b"param_1"]
    with h5py.File(LEGACY / "keras2_2_layout_mlp_adam.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])["config"]
        assert "InputLayer" not in [e["class_name"] for e in config["layers"]]
        assert config["layers"][0]["config"]["batch_input_shape"] == [None, 20]
        names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert names[0] == "Adam/iterations:0" and names[1] == "training/Adam/Variable:0"
        assert len(names) == 1 + 3 * 6 and f["optimizer_weights"][names[-1]].shape == (1,)
    with h5py.File(LEGACY / "tf_keras_2_10_layout_mlp_adam.h5", "r") as f:
        assert isinstance(f.attrs["model_config"], str) and f.attrs["keras_version"] == "2.10.0"
        names = list(f["optimizer_weights"].attrs["weight_names"])
        assert names[:3] == ["Adam/iter:0", "Adam/dense/kernel/m:0", "Adam/dense/bias/m:0"]


@pytest.mark.parametrize("name", MODEL_FILES)
def test_a_layout_file_predicts_what_keras_predicted(name):
    source = LAYOUTS[name]["source"]
    arrays = data(source)
    model = load_model(LEGACY / name)
    assert [type(layer).__name__ for layer in model.layers] == TF_INDEX[source]["layers"]
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", MODEL_FILES)
def test_a_layout_file_compiles_like_its_source(name):
    model = load_model(LEGACY / name)
    source = load_model(TF_KERAS / f"{LAYOUTS[name]['source']}.h5")
    assert type(model.loss) is type(source.loss)
    assert type(model.optimizer) is type(source.optimizer)
    assert model.optimizer.learning_rate == source.optimizer.learning_rate
    ours, theirs = model.optimizer.get_config(), source.optimizer.get_config()
    for key in ("momentum", "nesterov", "rho", "beta_1", "beta_2", "epsilon", "amsgrad"):
        if key in theirs:
            assert ours[key] == pytest.approx(theirs[key]), key
    metrics = model.get_compile_config()["metrics"]
    assert metrics == source.get_compile_config()["metrics"]


@pytest.mark.parametrize("name", MODEL_FILES)
def test_a_layout_file_restores_the_optimizer_state_into_the_right_slots(name):
    step, slots = slot_state(load_model(LEGACY / name))
    expected_step, expected = tf_keras_slots(LAYOUTS[name]["source"])
    kind = type(load_model(LEGACY / name).optimizer).__name__
    stores_step = not (LAYOUTS[name]["writer"].startswith("Keras ") and kind in ("RMSprop", "Adagrad"))
    assert step == (expected_step if stores_step else 0)
    if not slots and kind == "SGD":
        assert "reshape" in name  # SGD without momentum keeps no state
        return
    assert set(slots) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(slots[key], value)


CONTINUING = sorted(
    [f"tf_keras_2_21/{source}.h5" for source in CONTINUED["models"]]
    + [f"legacy/{name}" for name in MODEL_FILES if LAYOUTS[name]["source"] in CONTINUED["models"]]
)


@pytest.mark.parametrize("relative", CONTINUING)
def test_training_continues_as_keras_3_continues_from_the_same_state(relative):
    path = FIXTURES / relative
    source = path.stem if relative.startswith("tf_keras") else LAYOUTS[path.name]["source"]
    expected = CONTINUED["models"][source]
    arrays = data(source)
    model = load_model(path)
    start = model.optimizer.iterations
    batch = CONTINUED["batch_size"]
    for step in range(CONTINUED["steps"]):
        model.train_on_batch(arrays["x"][step * batch:(step + 1) * batch], arrays["y"][step * batch:(step + 1) * batch])
    assert model.optimizer.iterations == start + CONTINUED["steps"]
    pred = model.predict(arrays["x"][:CONTINUED["shown"]], verbose=0)
    np.testing.assert_allclose(pred, np.array(expected["pred"], np.float32), rtol=RTOL, atol=ATOL)


def test_continuing_from_a_fresh_state_would_land_elsewhere():
    # The comparison above can tell a restored state from a fresh one.
    arrays = data("mlp_adam_categorical")
    model = load_model(LEGACY / "keras2_2_layout_mlp_adam.h5")
    model.optimizer.build(model.trainable_weights)
    model.optimizer.iterations = 0
    for step in range(2):
        model.train_on_batch(arrays["x"][step * 16:(step + 1) * 16], arrays["y"][step * 16:(step + 1) * 16])
    expected = np.array(CONTINUED["models"]["mlp_adam_categorical"]["pred"], np.float32)
    assert np.abs(model.predict(arrays["x"][:8], verbose=0) - expected).max() > 100 * ATOL


def test_fit_continues_from_a_keras_1_file():
    arrays = data("dropout_bn_rmsprop_sparse")
    model = load_model(LEGACY / "keras1_layout_bn_dropout_rmsprop.h5")
    before = model.evaluate(arrays["x"], arrays["y"], verbose=0)
    history = model.fit(arrays["x"], arrays["y"], epochs=3, batch_size=16, verbose=0)
    assert model.optimizer.iterations == 12
    assert set(history.history) == {"accuracy", "loss"}
    assert model.evaluate(arrays["x"], arrays["y"], verbose=0) < before


def test_a_keras_1_weights_file_loads_into_a_fresh_architecture():
    arrays = data("mlp_adam_categorical")
    model = Sequential([Input((20,)), Dense(16, activation="relu"), Dense(8, activation="tanh"),
                        Dense(5, activation="softmax")])
    model.load_weights(LEGACY / "keras1_layout_mlp_adam.weights-legacy.h5")
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred"], rtol=RTOL, atol=ATOL)


def test_a_loaded_legacy_model_saves_and_reloads_exactly(tmp_path):
    model = load_model(LEGACY / "keras1_layout_activations_adagrad.h5")
    model.save(tmp_path / "again.h5")
    again = load_model(tmp_path / "again.h5")
    assert again.get_config() == model.get_config()
    for a, b in zip(again.get_weights() + again.optimizer.get_weights(),
                    model.get_weights() + model.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- telling the writer apart -----------------------------------------------------------------
@pytest.mark.parametrize("version, family", [
    ("1.2.2", "keras1"), ("1.1.0", "keras1"), ("2.0.8", "keras2"), ("2.1.6", "keras2"), ("2.2.4", "keras2"),
    ("2.3.1", "keras2"), ("2.2.4-tf", "tf.keras"), ("2.4.0", "tf.keras"), ("2.10.0", "tf.keras"),
    ("2.11.0", "tf-keras"), ("2.21.0", "tf-keras"), ("3.15.1", "keras3"),
])
def test_the_writer_is_told_by_its_version(version, family):
    assert legacy_config.detect_writer(version).family == family


@pytest.mark.parametrize("config, family", [
    ({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"output_dim": 2}}]}, "keras1"),
    ({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 2}}]}},
     "keras2"),
    ({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2]}}]}}, "tf.keras"),
    ({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 2]}}]}}, "keras3"),
])
def test_without_a_version_the_writer_is_told_by_its_configuration(config, family):
    assert legacy_config.detect_writer(None, config).family == family


# -- translating configurations ------------------------------------------------------------------
def keras1_model(*layers, version="1.2.2"):
    return legacy_config.sequential_config({"class_name": "Sequential", "config": list(layers)},
                                           legacy_config.detect_writer(version), "m.h5")


def test_a_keras_1_dense_becomes_keras_3_without_warnings():
    config = keras1_model({"class_name": "Dense", "config": {
        "name": "dense_1", "trainable": True, "output_dim": 4, "input_dim": 3, "init": "he_normal",
        "activation": "relu", "bias": False, "batch_input_shape": [None, 3], "input_dtype": "float32",
        "W_regularizer": {"name": "WeightRegularizer", "l1": 0.0, "l2": 0.01},
        "b_regularizer": None,
        "activity_regularizer": {"name": "ActivityRegularizer", "l1": 0.5, "l2": 0.0},
        "W_constraint": {"name": "MaxNorm", "m": 3.0, "axis": 0}, "b_constraint": None}})
    assert json.loads(json.dumps(config)) == config
    model = Sequential.from_config(config)  # warnings are errors in this suite
    dense = model.layers[0]
    assert model.input_shape == (None, 3) and dense.units == 4 and not dense.use_bias
    assert dense.kernel_regularizer.get_config() == {"l1": 0.0, "l2": 0.01}
    assert dense.activity_regularizer.get_config() == {"l1": 0.5, "l2": 0.0}
    assert dense.kernel_constraint.get_config() == {"max_value": 3.0, "axis": 0}
    init = dense.kernel_initializer.get_config()
    assert (init["scale"], init["mode"], init["distribution"]) == (2.0, "fan_in", "untruncated_normal")
    assert Sequential.from_config(json.loads(json.dumps(model.get_config()))).get_config() == model.get_config()


def test_keras_1_layers_with_renamed_arguments():
    config = keras1_model(
        {"class_name": "Dense", "config": {"name": "d", "output_dim": 4, "input_dim": 3, "init": "uniform",
                                           "activation": "linear", "batch_input_shape": [None, 3]}},
        {"class_name": "Dropout", "config": {"name": "drop", "p": 0.25}},
        {"class_name": "BatchNormalization", "config": {"name": "bn", "mode": 0, "epsilon": 0.01, "axis": -1,
                                                        "momentum": 0.9, "beta_init": "zero", "gamma_init": "one",
                                                        "gamma_regularizer": None, "beta_regularizer": None}},
        {"class_name": "LeakyReLU", "config": {"name": "leaky", "alpha": 0.2}},
        {"class_name": "PReLU", "config": {"name": "prelu", "init": "zero"}},
        {"class_name": "ELU", "config": {"name": "elu", "alpha": 0.5}},
        {"class_name": "Reshape", "config": {"name": "reshape", "target_shape": [2, 2]}},
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "Activation", "config": {"name": "act", "activation": "softmax"}},
    )
    model = Sequential.from_config(config)
    drop, bn, leaky, prelu, elu = model.layers[1:6]
    assert drop.rate == 0.25 and leaky.negative_slope == pytest.approx(0.2) and elu.alpha == 0.5
    assert bn.epsilon == 0.01 and bn.momentum == 0.9
    assert model.layers[0].kernel_initializer.get_config()["minval"] == -0.05
    assert prelu.alpha_initializer.get_config() == {}
    assert model.output_shape == (None, 4)


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", np.sqrt(2 / (400 + 300))), ("he_normal", np.sqrt(2 / 400)), ("normal", 0.05)])
def test_keras_1_normal_initializers_are_untruncated(name, std):
    config = keras1_model({"class_name": "Dense", "config": {"name": "d", "output_dim": 300, "input_dim": 400,
                                                             "init": name, "batch_input_shape": [None, 400]}})
    kernel = Sequential.from_config(config).layers[0].kernel.value
    assert kernel.std() == pytest.approx(std, rel=0.02)
    assert np.abs(kernel).max() > 3 * std  # Keras 1 drew from an untruncated normal


def test_keras_2_0_variance_scaling_normal_keeps_its_narrower_spread():
    # Keras 2.0/2.1 truncated N(0, sqrt(scale / fan_in)) at two standard deviations without rescaling.
    entry = {"class_name": "Dense", "config": {"name": "d", "units": 300, "batch_input_shape": [None, 400],
             "kernel_initializer": {"class_name": "VarianceScaling", "config": {
                 "scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": None}}}}
    old = legacy_config.sequential_config({"class_name": "Sequential", "config": [entry]},
                                          legacy_config.detect_writer("2.0.8"), "m.h5")
    new = legacy_config.sequential_config({"class_name": "Sequential", "config": [entry]},
                                          legacy_config.detect_writer("2.2.4"), "m.h5")
    sigma = np.sqrt(2.0 / 400)
    old_kernel = Sequential.from_config(old).layers[0].kernel.value
    new_kernel = Sequential.from_config(new).layers[0].kernel.value
    assert np.abs(old_kernel).max() <= 2 * sigma * 1.0001
    assert old_kernel.std() == pytest.approx(0.8796 * sigma, rel=0.02)
    assert new_kernel.std() == pytest.approx(sigma, rel=0.02)


def test_a_keras_2_leaky_relu_alpha_is_read_as_negative_slope():
    config = legacy_config.sequential_config({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 3],
                                           "dtype": "float32"}},
        {"class_name": "LeakyReLU", "config": {"name": "l", "alpha": 0.1, "dtype": "float32"}}]}},
        legacy_config.detect_writer("2.2.4"), "m.h5")
    model = Sequential.from_config(config)
    assert isinstance(model.layers[1], LeakyReLU) and model.layers[1].negative_slope == pytest.approx(0.1)


@pytest.mark.parametrize("entry, message", [
    ({"class_name": "BatchNormalization", "config": {"name": "bn", "mode": 1}},
     r"layer 'bn' \(BatchNormalization\) in 'm\.h5' \(written by Keras 1\.2\.2\) uses mode=1 \(sample-wise "
     r"normalization\)\. Only mode=0"),
    ({"class_name": "Dense", "config": {"name": "d", "output_dim": 2, "activation": "hard_sigmoid"}},
     r"uses the 'hard_sigmoid' activation, which Keras 1 and 2 computed as clip\(0\.2 \* x \+ 0\.5, 0, 1\)"),
    ({"class_name": "Merge", "config": {"name": "merge_1", "mode": "concat"}},
     r"layer 'merge_1' \(Merge\).* is a nested model or a Merge layer; minikeras reads a plain stack"),
    ({"class_name": "Dense", "config": {"name": "d", "output_dim": 2,
                                        "W_regularizer": {"name": "EigenvalueRegularizer", "k": 1}}},
     r"uses the Keras 1 regularizer 'EigenvalueRegularizer'"),
    ({"class_name": "Dense", "config": {"name": "d", "output_dim": 2, "init": "lecun_normal"}},
     r"uses the initializer 'lecun_normal', which is not one of Keras 1's"),
    ({"class_name": "Dense", "config": {"name": "d", "output_dim": 2, "W_constraint": {"name": "Custom"}}},
     r"uses the Keras 1 constraint 'Custom'; minikeras reads MaxNorm, NonNeg and UnitNorm"),
])
def test_keras_1_options_minikeras_cannot_reproduce_are_refused(entry, message):
    first = {"class_name": "Dense", "config": {"name": "in", "output_dim": 3, "input_dim": 3,
                                               "batch_input_shape": [None, 3]}}
    with pytest.raises(ModelFileError, match=message):
        keras1_model(first, entry)


def test_batch_normalization_from_before_keras_1_2_is_refused():
    with pytest.raises(ModelFileError, match=r"\(written by Keras 1\.1\.0\) cannot be read: before 1\.2, "
                                             r"Keras's BatchNormalization stored the running standard deviation"):
        keras1_model({"class_name": "BatchNormalization", "config": {"name": "bn", "mode": 0,
                                                                     "batch_input_shape": [None, 3]}},
                     version="1.1.0")


def test_an_unknown_keras_1_layer_or_argument_is_named(tmp_path):
    path = copy(LEGACY / "keras1_layout_mlp_adam.h5", tmp_path)
    edit_json_attr(path, "model_config", lambda c: c["config"][1].update(class_name="MaxoutDense"))
    with pytest.raises(ValueError, match=r"Unknown layer 'MaxoutDense'"):
        load_model(path)
    path = copy(LEGACY / "keras1_layout_mlp_adam.h5", tmp_path, "arg.h5")
    edit_json_attr(path, "model_config", lambda c: c["config"][1]["config"].update(W_learning_rate_multiplier=2))
    with pytest.raises(TypeError, match=r"Dense received unknown keyword argument\(s\): `W_learning_rate_multiplier`"):
        load_model(path)


def test_a_model_that_is_not_sequential_is_refused(tmp_path):
    path = copy(LEGACY / "keras2_2_layout_mlp_adam.h5", tmp_path)
    edit_json_attr(path, "model_config", lambda c: c.update(class_name="Model"))
    with pytest.raises(ModelFileError, match=r"holds a 'Model' model; minikeras reads Sequential models"):
        load_model(path)


# -- translating training configurations -----------------------------------------------------------
def translate(optimizer, version="2.2.4", **training):
    training = {"loss": "mse", "metrics": ["acc"], "optimizer_config": optimizer, **training}
    return legacy_config.training_config(training, legacy_config.detect_writer(version), "m.h5")


def test_keras_2_decay_becomes_an_inverse_time_decay_that_continues_at_the_saved_step(tmp_path):
    path = copy(LEGACY / "keras2_2_layout_mlp_adam.h5", tmp_path)
    edit_json_attr(path, "training_config", lambda c: c["optimizer_config"]["config"].update(decay=0.01))
    arrays = data("mlp_adam_categorical")
    model = load_model(path)
    lr = np.float32(0.001)
    assert model.optimizer.iterations == 8
    assert model.optimizer.learning_rate == pytest.approx(lr / (1 + 0.01 * 8), rel=1e-6)
    model.train_on_batch(arrays["x"][:16], arrays["y"][:16])
    assert model.optimizer.learning_rate == pytest.approx(lr / (1 + 0.01 * 9), rel=1e-6)
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "InverseTimeDecay"
    assert schedule["config"]["decay_steps"] == 1 and schedule["config"]["decay_rate"] == 0.01


@pytest.mark.parametrize("optimizer, version, expected", [
    ({"class_name": "SGD", "config": {"lr": 0.1, "momentum": 0.9, "decay": 0.0, "nesterov": True}}, "2.2.4",
     {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ({"class_name": "Adam", "config": {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": None,
                                       "decay": 0.0, "amsgrad": False}}, "2.1.6", {"epsilon": 1e-7}),
    ({"class_name": "SGD", "config": {"name": "SGD", "lr": 0.1, "clipnorm": 1.0}}, "1.2.2",
     {"global_clipnorm": 1.0, "clipnorm": None}),
    ({"class_name": "SGD", "config": {"name": "SGD", "learning_rate": 0.1, "clipnorm": 1.0}}, "2.10.0",
     {"clipnorm": 1.0, "global_clipnorm": None}),
    ({"class_name": "Adagrad", "config": {"name": "Adagrad", "lr": 0.01, "epsilon": 1e-8, "decay": 0.0}}, "1.2.2",
     {"initial_accumulator_value": 0.0, "epsilon": 1e-8}),
    ({"class_name": "Nadam", "config": {"lr": 0.002, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                        "schedule_decay": 0.004}}, "2.2.4", {"learning_rate": 0.002}),
    ({"class_name": "Nadam", "config": {"name": "Nadam", "learning_rate": 0.002, "decay": 0.004, "beta_1": 0.9,
                                        "beta_2": 0.999, "epsilon": 1e-7}}, "2.10.0", {"learning_rate": 0.002}),
    ({"class_name": "Custom>Adam", "config": {"name": "Adam", "learning_rate": 0.01, "use_ema": False,
                                              "ema_momentum": 0.99, "ema_overwrite_frequency": 5,
                                              "jit_compile": True, "is_legacy_optimizer": False}}, "2.21.0",
     {"learning_rate": 0.01, "name": "Adam"}),
    ({"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.01, "decay": 0.5,
                                       "is_legacy_optimizer": True}}, "2.13.0",
     {"learning_rate": {"class_name": "InverseTimeDecay"}}),
])
def test_old_optimizer_configs_become_keras_3_configs(optimizer, version, expected):
    config = translate(optimizer, version)
    built = optimizers.deserialize(config["optimizer"])  # no DeprecationWarning: they are errors here
    actual = built.get_config()
    for key, value in expected.items():
        if isinstance(value, dict):
            assert actual[key]["class_name"] == value["class_name"]
        elif isinstance(value, float):
            assert actual[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert actual[key] == value, key


@pytest.mark.parametrize("training, message", [
    ({"sample_weight_mode": "temporal"}, r"sample_weight_mode='temporal' \(per-timestep sample weights\)"),
    ({"loss_weights": [0.5]}, r"loss_weights=\[0\.5\], which scales the loss; minikeras has no loss weights"),
    ({"loss": {"a": "mse", "b": "mae"}}, r"gives `loss` for 2 outputs \(a, b\); a Sequential model has one"),
])
def test_training_options_minikeras_cannot_reproduce_are_refused(training, message):
    with pytest.raises(ModelFileError, match=message):
        translate({"class_name": "SGD", "config": {"lr": 0.1}}, **training)


def test_an_exponential_moving_average_of_the_weights_is_refused():
    with pytest.raises(ModelFileError, match=r"compiled with Adam\(use_ema=True, ema_momentum=0\.99, "
                                             r"ema_overwrite_frequency=None\), an exponential moving average"):
        translate({"class_name": "Custom>Adam", "config": {"learning_rate": 0.1, "use_ema": True,
                                                           "ema_momentum": 0.99, "ema_overwrite_frequency": None}},
                  "2.21.0")


def test_single_output_dictionaries_and_neutral_loss_weights_are_read():
    config = translate({"class_name": "SGD", "config": {"lr": 0.1}}, loss={"dense_3": "mse"},
                       metrics={"dense_3": ["acc"]}, loss_weights=[1.0], sample_weight_mode={"dense_3": None})
    assert config["loss"] == "mse" and config["metrics"] == ["acc"]


# -- optimizer state in every layout -------------------------------------------------------------
def trained(optimizer, steps=3):
    """A small model trained a few steps, and its data."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 24)]
    model = Sequential([Input((4,)), Dense(5, activation="tanh", name="hidden"),
                        BatchNormalization(name="norm"), Dense(3, activation="softmax", name="out")],
                       name="net")
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return model, x, y


def state_in_layout(model, layout):
    """The model's optimizer state as ``layout`` stored it: ``[(name, array)]``."""
    optimizer = model.optimizer
    kind = type(optimizer).__name__
    variables = model.trainable_weights
    values = dict(zip(optimizer.variable_names, optimizer.get_weights()))
    step = np.array(optimizer.iterations, np.int64)

    def slot(i, name):
        return values[f"{variables[i].path.replace('/', '_')}_{name}"]

    def key(i):
        return variables[i].path.split("/", 1)[1]

    n = len(variables)
    if layout == "tf-keras-2.11":
        names = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat", "norm": "u"}
        out = [("iteration:0", step)]
        for name in optimizer.variable_names[1 + (optimizer._lr_fn is None):]:
            for i in range(n):
                stem = variables[i].path.replace("/", "_") + "_"
                if name.startswith(stem) and name[len(stem):] in SLOT_NAMES:
                    s = name[len(stem):]
                    out.append((f"{kind}/{names.get(s, s)}/{key(i)}:0", values[name]))
        return out
    order = {"SGD": ["momentum"], "RMSprop": ["velocity", "momentum", "average_gradient"],
             "Adagrad": ["accumulator"], "Adadelta": ["accumulated_grad", "accumulated_delta_var"],
             "Adam": ["momentum", "velocity", "velocity_hat"], "Adamax": ["momentum", "norm"],
             "Nadam": ["momentum", "velocity"]}[kind]
    order = [s for s in order if (0, s) in {(0, n_) for n_ in optimizer._slot_names}]
    if layout == "tf.keras-2.10":
        names = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat", "norm": "v"}
        if kind == "SGD":
            names["momentum"] = "momentum"
        if kind == "RMSprop":
            names.update(velocity="rms", average_gradient="mg")
        if kind == "Adadelta":
            names.update(accumulated_grad="accum_grad", accumulated_delta_var="accum_var")
        out = [(f"{kind}/iter:0", step)]
        if kind == "Nadam":
            out.append(("Nadam/momentum_cache:0", np.array(0.5, np.float32)))
        for s in order:
            out += [(f"{kind}/{key(i)}/{names.get(s, s)}:0", slot(i, s)) for i in range(n)]
        return out
    # Keras 2.2: meaningless names; no step count for RMSprop, Adagrad and Adadelta.
    arrays = [] if kind in ("RMSprop", "Adagrad", "Adadelta") else [step]
    for s in order:
        arrays += [slot(i, s) for i in range(n)]
    if kind == "Adam" and not optimizer.amsgrad:
        arrays += [np.zeros(1, np.float32) for _ in range(n)]
    return [(f"training/{kind}/Variable_{i}:0", a) for i, a in enumerate(arrays)]


def write_with_state(model, path, layout):
    model.save(path)
    version = {"keras-2.2": "2.2.4", "tf.keras-2.10": "2.10.0", "tf-keras-2.11": "2.11.0"}[layout]
    with h5py.File(path, "r+") as f:
        f.attrs["keras_version"] = np.bytes_(version.encode())
        del f["optimizer_weights"]
        group = f.create_group("optimizer_weights")
        state = state_in_layout(model, layout)
        legacy_h5.write_str_list(group, "weight_names", [name for name, _ in state])
        for name, value in state:
            group.create_dataset(name, data=value)


OPTIMIZERS = {
    "sgd_momentum": lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9),
    "rmsprop_centered_momentum": lambda: optimizers.RMSprop(momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(learning_rate=0.05),
    "adadelta": lambda: optimizers.Adadelta(learning_rate=1.0),
    "adam": lambda: optimizers.Adam(learning_rate=0.01),
    "adam_amsgrad": lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
    "adamax": lambda: optimizers.Adamax(learning_rate=0.01),
    "nadam": lambda: optimizers.Nadam(learning_rate=0.01),
}


@pytest.mark.parametrize("layout", ["keras-2.2", "tf.keras-2.10", "tf-keras-2.11"])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_every_optimizer_state_round_trips_through_every_older_layout(tmp_path, kind, layout):
    if layout == "keras-2.2" and kind == "rmsprop_centered_momentum":
        pytest.skip("Keras 2.2's RMSprop had neither momentum nor centering")
    model, x, y = trained(OPTIMIZERS[kind]())
    write_with_state(model, tmp_path / "m.h5", layout)
    loaded = load_model(tmp_path / "m.h5")
    no_step = layout == "keras-2.2" and kind.startswith(("rmsprop", "adagrad", "adadelta"))
    assert loaded.optimizer.iterations == (0 if no_step else model.optimizer.iterations)
    for name, a, b in zip(model.optimizer.variable_names, model.optimizer.get_weights()[1:],
                          loaded.optimizer.get_weights()[1:]):
        np.testing.assert_array_equal(a, b, err_msg=name)  # Nadam's product too: recomputed from the step
    if not no_step:
        model.train_on_batch(x[:8], y[:8])
        loaded.train_on_batch(x[:8], y[:8])
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", ["tf.keras-2.10", "tf-keras-2.11"])
def test_named_state_is_matched_by_name_not_by_order(tmp_path, layout):
    model, _, _ = trained(optimizers.Adam(learning_rate=0.01, amsgrad=True))
    write_with_state(model, tmp_path / "m.h5", layout)
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        shuffled = names[:1] + names[1:][::-1]  # reversed: no order-based reading could restore this
        legacy_h5.write_str_list(f["optimizer_weights"], "weight_names", shuffled)
    loaded = load_model(tmp_path / "m.h5")
    for a, b in zip(model.optimizer.get_weights(), loaded.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_state_that_fits_no_layout_warns_and_starts_fresh(tmp_path):
    model, _, _ = trained(optimizers.Adam(learning_rate=0.01))
    write_with_state(model, tmp_path / "m.h5", "keras-2.2")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        del f["optimizer_weights"][names[-1]]
        legacy_h5.write_str_list(f["optimizer_weights"], "weight_names", names[:-1])
    with pytest.warns(UserWarning, match=r"The optimizer state in '.*m\.h5' could not be restored \(the file holds "
                                         r"18 arrays of shapes \(\), \(4, 5\), .*which fit none of the layouts Keras "
                                         r"2\.2\.4 used for Adam with 6 trained weights \(step \+ momentum x6 \+ "
                                         r"velocity x6;.*training continues with a fresh optimizer state"):
        loaded = load_model(tmp_path / "m.h5")
    assert loaded.optimizer.iterations == 0


def test_a_fractional_step_count_starts_fresh(tmp_path):
    model, _, _ = trained(optimizers.SGD(momentum=0.9))
    write_with_state(model, tmp_path / "m.h5", "tf-keras-2.11")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        del f["optimizer_weights/iteration:0"]
        f["optimizer_weights"].create_dataset("iteration:0", data=np.float32(2.5))
    with pytest.warns(UserWarning, match=r"the stored step count .*2\.5.* is not a non-negative whole number"):
        assert load_model(tmp_path / "m.h5").optimizer.iterations == 0


def test_names_that_do_not_match_the_model_fall_back_to_the_writers_order(tmp_path):
    # The same tf-keras state, restored into a model whose layers are named differently.
    model = Sequential([Input((20,)), Dense(16, activation="relu", name="a"), Dense(8, activation="tanh", name="b"),
                        Dense(5, activation="softmax", name="c")])
    model.compile(optimizer=optimizers.Adam(), loss="categorical_crossentropy")
    with h5py.File(TF_KERAS / "mlp_adam_categorical.h5", "r") as f:
        legacy_optimizer.restore(model, f["optimizer_weights"], legacy_config.detect_writer("2.21.0"), "the file")
    step, slots = slot_state(model)
    expected_step, expected = tf_keras_slots("mlp_adam_categorical")
    assert step == expected_step and set(slots) == set(expected)
    for k, value in expected.items():
        np.testing.assert_array_equal(slots[k], value)


def test_a_tf_keras_legacy_optimizer_is_read_by_its_names(tmp_path):
    # tf-keras >= 2.11 with tf.keras.optimizers.legacy.Adam: OptimizerV2 names, version 2.13.
    path = copy(LEGACY / "tf_keras_2_10_layout_mlp_adam.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["keras_version"] = "2.13.1"
    edit_json_attr(path, "training_config", lambda c: c["optimizer_config"]["config"].update(is_legacy_optimizer=True))
    step, slots = slot_state(load_model(path))
    expected_step, expected = tf_keras_slots("mlp_adam_categorical")
    assert step == expected_step and set(slots) == set(expected)


# -- by_name and skip_mismatch --------------------------------------------------------------------
def named_model(**units):
    layers = [Input((20,))] + [Dense(n, name=name) for name, n in units.items()]
    return Sequential(layers)


def test_by_name_loads_the_layers_the_file_names_and_keeps_the_others():
    # keras1_layout_mlp_adam.h5 holds dense_1 (20, 16), dense_2 (16, 8), dense_3 (8, 5).
    model = named_model(dense_1=16, other=8, dense_3=5)
    other_before = model.layers[1].get_weights()
    model.load_weights(LEGACY / "keras1_layout_mlp_adam.h5", by_name=True)
    source = load_model(LEGACY / "keras1_layout_mlp_adam.h5", compile=False)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], source.layers[0].get_weights()[0])
    np.testing.assert_array_equal(model.layers[2].get_weights()[1], source.layers[2].get_weights()[1])
    for a, b in zip(model.layers[1].get_weights(), other_before):
        np.testing.assert_array_equal(a, b)


def test_by_name_with_a_mismatch_changes_nothing_unless_skipped():
    model = named_model(dense_1=16, dense_2=9, dense_3=5)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Cannot load weight '.*dense_2/kernel': weight 'dense_2_W' .* has shape "
                                         r"\(16, 8\), but the model needs \(16, 9\)"):
        model.load_weights(LEGACY / "keras1_layout_mlp_adam.h5", by_name=True)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match=r"Skipped 2 part\(s\) of '.*keras1_layout_mlp_adam\.h5' that do not fit "
                                         r"model '.*'; the layers concerned keep their current weights:\n  - Cannot "
                                         r"load weight '.*dense_2/kernel'.*\n  - Cannot load weight '.*dense_3/kernel'"):
        model.load_weights(LEGACY / "keras1_layout_mlp_adam.h5", by_name=True, skip_mismatch=True)
    for a, b in zip(model.get_weights()[2:], before[2:]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.layers[0].get_weights()[0], before[0])


def test_skip_mismatch_by_position_skips_layers_whose_count_or_shapes_differ():
    model = Sequential([Input((20,)), Dense(16), Dense(8, use_bias=False), Dense(6)])
    before = model.get_weights()
    with pytest.warns(UserWarning, match=r"Skipped 2 part\(s\).*\n  - Layer '.*' has 1 weights, but the file's layer "
                                         r"'dense_2' has 2\..*\n  - Cannot load weight .* has shape \(8, 5\), but "
                                         r"the model needs \(8, 6\)"):
        model.load_weights(LEGACY / "keras2_2_layout_mlp_adam.h5", skip_mismatch=True)
    after = model.get_weights()
    assert not np.array_equal(after[0], before[0])
    for a, b in zip(after[2:], before[2:]):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_by_position_still_needs_as_many_layers():
    model = Sequential([Input((20,)), Dense(16), Dense(5)])
    with pytest.raises(ValueError, match=r"The file holds weights for 3 layers, but model '.*' has 2 layers with "
                                         r"weights\..*or pair layers by name with by_name=True"):
        model.load_weights(LEGACY / "keras2_2_layout_mlp_adam.h5", skip_mismatch=True)


def test_by_name_that_matches_nothing_warns():
    model = named_model(a=16, b=8)
    with pytest.warns(UserWarning, match=r"found no layer of model '.*' named like a layer of "
                                         r"'.*keras1_layout_mlp_adam\.h5' \(dense_1, dense_2, dense_3\)"):
        model.load_weights(LEGACY / "keras1_layout_mlp_adam.h5", by_name=True)


def test_model_level_weights_in_the_file_do_not_fit_a_sequential_model(tmp_path):
    path = copy(TF_KERAS / "mlp_adam_categorical.weights-legacy.h5", tmp_path)
    with h5py.File(path, "r+") as f:
        top = f["top_level_model_weights"]
        top.attrs["weight_names"] = np.array([b"scale:0"])
        top.create_dataset("scale:0", data=np.ones(3, np.float32))
    config = load_model(TF_KERAS / "mlp_adam_categorical.h5", compile=False).get_config()
    model = Sequential.from_config(config)
    with pytest.raises(ValueError, match=r"holds 1 model-level weight\(s\) \(top_level_model_weights\), but a "
                                         r"Sequential model has none"):
        model.load_weights(path)
    with pytest.warns(UserWarning, match=r"Skipped 1 part"):
        model.load_weights(path, skip_mismatch=True)
    np.testing.assert_allclose(model.predict(data("mlp_adam_categorical")["x"], verbose=0),
                               data("mlp_adam_categorical")["pred"], rtol=RTOL, atol=ATOL)


# -- how strings are stored -------------------------------------------------------------------------
def restring(path, form):
    """Rewrites every text attribute of ``path`` as str, fixed bytes, numpy.bytes_ or chunks."""
    def as_list(names):
        if form == "str":
            return np.array(names, dtype=h5py.string_dtype())
        if form == "bytes":
            return np.array([n.encode() for n in names], dtype="S")
        return np.array([np.bytes_(n.encode()) for n in names], dtype=object).astype(h5py.string_dtype("ascii"))

    with h5py.File(path, "r+") as f:
        for key in ("model_config", "training_config", "keras_version", "backend"):
            value = f.attrs[key]
            value = value.decode() if isinstance(value, bytes) else value
            f.attrs[key] = {"str": value, "bytes": np.bytes_(value.encode()),
                            "numpy_bytes": np.array(value.encode())}.get(form, value)

        def visit(group):
            for key in ("layer_names", "weight_names"):
                if key in group.attrs:
                    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs[key]]
                    if not names:
                        continue
                    del group.attrs[key]
                    if form == "chunks":
                        for i, start in enumerate(range(0, len(names), 2)):
                            group.attrs[f"{key}{i}"] = np.array([n.encode() for n in names[start:start + 2]])
                    else:
                        group.attrs[key] = as_list(names)
            for child in group.values():
                if isinstance(child, h5py.Group):
                    visit(child)

        visit(f)


@pytest.mark.parametrize("form", ["str", "bytes", "numpy_bytes", "chunks"])
def test_every_string_storage_reads_the_same(tmp_path, form):
    path = copy(LEGACY / "keras2_2_layout_bn_dropout_rmsprop.h5", tmp_path)
    restring(path, form)
    arrays = data("dropout_bn_rmsprop_sparse")
    model = load_model(path)
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred"], rtol=RTOL, atol=ATOL)
    assert [type(layer) for layer in model.layers] == [Dense, BatchNormalization, Activation, Dropout, Dense]
    _, slots = slot_state(model)
    _, expected = tf_keras_slots("dropout_bn_rmsprop_sparse")
    for key, value in expected.items():
        np.testing.assert_array_equal(slots[key], value)
