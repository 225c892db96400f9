"""The ``minikeras`` command: summary, convert and inspect on files Keras and minikeras wrote."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

from minikeras.cli import main
from minikeras.layers import Dense, Input
from minikeras.models import Sequential, load_model

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
KERAS3 = FIXTURES / "keras3_matrix"
TF_KERAS = FIXTURES / "tf_keras_2_21"
LEGACY = FIXTURES / "legacy"
ROOT = pathlib.Path(__file__).parent.parent


def run(capsys, *argv):
    """Runs the command in-process: ``(exit code, stdout, stderr)``."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_failed(code, out, err, pattern):
    assert code == 1
    assert err.startswith("minikeras: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    assert pattern in err, err


# -- summary ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path, writer, optimizer, loss, state", [
    (KERAS3 / "adam_amsgrad_dropout.keras", "Keras 3 .keras archive, written by Keras 3.15.1",
     "Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=True)", "'huber'",
     "saved, 14 arrays, step 3"),
    (KERAS3 / "adam_amsgrad_dropout.h5", "legacy HDF5 model, written by Keras 3.15.1, backend torch",
     "Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=True)", "'huber'",
     "saved, 14 arrays, step 3"),
    (TF_KERAS / "mlp_adam_categorical.h5", "legacy HDF5 model, written by Keras 2.21.0, backend tensorflow",
     "Custom>Adam(learning_rate=0.001, beta_1=0.9", "'categorical_crossentropy'", "saved, 13 arrays, step 8"),
    (LEGACY / "keras2_0_layout_mlp_adam.h5", "legacy HDF5 model, written by Keras 2.0.8, backend tensorflow",
     "Adam(lr=0.001", "'categorical_crossentropy'", "saved, 13 arrays, step 8"),
    (LEGACY / "keras1_layout_mlp_adam.h5", "legacy HDF5 model, written by Keras 1.2.2",
     "Adam(lr=0.001", "'categorical_crossentropy'", "saved, 13 arrays"),
])
def test_summary_of_model_files_from_every_keras(capsys, path, writer, optimizer, loss, state):
    code, out, err = run(capsys, "summary", path)
    assert (code, err) == (0, "")
    assert out.startswith(f"File: {path} ({writer})\nModel: ")
    assert "Total params:" in out
    training = out[out.index("Training configuration:"):]
    assert f"  optimizer: {optimizer}" in training
    assert f"  loss: {loss}\n" in training
    assert f"  optimizer state: {state}\n" in training


def test_summary_shows_a_schedule_and_metrics(capsys):
    code, out, _ = run(capsys, "summary", KERAS3 / "sgd_momentum_schedule.keras")
    assert code == 0
    assert ("  optimizer: SGD(learning_rate=ExponentialDecay(initial_learning_rate=0.1, decay_steps=3, "
            "decay_rate=0.8, staircase=False), momentum=0.9, nesterov=False)") in out
    assert "  metrics: ['accuracy', 'top_k_categorical_accuracy']" in out


def test_summary_of_an_uncompiled_model_and_of_a_minikeras_file(capsys, tmp_path):
    Sequential([Input((3,)), Dense(2, name="out")], name="plain").save(tmp_path / "m.h5")
    code, out, err = run(capsys, "summary", tmp_path / "m.h5")
    assert (code, err) == (0, "")
    assert "written by minikeras 0.1.0 (in the layout of Keras 3.15.1), backend numpy" in out
    assert 'Model: "plain"' in out and "out (Dense)" in out
    assert out.endswith("Training configuration: none (the model was saved without compiling it)\n")


@pytest.mark.parametrize("path, layout, first", [
    (KERAS3 / "adam_amsgrad_dropout.weights.h5", "Keras 3 .weights.h5, weights only", "    vars/0  (4, 6)  float32"),
    (TF_KERAS / "mlp_adam_categorical.weights-legacy.h5", "legacy HDF5 weights only, written by Keras 2.21.0",
     "    dense/kernel:0  (20, 16)  float32"),
    (LEGACY / "keras1_layout_mlp_adam.weights-legacy.h5", "legacy HDF5 weights only", "  dense_1: 2 arrays"),
])
def test_summary_of_a_weights_only_file_says_so_and_lists_its_arrays(capsys, path, layout, first):
    code, out, err = run(capsys, "summary", path)
    assert (code, err) == (0, "")
    assert out.startswith(f"File: {path} ({layout}")
    assert "It holds weights only: no architecture" in out
    assert "model.load_weights()" in out
    assert first in out
    assert "Model:" not in out


