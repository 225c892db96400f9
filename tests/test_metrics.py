"""Metrics, class weights and weighted metrics.

Values are checked against hand-computed numbers and against Keras 3 itself:
``fixtures/keras3/metrics.json`` holds results of real Keras 3.15 metrics over
several batches and whole training runs with ``class_weight``, ``sample_weight``
and ``weighted_metrics`` (written by ``fixtures/keras3/make_metrics.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import numeric_grad

from minikeras import backend, callbacks, losses, metrics, utils
from minikeras.layers import Dense, Input
from minikeras.models import Sequential, load_model, model_from_json
from minikeras.models.trainer import _class_weight_to_sample_weight
from minikeras.optimizers import SGD

FIXTURES = Path(__file__).parent / "fixtures" / "keras3"
KERAS = json.loads((FIXTURES / "metrics.json").read_text())
RTOL, ATOL = 1e-5, 1e-6


def _close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=rtol, atol=atol)


# -- against Keras 3 ---------------------------------------------------------------------

def _case_id(case):
    args = ",".join(f"{k}={v}" for k, v in case["kwargs"].items())
    return f"{case['class_name']}({args})-{case['kind']}-{'weighted' if case['weighted'] else 'plain'}"


@pytest.mark.parametrize("case", KERAS["metric_cases"], ids=_case_id)
def test_metric_matches_keras_batch_after_batch(case):
    metric = getattr(metrics, case["class_name"])(**case["kwargs"])
    for batch, expected in zip(case["batches"], case["results"]):
        y_true = np.asarray(batch["y_true"], dtype="float32")
        y_pred = np.asarray(batch["y_pred"], dtype="float32")
        metric.update_state(y_true, y_pred, sample_weight=batch.get("sample_weight"))
        # Keras sums counts in float32, so a count of 0 can come out as -2e-6.
        _close(metric.result(), expected, atol=ATOL * max(1.0, float(np.max(np.abs(expected)))) * 4)


def _spec(entry):
    return entry if isinstance(entry, str) else metrics.deserialize(entry)


def _fit_like_keras(case):
    model = Sequential([Input((4,)), Dense(case["units"], activation=case["activation"])])
    model.set_weights([np.asarray(w, dtype="float32") for w in case["weights"]])
    model.compile(optimizer=SGD(learning_rate=0.2), loss=case["loss"],
                  metrics=[_spec(m) for m in case["metrics"]],
                  weighted_metrics=[_spec(m) for m in case["weighted_metrics"]])
    x, y = np.asarray(case["x"], dtype="float32"), np.asarray(case["y"])
    x_val, y_val = np.asarray(case["x_val"], dtype="float32"), np.asarray(case["y_val"])
    validation = (x_val, y_val) if case["val_sample_weight"] is None else (x_val, y_val, case["val_sample_weight"])
    class_weight = None if case["class_weight"] is None else {int(k): v for k, v in case["class_weight"].items()}
    sample_weight = None if case["sample_weight"] is None else np.asarray(case["sample_weight"])
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, class_weight=class_weight,
                        sample_weight=sample_weight, validation_data=validation)
    return model, history, x, y


@pytest.mark.parametrize("case", KERAS["fit_cases"], ids=lambda c: c["name"])
def test_training_with_weights_and_metrics_matches_keras(case):
    model, history, x, y = _fit_like_keras(case)
    assert list(history.history) == case["history_keys"]
    for key, values in case["history"].items():
        _close(history.history[key], values, rtol=1e-4)
    for got, expected in zip(model.get_weights(), case["final_weights"]):
        _close(got, expected, rtol=1e-4)
    ev_weight = case["evaluate_sample_weight"]
    as_list = model.evaluate(x, y, sample_weight=ev_weight, batch_size=8, verbose=0)
    as_dict = model.evaluate(x, y, sample_weight=ev_weight, batch_size=8, verbose=0, return_dict=True)
    _close(as_list, case["evaluate_list"], rtol=1e-4)
    assert list(as_dict) == list(case["evaluate_dict"])
    _close(list(as_dict.values()), list(case["evaluate_dict"].values()), rtol=1e-4)


def test_keras3_file_with_metric_objects_and_weighted_metrics_loads():
    case = next(c for c in KERAS["fit_cases"] if c["name"] == "sigmoid_sample_weight")
    model = load_model(FIXTURES / "metrics_model.h5")
    config = model.get_compile_config()
    assert config["metrics"][0] == "accuracy" and config["metrics"][2] == "auc"
    assert config["metrics"][1]["class_name"] == "Precision"
    assert [m if isinstance(m, str) else m["config"]["name"] for m in config["weighted_metrics"]] == [
        "accuracy", "pr_auc", "recall", "bce"]
    x, y = np.asarray(case["x"], dtype="float32"), np.asarray(case["y"])
    got = model.evaluate(x, y, sample_weight=case["evaluate_sample_weight"], batch_size=8, verbose=0,
                         return_dict=True)
    assert list(got) == list(case["evaluate_dict"])
    _close(list(got.values()), list(case["evaluate_dict"].values()), rtol=1e-4)


# -- values by hand ------------------------------------------------------------------------

def test_accuracy_functions_by_hand():
    assert metrics.binary_accuracy([[1], [0], [1]], [[0.7], [0.5], [0.2]]).ravel().tolist() == [1, 1, 0]
    assert metrics.binary_accuracy([1, 0], [[0.9], [0.8]], threshold=0.85).ravel().tolist() == [1, 1]
    assert metrics.categorical_accuracy([[0, 1, 0], [1, 0, 0]], [[0.1, 0.8, 0.1], [0.2, 0.7, 0.1]]).tolist() == [1, 0]
    assert metrics.sparse_categorical_accuracy([[1], [0]], [[0.1, 0.8, 0.1], [0.2, 0.7, 0.1]]).tolist() == [1, 0]
    preds = np.array([[0.5, 0.3, 0.2], [0.3, 0.3, 0.4], [0.1, 0.2, 0.7]])
    # Ties with the k-th largest prediction count as hits.
    assert metrics.sparse_top_k_categorical_accuracy([1, 0, 0], preds, k=2).tolist() == [1, 1, 0]
    assert metrics.top_k_categorical_accuracy(np.eye(3)[[2, 2, 1]], preds, k=1).tolist() == [0, 1, 0]
    sorted_ids = np.array([[2, 0, 1], [1, 2, 0]])
    assert metrics.sparse_top_k_categorical_accuracy([0, 0], sorted_ids, k=2, from_sorted_ids=True).tolist() == [1, 0]


def test_binary_accuracy_averages_columns_per_sample_then_weights_samples():
    m = metrics.BinaryAccuracy()
    m.update_state([[1, 0], [0, 1]], [[0.6, 0.2], [0.9, 0.9]], sample_weight=[1, 3])
    # per sample: 1.0 and 0.5; weighted: (1 * 1 + 3 * 0.5) / 4
    assert m.result() == pytest.approx(0.625)


def test_mean_is_sum_of_weighted_values_over_sum_of_weights():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 2.0
    m.update_state([10], sample_weight=[2])
    assert m.result() == pytest.approx((1 + 3 + 20) / 4)
    m.reset_state()
    assert m.result() == 0.0
    m.update_state([1, 3, 5, 7], sample_weight=2.0)
    assert m.result() == 4.0
    m.reset_state()
    m.update_state([[1.0, 3.0], [5.0, 7.0]], sample_weight=[[1.0], [0.0]])
    assert m.result() == 2.0


def test_loss_metrics_report_the_mean_loss():
    y = np.array([[0.0, 1.0], [1.0, 1.0]])
    p = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert metrics.MeanSquaredError()(y, p) == pytest.approx((0.5 + 1.0) / 2)
    assert metrics.MeanAbsoluteError()(y, p, sample_weight=[3.0, 1.0]) == pytest.approx((3 * 0.5 + 1.0) / 4)
    probs = np.array([[0.2, 0.8], [0.6, 0.4]])
    expected = (-np.log(0.8) - np.log(0.6)) / 2
    assert metrics.SparseCategoricalCrossentropy()([1, 0], probs) == pytest.approx(expected, rel=1e-6)
    assert metrics.CategoricalCrossentropy()(np.eye(2)[[1, 0]], probs) == pytest.approx(expected, rel=1e-6)
    assert metrics.LossMetric("mae", name="mae")(y, p) == pytest.approx(0.75)


def test_precision_and_recall_by_hand():
    y_true = [0, 1, 1, 1, 0]
    y_pred = [0.9, 0.2, 0.6, 0.8, 0.1]
    assert metrics.Precision()(y_true, y_pred) == pytest.approx(2 / 3)
    assert metrics.Recall()(y_true, y_pred) == pytest.approx(2 / 3)
    # Weights count samples: TP = 0.5 + 2, FP = 4.
    w = [4.0, 1.0, 0.5, 2.0, 1.0]
    assert metrics.Precision()(y_true, y_pred, sample_weight=w) == pytest.approx(2.5 / 6.5)
    assert metrics.Recall()(y_true, y_pred, sample_weight=w) == pytest.approx(2.5 / 3.5)
    # One result per threshold, in the order given; a prediction equal to a threshold is negative.
    p = metrics.Precision(thresholds=[0.7, 0.1, 0.6])
    _close(p(y_true, y_pred), [1 / 2, 3 / 4, 1 / 2])
    # Nothing predicted positive: 0, not NaN.
    assert metrics.Precision(thresholds=0.95)(y_true, y_pred) == 0.0


def test_precision_top_k_and_class_id_by_hand():
    y_true = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.1, 0.7], [0.6, 0.3, 0.1], [0.5, 0.1, 0.4]])
    # top_k=2 keeps (col 2, col 0), (col 0, col 1), (col 0, col 2): hits 1 + 1 + 1 of 6.
    assert metrics.Precision(top_k=2)(y_true, y_pred) == pytest.approx(3 / 6)
    assert metrics.Recall(top_k=2)(y_true, y_pred) == pytest.approx(3 / 3)
    # class_id=0 scores column 0 alone: predicted (> 0.5) only in row 1, which is not class 0.
    assert metrics.Precision(class_id=0)(y_true, y_pred) == 0.0
    assert metrics.Recall(class_id=2)(y_true, y_pred) == 1.0
    assert metrics.Recall(top_k=1, class_id=0)(y_true, y_pred) == 1.0


def test_auc_by_hand_with_three_thresholds():
    y_true, y_pred = [0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]
    # Thresholds -eps, 0.5, 1 + eps give the ROC points (1, 1), (0.5, 0.5), (0, 0).
    assert metrics.AUC(num_thresholds=3)(y_true, y_pred) == pytest.approx(0.5)
    assert metrics.AUC(num_thresholds=3, summation_method="minoring")(y_true, y_pred) == pytest.approx(0.25)
    assert metrics.AUC(num_thresholds=3, summation_method="majoring")(y_true, y_pred) == pytest.approx(0.75)
    assert metrics.AUC()([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)
    assert metrics.AUC()([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(0.0)
    m = metrics.AUC(thresholds=[0.5, 0.25])
    assert m.num_thresholds == 4 and m.thresholds[1:-1] == [0.25, 0.5]
    assert m.thresholds[0] < 0.0 < 1.0 < m.thresholds[-1]


def test_auc_of_the_precision_recall_curve_by_hand():
    # Thresholds -eps, 0.5, 1 + eps. At 0.5 the points are TP=1, FP=1, FN=1; at -eps TP=2, FP=2.
    y_true, y_pred = [0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]
    # Minoring: heights min(P_i, P_i+1) times recall steps: (1 - 0.5) * 0.5 + (0.5 - 0) * 0 = 0.25.
    assert metrics.AUC(num_thresholds=3, curve="PR", summation_method="minoring")(y_true, y_pred) == \
        pytest.approx(0.25)
    # Interpolation (Davis & Goadrich): between P = 4 and P = 2 predicted positives the
    # precision slope is dTP/dP = 1/2 with intercept 0, so the area is 0.5 * dTP / (TP + FN) = 0.25;
    # between P = 2 and P = 0 the second term has P = 0 and contributes slope * dTP / 2 = 0.25.
    assert metrics.AUC(num_thresholds=3, curve="PR")(y_true, y_pred) == pytest.approx(0.5)


def test_auc_multi_label_averages_per_label_areas():
    y_true = np.array([[0, 1], [0, 0], [1, 1], [1, 0]])
    y_pred = np.array([[0.1, 0.2], [0.2, 0.9], [0.8, 0.3], [0.9, 0.95]])
    first = metrics.AUC()(y_true[:, 0], y_pred[:, 0])
    second = metrics.AUC()(y_true[:, 1], y_pred[:, 1])
    assert first == pytest.approx(1.0)
    assert metrics.AUC(multi_label=True)(y_true, y_pred) == pytest.approx((first + second) / 2)
    weighted = metrics.AUC(multi_label=True, label_weights=[3.0, 1.0])(y_true, y_pred)
    assert weighted == pytest.approx((3 * first + second) / 4)


def test_confusion_counts_by_hand():
    y_true, y_pred = [0, 1, 1, 0, 1], [0.9, 0.2, 0.6, 0.3, 0.8]
    assert metrics.TruePositives()(y_true, y_pred) == 2.0
    assert metrics.FalsePositives()(y_true, y_pred) == 1.0
    assert metrics.TrueNegatives()(y_true, y_pred) == 1.0
    assert metrics.FalseNegatives()(y_true, y_pred) == 1.0
    _close(metrics.TruePositives(thresholds=[0.1, 0.7])(y_true, y_pred), [3.0, 1.0])


def test_confusion_metrics_accept_targets_with_or_without_the_unit_axis():
    y_true, y_pred = np.array([0, 1, 1, 0]), np.array([0.9, 0.2, 0.6, 0.3])
    flat = metrics.AUC()(y_true, y_pred)
    assert metrics.AUC()(y_true[:, None], y_pred) == flat
    assert metrics.AUC()(y_true, y_pred[:, None]) == flat


@pytest.mark.parametrize("make", [
    lambda: metrics.Precision(), lambda: metrics.Recall(thresholds=[0.2, 0.5, 0.9]), lambda: metrics.AUC(),
    lambda: metrics.AUC(curve="PR"), lambda: metrics.AUC(multi_label=True), lambda: metrics.BinaryAccuracy(),
    lambda: metrics.BinaryCrossentropy(), lambda: metrics.Precision(top_k=2),
], ids=["precision", "recall_thresholds", "auc", "pr_auc", "auc_multi_label", "binary_accuracy", "bce",
        "precision_top_k"])
def test_state_accumulates_over_batches_like_one_big_batch(make, rng):
    y_true = rng.integers(0, 2, size=(30, 3)).astype("float32")
    y_pred = rng.uniform(size=(30, 3)).astype("float32")
    w = rng.uniform(0.1, 2.0, size=30)
    whole, parts = make(), make()
    whole.update_state(y_true, y_pred, sample_weight=w)
    for rows in (slice(0, 7), slice(7, 8), slice(8, 30)):
        parts.update_state(y_true[rows], y_pred[rows], sample_weight=w[rows])
    _close(parts.result(), whole.result(), rtol=1e-9, atol=1e-12)
    parts.reset_state()
    parts.update_state(y_true[:5], y_pred[:5])
    fresh = make()
    fresh.update_state(y_true[:5], y_pred[:5])
    _close(parts.result(), fresh.result(), rtol=0, atol=0)


def test_epoch_precision_recall_auc_are_over_the_whole_epoch(rng):
    x = rng.normal(size=(21, 4)).astype("float32")
    y = rng.integers(0, 2, size=(21, 1)).astype("float32")
    model = Sequential([Input((4,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer=SGD(learning_rate=0.0), loss="binary_crossentropy",
                  metrics=["precision", "recall", "auc"])
    history = model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    p = model.predict(x, verbose=0)
    for name, metric in (("precision", metrics.Precision()), ("recall", metrics.Recall()), ("auc", metrics.AUC())):
        metric.update_state(y, p)
        # Not a mean of per-batch values: the counts of the whole epoch.
        _close(history.history[name], [metric.result()] * 2, rtol=1e-6)


def test_result_before_any_update_is_zero():
    for metric in (metrics.Precision(), metrics.Recall(), metrics.AUC(), metrics.BinaryAccuracy(),
                   metrics.MeanSquaredError(), metrics.AUC(curve="PR")):
        assert metric.result() == 0.0


# -- names -----------------------------------------------------------------------------------

METRIC_NAMES = sorted(set(metrics.names()) - {"Mean", "mean", "MeanMetricWrapper", "LossMetric"})


def _data_for(name, rng, n=8):
    x = rng.normal(size=(n, 4)).astype("float32")
    labels = rng.integers(0, 3, size=n)
    if "parse" in name:  # sparse_* and Sparse*
        return x, labels, "sparse_categorical_crossentropy"
    return x, np.eye(3, dtype="float32")[labels], "categorical_crossentropy"


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_every_metric_name_trains_and_logs_under_that_name(name, rng):
    x, y, loss = _data_for(name, rng)
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    spec = metrics.get(name) if name.startswith(("TopK", "SparseTopK", "top_k", "sparse_top_k")) else name
    if not isinstance(spec, str):
        spec.k = 2  # 3 classes: the default k=5 would count every sample
    model.compile(optimizer="sgd", loss=loss, metrics=[spec], weighted_metrics=[name] if isinstance(spec, str) else [])
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0, sample_weight=np.linspace(0.5, 1.5, len(x)))
    key = name if isinstance(spec, str) else spec.name
    assert key in history.history
    assert np.all(np.isfinite(np.asarray(history.history[key], dtype=float)))
    if isinstance(spec, str):
        assert "weighted_" + name in history.history


@pytest.mark.parametrize("name", sorted(losses.names()))
def test_every_loss_name_is_a_metric_reporting_the_mean_loss(name, rng):
    metric = metrics.resolve(name, (6, 3), (None, 3))
    assert metric.name == name
    # Keras's cosine_similarity metric is the cosine itself, the negative of the loss.
    sign = -1.0 if isinstance(metric, metrics.CosineSimilarity) else 1.0
    assert metric.direction == ("max" if sign < 0 else "min")
    loss = losses.get(name)
    assert isinstance(metric, (metrics.LossMetric, metrics.MeanMetricWrapper))
    # Same per-sample values as the loss on data the loss accepts.
    labels = rng.integers(0, 3, size=6)
    y = labels if getattr(loss, "target_kind", "") == "sparse" else np.eye(3)[labels]
    p = rng.dirichlet(np.ones(3), size=6)
    try:
        expected = loss(y, p)
    except (ValueError, TypeError):
        pytest.skip(f"{name} needs targets of another layout")
    assert metric(y, p) == pytest.approx(sign * float(expected), rel=1e-6)


@pytest.mark.parametrize("given, y_shape, out_shape, cls", [
    ("accuracy", (8, 1), (None, 1), "BinaryAccuracy"),
    ("acc", (8,), (None, 1), "BinaryAccuracy"),
    ("Accuracy", (8,), (None, 3), "SparseCategoricalAccuracy"),
    ("ACC", (8, 1), (None, 3), "SparseCategoricalAccuracy"),
    ("accuracy", (8, 3), (None, 3), "CategoricalAccuracy"),
])
def test_accuracy_is_resolved_from_shapes_and_named_as_written(given, y_shape, out_shape, cls):
    metric = metrics.resolve(given, y_shape, out_shape)
    assert type(metric).__name__ == cls and metric.name == given


@pytest.mark.parametrize("given, cls", [
    ("precision", "Precision"), ("Precision", "Precision"), ("recall", "Recall"), ("auc", "AUC"), ("AUC", "AUC"),
    ("binary_accuracy", "BinaryAccuracy"), ("categorical_accuracy", "CategoricalAccuracy"),
    ("sparse_categorical_accuracy", "SparseCategoricalAccuracy"),
    ("top_k_categorical_accuracy", "TopKCategoricalAccuracy"),
    ("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"),
    ("mse", "MeanSquaredError"), ("MSE", "MeanSquaredError"), ("mean_squared_error", "MeanSquaredError"),
    ("mae", "MeanAbsoluteError"), ("MAE", "MeanAbsoluteError"), ("mean_absolute_error", "MeanAbsoluteError"),
    ("bce", "BinaryCrossentropy"), ("binary_crossentropy", "BinaryCrossentropy"),
    ("categorical_crossentropy", "CategoricalCrossentropy"),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"),
])
def test_names_resolve_to_keras_classes_and_keep_the_given_name(given, cls):
    metric = metrics.resolve(given, (8, 3), (None, 3))
    assert type(metric).__name__ == cls and metric.name == given


def test_default_names_follow_keras():
    assert metrics.TopKCategoricalAccuracy().name == "top_k_categorical_accuracy"
    assert metrics.SparseTopKCategoricalAccuracy().name == "sparse_top_k_categorical_accuracy"
    assert metrics.MeanSquaredError().name == "mean_squared_error"
    # Classes without a default name get unique snake_case names, reset by clear_session.
    assert [metrics.Precision().name, metrics.Precision().name, metrics.AUC().name] == [
        "precision", "precision_1", "auc"]
    assert metrics.Recall(name="r").name == "r"
    backend.clear_session()
    assert metrics.Precision().name == "precision"


def test_functions_are_metrics_named_after_the_function(rng):
    def my_error(y_true, y_pred):
        return np.abs(y_true - y_pred).max(axis=-1)

    x = rng.normal(size=(6, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=6)]
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[my_error, metrics.categorical_accuracy, losses.mean_squared_error, metrics.AUC])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["auc", "categorical_accuracy", "loss", "mean_squared_error", "my_error"]
    p = model.predict(x, verbose=0)
    assert logs["my_error"] == pytest.approx(float(np.abs(y - p).max(axis=-1).mean()), rel=1e-6)
    assert logs["mean_squared_error"] == pytest.approx(float(((y - p) ** 2).mean()), rel=1e-5)


# -- weighted metrics and log names ------------------------------------------------------------

def _binary_model(lr=0.0):
    model = Sequential([Input((2,)), Dense(1, activation="sigmoid", kernel_initializer="zeros")])
    model.compile(optimizer=SGD(learning_rate=lr), loss="binary_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    return model


def test_metrics_ignore_sample_weights_and_weighted_metrics_use_them():
    # Zero weights: every prediction is 0.5, which counts as class 0.
    x = np.zeros((4, 2), dtype="float32")
    y = np.array([[0.0], [1.0], [1.0], [0.0]], dtype="float32")
    w = np.array([3.0, 1.0, 0.0, 0.0])
    logs = _binary_model().evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    assert logs["accuracy"] == 0.5
    assert logs["weighted_accuracy"] == 0.75
    assert logs["loss"] == pytest.approx(np.log(2.0) * 4.0 / 4, rel=1e-6)  # sum(w * l) / N


def test_without_sample_weights_weighted_metrics_equal_plain_ones(rng):
    x = rng.normal(size=(10, 2)).astype("float32")
    y = rng.integers(0, 2, size=(10, 1)).astype("float32")
    logs = _binary_model().evaluate(x, y, verbose=0, return_dict=True)
    assert logs["weighted_accuracy"] == logs["accuracy"]


def test_log_names_and_evaluate_order_follow_keras_for_repeated_metrics(rng):
    x = rng.normal(size=(10, 2)).astype("float32")
    y = rng.integers(0, 2, size=(10, 1)).astype("float32")
    model = Sequential([Input((2,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["acc", "acc", "mse"],
                  weighted_metrics=["acc", "acc", "mae", "mse"])
    history = model.fit(x, y, sample_weight=np.linspace(0, 1, 10), verbose=0, validation_split=0.2)
    assert list(history.history) == sorted([
        "acc", "acc_1", "loss", "mae", "mse", "weighted_acc", "weighted_acc_1", "weighted_mse"]
        + ["val_" + k for k in ("acc", "acc_1", "loss", "mae", "mse", "weighted_acc", "weighted_acc_1",
                                "weighted_mse")])
    logs = model.evaluate(x, y, sample_weight=np.linspace(0, 1, 10), verbose=0, return_dict=True)
    listed = model.evaluate(x, y, sample_weight=np.linspace(0, 1, 10), verbose=0)
    # Keras 3 lists by metric name in compile order (a repeated name repeats its first
    # value), then the remaining keys in sorted order.
    names = ["loss", "acc", "acc", "mse", "acc", "acc", "mae", "mse"]
    assert listed == [logs[n] for n in names] + [logs["acc_1"], logs["weighted_acc"], logs["weighted_acc_1"],
                                                 logs["weighted_mse"]]


def test_metric_objects_keep_their_own_names(rng):
    x = rng.normal(size=(10, 2)).astype("float32")
    y = rng.integers(0, 2, size=(10, 1)).astype("float32")
    model = Sequential([Input((2,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[metrics.Precision(name="prec"), metrics.AUC(curve="PR", name="pr_auc")],
                  weighted_metrics=[metrics.Recall(thresholds=0.3)])
    logs = model.evaluate(x, y, sample_weight=np.ones(10), verbose=0, return_dict=True)
    assert list(logs) == ["loss", "pr_auc", "prec", "recall"]


def test_train_on_batch_and_test_on_batch_report_weighted_metrics():
    x = np.zeros((4, 2), dtype="float32")
    y = np.array([[0.0], [1.0], [1.0], [0.0]], dtype="float32")
    w = np.array([3.0, 1.0, 0.0, 0.0])
    model = _binary_model()
    assert model.test_on_batch(x, y, sample_weight=w, return_dict=True)["weighted_accuracy"] == 0.75
    # Keras 3 lists values by metric name: "accuracy" twice (the first one's value), then
    # the remaining log keys.
    loss, acc, acc_again, weighted = model.train_on_batch(x, y, sample_weight=w)
    assert (acc, acc_again, weighted) == (0.5, 0.5, 0.75)


def test_multi_threshold_metrics_log_arrays(rng):
    x = rng.normal(size=(10, 2)).astype("float32")
    y = rng.integers(0, 2, size=(10, 1)).astype("float32")
    model = Sequential([Input((2,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[metrics.Precision(thresholds=[0.3, 0.6])])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["precision"].shape == (2,)


# -- class weights -----------------------------------------------------------------------------

def test_class_weight_to_sample_weight_as_keras_derives_it():
    out = (None, 3)
    cw = {0: 0.5, 2: 4.0}
    convert = _class_weight_to_sample_weight
    assert convert(cw, np.array([0, 1, 2, 2]), None, out, "float32", "fit()").tolist() == [0.5, 1.0, 4.0, 4.0]
    assert convert(cw, np.array([[2.0], [0.0]]), None, out, "float32", "fit()").tolist() == [4.0, 0.5]
    # Float labels are rounded; one-hot (or soft) rows use the argmax.
    assert convert(cw, np.array([1.9, 0.2]), None, out, "float32", "fit()").tolist() == [4.0, 0.5]
    onehot = np.array([[0.1, 0.7, 0.2], [0.0, 0.0, 1.0]])
    assert convert(cw, onehot, None, out, "float32", "fit()").tolist() == [1.0, 4.0]
    # A sigmoid output predicts classes 0 and 1; sample weights multiply.
    binary = convert({1: 3.0}, np.array([[1.0], [0.0]]), np.array([2.0, 5.0]), (None, 1), "float64", "fit()")
    assert binary.tolist() == [6.0, 5.0] and binary.dtype == np.float64
    assert convert({1.0: 2.0}, np.array([1, 0]), None, (None, 1), "float32", "fit()").tolist() == [2.0, 1.0]


@pytest.mark.parametrize("class_weight, y, match", [
    ([1.0, 2.0], np.array([0, 1]), r"`class_weight` to be a dict mapping class indices to weights"),
    ({"1": 2.0}, np.array([0, 1]), r"class_weight key '1'.*predicts classes 0 to 2"),
    ({3: 2.0}, np.array([0, 1]), r"class_weight key 3.*predicts classes 0 to 2"),
    ({-1: 2.0}, np.array([0, 1]), r"class_weight key -1"),
    ({0.5: 2.0}, np.array([0, 1]), r"class_weight key 0.5"),
    ({0: float("nan")}, np.array([0, 1]), r"every class weight to be a finite number"),
    ({0: "2"}, np.array([0, 1]), r"every class weight to be a finite number"),
    ({0: 2.0}, np.zeros((2, 5, 3)), r"targets of shape \(N,\), \(N, 1\) or one-hot \(N, num_classes\); received "
                                    r"targets of shape \(2, 5, 3\)"),
])
def test_bad_class_weight_fails_early(class_weight, y, match):
    with pytest.raises((TypeError, ValueError), match=match):
        _class_weight_to_sample_weight(class_weight, y, None, (None, 3), "float32", "fit()")


def test_fit_rejects_bad_class_weight_before_training(rng):
    x = rng.normal(size=(6, 4)).astype("float32")
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"fit\(\) received the class_weight key 7"):
        model.fit(x, np.array([0, 1, 2, 0, 1, 2]), class_weight={7: 1.0}, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def _softmax_model(dtype_lr=0.0, seed=3):
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(optimizer=SGD(learning_rate=dtype_lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(model.dtype) for w in model.get_weights()])
    return model


def test_class_weight_weighs_the_loss_as_sum_of_w_times_l_over_n(rng):
    x = rng.normal(size=(10, 4)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2])
    model = _softmax_model()
    cw = {0: 2.0, 1: 0.5}
    history = model.fit(x, y, class_weight=cw, batch_size=10, epochs=1, verbose=0)
    p = model.predict(x, verbose=0)
    per_sample = -np.log(p[np.arange(10), y])
    w = np.array([cw.get(int(c), 1.0) for c in y])
    assert history.history["loss"][0] == pytest.approx(float((w * per_sample).sum() / 10), rel=1e-6)
    hits = (p.argmax(axis=1) == y).astype(float)
    assert history.history["accuracy"][0] == pytest.approx(hits.mean())
    assert history.history["weighted_accuracy"][0] == pytest.approx((w * hits).sum() / w.sum(), rel=1e-6)


def test_class_weight_is_the_same_as_the_matching_sample_weight(rng):
    x = rng.normal(size=(12, 4)).astype("float32")
    y = rng.integers(0, 3, size=12)
    cw = {0: 0.25, 1: 3.0, 2: 1.5}
    sw = rng.uniform(0.5, 2.0, size=12)
    runs = []
    for kwargs in ({"class_weight": cw, "sample_weight": sw},
                   {"sample_weight": sw * np.array([cw[c] for c in y])}):
        model = _softmax_model(dtype_lr=0.3)
        history = model.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False, **kwargs)
        runs.append((history.history, model.get_weights()))
    assert list(runs[0][0]) == list(runs[1][0])
    for key in runs[0][0]:
        _close(runs[0][0][key], runs[1][0][key], rtol=1e-6)
    for a, b in zip(runs[0][1], runs[1][1]):
        _close(a, b, rtol=1e-6)


def test_class_weight_is_not_applied_to_validation(rng):
    x = rng.normal(size=(10, 4)).astype("float32")
    y = rng.integers(0, 3, size=10)
    model = _softmax_model()
    history = model.fit(x, y, class_weight={0: 5.0, 1: 0.1, 2: 0.1}, validation_split=0.3, epochs=1, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[7:], y[7:], verbose=0)[0], rel=1e-6)
    assert history.history["val_weighted_accuracy"] == history.history["val_accuracy"]


def test_train_on_batch_takes_class_weight(rng):
    x = rng.normal(size=(6, 4)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2])
    a, b = _softmax_model(), _softmax_model()
    assert a.train_on_batch(x, y, class_weight={2: 3.0}) == b.train_on_batch(
        x, y, sample_weight=np.array([1, 1, 3, 1, 1, 3.0]))


def _weight_step(x, y, **fit_kwargs):
    """The change of each weight in one full-batch step of SGD with learning rate 1: minus the gradient."""
    model = Sequential([Input((4,)), Dense(5, activation="tanh"), Dense(3, activation="softmax")])
    model.compile(optimizer=SGD(learning_rate=1.0), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(scale=0.7, size=w.shape) for w in model.get_weights()])
    before = model.get_weights()
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, **fit_kwargs)
    return [b - a for a, b in zip(model.get_weights(), before)], model


def test_weighting_a_class_by_two_equals_duplicating_its_samples_in_the_gradient(float64, rng):
    x = rng.normal(size=(9, 4))
    y = np.array([0, 1, 2, 1, 0, 2, 1, 1, 0])
    weighted, _ = _weight_step(x, y, class_weight={1: 2.0})
    dup = y == 1
    duplicated, _ = _weight_step(np.concatenate([x, x[dup]]), np.concatenate([y, y[dup]]))
    # sum(w * dl) / N versus sum(dl) / N': the sums are the same.
    n, n_dup = len(y), len(y) + int(dup.sum())
    for g_w, g_d in zip(weighted, duplicated):
        _close(g_w * n, g_d * n_dup, rtol=1e-10, atol=1e-12)


def test_class_weighted_step_follows_the_numerical_gradient(float64, rng):
    x = rng.normal(size=(7, 4))
    y = np.array([0, 1, 2, 1, 0, 2, 2])
    cw = {0: 0.3, 2: 2.5}
    step, model = _weight_step(x, y, class_weight=cw)
    rng_w = np.random.default_rng(7)
    model.set_weights([rng_w.normal(scale=0.7, size=w.shape) for w in model.get_weights()])
    w = np.array([cw.get(int(c), 1.0) for c in y])
    loss = losses.SparseCategoricalCrossentropy()

    def objective():
        p = model.predict(x, verbose=0)
        return float((w * loss.call(loss.prepare_targets(y, p), p)).sum() / len(y))

    for var, got in zip(model.trainable_weights, step):
        _close(got, numeric_grad(objective, var.value), rtol=1e-6, atol=1e-8)


def test_sample_weight_changes_the_gradient_per_sample(float64, rng):
    x = rng.normal(size=(6, 4))
    y = np.array([0, 1, 2, 1, 0, 2])
    w = np.array([0.0, 1.0, 2.0, 0.0, 1.0, 0.5])
    weighted, _ = _weight_step(x, y, sample_weight=w)
    keep = w > 0
    # Zero weights drop samples; the sum is still divided by all N samples.
    subset, _ = _weight_step(x[keep], y[keep], sample_weight=w[keep])
    for g_w, g_s in zip(weighted, subset):
        _close(g_w * len(y), g_s * keep.sum(), rtol=1e-10, atol=1e-12)


def test_evaluate_sample_weight_weighs_the_loss(rng):
    x = rng.normal(size=(10, 4)).astype("float32")
    y = rng.integers(0, 3, size=10)
    model = _softmax_model()
    w = rng.uniform(0, 3, size=10)
    p = model.predict(x, verbose=0)
    per_sample = -np.log(p[np.arange(10), y])
    loss, acc, _, weighted = model.evaluate(x, y, sample_weight=w, batch_size=3, verbose=0)
    assert loss == pytest.approx(float((w * per_sample).sum() / 10), rel=1e-5)
    hits = (p.argmax(axis=1) == y).astype(float)
    assert acc == pytest.approx(hits.mean())
    assert weighted == pytest.approx((w * hits).sum() / w.sum(), rel=1e-6)


# -- configs -------------------------------------------------------------------------------

CONFIGURED = [
    metrics.Accuracy(), metrics.BinaryAccuracy(threshold=0.3, name="ba"), metrics.CategoricalAccuracy(),
    metrics.SparseCategoricalAccuracy(), metrics.TopKCategoricalAccuracy(k=3),
    metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True), metrics.MeanSquaredError(),
    metrics.MeanAbsoluteError(name="l1"), metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    metrics.CategoricalCrossentropy(label_smoothing=0.2), metrics.SparseCategoricalCrossentropy(from_logits=True),
    metrics.Precision(thresholds=[0.2, 0.7], name="p"), metrics.Recall(top_k=2, class_id=1, name="r"),
    metrics.TruePositives(thresholds=0.3, name="tp"), metrics.FalseNegatives(name="fn"),
    metrics.AUC(num_thresholds=50, curve="PR", summation_method="minoring", name="a"),
    metrics.AUC(thresholds=[0.3, 0.1], multi_label=True, num_labels=3, label_weights=[1, 2, 3], name="b"),
    metrics.AUC(from_logits=True, curve="PRGAIN", name="c"), metrics.Mean(name="m"),
    metrics.LossMetric("categorical_crossentropy", name="cce"), metrics.MeanMetricWrapper("binary_accuracy"),
]


@pytest.mark.parametrize("metric", CONFIGURED, ids=lambda m: m.name)
def test_metric_config_round_trips_through_json(metric):
    payload = json.loads(json.dumps(metrics.serialize(metric)))
    assert payload["module"] == "keras.metrics" and payload["class_name"] == type(metric).__name__
    clone = metrics.deserialize(payload)
    assert type(clone) is type(metric)
    assert clone.get_config() == metric.get_config()


def test_configs_match_keras_3():
    assert metrics.Precision().get_config() == {"name": "precision", "dtype": "float32", "thresholds": None,
                                               "top_k": None, "class_id": None}
    assert metrics.AUC().get_config() == {
        "name": "auc", "dtype": "float32", "num_thresholds": 200, "curve": "ROC",
        "summation_method": "interpolation", "multi_label": False, "num_labels": None, "label_weights": None,
        "from_logits": False}
    assert metrics.AUC(thresholds=[0.3, 0.1]).get_config()["thresholds"] == [0.1, 0.3]
    assert metrics.SparseCategoricalCrossentropy().get_config() == {
        "name": "sparse_categorical_crossentropy", "dtype": "float32", "from_logits": False, "ignore_class": None,
        "axis": -1}
    assert metrics.TopKCategoricalAccuracy().get_config() == {"name": "top_k_categorical_accuracy",
                                                             "dtype": "float32", "k": 5}


def test_float64_metrics_say_so_in_their_config(float64):
    assert metrics.Precision().get_config()["dtype"] == "float64"


def _compiled(**kwargs):
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", **kwargs)
    return model


def test_compile_config_round_trips_metrics_and_weighted_metrics(rng, tmp_path):
    model = _compiled(metrics=["accuracy", metrics.Precision(top_k=2, name="p2"), "mse"],
                      weighted_metrics=["accuracy", metrics.AUC(curve="PR", name="pr")])
    config = model.get_compile_config()
    assert config["metrics"][0] == "accuracy" and config["metrics"][2] == "mse"
    assert config["metrics"][1]["class_name"] == "Precision" and config["metrics"][1]["config"]["top_k"] == 2
    assert config["weighted_metrics"][1]["config"]["curve"] == "PR"
    text = json.dumps(config)
    clone = _compiled()
    clone.compile_from_config(json.loads(text))
    assert clone.get_compile_config() == config

    x = rng.normal(size=(9, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=9)]
    w = rng.uniform(size=9)
    model.fit(x, y, epochs=1, verbose=0)
    again = model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    expected = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    assert again.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True) == expected
    model.save(tmp_path / "m.h5")
    loaded = load_model(tmp_path / "m.h5")
    assert loaded.get_compile_config()["weighted_metrics"] == config["weighted_metrics"]
    assert loaded.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True) == pytest.approx(expected)


def test_compile_config_without_metrics_keeps_none():
    config = _compiled().get_compile_config()
    assert config["metrics"] is None and config["weighted_metrics"] is None


def test_compile_from_config_reads_tf_keras_metric_entries():
    model = _compiled()
    model.compile_from_config({
        "optimizer_config": {"class_name": "SGD", "config": {"learning_rate": 0.01}},
        "loss": "categorical_crossentropy",
        "metrics": [[{"class_name": "MeanMetricWrapper",
                      "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}},
                     {"class_name": "Precision", "config": {"name": "precision", "thresholds": 0.6}}]],
        "weighted_metrics": [{"class_name": "MeanMetricWrapper",
                              "config": {"name": "wacc", "dtype": "float32", "fn": "categorical_accuracy"}}],
    })
    specs = model._compile_metrics
    assert specs.metric_specs[0] == "accuracy" and specs.metric_specs[1].thresholds == [0.6]
    assert specs.weighted_specs[0] == "categorical_accuracy"


# -- bad input ---------------------------------------------------------------------------------

def test_unknown_metric_names_fail_at_compile_with_a_suggestion():
    with pytest.raises(ValueError, match=r"Unknown metric 'precison'\. Did you mean 'precision'\?"):
        _compiled(weighted_metrics=["precison"])
    with pytest.raises(TypeError, match=r"`weighted_metrics` to be a list such as \['accuracy'\]\. "
                                        r"Received: 'accuracy'\."):
        _compiled(weighted_metrics="accuracy")
    with pytest.raises(TypeError, match=r"Expected a metric name, a minikeras\.metrics\.Metric or a function"):
        _compiled(metrics=[3])
    with pytest.raises(ValueError, match=r"Mean averages values given to it, not \(y_true, y_pred\)"):
        _compiled(metrics=["mean"])


def test_compile_leaves_the_model_unchanged_when_metrics_are_bad():
    model = _compiled(metrics=["accuracy"])
    optimizer = model.optimizer
    with pytest.raises(ValueError):
        model.compile(optimizer="adam", loss="mse", metrics=["nope"])
    assert model.optimizer is optimizer and model._metric_specs == ["accuracy"]


@pytest.mark.parametrize("make, y_true, y_pred, match", [
    (lambda: metrics.CategoricalAccuracy(), [0, 2], [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
     r"categorical_accuracy expects one-hot targets of shape \(2, 3\).*received targets of shape \(2,\)\. "
     r"For integer class labels use sparse_categorical_accuracy"),
    (lambda: metrics.SparseCategoricalAccuracy(), np.eye(3)[[0, 2]], [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
     r"integer class labels of shape \(2,\).*received targets of shape \(2, 3\)"),
    (lambda: metrics.TopKCategoricalAccuracy(), np.eye(3)[[0, 2]], [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
     r"has k=5, but the predictions have only 3 classes"),
    (lambda: metrics.SparseTopKCategoricalAccuracy(k=1), [0, 3], [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
     r"class labels in \[0, 2\]; received labels from 0 to 3"),
    (lambda: metrics.Precision(), [0, 2], [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
     r"expects targets shaped like the predictions \(2, 3\).*received targets of shape \(2,\)"),
    (lambda: metrics.Recall(class_id=3), np.eye(3)[[0, 2]], [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
     r"class_id=3, which needs predictions of shape \(N, num_classes\) with more than 3 classes"),
    (lambda: metrics.Precision(top_k=4), np.eye(3)[[0, 2]], [[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
     r"top_k=4, but the predictions of shape \(2, 3\) have only 3 entries"),
    (lambda: metrics.BinaryAccuracy(), [[1, 0], [0, 1]], [[0.2], [0.7]],
     r"binary_accuracy expects 0/1 targets of shape \(2, 1\).*received targets of shape \(2, 2\)"),
    (lambda: metrics.MeanSquaredError(), [[1.0, 0.0]], [[0.2, 0.1, 0.3]],
     r"Metric 'mean_squared_error': .*\(1, 3\).*\(1, 2\)"),
    (lambda: metrics.Mean(name="m"), None, None, None),
])
def test_metrics_reject_mismatched_targets(make, y_true, y_pred, match):
    metric = make()
    if match is None:
        with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\), which does not match values of shape"):
            metric.update_state([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])
        return
    with pytest.raises(ValueError, match=match):
        metric.update_state(np.asarray(y_true), np.asarray(y_pred))


@pytest.mark.parametrize("make, match", [
    (lambda: metrics.Precision(thresholds=1.5), r"Precision expects `thresholds` to be a number or a non-empty "
                                                r"list of numbers in \[0, 1\]\. Received: thresholds=1\.5\."),
    (lambda: metrics.Recall(thresholds=[]), r"Recall expects `thresholds`"),
    (lambda: metrics.Precision(top_k=0), r"Precision expects `top_k` to be a positive integer"),
    (lambda: metrics.Recall(class_id=-1), r"Recall expects `class_id` to be a non-negative integer or None"),
    (lambda: metrics.AUC(curve="roc_curve"), r"AUC expects `curve` to be one of 'ROC', 'PR', 'PRGAIN'"),
    (lambda: metrics.AUC(summation_method="trapezoid"), r"AUC expects `summation_method` to be one of"),
    (lambda: metrics.AUC(num_thresholds=1), r"AUC expects `num_thresholds` to be an integer > 1"),
    (lambda: metrics.AUC(num_labels=3), r"AUC needs `num_labels` only with multi_label=True"),
    (lambda: metrics.TopKCategoricalAccuracy(k=0), r"TopKCategoricalAccuracy expects `k` to be a positive integer"),
    (lambda: metrics.BinaryAccuracy(threshold="high"), r"BinaryAccuracy expects `threshold` to be a number"),
    (lambda: metrics.MeanMetricWrapper("no_such_fn"), r"MeanMetricWrapper expects `fn` to be a function"),
    (lambda: metrics.Precision(threshold=0.3), r"unexpected keyword argument 'threshold'"),
])
def test_bad_metric_arguments_fail_at_construction(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_early_stopping_reads_the_direction_of_compiled_metrics(rng):
    x = rng.normal(size=(8, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=8)]
    model = _compiled(metrics=["mse", "auc", "categorical_crossentropy"])
    model.fit(x, y, verbose=0)
    assert callbacks.early_stopping.monitor_direction("val_mse", "auto", model) == "min"
    assert callbacks.early_stopping.monitor_direction("val_categorical_crossentropy", "auto", model) == "min"
    assert callbacks.early_stopping.monitor_direction("auc", "auto", model) == "max"


def test_to_categorical_targets_and_integer_labels_give_the_same_weights():
    labels = np.array([2, 0, 1, 2])
    onehot = utils.to_categorical(labels, 3)
    cw = {0: 0.5, 1: 2.0, 2: 3.0}
    a = _class_weight_to_sample_weight(cw, labels, None, (None, 3), "float32", "fit()")
    b = _class_weight_to_sample_weight(cw, onehot, None, (None, 3), "float32", "fit()")
    assert a.tolist() == b.tolist() == [3.0, 0.5, 2.0, 3.0]
