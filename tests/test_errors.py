"""Every bad input gets a clear, early error: what was expected, what was received, how to fix it.

Each ``match`` pins the received value (a count, a shape as a tuple, a name) and the hint.
"""

from __future__ import annotations

import os
import re
import warnings

import h5py
import numpy as np
import pytest

import minikeras as mk
from minikeras.callbacks import EarlyStopping
from minikeras.layers import Activation, Dense, Input
from minikeras.models import Sequential
from minikeras.optimizers import SGD
from minikeras.saving import legacy_h5

N = 10


# -- helpers ------------------------------------------------------------------------------
def make_model(width: int = 100, classes: int = 3, activation: str = "softmax", loss: str | None = None,
               **compile_kwargs) -> Sequential:
    model = Sequential([Dense(8, input_dim=width, activation="relu", name="hidden"),
                        Dense(classes, activation=activation, name="out")])
    if loss is not None:
        model.compile(optimizer="sgd", loss=loss, **compile_kwargs)
    return model


def make_x(n: int = N, width: int = 100) -> np.ndarray:
    return np.linspace(-1.0, 1.0, n * width).reshape(n, width)


def make_onehot(n: int = N, classes: int = 3) -> np.ndarray:
    return np.eye(classes)[np.arange(n) % classes]


def call_method(model: Sequential, method: str, x, y=None, **kwargs):
    """Runs ``fit``/``evaluate``/``predict``/``predict_on_batch`` quietly."""
    if method == "predict_on_batch":
        return model.predict_on_batch(x)
    if method == "predict":
        return model.predict(x, verbose=0, **kwargs)
    return getattr(model, method)(x, y, verbose=0, **kwargs)


