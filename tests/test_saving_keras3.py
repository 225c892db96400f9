"""Keras 3's own formats: ``.weights.h5`` files and ``.keras`` archives, written and read.

Layouts are checked against what Keras 3.15 writes; round trips are bit-exact for
every layer class and optimizer; mismatches fail clearly or are skipped on request;
archives are read as untrusted input. Files written by real Keras 3 (made by
``fixtures/keras3/make_saving.py``) are read and reproduce Keras's predictions and
its next training step.
"""

import io
import json
import re
import sys
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from minikeras import backend, optimizers, utils
from minikeras.layers import (
    ELU,
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    Input,
    LeakyReLU,
    PReLU,
    ReLU,
    Reshape,
    Softmax,
)
from minikeras.models import Sequential, load_model
from minikeras.optimizers import schedules
from minikeras.saving import ModelFileError, keras_archive, keras_weights, safe_h5

FIXTURES = Path(__file__).parent / "fixtures" / "keras3"


# -- models and helpers ---------------------------------------------------------------------
def every_layer_model():
    """One of each layer class, with weights, frozen flags and custom names mixed in."""
    return Sequential([
        Input((3, 4)), BatchNormalization(name="norm_in"), Flatten(), Dense(6, name="hidden"), PReLU(),
        Dropout(0.2), ReLU(max_value=2.0), LeakyReLU(), ELU(), Reshape((3, 2)), Softmax(axis=1),
        Flatten(), BatchNormalization(momentum=0.5), Dense(3), Activation("softmax"),
    ])


def data(n=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=n)]
    return x, y


def trained(optimizer=None, loss="categorical_crossentropy", steps=2):
    model = every_layer_model()
    model.compile(optimizer=optimizer or optimizers.Adam(learning_rate=0.01), loss=loss, metrics=["accuracy"])
    x, y = data()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model, x, y


def small(units=(5, 3), names=None, frozen=False):
    names = names or [None] * len(units)
    model = Sequential([Input((4,))] + [Dense(u, name=n) for u, n in zip(units, names)])
    if frozen:
        model.layers[0].trainable = False
    return model


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        assert u.dtype == v.dtype
        np.testing.assert_array_equal(u, v)


def assert_same_optimizer(a, b):
    assert a.optimizer.iterations == b.optimizer.iterations
    assert len(a.optimizer.variable_names) == len(b.optimizer.variable_names)
    for u, v in zip(a.optimizer.get_weights(), b.optimizer.get_weights()):
        np.testing.assert_array_equal(u, v)


