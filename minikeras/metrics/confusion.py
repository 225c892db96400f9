"""Metrics built on confusion counts: precision, recall, AUC and the raw counts.

Each metric keeps weighted counts of true and false positives and negatives at one
or more thresholds, summed over every batch since the last reset, and computes its
result from the sums; so precision over an epoch is ``TP / (TP + FP)`` of the whole
epoch, not a mean of batch precisions. A prediction is positive at threshold ``t``
when ``y_pred > t``; a target is positive when it is not 0.

Example:
    >>> m = Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(m.result(), 4)
    0.6667
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras._validation import check_positive_int, shape_str
from minikeras.backend.config import epsilon
from minikeras.metrics.base import Metric, as_result, div_no_nan, register, same_rank

NEG_INF = -1e10


def _check_index(owner: str, name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{owner} expects `{name}` to be a non-negative integer or None. Received: {name}={value!r}.")
    return int(value)


def parse_thresholds(owner: str, thresholds: Any, default: float) -> list[float]:
    """Returns the thresholds as a list of floats, each checked to lie in ``[0, 1]``.

    Examples:
        >>> parse_thresholds("Precision", [0.2, 0.7], 0.5), parse_thresholds("Precision", None, 0.5)
        ([0.2, 0.7], [0.5])
    """
    if thresholds is None:
        return [default]
    values = list(np.ravel(thresholds)) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values
           if isinstance(t, bool) or not isinstance(t, (int, float, np.number)) or not 0.0 <= float(t) <= 1.0]
    if bad or not values:
        raise ValueError(
            f"{owner} expects `thresholds` to be a number or a non-empty list of numbers in [0, 1]. "
            f"Received: thresholds={thresholds!r}."
        )
    return [float(t) for t in values]


def _config_thresholds(thresholds: Any) -> Any:
    """The thresholds as given, in a form that survives JSON."""
    if thresholds is None:
        return None
    if isinstance(thresholds, (list, tuple, np.ndarray)):
        return [float(t) for t in np.ravel(thresholds)]
    return float(thresholds)


def evenly_distributed(thresholds: Any) -> bool:
    """Whether thresholds are ``0, 1/(n-1), ..., 1`` (n >= 3), as Keras tests it.

    Examples:
        >>> evenly_distributed([0.0, 0.5, 1.0]), evenly_distributed([0.0, 0.4, 1.0])
        (True, False)
    """
    t = np.asarray(thresholds, dtype=np.float64)
    n = len(t)
    if n < 3:
        return False
    return bool(np.allclose(t, np.arange(n, dtype=np.float32) / (n - 1), atol=epsilon()))


def _filter_top_k(owner: str, y_pred: np.ndarray, k: int) -> np.ndarray:
    if y_pred.ndim < 1 or k > y_pred.shape[-1]:
        raise ValueError(
            f"{owner} has top_k={k}, but the predictions of shape {shape_str(y_pred.shape)} have only "
            f"{y_pred.shape[-1] if y_pred.ndim else 0} entries per sample. Use a smaller top_k."
        )
    top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(y_pred.shape, dtype=bool)
    np.put_along_axis(keep, top, True, axis=-1)
    return np.where(keep, y_pred, y_pred.dtype.type(NEG_INF))


def confusion_counts(owner: str, y_true: Any, y_pred: Any, thresholds: list[float], *, dtype: str,
                     sample_weight: Any = None, top_k: int | None = None, class_id: int | None = None,
                     evenly: bool = False, multi_label: bool = False,
                     label_weights: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Weighted ``(tp, fp, tn, fn)`` of one batch at each threshold.

    Each count has shape ``(len(thresholds),)``, or ``(len(thresholds), labels)`` with
    ``multi_label=True``. With ``evenly=True`` (thresholds evenly spaced over [0, 1],
    possibly pushed out by epsilon at the ends) predictions are clipped to [0, 1]
    and assigned to buckets, as Keras's fast path does; otherwise they are compared
    with each threshold.

    Examples:
        >>> tp, fp, tn, fn = confusion_counts("m", [0, 1, 1], [0.9, 0.8, 0.1], [0.5], dtype="float32")
        >>> tp, fp, tn, fn
        (array([1.]), array([1.]), array([0.]), array([1.]))
    """
    y_pred = np.asarray(y_pred, dtype=dtype)
    y_true = np.asarray(y_true)
    y_pred, y_true = same_rank(y_pred, y_true)
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=dtype)[..., None]
        _, w = same_rank(y_true, w, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(owner, y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2 or class_id >= y_pred.shape[-1]:
            raise ValueError(
                f"{owner} has class_id={class_id}, which needs predictions of shape (N, num_classes) with more "
                f"than {class_id} classes. Received predictions of shape {shape_str(y_pred.shape)}."
            )
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{owner} expects targets shaped like the predictions {shape_str(y_pred.shape)} (0/1 per output, "
            f"one-hot for classes), but received targets of shape {shape_str(y_true.shape)}. One-hot encode "
            "integer labels (minikeras.utils.to_categorical) or pick one class with class_id."
        )
    weights = None
    if w is not None:
        try:
            weights = np.broadcast_to(w, y_pred.shape)
        except ValueError:
            raise ValueError(
                f"{owner} received sample_weight of shape {shape_str(np.shape(sample_weight))} for predictions of "
                f"shape {shape_str(y_pred.shape)}. Pass one weight per sample."
            ) from None
    if label_weights is not None:
        lw = np.broadcast_to(label_weights, y_pred.shape)
        weights = lw if weights is None else weights * lw
    positive = y_true != 0
    if multi_label:
        if y_pred.ndim != 2:
            raise ValueError(f"{owner} with multi_label=True expects predictions of rank 2; received shape "
                             f"{shape_str(y_pred.shape)}.")
        cols = y_pred.shape[1]
    else:
        cols = 1
        y_pred, positive = y_pred.reshape(-1, 1), positive.reshape(-1, 1)
        weights = None if weights is None else weights.reshape(-1, 1)

    n = len(thresholds)
    t = np.asarray(thresholds, dtype=np.float64)
    if evenly:
        # The bucket of p is the last threshold index j with p > t_j (-1 for none).
        p = np.clip(y_pred, 0.0, 1.0)
        bucket = np.ceil(p * p.dtype.type(n - 1)) - 1
        if t[0] < 0.0 or t[-1] > 1.0:
            bucket = np.maximum(bucket, 0)
        above = np.nan_to_num(bucket, nan=-1.0).astype(np.intp) + 1
        order = None
    else:
        order = np.argsort(t, kind="stable")
        above = np.searchsorted(t[order].astype(y_pred.dtype), y_pred, side="left")
        above[np.isnan(y_pred)] = 0
    # above[i] = how many (sorted) thresholds prediction i exceeds, in 0..n.
    flat = (above + (n + 1) * np.arange(cols)).ravel()
    w_pos = positive if weights is None else np.where(positive, weights, 0)
    w_neg = ~positive if weights is None else np.where(positive, 0, weights)
    size = cols * (n + 1)
    hist_pos = np.bincount(flat, weights=np.ravel(w_pos).astype(np.float64), minlength=size).reshape(cols, n + 1)
    hist_neg = np.bincount(flat, weights=np.ravel(w_neg).astype(np.float64), minlength=size).reshape(cols, n + 1)
    tp = np.cumsum(hist_pos[:, ::-1], axis=1)[:, ::-1][:, 1:]
    fp = np.cumsum(hist_neg[:, ::-1], axis=1)[:, ::-1][:, 1:]
    fn = hist_pos.sum(axis=1, keepdims=True) - tp
    tn = hist_neg.sum(axis=1, keepdims=True) - fp
    counts = []
    for c in (tp, fp, tn, fn):
        c = c.T
        if order is not None:
            unsorted = np.empty_like(c)
            unsorted[order] = c
            c = unsorted
        counts.append(c if multi_label else c[:, 0])
    return tuple(counts)


class _ConfusionMetric(Metric):
    """Shared state: weighted confusion counts per threshold."""

    def _setup_thresholds(self, thresholds: Any, default: float) -> None:
        self.init_thresholds = _config_thresholds(thresholds)
        self.thresholds = parse_thresholds(type(self).__name__, thresholds, default)
        self._evenly = evenly_distributed(self.thresholds)

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.true_positives = np.zeros(n)
        self.false_positives = np.zeros(n)
        self.true_negatives = np.zeros(n)
        self.false_negatives = np.zeros(n)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds the batch's weighted counts at each threshold."""
        tp, fp, tn, fn = confusion_counts(
            f"Metric '{self.name}'", y_true, y_pred, self.thresholds, dtype=self.dtype,
            sample_weight=sample_weight, top_k=getattr(self, "top_k", None),
            class_id=getattr(self, "class_id", None), evenly=self._evenly)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn


class _ConditionCount(_ConfusionMetric):
    condition = ""

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None) -> None:
        self._setup_thresholds(thresholds, 0.5)
        super().__init__(name=name, dtype=dtype)

    def result(self) -> Any:
        return as_result(getattr(self, self.condition))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


@register("true_positives")
class TruePositives(_ConditionCount):
    """The weighted count of true positives (at each threshold).

    Args:
        thresholds: A threshold or a list of thresholds in [0, 1]. Defaults to ``0.5``.
        name: Name in logs. Defaults to ``"true_positives"`` (made unique).
        dtype: Float type of the computations.

    Examples:
        >>> m = TruePositives()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> m.result()
        2.0
    """

    condition = "true_positives"


@register("false_positives")
class FalsePositives(_ConditionCount):
    """The weighted count of false positives (at each threshold).

    Examples:
        >>> m = FalsePositives()
        >>> m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
        >>> m.result()
        2.0
    """

    condition = "false_positives"
    direction = "min"


@register("true_negatives")
class TrueNegatives(_ConditionCount):
    """The weighted count of true negatives (at each threshold).

    Examples:
        >>> m = TrueNegatives()
        >>> m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
        >>> m.result()
        2.0
    """

    condition = "true_negatives"


@register("false_negatives")
class FalseNegatives(_ConditionCount):
    """The weighted count of false negatives (at each threshold).

    Examples:
        >>> m = FalseNegatives()
        >>> m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
        >>> m.result()
        2.0
    """

    condition = "false_negatives"
    direction = "min"


class _PrecisionRecall(_ConfusionMetric):
    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        owner = type(self).__name__
        self.top_k = None if top_k is None else check_positive_int(owner, "top_k", top_k)
        self.class_id = _check_index(owner, "class_id", class_id)
        self._setup_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        super().__init__(name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


@register("precision")
class Precision(_PrecisionRecall):
    """Precision, ``TP / (TP + FP)``, over all samples since the last reset.

    Args:
        thresholds: A threshold or a list of thresholds in [0, 1]; with a list the
            result is an array with one precision per threshold. Defaults to ``0.5``
            (with ``top_k``, every one of the top ``k`` predictions counts as positive).
        top_k: Only the ``k`` largest predictions of each sample can be positive.
        class_id: Only this class (column) is scored.
        name: Name in logs. Defaults to ``"precision"`` (made unique: ``precision_1``, ...).
        dtype: Float type of the computations.

    Examples:
        >>> m = Precision(top_k=1)
        >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.2, 0.1, 0.7], [0.6, 0.3, 0.1]])
        >>> m.result()
        0.5
    """

    def result(self) -> Any:
        return as_result(div_no_nan(self.true_positives, self.true_positives + self.false_positives))


@register("recall")
class Recall(_PrecisionRecall):
    """Recall, ``TP / (TP + FN)``, over all samples since the last reset.

    Args:
        thresholds: A threshold or a list of thresholds in [0, 1]; with a list the
            result is an array with one recall per threshold. Defaults to ``0.5``.
        top_k: Only the ``k`` largest predictions of each sample can be positive.
        class_id: Only this class (column) is scored.
        name: Name in logs. Defaults to ``"recall"`` (made unique).
        dtype: Float type of the computations.

    Examples:
        >>> m = Recall()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(m.result(), 4)
        0.6667
    """

    def result(self) -> Any:
        return as_result(div_no_nan(self.true_positives, self.true_positives + self.false_negatives))


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring", "minoring": "minoring"}


def _choice(owner: str, name: str, value: Any, table: dict[str, str]) -> str:
    key = value.lower() if isinstance(value, str) and value in (value.lower(), value.upper(), value.capitalize()) \
        else None
    if key not in table:
        raise ValueError(
            f"{owner} expects `{name}` to be one of {', '.join(repr(v) for v in table.values())}. "
            f"Received: {name}={value!r}."
        )
    return table[key]


@register("auc")
class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at fixed thresholds.

    Predictions are binned at ``num_thresholds`` thresholds evenly spaced over
    [0, 1] (the ends pushed out by epsilon), confusion counts are summed over all
    batches, and the area under the curve through those points is a Riemann sum.

    Args:
        num_thresholds: Number of thresholds, more than 1. Defaults to ``200``.
        curve: ``"ROC"`` (default), ``"PR"`` (precision-recall) or ``"PRGAIN"``.
        summation_method: ``"interpolation"`` (default: trapezoids for ROC, and for
            PR the interpolation of Davis & Goadrich, 2006), ``"minoring"`` (left
            sums) or ``"majoring"`` (right sums).
        name: Name in logs. Defaults to ``"auc"`` (made unique).
        dtype: Float type of the computations.
        thresholds: Explicit thresholds in [0, 1]; overrides ``num_thresholds``.
        multi_label: Score each label (column) separately and average the areas.
        num_labels: Number of labels with ``multi_label=True``; otherwise taken from
            the first batch.
        label_weights: Per-label weights: of the counts (single-label) or of the
            per-label areas (``multi_label=True``).
        from_logits: Whether predictions are logits (a sigmoid is applied first).

    Examples:
        >>> m = AUC()
        >>> m.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> m.result()
        0.75
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None, from_logits: bool = False) -> None:
        self.curve = _choice("AUC", "curve", curve, _CURVES)
        self.summation_method = _choice("AUC", "summation_method", summation_method, _SUMMATIONS)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds("AUC", thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_distributed([0.0] + inner + [1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                    or num_thresholds <= 1:
                raise ValueError(
                    f"AUC expects `num_thresholds` to be an integer > 1. Received: num_thresholds={num_thresholds!r}."
                )
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
            self._evenly = True
        eps = epsilon()
        self._thresholds = [0.0 - eps] + inner + [1.0 + eps]
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError("AUC needs `num_labels` only with multi_label=True. Received: num_labels="
                             f"{num_labels!r} with multi_label=False.")
        self.num_labels = None if num_labels is None else check_positive_int("AUC", "num_labels", num_labels)
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=np.float64)
        if self.label_weights is not None and self.label_weights.ndim != 1:
            raise ValueError(f"AUC expects `label_weights` to be a 1-D list of weights, one per label. "
                             f"Received shape {shape_str(self.label_weights.shape)}.")
        self.from_logits = bool(from_logits)
        self._labels = self.num_labels
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self) -> list[float]:
        """All thresholds, including the two just outside [0, 1]."""
        return list(self._thresholds)

    def reset_state(self) -> None:
        shape = (self.num_thresholds,) if not self.multi_label else (self.num_thresholds, self._labels or 0)
        self.true_positives = np.zeros(shape)
        self.false_positives = np.zeros(shape)
        self.true_negatives = np.zeros(shape)
        self.false_negatives = np.zeros(shape)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds the batch's weighted counts at each threshold."""
        y_pred = np.asarray(y_pred, dtype=self.dtype)
        if self.multi_label:
            if y_pred.ndim != 2:
                raise ValueError(f"AUC with multi_label=True expects predictions of rank 2; received shape "
                                 f"{shape_str(y_pred.shape)}.")
            if self._labels is None:
                self._labels = y_pred.shape[1]
                self.reset_state()
            elif y_pred.shape[1] != self._labels:
                raise ValueError(f"AUC '{self.name}' counts {self._labels} labels; received predictions with "
                                 f"{y_pred.shape[1]}.")
        if self.from_logits:
            with np.errstate(over="ignore"):
                y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        tp, fp, tn, fn = confusion_counts(
            f"Metric '{self.name}'", y_true, y_pred, self._thresholds, dtype=self.dtype,
            sample_weight=sample_weight, evenly=self._evenly, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _combine(self, per_threshold: np.ndarray) -> float:
        if not self.multi_label:
            return float(per_threshold.sum())
        by_label = per_threshold.sum(axis=0)
        if self.label_weights is None:
            return float(by_label.mean()) if by_label.size else 0.0
        return float(div_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights)))

    def _interpolate_pr_auc(self) -> float:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = div_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, div_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        increments = div_no_nan(slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
        return self._combine(increments)

    def result(self) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = div_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = div_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, div_no_nan(tp, tp + fp)
        else:
            scale = div_no_nan(tp + fn, tn + fp)
            recall_gain = np.where(tp == 0, 0.0, 1.0 - scale * div_no_nan(fn, tp))
            precision_gain = np.where(tp == 0, 1.0, 1.0 - scale * div_no_nan(fp, tp))
            x, y = np.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._combine((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config
