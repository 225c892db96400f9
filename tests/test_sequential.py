"""Model construction, naming, shapes, summary, weights and configs."""

import json

import numpy as np
import pytest

from minikeras import backend, layers
from minikeras.layers import Activation, Dense, Input, InputLayer
from minikeras.models import Sequential, model_from_json


def slide_model():
    model = Sequential()
    model.add(Dense(64, input_dim=100))
    model.add(Activation("relu"))
    model.add(Dense(10))
    model.add(Activation("softmax"))
    return model


def test_auto_names_follow_keras():
    model = slide_model()
    assert model.name == "sequential"
    assert [layer.name for layer in model.layers] == ["dense", "activation", "dense_1", "activation_1"]
    assert Sequential().name == "sequential_1"
    backend.clear_session()
    assert Dense(2).name == "dense"


def test_input_declarations_are_equivalent():
    shapes = []
    for model in (
        Sequential([Input(shape=(100,)), Dense(8)]),
        Sequential([Dense(8, input_shape=(100,))]),
        Sequential([Dense(8, input_dim=100)]),
        Sequential([InputLayer(shape=(100,)), Dense(8)]),
    ):
        assert model.built
        shapes.append((model.input_shape, model.output_shape))
    assert shapes == [((None, 100), (None, 8))] * 4


def test_layers_excludes_input_layer_and_is_a_copy():
    model = Sequential([Input((3,)), Dense(2)])
    assert [type(layer).__name__ for layer in model.layers] == ["Dense"]
    model.layers.append(Dense(1))
    assert len(model.layers) == 1


def test_deferred_build_on_build_and_on_predict():
    model = Sequential([Dense(4), Dense(2)])
    assert not model.built
    with pytest.raises(AttributeError, match="no input shape"):
        _ = model.input_shape
    model.build((None, 3))
    assert model.built and model.output_shape == (None, 2)
    other = Sequential([Dense(4)])
    assert other.predict(np.ones((2, 5)), verbose=0).shape == (2, 4)
    assert other.input_shape == (None, 5)


def test_kernel_layout_and_count_params():
    model = slide_model()
    kernel, bias = model.layers[0].get_weights()
    assert kernel.shape == (100, 64) and bias.shape == (64,)
    assert kernel.dtype == np.float32
    assert model.count_params() == 100 * 64 + 64 + 64 * 10 + 10


def test_pop_removes_last_layer():
    model = slide_model()
    popped = model.pop()
    assert isinstance(popped, Activation)
    assert model.output_shape == (None, 10)
    model.pop()
    assert model.output_shape == (None, 64)
    assert model.count_params() == 100 * 64 + 64


def test_summary_lists_layers_and_totals():
    lines = []
    slide_model().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "sequential"'
    assert "dense (Dense)" in text and "(None, 64)" in text and "6,464" in text
    assert "activation_1 (Activation)" in text and "(None, 10)" in text
    assert " Total params: 7,114 (27.79 KB)" in lines
    assert " Trainable params: 7,114 (27.79 KB)" in lines
    assert " Non-trainable params: 0 (0.00 B)" in lines


def test_summary_of_unbuilt_model_does_not_fail():
    lines = []
    Sequential([Dense(3)]).summary(print_fn=lines.append)
    assert any("0 (unbuilt)" in line for line in lines)


def test_summary_counts_optimizer_state_after_fit():
    model = Sequential([Input((2,)), Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 3)), verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    # SGD without momentum keeps the iteration count and the learning rate.
    assert " Optimizer params: 2 (8.00 B)" in lines
    assert " Total params: 11 (44.00 B)" in lines


def test_get_set_weights_round_trip():
    model = slide_model()
    weights = [w + 1 for w in model.get_weights()]
    model.set_weights(weights)
    for got, expected in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, expected)


def test_config_is_keras3_shaped_and_json_safe():
    model = slide_model()
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config
    assert config["name"] == "sequential"
    assert config["build_input_shape"] == [None, 100]
    first, dense = config["layers"][0], config["layers"][1]
    assert first["class_name"] == "InputLayer" and first["config"]["batch_shape"] == [None, 100]
    assert dense["module"] == "keras.layers" and dense["class_name"] == "Dense"
    assert dense["config"]["units"] == 64 and dense["config"]["activation"] == "linear"
    assert dense["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert dense["config"]["dtype"]["config"]["name"] == "float32"
    assert config["layers"][2]["config"]["activation"] == "relu"


def test_from_config_round_trip_is_exact():
    model = slide_model()
    config = model.get_config()
    clone = Sequential.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]


