"""Model files are untrusted input: crafted files fail early, clearly, and run no code."""

from __future__ import annotations

import builtins
import importlib
import json
import pathlib
import re
import sys

import h5py
import numpy as np
import pytest

import minikeras as mk
from minikeras.layers import Dense, Input
from minikeras.models import Sequential, load_model
from minikeras.saving import ModelFileError, safe_h5

PACKAGE = pathlib.Path(mk.__file__).parent


def small_model() -> Sequential:
    model = Sequential([Input((4,)), Dense(3, activation="relu", name="hidden"), Dense(2, name="out")])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
    model.fit(x, x[:, :2], epochs=1, verbose=0)
    return model


@pytest.fixture()
def saved(tmp_path):
    path = tmp_path / "m.h5"
    small_model().save(path)
    return path


def edit_config(path, edit):
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode())


def replace_kernel(path, **dataset_kwargs):
    with h5py.File(path, "r+") as f:
        group = f["model_weights/hidden"]
        name = [n.decode() for n in group.attrs["weight_names"]][0]
        del group[name]
        group.create_dataset(name, **dataset_kwargs)


# -- code in files ------------------------------------------------------------------------
def test_a_lambda_layer_is_refused_with_a_pointer_to_custom_objects(saved):
    def add_lambda(config):
        config["config"]["layers"].insert(2, {
            "module": "keras.layers", "class_name": "Lambda",
            "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {
                "code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}},
        })

    edit_config(saved, add_lambda)
    with pytest.raises(ValueError, match=r"Cannot deserialize a 'Lambda' layer: it holds Python code, and "
                                         r"minikeras never runs code.*custom_objects=\{'Lambda': YourLayer\}"):
        load_model(saved)


def test_an_unknown_class_is_named_and_its_module_never_imported(saved, monkeypatch):
    module = "minikeras_crafted_module_that_must_not_be_imported"

    def add_unknown(config):
        config["config"]["layers"][1]["class_name"] = "Backdoor"
        config["config"]["layers"][1]["module"] = module
        config["config"]["layers"][1]["registered_name"] = f"{module}>Backdoor"

    edit_config(saved, add_unknown)
    real_import = builtins.__import__

    def guarded_import(name, *args, **kwargs):
        assert not name.startswith(module), "a module named in the file was imported"
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded_import)
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: pytest.fail(f"imported {name}"))
    with pytest.raises(ValueError, match=r"Unknown layer 'Backdoor'\..*If 'Backdoor' is a class of your own, "
                                         r"pass it as custom_objects=\{'Backdoor': YourClass\}\."):
        load_model(saved)
    assert module not in sys.modules


def test_a_custom_class_passed_by_the_caller_is_used(saved):
    class Hidden(Dense):
        pass

    edit_config(saved, lambda c: c["config"]["layers"][1].update(class_name="Hidden"))
    model = load_model(saved, custom_objects={"Hidden": Hidden}, compile=False)
    assert type(model.layers[0]) is Hidden


def test_the_package_has_no_way_to_run_code_from_a_file():
    pattern = re.compile(r"\b(pickle|marshal|eval|exec|import_module|__import__|allow_pickle=True)\b")
    for path in sorted((PACKAGE / "saving").glob("*.py")) + [PACKAGE / "_registry.py"]:
        source = path.read_text()
        assert not pattern.search(source), f"{path.name} mentions {pattern.search(source).group()}"


def test_safe_mode_false_is_accepted_and_still_runs_no_code(saved):
    with pytest.warns(UserWarning, match=r"safe_mode=False\) changes nothing in minikeras"):
        load_model(saved, safe_mode=False)


# -- inconsistent shapes and wrong dtypes -------------------------------------------------
def test_a_kernel_of_another_shape_is_refused_before_reading(saved):
    replace_kernel(saved, data=np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match=r"has shape \(5, 3\), but the model needs \(4, 3\)"):
        load_model(saved)


@pytest.mark.parametrize("data, kind", [
    (np.array([[b"rm -rf /"] * 3] * 4), r"\|S8"),
    (np.zeros((4, 3), np.complex64), "complex64"),
    (np.zeros((4, 3), dtype=[("a", "f4"), ("b", "f4")]), r"\[\('a', '<f4'\), \('b', '<f4'\)\]"),
])
def test_a_kernel_that_is_not_real_numbers_is_refused(saved, data, kind):
    replace_kernel(saved, data=data)
    with pytest.raises(ModelFileError, match=rf"holds values of type {kind}; expected real numbers"):
        load_model(saved)