# -- inspect ----------------------------------------------------------------------------------
def test_inspect_a_legacy_h5_file(capsys):
    code, out, err = run(capsys, "inspect", TF_KERAS / "mlp_adam_categorical.h5")
    assert (code, err) == (0, "")
    assert "(legacy HDF5 model, " in out.splitlines()[0]
    assert "  backend: 'tensorflow'\n  keras_version: '2.21.0'\n  model_config: JSON text, " in out
    assert "  /model_weights/dense/dense/kernel:0  (20, 16)  float32\n" in out
    assert "  /optimizer_weights/iteration:0  ()  int64\n" in out
    assert "  /model_weights/top_level_model_weights/  (0 entries)\n" in out


def test_inspect_a_keras_archive_reads_it_in_memory(capsys, tmp_path):
    path = tmp_path / "copy.keras"
    shutil.copy(KERAS3 / "adam_amsgrad_dropout.keras", path)
    code, out, err = run(capsys, "inspect", path)
    assert (code, err) == (0, "")
    assert "  config.json              3,752 bytes  (stored)\n" in out
    assert "  model.weights.h5        25,144 bytes  (stored)\n" in out
    assert "metadata.json:\n  keras_version: '3.15.1'\n" in out
    lines = out.splitlines()
    vars_ = [line.split()[0] for line in lines if line.startswith("  /optimizer/vars/")]
    assert vars_[:3] == ["/optimizer/vars/", "/optimizer/vars/0", "/optimizer/vars/1"]
    assert vars_[-1] == "/optimizer/vars/13"  # natural order: 2 before 10
    assert "  /layers/dense/vars/0  (4, 6)  float32" in lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.keras"]  # nothing extracted


def test_inspect_a_weights_file_and_a_compressed_archive(capsys, tmp_path):
    code, out, _ = run(capsys, "inspect", KERAS3 / "adam_amsgrad_dropout.weights.h5")
    assert code == 0 and "(Keras 3 .weights.h5, weights only, " in out and "  /optimizer/vars/0  ()  int32" in out
    packed = tmp_path / "packed.keras"
    with zipfile.ZipFile(KERAS3 / "sgd_mse_alias.keras") as src, \
            zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    code, out, _ = run(capsys, "inspect", packed)
    assert code == 0 and "(deflated, " in out and "/layers/dense/vars/0" in out


def test_inspect_shows_soft_links_and_repeated_groups_without_looping(capsys, tmp_path):
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        f.attrs["note"] = "hand made"
        f.create_dataset("a/x", data=np.zeros((2, 3), np.float64))
        f["a/again"] = f["a"]  # a hard link back to its own group
        f["soft"] = h5py.SoftLink("/a/x")
    code, out, err = run(capsys, "inspect", path)
    assert (code, err) == (0, "")
    assert "(HDF5 file, " in out and "  note: 'hand made'" in out
    assert "  /a/again/  (the same group as listed above, not repeated)" in out
    assert "  /a/x  (2, 3)  float64" in out
    assert "  /soft -> /a/x  (soft link, not followed)" in out