def rewrite_archive(src, dst, replace=None, add=None, drop=()):
    """Copies a zip, replacing, adding or dropping members."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, payload in add.items():
            zout.writestr(name, payload)


def edit_config(src, dst, edit):
    with zipfile.ZipFile(src) as zf:
        config = json.loads(zf.read("config.json"))
    edit(config)
    rewrite_archive(src, dst, replace={"config.json": json.dumps(config).encode()})


def h5_member(path):
    with zipfile.ZipFile(path) as zf:
        return h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")


# -- layout ---------------------------------------------------------------------------------
def test_weights_file_layout_is_keras_3(tmp_path):
    model, _, _ = trained()
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        assert sorted(f) == ["layers", "optimizer", "vars"]
        assert dict(f.attrs) == {}
        assert f["vars"].attrs["name"] == model.name and len(f["vars"]) == 0
        assert sorted(f["layers"]) == sorted([
            "activation", "batch_normalization", "batch_normalization_1", "dense", "dense_1", "dropout", "elu",
            "flatten", "flatten_1", "leaky_re_lu", "p_re_lu", "re_lu", "reshape", "softmax"])
        for key, layer in zip(keras_weights.layer_keys(model.layers), model.layers):
            group = f["layers"][key]
            assert list(group) == ["vars"]
            name = group["vars"].attrs["name"]
            assert isinstance(name, str) and name == layer.name  # variable-length UTF-8, as Keras writes
            assert sorted(group["vars"]) == [str(i) for i in range(len(layer.weights))]
            for i, var in enumerate(layer.weights):
                stored = group["vars"][str(i)]
                assert stored.shape == var.shape and stored.dtype == np.float32
                np.testing.assert_array_equal(stored[()], var.value)
        assert f["layers/dense/vars"].attrs["name"] == "hidden"
        assert f["layers/dense/vars/0"].shape == (12, 6)  # (input_dim, units)
        opt = f["optimizer/vars"]
        assert opt.attrs["name"] == model.optimizer.name
        assert len(opt) == len(model.optimizer.get_weights())
        assert opt["0"].dtype == np.int32 and opt["0"].shape == () and opt["0"][()] == 2
        assert opt["1"].dtype == np.float32 and opt["1"][()] == np.float32(0.01)
        for i, value in enumerate(model.optimizer.get_weights()[2:], start=2):
            np.testing.assert_array_equal(opt[str(i)][()], value)


def test_no_input_layer_group_and_weightless_layers_get_empty_groups(tmp_path):
    model = Sequential([Input((4,)), Dropout(0.5, name="drop"), Dense(2)])
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        assert sorted(f["layers"]) == ["dense", "dropout"]
        assert len(f["layers/dropout/vars"]) == 0 and f["layers/dropout/vars"].attrs["name"] == "drop"
        assert "optimizer" not in f  # not compiled


def test_frozen_layers_keep_keras_variable_order(tmp_path):
    model = Sequential([Input((3,)), Dense(4), BatchNormalization(center=False), Dense(2)])
    model.layers[0].trainable = False
    model.layers[1].trainable = False
    assert [v.name for v in keras_weights.stored_variables(model.layers[1])] == [
        "gamma", "moving_mean", "moving_variance"]
    model.compile(optimizer="adam", loss="mse")
    model.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        np.testing.assert_array_equal(f["layers/batch_normalization/vars/0"][()], model.layers[1].gamma.value)
        np.testing.assert_array_equal(f["layers/batch_normalization/vars/2"][()],
                                      model.layers[1].moving_variance.value)
        assert len(f["optimizer/vars"]) == 2 + 2 * 2  # only the last Dense is trained
    restored = load_model_via_weights(model, tmp_path / "m.weights.h5")
    assert_same_weights(restored, model)


def load_model_via_weights(model, path):
    other = Sequential.from_config(model.get_config())
    other.compile_from_config(model.get_compile_config())
    other.load_weights(path)
    return other


def test_layer_keys_are_kerass_class_keys():
    layers = [Dense(1), Dense(1, name="x"), ReLU(), LeakyReLU(), PReLU(), ELU(), Softmax(), BatchNormalization(),
              Dropout(0.1), Flatten(), Reshape((1,)), Activation("relu"), ReLU()]
    assert keras_weights.layer_keys(layers) == [
        "dense", "dense_1", "re_lu", "leaky_re_lu", "p_re_lu", "elu", "softmax", "batch_normalization",
        "dropout", "flatten", "reshape", "activation", "re_lu_1"]


def test_archive_layout_is_keras_3(tmp_path):
    model, _, _ = trained(loss="mse")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        metadata = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
    assert metadata["keras_version"] == "3.15.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d", metadata["date_saved"])
    assert config == json.loads(model.to_json())
    assert set(config) == {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}
    assert config["compile_config"]["loss"] == "mean_squared_error"
    assert config["build_config"] == {"input_shape": [None, 3, 4]}
    with h5_member(tmp_path / "m.keras") as f, h5py.File(write_weights_file(model, tmp_path), "r") as g:
        assert dump(f) == dump(g)


def write_weights_file(model, tmp_path):
    model.save_weights(tmp_path / "same.weights.h5")
    return tmp_path / "same.weights.h5"


def dump(f):
    out = {}

    def visit(name, obj):
        out[name] = (dict(obj.attrs), obj[()].tobytes() if isinstance(obj, h5py.Dataset) else None)

    f.visititems(visit)
    return out


def test_include_optimizer_false_leaves_out_the_state_but_keeps_the_compile_config(tmp_path):
    model, x, y = trained()
    model.save(tmp_path / "m.keras", include_optimizer=False)
    with h5_member(tmp_path / "m.keras") as f:
        assert "optimizer" not in f
    restored = load_model(tmp_path / "m.keras")
    assert restored.compiled and not restored.optimizer.built and restored.optimizer.iterations == 0
    assert_same_weights(restored, model)


def test_an_uncompiled_model_round_trips_and_compile_false_skips_compiling(tmp_path):
    model = every_layer_model()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert "compile_config" not in json.loads(zf.read("config.json"))
    with pytest.warns(UserWarning, match="No training configuration found"):
        restored = load_model(tmp_path / "m.keras")
    assert not restored.compiled
    assert_same_weights(restored, model)
    trained_model, _, _ = trained()
    trained_model.save(tmp_path / "t.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not load_model(tmp_path / "t.keras", compile=False).compiled


# -- round trips ----------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(momentum=0.5, centered=True),
    "adam": lambda: optimizers.Adam(amsgrad=True),
    "adamw": lambda: optimizers.AdamW(weight_decay=0.01),
    "adamax": lambda: optimizers.Adamax(),
    "adagrad": lambda: optimizers.Adagrad(),
    "adadelta": lambda: optimizers.Adadelta(learning_rate=1.0),
    "nadam": lambda: optimizers.Nadam(),
    "schedule": lambda: optimizers.SGD(schedules.ExponentialDecay(0.1, 2, 0.5), momentum=0.5),
}


@pytest.mark.parametrize("kind", [".keras", ".weights.h5"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_round_trip_is_bit_exact_and_training_continues_identically(tmp_path, name, kind):
    model, x, y = trained(OPTIMIZERS[name]())
    path = tmp_path / f"m{kind}"
    if kind == ".keras":
        model.save(path)
        restored = load_model(path)
        assert restored.get_config() == model.get_config()
    else:
        model.save_weights(path)
        restored = load_model_via_weights(model, path)
    assert_same_weights(restored, model)
    assert_same_optimizer(restored, model)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    for m in (model, restored):
        utils.set_random_seed(11)
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert_same_weights(restored, model)
    assert_same_optimizer(restored, model)


def test_a_schedule_stores_no_learning_rate_variable(tmp_path):
    model, _, _ = trained(OPTIMIZERS["schedule"]())
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        assert len(f["optimizer/vars"]) == 1 + len(model.trainable_weights)  # iteration + one momentum each
        assert f["optimizer/vars/1"].shape == (4,)  # the first momentum, not a learning rate


def test_float64_models_round_trip_in_float64(tmp_path, float64):
    model, x, _ = trained()
    model.save(tmp_path / "m.keras")
    with h5_member(tmp_path / "m.keras") as f:
        assert f["layers/dense/vars/0"].dtype == np.float64
    restored = load_model(tmp_path / "m.keras")
    assert_same_weights(restored, model)
    assert_same_optimizer(restored, model)


def test_a_compiled_but_untrained_model_stores_step_and_learning_rate(tmp_path):
    model = small()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="mse")
    model.save(tmp_path / "m.keras")
    with h5_member(tmp_path / "m.keras") as f:
        assert sorted(f["optimizer/vars"]) == ["0", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = load_model(tmp_path / "m.keras")
    assert restored.optimizer.iterations == 0 and restored.optimizer.learning_rate == pytest.approx(0.02)
    x = np.ones((4, 4), "float32")
    for m in (model, restored):
        m.train_on_batch(x, np.ones((4, 3), "float32"))
    assert_same_weights(restored, model)


def test_load_weights_reads_all_three_kinds_of_file(tmp_path):
    model, x, _ = trained()
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    model.save(tmp_path / "legacy.h5")
    for name in ("m.keras", "w.weights.h5", "legacy.h5"):
        fresh = every_layer_model()
        fresh.load_weights(tmp_path / name)
        assert_same_weights(fresh, model)
        np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_load_weights_from_an_archive_restores_the_optimizer_of_a_compiled_model(tmp_path):
    model, _, _ = trained()
    model.save(tmp_path / "m.keras")
    fresh = every_layer_model()
    fresh.compile(optimizer=optimizers.Adam(learning_rate=0.5), loss="categorical_crossentropy")
    fresh.load_weights(tmp_path / "m.keras")
    assert_same_optimizer(fresh, model)


def test_weights_are_matched_by_class_and_position_not_by_name(tmp_path):
    small(names=("a", "b")).save_weights(tmp_path / "m.weights.h5")
    source = small(names=("a", "b"))
    source.load_weights(tmp_path / "m.weights.h5")
    other = small(names=("first", "second"))
    other.load_weights(tmp_path / "m.weights.h5")
    assert_same_weights(other, source)


# -- mismatches -----------------------------------------------------------------------------
def test_a_shape_mismatch_names_layer_key_and_shapes_and_changes_nothing(tmp_path):
    small(units=(5, 3)).save_weights(tmp_path / "m.weights.h5")
    model = small(units=(6, 3), names=("hidden", "out"))
    before = model.get_weights()
    with pytest.raises(ValueError) as info:
        model.load_weights(tmp_path / "m.weights.h5")
    message = str(info.value)
    assert "layer 'hidden' (Dense, stored under 'layers/dense')" in message
    assert "stored with shape (4, 5), but the model needs (4, 6)" in message
    assert "layer 'out' (Dense, stored under 'layers/dense_1')" in message
    assert "(5, 3), but the model needs (6, 3)" in message
    assert "skip_mismatch=True" in message
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_loads_the_layers_that_fit_and_warns_about_the_rest(tmp_path):
    source = Sequential([Input((4,)), Dense(5), Dense(3), Dense(2)])
    source.save_weights(tmp_path / "m.weights.h5")
    model = Sequential([Input((4,)), Dense(5), Dense(4), Dense(2)])
    kept = [layer.get_weights() for layer in model.layers[1:]]
    # dense_1 is (5, 4) in the model but (5, 3) in the file, so dense_2's kernel differs too.
    with pytest.warns(UserWarning, match=r"(?s)Skipped 2 part\(s\).*'layers/dense_1'.*'layers/dense_2'"):
        model.load_weights(tmp_path / "m.weights.h5", skip_mismatch=True)
    assert_same_weights(model.layers[0], source.layers[0])
    for layer, weights in zip(model.layers[1:], kept):
        for a, b in zip(layer.get_weights(), weights):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("model_units, fragment", [
    ((5,), r"stores a layer under 'layers/dense_1' that matches no layer"),
    ((5, 3, 2), r"layer 'dense_\d+' \(Dense, stored under 'layers/dense_2'\): missing from the file"),
])
def test_extra_and_missing_layers_are_named(tmp_path, model_units, fragment):
    small(units=(5, 3)).save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match=fragment):
        small(units=model_units).load_weights(tmp_path / "m.weights.h5")


def test_a_variable_count_mismatch_is_named(tmp_path):
    Sequential([Input((4,)), Dense(3, use_bias=False, name="nobias")]).save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match=r"holds 1 variable\(s\) \('0'\) for layer 'nobias', but the model's "
                                         r"layer has 2 \(kernel, bias\)"):
        Sequential([Input((4,)), Dense(3)]).load_weights(tmp_path / "m.weights.h5")


def test_state_under_a_layer_group_that_minikeras_lacks_is_not_skipped_silently(tmp_path):
    small().save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r+") as f:
        f["layers/dense"].create_group("sublayer/vars").create_dataset("0", data=np.zeros(3))
    with pytest.raises(ValueError, match=r"also stores 'sublayer' for it"):
        small().load_weights(tmp_path / "m.weights.h5")


def test_model_level_variables_are_not_skipped_silently(tmp_path):
    small().save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r+") as f:
        f["vars"].create_dataset("0", data=np.zeros(2))
    with pytest.raises(ValueError, match=r"1 variable\(s\) of the model itself under /vars"):
        small().load_weights(tmp_path / "m.weights.h5")


def test_other_top_level_groups_are_ignored_and_keras_2_layer_groups_are_read(tmp_path):
    source = small()
    source.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r+") as f:
        f.create_group("metrics/mean/vars").create_dataset("0", data=np.float32(3.0))
        f.move("layers", "_layer_checkpoint_dependencies")  # Keras 2.13-2.15
        del f["vars"]
    model = small()
    model.load_weights(tmp_path / "m.weights.h5")
    assert_same_weights(model, source)


def test_an_optimizer_state_that_does_not_fit_warns_and_starts_afresh(tmp_path):
    model, _, _ = trained(optimizers.Adam())
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        config = json.loads(zf.read("config.json"))
    config["compile_config"]["optimizer"] = optimizers.serialize(optimizers.SGD(momentum=0.9))
    rewrite_archive(tmp_path / "m.keras", tmp_path / "sgd.keras",
                    replace={"config.json": json.dumps(config).encode()})
    with pytest.warns(UserWarning, match=r"optimizer state .* could not be restored \(the file holds \d+ "
                                         r"optimizer variable\(s\), but optimizer 'SGD'"):
        restored = load_model(tmp_path / "sgd.keras")
    assert restored.optimizer.built and restored.optimizer.iterations == 0
    assert_same_weights(restored, model)


def test_a_step_count_that_is_not_a_count_warns_and_starts_afresh(tmp_path):
    model, _, _ = trained()
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r+") as f:
        del f["optimizer/vars/0"]
        f["optimizer/vars"].create_dataset("0", data=np.float32(-2.5))
    restored = Sequential.from_config(model.get_config())
    restored.compile_from_config(model.get_compile_config())
    with pytest.warns(UserWarning, match=r"stored step count .* is not a non-negative whole number"):
        restored.load_weights(tmp_path / "m.weights.h5")
    assert restored.optimizer.iterations == 0
    assert_same_weights(restored, model)


def test_a_file_without_keras_3_weights_is_refused(tmp_path):
    with h5py.File(tmp_path / "empty.weights.h5", "w") as f:
        f.create_group("something")
    with pytest.raises(ValueError, match="holds no"):
        small().load_weights(tmp_path / "empty.weights.h5")


# -- archive safety -------------------------------------------------------------------------
@pytest.fixture
def archive(tmp_path):
    model, _, _ = trained()
    model.save(tmp_path / "m.keras")
    return tmp_path / "m.keras"


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_an_archive_missing_a_member_is_refused(archive, tmp_path, member):
    rewrite_archive(archive, tmp_path / "bad.keras", drop=(member,))
    with pytest.raises(ModelFileError, match=rf"'bad.keras' is not a complete .keras archive: it has no '{member}'"):
        load_model(tmp_path / "bad.keras")


def test_an_npz_weights_archive_is_explained(archive, tmp_path):
    rewrite_archive(archive, tmp_path / "npz.keras", drop=("model.weights.h5",), add={"model.weights.npz": b"x"})
    with pytest.raises(ModelFileError, match=r"'model.weights.npz', which minikeras does not read"):
        load_model(tmp_path / "npz.keras")


@pytest.fixture
def opened(monkeypatch):
    """Records the names of the archive members that are opened."""
    names = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        names.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


def test_a_member_declaring_too_many_bytes_is_refused_before_reading(archive, monkeypatch, opened):
    monkeypatch.setattr(keras_archive, "MAX_WEIGHTS_BYTES", 1000)
    with pytest.raises(ModelFileError, match=r"'model.weights.h5' declares [\d,]+ bytes, more than minikeras reads"):
        keras_archive.load_weights(every_layer_model(), archive)
    assert "model.weights.h5" not in opened


def test_an_oversized_config_is_refused(archive, monkeypatch):
    monkeypatch.setattr(safe_h5, "MAX_ATTRIBUTE_BYTES", 100)
    with pytest.raises(ModelFileError, match=r"'config.json' declares"):
        load_model(archive)


def test_a_header_that_understates_a_member_cannot_enlarge_the_read(archive, tmp_path):
    data = bytearray(archive.read_bytes())
    # Make the central directory claim 10 bytes for config.json: only those are read,
    # and they are not the whole member, so its checksum fails.
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46:entry + 46 + len(b"config.json")] != b"config.json":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24:entry + 28] = (10).to_bytes(4, "little")
    (tmp_path / "lie.keras").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"Cannot read 'config.json' from 'lie.keras': the archive is damaged"):
        load_model(tmp_path / "lie.keras")


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_a_truncated_archive_fails_clearly(archive, tmp_path, cut):
    data = archive.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(ModelFileError, match=r"'cut.keras'"):
        load_model(tmp_path / "cut.keras")


def test_a_damaged_weights_member_names_the_archive(archive, tmp_path):
    rewrite_archive(archive, tmp_path / "bad.keras", replace={"model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 64})
    with pytest.raises(ModelFileError, match=r"'bad.keras/model.weights.h5'") as info:
        load_model(tmp_path / "bad.keras")
    assert "BytesIO" not in str(info.value)


def test_a_config_that_is_not_json_fails_clearly(archive, tmp_path):
    rewrite_archive(archive, tmp_path / "bad.keras", replace={"config.json": b"{not json"})
    with pytest.raises(ModelFileError, match=r"'config.json' in 'bad.keras' is not valid JSON"):
        load_model(tmp_path / "bad.keras")


def test_a_config_asking_for_an_absurd_layer_fails_before_allocating(archive, tmp_path):
    def huge(config):
        assert config["config"]["layers"][3]["config"]["name"] == "hidden"
        config["config"]["layers"][3]["config"]["units"] = 10**12

    edit_config(archive, tmp_path / "huge.keras", huge)
    with pytest.raises(ValueError, match=r"would create weight 'kernel' .* 'huge.keras' holds no array larger"):
        load_model(tmp_path / "huge.keras")


@pytest.mark.parametrize("class_name, fragment", [
    ("Lambda", r"Cannot deserialize a 'Lambda' layer.*custom_objects=\{'Lambda'"),
    ("MyLayer", r"Unknown layer 'MyLayer'.*custom_objects=\{'MyLayer': YourClass\}"),
])
def test_unknown_layer_classes_are_refused_and_point_to_custom_objects(archive, tmp_path, class_name, fragment):
    def swap(config):
        entry = config["config"]["layers"][3]
        entry["class_name"] = class_name
        entry["config"] = {"function": "lambda x: __import__('os').system('echo owned')", "name": "code"}

    edit_config(archive, tmp_path / "code.keras", swap)
    with pytest.raises(ValueError, match=fragment):
        load_model(tmp_path / "code.keras")


def test_module_keys_are_never_imported(archive, tmp_path):
    def modules(config):
        config["module"] = "a_module_that_does_not_exist"
        for entry in config["config"]["layers"]:
            entry["module"] = "another_module_that_does_not_exist"

    edit_config(archive, tmp_path / "modules.keras", modules)
    load_model(tmp_path / "modules.keras")
    assert "a_module_that_does_not_exist" not in sys.modules


def test_a_functional_model_is_refused_clearly(archive, tmp_path):
    edit_config(archive, tmp_path / "functional.keras", lambda c: c.update(class_name="Functional"))
    with pytest.raises(ValueError, match=r"holds a 'Functional' model .* Sequential models only"):
        load_model(tmp_path / "functional.keras")


def test_assets_and_other_members_are_never_read(archive, tmp_path, opened):
    rewrite_archive(archive, tmp_path / "extra.keras", add={"assets/vocab.txt": b"a\nb\n", "notes.bin": b"\0" * 99})
    opened.clear()
    load_model(tmp_path / "extra.keras")
    assert sorted(opened) == ["config.json", "metadata.json", "model.weights.h5"]


def test_saving_never_overwrites_unless_asked(archive):
    with pytest.raises(FileExistsError):
        small().save(archive, overwrite=False)
    assert load_model(archive).layers[2].name == "hidden"


# -- files written by real Keras 3 ----------------------------------------------------------
@pytest.fixture(scope="module")
def keras_arrays():
    return dict(np.load(FIXTURES / "saving.npz"))


@pytest.mark.parametrize("name", ["saving_named", "saving_frozen", "saving_plain"])
def test_keras_archives_load_and_predict_like_keras(keras_arrays, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the never-compiled model warns that it was not compiled
        model = load_model(FIXTURES / f"{name}.keras")
    np.testing.assert_allclose(model.predict(keras_arrays[f"x_{name}"], verbose=0), keras_arrays[f"pred_{name}"],
                               rtol=1e-5, atol=1e-6)


def test_keras_custom_names_frozen_flags_and_optimizer_state_are_restored():
    named = load_model(FIXTURES / "saving_named.keras")
    assert [layer.name for layer in named.layers] == ["hidden", "norm", "drop", "act", "out"]
    with h5_member(FIXTURES / "saving_named.keras") as f:
        stored = [f["optimizer/vars"][str(i)][()] for i in range(len(f["optimizer/vars"]))]
        assert f["layers/dense_1/vars"].attrs["name"] == "out"
    assert named.optimizer.iterations == int(stored[0]) == 10
    for a, b in zip(named.optimizer.get_weights()[1:], stored[1:]):
        np.testing.assert_array_equal(a, b)
    frozen = load_model(FIXTURES / "saving_frozen.keras")
    assert [layer.trainable for layer in frozen.layers] == [False, True, True, True, True]
    assert frozen.get_compile_config()["loss"] == "mean_squared_error"


def test_training_resumes_from_a_keras_archive_like_keras(keras_arrays):
    model = load_model(FIXTURES / "saving_frozen.keras")
    model.train_on_batch(keras_arrays["next_x"], keras_arrays["next_y"])
    after = model.get_weights()
    assert len(after) == sum(k.startswith("after_") for k in keras_arrays)
    for i, value in enumerate(after):
        np.testing.assert_allclose(value, keras_arrays[f"after_{i}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["saving_named", "saving_frozen"])
def test_keras_weights_files_load_into_models_built_in_code(keras_arrays, name):
    reference = load_model(FIXTURES / f"{name}.keras")
    model = Sequential.from_config(reference.get_config())
    model.compile_from_config(reference.get_compile_config())
    model.load_weights(FIXTURES / f"{name}.weights.h5")
    assert_same_weights(model, reference)
    assert_same_optimizer(model, reference)
    np.testing.assert_allclose(model.predict(keras_arrays[f"x_{name}"], verbose=0), keras_arrays[f"pred_{name}"],
                               rtol=1e-5, atol=1e-6)


def test_a_keras_archive_round_trips_through_minikeras_unchanged(tmp_path):
    model = load_model(FIXTURES / "saving_named.keras")
    model.save(tmp_path / "again.keras")
    with h5_member(FIXTURES / "saving_named.keras") as f, h5_member(tmp_path / "again.keras") as g:
        assert dump(f) == dump(g)


def test_an_archive_round_trips_byte_for_byte_apart_from_the_save_date(tmp_path):
    import zipfile

    model, _, _ = trained()
    model.save(tmp_path / "first.keras")
    load_model(tmp_path / "first.keras").save(tmp_path / "second.keras")
    with zipfile.ZipFile(tmp_path / "first.keras") as a, zipfile.ZipFile(tmp_path / "second.keras") as b:
        assert a.namelist() == b.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        for name in ("config.json", "model.weights.h5"):
            assert a.read(name) == b.read(name), name


def test_a_weights_file_round_trips_byte_for_byte(tmp_path):
    model, _, _ = trained()
    model.save_weights(tmp_path / "first.weights.h5")
    backend.clear_session()  # the same automatic layer names, which the file records
    other, _, _ = trained(steps=1)
    other.load_weights(tmp_path / "first.weights.h5")
    other.save_weights(tmp_path / "second.weights.h5")
    assert (tmp_path / "first.weights.h5").read_bytes() == (tmp_path / "second.weights.h5").read_bytes()