def test_a_kernel_of_another_real_dtype_is_cast(saved):
    expected = load_model(saved, compile=False).layers[0].get_weights()[0]
    replace_kernel(saved, data=expected.astype(np.float64))
    kernel = load_model(saved, compile=False).layers[0].get_weights()[0]
    assert kernel.dtype == np.float32
    np.testing.assert_array_equal(kernel, expected)


def test_a_weights_only_file_with_the_wrong_shapes_leaves_the_model_unchanged(tmp_path):
    model = small_model()
    model.save_weights(tmp_path / "w.h5")
    replace_kernel_weights_only = tmp_path / "w.h5"
    with h5py.File(replace_kernel_weights_only, "r+") as f:
        name = [n.decode() for n in f["out"].attrs["weight_names"]][1]
        del f["out"][name]
        f["out"].create_dataset(name, data=np.zeros(7, np.float32))
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"\(7,\).*\(2,\)|\(2,\).*\(7,\)"):
        model.load_weights(tmp_path / "w.h5")
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


# -- absurd sizes -------------------------------------------------------------------------
def test_a_dataset_claiming_terabytes_fails_before_allocating(saved):
    replace_kernel(saved, shape=(1 << 20, 1 << 20), dtype=np.float32, chunks=(1, 1024))  # 4 TiB, nothing written
    assert saved.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"has shape \(1048576, 1048576\), but the model needs \(4, 3\)"):
        load_model(saved)


def test_read_array_refuses_a_huge_claim_even_when_the_shape_is_expected(saved):
    replace_kernel(saved, shape=(1 << 20, 1 << 20), dtype=np.float32, chunks=(1, 1024))
    with h5py.File(saved, "r") as f:
        dataset = f["model_weights/hidden/sequential/hidden/kernel"]
        with pytest.raises(ModelFileError, match=r"claims shape \(1048576, 1048576\) \(4,398,046,511,104 bytes\), "
                                                 r"more than minikeras reads from a model file"):
            safe_h5.read_array(dataset, expected_shape=(1 << 20, 1 << 20), what="weight")


def test_a_config_asking_for_a_huge_layer_fails_before_allocating(saved):
    # The file claims (not stores) a matching 8 GiB kernel; the layer is refused before it is built.
    edit_config(saved, lambda c: c["config"]["layers"][1]["config"].update(units=1 << 31))
    replace_kernel(saved, shape=(4, 1 << 31), dtype=np.float32, chunks=(1, 1024))
    with pytest.raises(ValueError, match=r"Layer 'hidden' would create weight 'kernel' of shape \(4, 2147483648\)"):
        load_model(saved)


def test_a_config_asking_for_a_layer_larger_than_any_stored_array_fails(saved):
    edit_config(saved, lambda c: c["config"]["layers"][1]["config"].update(units=100_000))
    with pytest.raises(ValueError, match=r"would create weight 'kernel' of shape \(4, 100000\) \(400,000 elements\), "
                                         r"more than \d+"):
        load_model(saved)


# -- damaged files -----------------------------------------------------------------------
@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_truncated_file_fails_clearly(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError, match=r"damaged|truncated"):
        load_model(saved)


def test_a_config_that_is_not_json_fails_clearly(saved):
    with h5py.File(saved, "r+") as f:
        f.attrs["model_config"] = np.bytes_(b'{"class_name": "Sequential", "config": {')
    with pytest.raises(ModelFileError, match=r"attribute 'model_config' of 'm\.h5' at / is not valid JSON"):
        load_model(saved)


def test_a_deeply_nested_config_fails_clearly(saved):
    with h5py.File(saved, "r+") as f:
        f.attrs["model_config"] = np.bytes_(b"[" * 20_000 + b"]" * 20_000)
    with pytest.raises(ModelFileError, match=r"nested too deeply"):
        load_model(saved)