def test_to_json_and_model_from_json_keep_compile_settings():
    model = slide_model()
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    text = model.to_json()
    payload = json.loads(text)
    assert payload["class_name"] == "Sequential" and payload["module"] == "keras"
    assert payload["compile_config"]["loss"] == "categorical_crossentropy"
    assert payload["compile_config"]["optimizer"]["class_name"] == "SGD"
    clone = model_from_json(text)
    assert clone.get_config() == model.get_config()
    assert clone.compiled and clone._metric_specs == ["accuracy"]
    assert json.loads(clone.to_json()) == payload


def test_from_config_reads_keras2_layouts():
    # tf-keras: explicit InputLayer with batch_input_shape and plain dtype strings.
    tf_keras = {"name": "sequential_7", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "dense_input"}},
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32",
                                           "units": 3, "activation": "relu", "use_bias": True,
                                           "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                                           "bias_initializer": {"class_name": "Zeros", "config": {}},
                                           "kernel_regularizer": None, "bias_regularizer": None,
                                           "activity_regularizer": None, "kernel_constraint": None,
                                           "bias_constraint": None}}]}
    # Keras 2.2: no InputLayer, batch_input_shape on the first layer.
    k224 = {"name": "sequential_1", "layers": [
        {"class_name": "Dense", "config": {"name": "dense_1", "batch_input_shape": [None, 4], "dtype": "float32",
                                           "units": 3, "activation": "relu"}}]}
    for config in (tf_keras, k224):
        model = Sequential.from_config(config)
        assert model.input_shape == (None, 4) and model.output_shape == (None, 3)
        assert model.predict(np.ones((2, 4)), verbose=0).shape == (2, 3)


def test_layer_registry_round_trip_for_each_layer():
    for layer in (Dense(3, activation="tanh", use_bias=False), Activation("softmax"), InputLayer(shape=(2,))):
        config = layers.serialize(layer)
        clone = layers.deserialize(json.loads(json.dumps(config)))
        assert type(clone) is type(layer)
        assert clone.get_config() == layer.get_config()


def test_frozen_layer_is_not_trained():
    model = Sequential([Input((3,)), Dense(4), Dense(2)])
    model.layers[0].trainable = False
    before = model.layers[0].get_weights()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), verbose=0, epochs=2)
    for got, expected in zip(model.layers[0].get_weights(), before):
        np.testing.assert_array_equal(got, expected)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_float64_models_compute_in_float64():
    backend.set_floatx("float64")
    model = Sequential([Input((3,)), Dense(2)])
    assert model.get_weights()[0].dtype == np.float64
    assert model.predict(np.ones((2, 3), dtype="float32"), verbose=0).dtype == np.float64


def test_frozen_model_is_not_trained():
    model = Sequential([Input((3,)), Dense(2)], trainable=False)
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)
    model.train_on_batch(np.ones((4, 3)), np.zeros((4, 2)))
    for got, expected in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, expected)


def test_batch_size_on_first_layer_fixes_the_input_batch_dimension():
    model = Sequential([Dense(3, input_dim=2, batch_size=8)])
    assert model.input_shape == (8, 2)
    assert Sequential.from_config(model.get_config()).input_shape == (8, 2)
    with pytest.raises(ValueError, match="without an input shape"):
        Dense(3, batch_size=8)
    with pytest.raises(ValueError, match="ragged=True"):
        InputLayer(shape=(2,), ragged=True)


def test_freezing_the_model_freezes_every_layer():
    from minikeras.layers import BatchNormalization

    model = Sequential([Input((3,)), Dense(4), BatchNormalization(), Dense(1)])
    model.trainable = False
    assert [layer.trainable for layer in model.layers] == [False, False, False]
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    before = model.get_weights()
    model.fit(x, np.ones((16, 1), "float32"), epochs=2, verbose=0)
    for old, new in zip(before, model.get_weights()):  # moving statistics included
        np.testing.assert_array_equal(old, new)
    model.trainable = True
    assert all(layer.trainable for layer in model.layers)
    assert len(model.trainable_weights) == 6


def test_to_json_leaves_out_a_compile_config_it_cannot_name():
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss=lambda y, p: ((y - p) ** 2).mean(axis=-1))
    payload = json.loads(model.to_json())
    assert payload["class_name"] == "Sequential" and "compile_config" not in payload
    model.compile(optimizer="sgd", loss="mse")
    assert json.loads(model.to_json())["compile_config"]["loss"] == "mean_squared_error"