def deprecations(fn):
    """Runs ``fn`` and returns (result, DeprecationWarnings it emitted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [w for w in caught if issubclass(w.category, DeprecationWarning)]


# -- compile ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_training_methods_before_compile_raise_runtime_error(method):
    model = make_model()
    x, y = make_x(), make_onehot()
    call = {"fit": lambda: model.fit(x, y, verbose=0),
            "evaluate": lambda: model.evaluate(x, y, verbose=0),
            "train_on_batch": lambda: model.train_on_batch(x, y),
            "test_on_batch": lambda: model.test_on_batch(x, y)}[method]
    with pytest.raises(RuntimeError, match=rf"You must call compile\(\) before {method}\(\)\. "
                                           r"For example: model\.compile\(optimizer='sgd'"):
        call()


def test_predict_works_without_compile():
    assert make_model().predict(make_x(), verbose=0).shape == (N, 3)


def test_compile_without_loss():
    with pytest.raises(ValueError, match=r"compile\(\) needs a `loss`, e\.g\. loss='categorical_crossentropy'"):
        make_model().compile(optimizer="sgd")


def test_compile_metrics_must_be_a_list():
    with pytest.raises(TypeError, match=r"`metrics` to be a list such as \['accuracy'\]\. Received: 'accuracy'\."):
        make_model().compile(optimizer="sgd", loss="mse", metrics="accuracy")


# -- sample counts ------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_x_and_y_sample_counts_differ(method):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=rf"{method}\(\) received x with 10 samples and y with 7 samples\. "
                                         r"x and y must have the same number of samples"):
        if method in ("fit", "evaluate"):
            call_method(model, method, make_x(), make_onehot()[:7])
        else:
            getattr(model, method)(make_x(), make_onehot()[:7])


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_sample_weight_count_differs(method):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=rf"{method}\(\) received x with 10 samples and sample_weight with 4 "
                                         r"samples\. x and sample_weight must have the same number"):
        call_method(model, method, make_x(), make_onehot(), sample_weight=np.ones(4))


def test_sample_weight_with_several_columns():
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"fit\(\) expects `sample_weight` of shape \(10,\): one weight per "
                                         r"sample\. Received shape \(10, 2\)\. Pass a 1-D array"):
        model.fit(make_x(), make_onehot(), sample_weight=np.ones((N, 2)), verbose=0)


def test_sample_weight_column_vector_is_accepted():
    model = make_model(loss="categorical_crossentropy")
    history = model.fit(make_x(), make_onehot(), sample_weight=np.ones((N, 1)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_validation_data_sample_counts_differ():
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"fit\(validation_data\) received x with 5 samples and y with 4 samples\."):
        model.fit(make_x(), make_onehot(), validation_data=(make_x(5), make_onehot(4)), verbose=0)


def test_validation_data_must_be_a_tuple():
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"`validation_data` as \(x_val, y_val\), \(x_val, y_val, sample_weight\), "
                                         r"a generator or a minikeras.utils.Sequence\. Received a ndarray\."):
        model.fit(make_x(), make_onehot(), validation_data=make_x(), verbose=0)


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_missing_targets(method):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=rf"{method}\(\) needs targets `y` for the inputs `x`\."):
        getattr(model, method)(make_x(), verbose=0)


# -- input width --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict", "predict_on_batch"])
def test_input_width_differs_from_first_layer(method):
    model = make_model(width=100, loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=rf"Model 'sequential' expects 100 input features, but x has 50 "
                                         rf"\(x shape \(10, 50\), model input shape \(None, 100\)\) in {method}\(\)\. "
                                         r"Pass data with the model's input width"):
        call_method(model, method, make_x(width=50), make_onehot())


def test_validation_data_width_differs():
    model = make_model(width=100, loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"expects 100 input features, but x has 50 .* in fit\(validation_data\)\. "
                                         r"Pass data"):
        model.fit(make_x(), make_onehot(), validation_data=(make_x(width=50), make_onehot()), verbose=0)


@pytest.mark.parametrize("method", ["predict", "predict_on_batch"])
def test_one_dimensional_input_to_built_model(method):
    model = make_model(width=100)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 100\), but x has shape \(50,\)"):
        call_method(model, method, np.ones(50))


@pytest.mark.parametrize("method", ["fit", "predict", "predict_on_batch"])
def test_one_dimensional_input_to_unbuilt_model_leaves_it_usable(method):
    model = Sequential([Dense(3, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=rf"{method}\(\) expects `x` of shape \(samples, features\), but received "
                                         r"x of shape \(10,\)\. For a single feature use x\.reshape\(-1, 1\)"):
        call_method(model, method, np.ones(N), np.ones((N, 3)))
    assert not model.built
    model.fit(np.ones((N, 4)), np.ones((N, 3)), verbose=0)
    assert model.input_shape == (None, 4)


def test_layer_call_with_wrong_width():
    layer = Dense(3, name="probe")
    layer(np.ones((4, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"Layer 'probe' \(Dense\) expects inputs of shape \(None, 2\), but received "
                                         r"inputs of shape \(4, 5\)\. Check the number of features"):
        layer(np.ones((4, 5), dtype="float32"))


def test_model_call_with_wrong_width():
    model = make_model(width=100)
    with pytest.raises(ValueError, match=r"Model 'sequential' expects 100 input features, but x has 50 "
                                         r"\(x shape \(2, 50\), model input shape \(None, 100\)\) in __call__\(\)\. "
                                         r"Pass data with the model's input width"):
        model(np.ones((2, 50)))


def test_model_without_declared_input_rebuilt_for_another_width():
    model = Sequential([Dense(8, name="hidden"), Dense(3)], name="m")
    model.build((None, 100))
    with pytest.raises(ValueError, match=r"Model 'm' declares input shape \(None, 100\), but build\(\) received "
                                         r"\(None, 50\)\."):
        model.build((None, 50))


# -- targets ------------------------------------------------------------------------------
@pytest.mark.parametrize("labels", [np.arange(N) % 3, (np.arange(N) % 3)[:, None]], ids=["(N,)", "(N,1)"])
@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_integer_labels_with_categorical_crossentropy(method, labels):
    model = make_model(loss="categorical_crossentropy")
    shape = re.escape(str(labels.shape))
    with pytest.raises(ValueError, match=rf"expects one-hot targets of shape \(N, 3\), but received targets of "
                                         rf"shape {shape}, which look like integer class labels\. "
                                         r"Use loss='sparse_categorical_crossentropy'"):
        call_method(model, method, make_x(), labels)


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_one_hot_targets_with_sparse_categorical_crossentropy(method):
    model = make_model(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"expects integer class labels of shape \(N,\) or \(N, 1\), but received "
                                         r"targets of shape \(10, 3\), which look one-hot encoded\. "
                                         r"Use loss='categorical_crossentropy'"):
        call_method(model, method, make_x(), make_onehot())


@pytest.mark.parametrize("labels, low, high", [(np.arange(N) % 6, 0, 5), (np.arange(N) % 3 - 1, -1, 1)])
def test_sparse_labels_out_of_range(labels, low, high):
    model = make_model(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=rf"expects class labels in \[0, 2\] for a model with 3 outputs\. "
                                         rf"Received labels from {low} to {high}\. Give the last layer one unit per class"):
        model.fit(make_x(), labels, verbose=0)


def test_sparse_labels_that_are_not_integers():
    model = make_model(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"expects integer class labels; received non-integer values such as 0\.5\. "
                                         r"Pass class indices"):
        model.fit(make_x(), (np.arange(N) % 3) * 0.5, verbose=0)


@pytest.mark.parametrize("y_shape", [(N, 2), (N, 4), (N,)])
def test_wrong_target_width_for_mse(y_shape):
    model = make_model(activation="linear", loss="mse")
    with pytest.raises(ValueError, match=r"Loss 'mean_squared_error' expects targets shaped like the model output "
                                         rf"\(None, 3\), but received targets of shape {re.escape(str(y_shape))}\. "
                                         r"Give y one column per model output"):
        model.fit(make_x(), np.zeros(y_shape), verbose=0)


# -- unknown names ------------------------------------------------------------------------
@pytest.mark.parametrize("make, family, bad, suggestion, known", [
    (lambda: make_model().compile(optimizer="sgd", loss="categorical_crossentropyy"),
     "loss", "categorical_crossentropyy", "categorical_crossentropy", "mean_squared_error"),
    (lambda: make_model().compile(optimizer="sgdd", loss="mse"), "optimizer", "sgdd", "sgd", "SGD"),
    (lambda: Dense(3, activation="rellu"), "activation", "rellu", "relu", "sigmoid"),
    (lambda: Activation("rellu"), "activation", "rellu", "relu", "softmax"),
    (lambda: Dense(3, kernel_initializer="glorot_unifrom"), "initializer", "glorot_unifrom", "glorot_uniform",
     "he_normal"),
    (lambda: make_model().compile(optimizer="sgd", loss="mse", metrics=["acuracy"]), "metric", "acuracy",
     "accuracy", "categorical_accuracy"),
], ids=["loss", "optimizer", "dense-activation", "activation-layer", "initializer", "metric"])
def test_near_miss_names_suggest_the_right_one(make, family, bad, suggestion, known):
    with pytest.raises(ValueError, match=rf"Unknown {family} '{bad}'\. Did you mean '{suggestion}'\? "
                                         rf"Known {family} names: .*\b{known}\b") as info:
        make()
    assert "Did you mean" in str(info.value)


@pytest.mark.parametrize("make, family", [
    (lambda: make_model().compile(optimizer="sgd", loss="zzzz"), "loss"),
    (lambda: make_model().compile(optimizer="zzzz", loss="mse"), "optimizer"),
    (lambda: Dense(3, activation="zzzz"), "activation"),
    (lambda: Dense(3, kernel_initializer="zzzz"), "initializer"),
    (lambda: make_model().compile(optimizer="sgd", loss="mse", metrics=["zzzz"]), "metric"),
])
def test_far_off_names_list_valid_names_without_a_guess(make, family):
    with pytest.raises(ValueError, match=rf"Unknown {family} 'zzzz'\. Known {family} names: \w+") as info:
        make()
    assert "Did you mean" not in str(info.value)


def test_optimizer_names_are_case_insensitive():
    model = make_model()
    model.compile(optimizer="SgD", loss="mse")
    assert isinstance(model.optimizer, SGD)


# -- unknown keyword arguments ------------------------------------------------------------
@pytest.mark.parametrize("owner, call", [
    ("Dense", lambda: Dense(3, activaton="relu")),
    ("Activation", lambda: Activation("relu", units=3)),
    ("fit()", lambda: make_model(loss="mse").fit(make_x(), make_onehot(), epoch=2, verbose=0)),
    ("evaluate()", lambda: make_model(loss="mse").evaluate(make_x(), make_onehot(), bach_size=2, verbose=0)),
    ("predict()", lambda: make_model().predict(make_x(), step=2, verbose=0)),
    ("compile()", lambda: make_model().compile(optimizer="sgd", loss="mse", metric=["accuracy"])),
    ("SGD", lambda: SGD(momentun=0.9)),
], ids=["Dense", "Activation", "fit", "evaluate", "predict", "compile", "SGD"])
def test_unknown_keyword_arguments_name_the_argument(owner, call):
    bad = {"Dense": "activaton", "Activation": "units", "fit()": "epoch", "evaluate()": "bach_size",
           "predict()": "step", "compile()": "metric", "SGD": "momentun"}[owner]
    with pytest.raises(TypeError, match=rf"{re.escape(owner)} received unknown keyword argument\(s\): `{bad}`\. "
                                        r"Check the spelling"):
        call()


def test_unknown_keyword_argument_is_caught_before_compile_check():
    with pytest.raises(TypeError, match=r"fit\(\) received unknown keyword argument\(s\): `epoch`"):
        make_model().fit(make_x(), make_onehot(), epoch=2)


# -- plain functions ----------------------------------------------------------------------
@pytest.mark.parametrize("fn", [lambda x: np.maximum(x, 0), np.tanh], ids=["lambda", "ufunc"])
@pytest.mark.parametrize("where", ["Dense", "Activation"])
def test_plain_function_as_activation(fn, where):
    with pytest.raises(TypeError, match=r"Expected an activation name or a minikeras\.activations\.Activation; "
                                        r"received .*\. A plain function has no derivative for backpropagation: "
                                        r"subclass Activation"):
        Dense(3, activation=fn) if where == "Dense" else Activation(fn)


def test_loss_that_is_not_callable():
    with pytest.raises(TypeError, match=r"Expected a loss name, a minikeras\.losses\.Loss or a function "
                                        r"f\(y_true, y_pred\) returning one loss per sample; received 3 \(int\)\."):
        make_model().compile(optimizer="sgd", loss=3)


def test_minikeras_loss_functions_are_accepted_like_names():
    x, y = make_x(), make_onehot()
    by_function = make_model(activation="linear")
    by_function.compile(optimizer="sgd", loss=mk.losses.mean_squared_error)
    by_name = make_model(activation="linear")
    by_name.set_weights(by_function.get_weights())
    by_name.compile(optimizer="sgd", loss="mse")
    assert by_function.evaluate(x, y, verbose=0) == by_name.evaluate(x, y, verbose=0)
    assert by_function.get_compile_config()["loss"] == "mean_squared_error"


# -- NaN and infinity ---------------------------------------------------------------------
def _with_bad_value(array: np.ndarray, row: int, value: float) -> np.ndarray:
    array = array.astype("float64").copy()
    array[row, -1] = value
    return array


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_non_finite_inputs_name_the_row(method, value):
    model = make_model(loss="categorical_crossentropy")
    x = _with_bad_value(make_x(), 3, value)
    with pytest.raises(ValueError, match=rf"{method}\(\) argument `x` contains NaN or infinite values "
                                         r"\(first at row 3\)\. Remove or impute them"):
        call_method(model, method, x, make_onehot())


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_targets_name_the_row(value):
    model = make_model(loss="categorical_crossentropy")
    y = _with_bad_value(make_onehot(), 7, value)
    with pytest.raises(ValueError, match=r"fit\(\) argument `y` contains NaN or infinite values \(first at row 7\)\. "
                                         r"Remove or impute them"):
        model.fit(make_x(), y, verbose=0)


def test_non_finite_sparse_labels_name_the_row():
    model = make_model(loss="sparse_categorical_crossentropy")
    y = (np.arange(N) % 3).astype("float64")
    y[5] = np.nan
    with pytest.raises(ValueError, match=r"fit\(\) argument `y` contains NaN or infinite values \(first at row 5\)"):
        model.fit(make_x(), y, verbose=0)


def test_non_finite_sample_weight_names_the_row():
    model = make_model(loss="categorical_crossentropy")
    weights = np.ones(N)
    weights[4] = np.nan
    with pytest.raises(ValueError, match=r"fit\(\) argument `sample_weight` contains NaN or infinite values "
                                         r"\(first at row 4\)"):
        model.fit(make_x(), make_onehot(), sample_weight=weights, verbose=0)


def test_non_finite_input_leaves_weights_untouched():
    model = make_model(loss="categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"row 9"):
        model.fit(_with_bad_value(make_x(), 9, np.nan), make_onehot(), verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


# -- fit arguments ------------------------------------------------------------------------
@pytest.mark.parametrize("split", [-0.1, 1.0, 1.5, "0.2", None, True])
def test_validation_split_outside_range(split):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"fit\(\) expects `validation_split` to be a number in \[0, 1\), e\.g\. 0\.2\. "
                                         rf"Received: validation_split={re.escape(repr(split))}\."):
        model.fit(make_x(), make_onehot(), validation_split=split, verbose=0)


@pytest.mark.parametrize("split, empty, train, val", [(0.95, "training", 0, 10), (0.9, "training", 0, 10),
                                                      (1e-17, "validation", 10, 0)])
def test_validation_split_that_leaves_an_empty_part(split, empty, train, val):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=rf"validation_split={re.escape(str(split))} leaves an empty {empty} set for "
                                         rf"10 samples \({train} for training, {val} for validation\); each needs at "
                                         r"least one sample\. Use more data or a different validation_split"):
        model.fit(make_x(), make_onehot(), validation_split=split, verbose=0)


def test_small_validation_split_keeps_one_validation_sample_like_keras():
    # Keras splits at floor(N * (1 - split)): 0.01 of 10 samples leaves 9 for training and 1 for validation.
    seen = []

    class CountBatches(mk.callbacks.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            seen.append(batch)

    model = make_model(loss="categorical_crossentropy")
    history = model.fit(make_x(), make_onehot(), validation_split=0.01, batch_size=1, epochs=1, verbose=0,
                        callbacks=[CountBatches()])
    assert "val_loss" in history.history
    assert seen == [0]


@pytest.mark.parametrize("units, received", [(0, "0"), (-3, "-3"), (2.5, "2.5"), ("3", "'3'"), (True, "True")])
def test_dense_units_must_be_a_positive_integer(units, received):
    with pytest.raises(ValueError, match=rf"Dense expects `units` to be a positive integer\. Received: units={received}\."):
        Dense(units=units)


def test_dense_without_units():
    with pytest.raises(TypeError, match=r"Dense is missing the required argument `units` \(e\.g\. Dense\(64\)\)"):
        Dense()


def test_dense_with_output_dim_and_units():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the conflict raises before any deprecation warning
        with pytest.raises(TypeError, match=r"Dense received both the legacy argument `output_dim` and its "
                                            r"replacement `units`\. Pass only `units`\."):
            Dense(units=3, output_dim=3)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_verbose_must_be_0_1_2_or_auto(method):
    model = make_model(loss="categorical_crossentropy")
    kwargs = {"verbose": 3}
    with pytest.raises(ValueError, match=r"Expected `verbose` to be 0, 1, 2 or 'auto'\. Received: verbose=3\."):
        if method == "predict":
            model.predict(make_x(), **kwargs)
        else:
            getattr(model, method)(make_x(), make_onehot(), **kwargs)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5])
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_batch_size_must_be_a_positive_integer(method, batch_size):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=rf"{method}\(\) expects `batch_size` to be a positive integer\. "
                                         rf"Received: batch_size={batch_size}\."):
        call_method(model, method, make_x(), make_onehot(), batch_size=batch_size)


@pytest.mark.parametrize("shuffle", ["sometimes", 2, np.array([1, 2])], ids=["str", "int", "array"])
def test_shuffle_must_be_true_false_or_batch(shuffle):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"fit\(\) expects `shuffle` to be True, False or 'batch'\. "
                                         rf"Received: shuffle={re.escape(repr(shuffle))}\."):
        model.fit(make_x(), make_onehot(), shuffle=shuffle, verbose=0)


@pytest.mark.parametrize("epochs", [-1, 2.5, "3"])
def test_epochs_must_be_a_non_negative_integer(epochs):
    model = make_model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"fit\(\) expects `epochs` to be a non-negative integer\. "
                                         rf"Received: epochs={re.escape(repr(epochs))}\."):
        model.fit(make_x(), make_onehot(), epochs=epochs, verbose=0)


# -- model structure ----------------------------------------------------------------------
def test_two_layers_with_the_same_name_in_the_constructor():
    with pytest.raises(ValueError, match=r"should have unique names\. Name 'twin' is already the name of a layer in "
                                         r"this model\. Pass a unique `name`\."):
        Sequential([Dense(4, input_dim=3, name="twin"), Dense(2, name="twin")])


def test_two_layers_with_the_same_name_through_add():
    model = Sequential([Input((3,)), Dense(4, name="twin")])
    with pytest.raises(ValueError, match=r"Name 'twin' is already the name of a layer"):
        model.add(Dense(2, name="twin"))
    assert [layer.name for layer in model.layers] == ["twin"]


def test_the_same_layer_object_added_twice():
    layer = Dense(4, name="once")
    model = Sequential([Input((4,)), layer])
    with pytest.raises(ValueError, match=r"Name 'once' is already the name of a layer"):
        model.add(layer)


@pytest.mark.parametrize("thing, type_name", [("dense", "str"), (Dense, "type"), (np.ones(3), "ndarray"),
                                              (Sequential(), "Sequential")])
def test_adding_a_non_layer(thing, type_name):
    with pytest.raises(TypeError, match=rf"Only minikeras layers can be added to a Sequential model\. Received: "
                                        rf".* of type {type_name}\."):
        Sequential().add(thing)


def test_a_second_input():
    with pytest.raises(ValueError, match=r"only once\. Received the input 'second' of shape \(None, 5\), but model "
                                         r"'m' already has the input 'first' of shape \(None, 3\)\. "
                                         r"Declare the input once, as the first element\."):
        Sequential([Input((3,), name="first"), Input((5,), name="second")], name="m")


def test_an_input_after_a_layer():
    with pytest.raises(ValueError, match=r"Received the input 'late' of shape \(None, 3\), but model 'm' already "
                                         r"has 1 layer\(s\)\. Declare the input once, as the first element\."):
        Sequential([Dense(2), Input((3,), name="late")], name="m")


def test_build_with_a_shape_other_than_the_declared_input():
    model = Sequential([Input((3,)), Dense(2)], name="m")
    with pytest.raises(ValueError, match=r"Model 'm' declares input shape \(None, 3\), but build\(\) received "
                                         r"\(None, 4\)\."):
        model.build((None, 4))


# -- weights ------------------------------------------------------------------------------
def test_set_weights_with_the_wrong_count():
    model = make_model(width=4)
    with pytest.raises(ValueError, match=r"Model 'sequential' expects a list of 4 weight arrays, but received 1\. "
                                         r"Pass a list shaped like model\.get_weights\(\)\."):
        model.set_weights(model.get_weights()[:1])


def test_set_weights_with_a_wrong_shape_changes_nothing():
    model = make_model(width=4)
    before = model.get_weights()
    new = [np.full_like(w, 7.0) for w in before]
    new[-1] = np.zeros(5)  # the last bias has shape (3,)
    with pytest.raises(ValueError, match=r"Cannot assign a value of shape \(5,\) to weight '.*out/bias' of shape "
                                         r"\(3,\)\. Pass an array of shape \(3,\)\."):
        model.set_weights(new)
    for old, current in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, current)


def test_layer_set_weights_with_the_wrong_count_or_shape():
    model = make_model(width=4)
    layer = model.layers[0]
    kernel = layer.get_weights()[0]
    with pytest.raises(ValueError, match=r"Layer 'hidden' \(Dense\) expects 2 weight arrays, but received 1\. "
                                         r"Pass a list shaped like layer\.get_weights\(\)\."):
        layer.set_weights([kernel])
    with pytest.raises(ValueError, match=r"Cannot assign a value of shape \(8, 4\) to weight '.*hidden/kernel' of "
                                         r"shape \(4, 8\)\. Pass an array of shape \(4, 8\)\."):
        layer.set_weights([kernel.T, np.zeros(8)])
    with pytest.raises(ValueError, match=r"Cannot assign a value of shape \(5,\) to weight '.*hidden/bias' of "
                                         r"shape \(8,\)\. Pass an array of shape \(8,\)\."):
        layer.set_weights([np.ones((4, 8)), np.zeros(5)])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)  # the valid kernel was not assigned either


def test_variable_assign_with_the_wrong_shape():
    model = make_model(width=4)
    kernel = model.layers[0].kernel
    with pytest.raises(ValueError, match=r"Cannot assign a value of shape \(2, 2\) to weight '.*hidden/kernel' of "
                                         r"shape \(4, 8\)\. Pass an array of shape \(4, 8\)\."):
        kernel.assign(np.zeros((2, 2)))


# -- callbacks ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["maximum", "Min", ""])
def test_early_stopping_mode(mode):
    with pytest.raises(ValueError, match=rf"Expected `mode` to be 'auto', 'min' or 'max'\. Received: mode='{mode}'\."):
        EarlyStopping(mode=mode)


def test_early_stopping_negative_patience():
    with pytest.raises(ValueError, match=r"Expected `patience` >= 0\. Received: patience=-1\."):
        EarlyStopping(patience=-1)


def test_early_stopping_on_a_missing_key_warns_and_keeps_training():
    model = make_model(loss="categorical_crossentropy", metrics=["accuracy"])
    stop = EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match=r"EarlyStopping is monitoring 'val_loss', which is not in the epoch logs\. "
                                         r"Available keys: accuracy, loss\. Pass validation data to fit\(\)") as record:
        history = model.fit(make_x(), make_onehot(), epochs=4, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 4
    assert stop.stopped_epoch == 0
    assert not model.stop_training
    assert len([w for w in record if issubclass(w.category, UserWarning)]) == 4


def test_early_stopping_auto_mode_for_an_unknown_direction():
    model = make_model(loss="categorical_crossentropy")
    stop = EarlyStopping(monitor="loss", mode="auto")
    model.fit(make_x(), make_onehot(), epochs=1, verbose=0, callbacks=[stop])  # 'loss' is known to go down

    class Custom(mk.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["wobble"] = 1.0

    stop = EarlyStopping(monitor="wobble", mode="auto")
    with pytest.raises(ValueError, match=r"Cannot tell whether 'wobble' should go up or down\. "
                                         r"Pass mode='min' or mode='max'\."):
        model.fit(make_x(), make_onehot(), epochs=1, verbose=0, callbacks=[Custom(), stop])


# -- loading ------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    """A trained-ish compiled model saved as m.h5 and as weights w.h5."""
    model = make_model(width=4, loss="categorical_crossentropy")
    model.fit(make_x(width=4), make_onehot(), epochs=1, verbose=0)
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "w.h5")
    return model


def test_load_a_file_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No file found at '.*missing\.h5'\. Check the path\."):
        mk.load_model(tmp_path / "missing.h5")


def test_load_weights_from_a_file_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No file found at '.*missing\.h5'"):
        make_model(width=4).load_weights(tmp_path / "missing.h5")


@pytest.mark.parametrize("loader", ["load_model", "load_weights"])
def test_load_a_file_that_is_not_hdf5(tmp_path, loader):
    path = tmp_path / "notes.h5"
    path.write_bytes(b"these are plain text notes, not an HDF5 file\n")
    with pytest.raises(ValueError, match=r"'.*notes\.h5' is neither an HDF5 file nor a \.keras archive \(its first "
                                         r"bytes are b'these ar'\)\. minikeras reads files written by model\.save\(\)"):
        mk.load_model(path) if loader == "load_model" else make_model(width=4).load_weights(path)


def test_load_a_directory(tmp_path):
    with pytest.raises(ValueError, match=r"is a directory\. minikeras reads model files \(\.keras, \.h5, "
                                         r"\.weights\.h5\); a TensorFlow SavedModel directory cannot be read\."):
        mk.load_model(tmp_path)


def test_load_an_hdf5_file_without_a_model_config(tmp_path):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("values", data=np.random.default_rng(0).random((3, 3)))
    with pytest.raises(ValueError, match=r"'.*data\.h5' holds no model configuration, so it is not a saved model\. "
                                         r"If it holds weights only, build the model in code and call "
                                         r"model\.load_weights\(\)\."):
        mk.load_model(path)
    with pytest.raises(ValueError, match=r"'.*data\.h5' holds no layer weights\. load_weights\(\) reads files "
                                         r"written by model\.save_weights"):
        make_model(width=4).load_weights(path)


def test_load_model_on_a_weights_only_file(tmp_path, saved):
    with pytest.raises(ValueError, match=r"'.*w\.h5' holds no model configuration.*call model\.load_weights\(\)\."):
        mk.load_model(tmp_path / "w.h5")


@pytest.mark.parametrize("name", ["w.h5", "m.h5"])
def test_load_weights_into_a_model_with_more_layers(tmp_path, saved, name):
    other = Sequential([Dense(8, input_dim=4), Dense(8), Dense(3)], name="deeper")
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"The file holds weights for 2 layers, but model 'deeper' has 3 layers "
                                         r"with weights\. The architectures differ: build the model with the same"):
        other.load_weights(tmp_path / name)
    for old, new in zip(before, other.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_load_weights_into_a_model_with_other_shapes_changes_nothing(tmp_path, saved):
    other = Sequential([Dense(8, input_dim=4, name="a"), Dense(5, name="b")], name="wider")
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"Cannot load weight '.*b/kernel': weight '.*' at .* has shape \(8, 3\), "
                                         r"but the model needs \(8, 5\)\. The architectures differ"):
        other.load_weights(tmp_path / "w.h5")
    # The first layer matches the file, but is not loaded when a later one does not.
    for old, new in zip(before, other.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_load_weights_into_a_layer_without_bias(tmp_path, saved):
    other = Sequential([Dense(8, input_dim=4, use_bias=False, name="nobias"), Dense(3)])
    with pytest.raises(ValueError, match=r"Layer 'nobias' has 1 weights, but the file's layer 'hidden' has 2\. "
                                         r"The architectures differ"):
        other.load_weights(tmp_path / "w.h5")


# -- saving -------------------------------------------------------------------------------
@pytest.mark.parametrize("method, name, expected", [
    ("save", "m.weights.h5", r"save\(\) writes a whole model, but '.*m\.weights\.h5' names a weights-only file\. "
                             r"Call model\.save_weights\(\) for '\.weights\.h5' files"),
    ("save_weights", "m.keras", r"save_weights\(\) writes weights only, but '.*m\.keras' names a whole-model "
                                r"archive\. Call model\.save\(\) for '\.keras' files"),
])
def test_save_to_the_other_kind_of_keras_3_file(tmp_path, method, name, expected):
    model = make_model(width=4)
    with pytest.raises(ValueError, match=expected):
        getattr(model, method)(tmp_path / name)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["model", "model.txt", "model.h5.bak"])
def test_save_to_a_name_without_a_known_suffix(tmp_path, name):
    with pytest.raises(ValueError, match=rf"save\(\) cannot tell the file format from the name "
                                         rf"'.*{re.escape(name)}'\. Use '\.keras' for a Keras 3 archive"):
        make_model(width=4).save(tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_save_into_a_directory_that_does_not_exist(tmp_path):
    target = tmp_path / "nowhere" / "m.h5"
    with pytest.raises(FileNotFoundError, match=r"Cannot save to .*m\.h5: the directory .*nowhere does not exist\."):
        make_model(width=4).save(target)
    assert os.listdir(tmp_path) == []


def test_save_without_overwrite(tmp_path, saved):
    before = (tmp_path / "m.h5").read_bytes()
    with pytest.raises(FileExistsError, match=r".*m\.h5 already exists\. Pass overwrite=True to replace it\."):
        saved.save(tmp_path / "m.h5", overwrite=False)
    assert (tmp_path / "m.h5").read_bytes() == before


def test_save_an_unbuilt_model(tmp_path):
    with pytest.raises(ValueError, match=r"Model 'lazy' is not built yet; build it \(or fit it\) before saving\."):
        Sequential([Dense(3)], name="lazy").save(tmp_path / "m.h5")
    assert os.listdir(tmp_path) == []


def _fail_midway(monkeypatch, how: str, model: Sequential) -> None:
    if how == "weights":
        def explode(root, model):
            root.create_group("half_written")
            raise OSError("disk full while writing weights")

        monkeypatch.setattr(legacy_h5, "_write_layer_weights", explode)
    else:
        config = model.get_config()
        config["unserializable"] = object()
        monkeypatch.setattr(model, "get_config", lambda: config)


@pytest.mark.parametrize("how, error, message", [("weights", OSError, "disk full while writing weights"),
                                                 ("config", TypeError, "not JSON serializable")])
def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch, how, error, message):
    x = make_x(width=4)
    model = make_model(width=4, loss="categorical_crossentropy")
    path = tmp_path / "m.h5"
    model.save(path)
    expected = model.predict(x, verbose=0)
    model.fit(x, make_onehot(), epochs=3, verbose=0)  # the weights now differ from the file
    assert not np.allclose(model.predict(x, verbose=0), expected)

    _fail_midway(monkeypatch, how, model)
    with pytest.raises(error, match=message):
        model.save(path)

    assert os.listdir(tmp_path) == ["m.h5"]  # no temporary file is left behind
    np.testing.assert_array_equal(mk.load_model(path).predict(x, verbose=0), expected)


def test_a_failed_save_weights_keeps_the_previous_file(tmp_path, monkeypatch):
    x = make_x(width=4)
    model = make_model(width=4, loss="categorical_crossentropy")
    path = tmp_path / "w.h5"
    model.save_weights(path)
    expected = model.predict(x, verbose=0)
    model.fit(x, make_onehot(), epochs=3, verbose=0)
    _fail_midway(monkeypatch, "weights", model)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert os.listdir(tmp_path) == ["w.h5"]
    model.load_weights(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)


# -- Keras 1 names ------------------------------------------------------------------------
def _only_deprecation(caught, old: str, new: str, value: str):
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert re.search(rf"`{old}` is a Keras 1/2 argument of .*; use `{new}` instead \(`{new}={re.escape(value)}`\)",
                     message), message
    assert caught[0].filename == __file__  # the warning points at the caller's line


def test_keras1_output_dim():
    layer, caught = deprecations(lambda: Dense(output_dim=3, input_dim=2))
    _only_deprecation(caught, "output_dim", "units", "3")
    assert layer.units == 3
    assert Sequential([layer]).output_shape == (None, 3)


def test_keras1_init():
    layer, caught = deprecations(lambda: Dense(64, init="uniform", input_dim=32))
    _only_deprecation(caught, "init", "kernel_initializer", "'uniform'")
    Sequential([layer])
    kernel = layer.kernel.value
    assert np.abs(kernel).max() <= 0.05  # RandomUniform(-0.05, 0.05), not glorot_uniform's +-0.25
    assert kernel.std() > 0.02
    assert layer.get_config()["kernel_initializer"]["class_name"] == "RandomUniform"


def test_keras1_nb_epoch():
    model = make_model(loss="categorical_crossentropy")
    history, caught = deprecations(lambda: model.fit(make_x(), make_onehot(), nb_epoch=2, verbose=0))
    _only_deprecation(caught, "nb_epoch", "epochs", "2")
    assert len(history.history["loss"]) == 2
    assert history.epoch == [0, 1]


def test_keras1_lr():
    optimizer, caught = deprecations(lambda: SGD(lr=0.1))
    _only_deprecation(caught, "lr", "learning_rate", "0.1")
    assert optimizer.learning_rate == pytest.approx(0.1)


@pytest.mark.parametrize("call, old, new", [
    (lambda: Dense(3, init="uniform", kernel_initializer="zeros"), "init", "kernel_initializer"),
    (lambda: SGD(learning_rate=0.2, lr=0.1), "lr", "learning_rate"),
    (lambda: make_model(loss="mse").fit(make_x(), make_onehot(), epochs=3, nb_epoch=2, verbose=0),
     "nb_epoch", "epochs"),
])
def test_keras1_and_keras3_names_together(call, old, new):
    with pytest.raises(TypeError, match=rf"received both the legacy argument `{old}` and its replacement `{new}`\. "
                                        rf"Pass only `{new}`\."):
        call()


def test_finite_check_is_not_fooled_by_overflowing_sums():
    from minikeras._validation import check_finite

    big = np.full((4, 3), 3e38, dtype=np.float32)  # finite, but the sum overflows
    check_finite(big, "x")
    big[2, 1] = np.nan
    with pytest.raises(ValueError, match="first at row 2"):
        check_finite(big, "x")
    mixed = np.array([[np.inf, -np.inf]], dtype=np.float32)  # the sum is NaN
    with pytest.raises(ValueError, match="first at row 0"):
        check_finite(mixed, "x")