# -- convert ----------------------------------------------------------------------------------
def test_convert_round_trip_h5_keras_h5_keeps_predictions_and_optimizer_state(capsys, tmp_path):
    source = TF_KERAS / "mlp_adam_categorical.h5"
    data = np.load(TF_KERAS / "mlp_adam_categorical.npz")
    code, out, err = run(capsys, "convert", source, tmp_path / "m.keras")
    assert (code, err) == (0, "")
    assert out == (f"Converted {source} (legacy HDF5 model) to {tmp_path / 'm.keras'} (Keras 3 .keras archive); "
                   "optimizer state kept (step 8)\n")
    code, out, _ = run(capsys, "convert", tmp_path / "m.keras", tmp_path / "back.h5")
    assert code == 0 and "optimizer state kept (step 8)" in out
    original, back = load_model(source), load_model(tmp_path / "back.h5")
    np.testing.assert_allclose(back.predict(data["x"], verbose=0), data["pred"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(back.predict(data["x"], verbose=0), original.predict(data["x"], verbose=0))
    assert back.optimizer.iterations == original.optimizer.iterations == 8
    for a, b in zip(back.optimizer.get_weights(), original.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    code, out, _ = run(capsys, "summary", tmp_path / "back.h5")
    assert code == 0 and "optimizer state: saved, 14 arrays, step 8" in out  # with Keras 3's learning_rate


def test_convert_a_keras3_archive_to_weights_only(capsys, tmp_path):
    code, out, _ = run(capsys, "convert", KERAS3 / "adam_amsgrad_dropout.keras", tmp_path / "w.weights.h5")
    assert code == 0 and "(Keras 3 .weights.h5, weights only); optimizer state kept (step 3)" in out
    model = load_model(KERAS3 / "adam_amsgrad_dropout.keras")
    expected = [w.copy() for w in model.get_weights()]
    model.set_weights([np.zeros_like(w) for w in expected])
    model.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


def test_convert_refuses_to_overwrite_unless_asked(capsys, tmp_path):
    target = tmp_path / "m.keras"
    target.write_bytes(b"keep me")
    code, out, err = run(capsys, "convert", KERAS3 / "sgd_mse_alias.h5", target)
    assert_failed(code, out, err, f"'{target}' already exists; pass --overwrite to replace it.")
    assert target.read_bytes() == b"keep me"
    code, _, err = run(capsys, "convert", "--overwrite", KERAS3 / "sgd_mse_alias.h5", target)
    assert (code, err) == (0, "")
    assert zipfile.ZipFile(target).namelist() == ["metadata.json", "config.json", "model.weights.h5"]
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # no temporary file left


def test_convert_refuses_weights_only_input_and_unknown_suffixes(capsys, tmp_path):
    code, out, err = run(capsys, "convert", KERAS3 / "sgd_mse_alias.weights.h5", tmp_path / "m.keras")
    assert_failed(code, out, err, "holds Keras 3 .weights.h5, weights only, not a model")
    code, _, err = run(capsys, "convert", KERAS3 / "sgd_mse_alias.h5", tmp_path / "m.txt")
    assert code == 2 and "cannot tell the output format from" in err
    assert not list(tmp_path.iterdir())


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["summary", "inspect", "convert"])
def test_a_missing_file_fails_in_one_line(capsys, tmp_path, command):
    extra = [tmp_path / "out.keras"] if command == "convert" else []
    code, out, err = run(capsys, command, tmp_path / "missing.h5", *extra)
    assert_failed(code, out, err, "No file found at")


@pytest.mark.parametrize("command", ["summary", "inspect"])
def test_files_that_are_not_model_files_fail_in_one_line(capsys, tmp_path, command):
    text = tmp_path / "notes.h5"
    text.write_text("not a model\n")
    assert_failed(*run(capsys, command, text), "is neither an HDF5 file nor a .keras archive")
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    assert_failed(*run(capsys, command, broken), "not a valid .keras archive")


def test_an_hdf5_file_without_a_model_is_named_as_such(capsys, tmp_path):
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    assert_failed(*run(capsys, "summary", tmp_path / "data.h5"), "holds no Keras model or weights")
    assert_failed(*run(capsys, "convert", tmp_path / "data.h5", tmp_path / "m.keras"), "not a model")


@pytest.mark.parametrize("command", ["summary", "inspect", "convert"])
def test_an_external_link_is_refused(capsys, tmp_path, command):
    model = Sequential([Input((4,)), Dense(3, name="hidden"), Dense(2, name="out")])
    model.save(tmp_path / "m.h5")
    other = tmp_path / "elsewhere.h5"
    with h5py.File(tmp_path / "m.h5", "r") as src, h5py.File(other, "w") as dst:
        src.copy(src["model_weights/hidden"], dst, name="hidden")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        del f["model_weights/hidden"]
        f["model_weights/hidden"] = h5py.ExternalLink(str(other), "/hidden")
    extra = [tmp_path / "out.keras"] if command == "convert" else []
    code, out, err = run(capsys, command, tmp_path / "m.h5", *extra)
    assert_failed(code, out, err, "links to another file")
    assert not (tmp_path / "out.keras").exists()


def test_usage_errors_exit_with_2_and_help_with_0(capsys):
    assert main([]) == 2
    assert main(["summary"]) == 2
    assert main(["convert", "only-one.h5"]) == 2
    assert main(["frobnicate", "x"]) == 2
    assert main(["inspect", "--verbose", "x.h5"]) == 2
    assert "usage: minikeras" in capsys.readouterr().err
    for command in ("summary", "convert", "inspect"):
        assert main([command, "--help"]) == 0
        assert f"usage: minikeras {command}" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "convert   convert a model between .h5 and .keras" in capsys.readouterr().out


def test_python_dash_m_minikeras_help():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "minikeras", "--help"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: minikeras ")
    for command in ("summary", "convert", "inspect"):
        assert command in done.stdout