@pytest.mark.parametrize("value, message", [
    (np.int64(7), r"holds int64 7; expected text"),
    (np.bytes_(b"\xff\xfe{}"), r"holds bytes that are not UTF-8 text"),
])
def test_a_config_that_is_not_text_fails_clearly(saved, value, message):
    with h5py.File(saved, "r+") as f:
        f.attrs["model_config"] = value
    with pytest.raises(ModelFileError, match=message):
        load_model(saved)


def test_layer_names_that_are_not_names_fail_clearly(saved):
    with h5py.File(saved, "r+") as f:
        f["model_weights"].attrs["layer_names"] = np.arange(3)
    with pytest.raises(ModelFileError, match=r"attribute 'layer_names' of 'm\.h5' at /model_weights holds int64 "
                                             r"values; expected a list of names"):
        load_model(saved)


# -- data from outside the file ------------------------------------------------------------
def test_an_external_link_is_not_followed(saved, tmp_path):
    other = tmp_path / "elsewhere.h5"
    with h5py.File(saved, "r") as src, h5py.File(other, "w") as dst:
        src.copy(src["model_weights/hidden"], dst, name="hidden")
    with h5py.File(saved, "r+") as f:
        del f["model_weights/hidden"]
        f["model_weights/hidden"] = h5py.ExternalLink(str(other), "/hidden")
    with pytest.raises(ModelFileError, match=r"links to another file \('.*elsewhere\.h5'\)\. minikeras reads model "
                                             r"files only from themselves"):
        load_model(saved)


def test_a_dataset_stored_in_a_raw_external_file_is_refused(saved, tmp_path):
    raw = tmp_path / "secret.bin"
    raw.write_bytes(np.arange(12, dtype=np.float32).tobytes())
    replace_kernel(saved, shape=(4, 3), dtype=np.float32, external=[(str(raw), 0, 48)])
    with pytest.raises(ModelFileError, match=r"is stored in other files"):
        load_model(saved)


def test_a_virtual_dataset_is_refused(saved, tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f.create_dataset("k", data=np.ones((4, 3), np.float32))
    layout = h5py.VirtualLayout(shape=(4, 3), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(source), "k", shape=(4, 3))
    with h5py.File(saved, "r+") as f:
        group = f["model_weights/hidden"]
        name = [n.decode() for n in group.attrs["weight_names"]][0]
        del group[name]
        group.create_virtual_dataset(name, layout)
    with pytest.raises(ModelFileError, match=r"is stored in other files"):
        load_model(saved)


# -- the primitives ------------------------------------------------------------------------
def test_read_str_list_accepts_every_string_form_and_chunks(tmp_path):
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f.attrs["plain"] = ["a", "b"]
        f.attrs["fixed"] = np.array([b"a", b"b"], dtype="S1")
        f.attrs["empty"] = np.array([], dtype=np.float64)
        f.attrs["split0"] = np.array([b"a"])
        f.attrs["split1"] = np.array([b"b"])
        f.attrs["scalar"] = np.bytes_(b"a")
    with h5py.File(tmp_path / "s.h5", "r") as f:
        for name in ("plain", "fixed", "split"):
            assert safe_h5.read_str_list(f, name) == ["a", "b"]
        assert safe_h5.read_str_list(f, "empty") == []
        assert safe_h5.read_str_list(f, "missing") == []
        assert safe_h5.read_str_list(f, "scalar") == ["a"]


def test_read_attr_str_accepts_str_bytes_and_numpy_bytes(tmp_path):
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f.attrs["v"] = "text"
        f.attrs["b"] = np.bytes_(b"text")
        f.attrs["a"] = np.array(b"text")
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert {safe_h5.read_attr_str(f, k) for k in ("v", "b", "a")} == {"text"}
        with pytest.raises(ModelFileError, match=r"'s\.h5' at / has no attribute 'nope'"):
            safe_h5.read_attr_str(f, "nope")


def test_child_names_what_is_missing(tmp_path):
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f.create_group("g")
    with h5py.File(tmp_path / "s.h5", "r") as f:
        with pytest.raises(ModelFileError, match=r"'s\.h5' at /g has no entry 'kernel'\. The file is incomplete"):
            safe_h5.child(f["g"], "kernel")
        with pytest.raises(ModelFileError, match=r"is a group, expected an array of numbers"):
            safe_h5.read_array(f["g"], what="weight")
