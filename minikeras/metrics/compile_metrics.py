"""The metrics of a compiled model: ``compile(metrics=..., weighted_metrics=...)``.

Entries are resolved once the shapes of targets and predictions are known, as in
Keras 3: ``"accuracy"``/``"acc"`` (any case) picks binary, sparse categorical or
categorical accuracy from the shapes; other strings name a metric or a loss; metric
objects, metric classes and functions ``fn(y_true, y_pred)`` are accepted too. A
metric made from a string is named by that string.

``metrics`` ignore sample weights; ``weighted_metrics`` receive them. Log keys are
the metric names; a repeated name gets a suffix ``_1``, ``_2``, ... and a weighted
metric whose name is taken gets the prefix ``weighted_`` (Keras 3's rules).

Example:
    >>> cm = CompileMetrics(["accuracy"], ["accuracy"])
    >>> cm.build((4, 1), (None, 1))
    >>> cm.update_state(np.array([[1], [0], [1], [1]]), np.array([[0.9], [0.8], [0.2], [0.7]]),
    ...                 sample_weight=np.array([1.0, 1.0, 0.0, 2.0]))
    >>> cm.result()
    {'accuracy': 0.5, 'weighted_accuracy': 0.75}
"""

from __future__ import annotations

import difflib
from typing import Any

from minikeras import losses
from minikeras.backend.naming import to_snake_case
from minikeras.metrics.accuracy import BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy
from minikeras.metrics.base import FUNCTIONS, Mean, MeanMetricWrapper, Metric, _registry
from minikeras.metrics.loss_metrics import LossMetric

_ACCURACY = ("accuracy", "acc")


def _is_accuracy(identifier: Any) -> bool:
    return isinstance(identifier, str) and identifier.lower() in _ACCURACY


def known_names() -> list[str]:
    """Every string ``compile(metrics=...)`` accepts.

    Examples:
        >>> {"acc", "auc", "mse", "precision"} <= set(known_names())
        True
    """
    return sorted(set(_registry.names()) | set(losses.names()) | set(_ACCURACY))


def _unknown(identifier: str) -> ValueError:
    known = known_names()
    close = difflib.get_close_matches(identifier, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown metric {identifier!r}.{hint} Known metric names: {', '.join(known)}.")


def check(identifier: Any) -> None:
    """Raises early, at ``compile`` time, for an entry that cannot become a metric.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
        TypeError: For anything that is not a name, metric, metric class or function.

    Examples:
        >>> check("precision")
        >>> check("precison")
        Traceback (most recent call last):
        ...
        ValueError: Unknown metric 'precison'. Did you mean 'precision'? ...
    """
    if isinstance(identifier, str):
        if not (_is_accuracy(identifier) or identifier in _registry or identifier in losses.names()):
            raise _unknown(identifier)
        cls = _registry.lookup(identifier) if identifier in _registry else None
    elif isinstance(identifier, dict):
        check(deserialize_spec(identifier))
        return
    elif isinstance(identifier, Metric) or (isinstance(identifier, type) and issubclass(identifier, Metric)):
        cls = identifier if isinstance(identifier, type) else type(identifier)
    elif callable(identifier):
        cls = None
    else:
        raise TypeError(
            f"Expected a metric name, a minikeras.metrics.Metric or a function (y_true, y_pred); "
            f"received {identifier!r}."
        )
    if cls is Mean or (cls is MeanMetricWrapper and not isinstance(identifier, MeanMetricWrapper)):
        raise ValueError(
            f"{cls.__name__} averages values given to it, not (y_true, y_pred), so compile() cannot update it. "
            "Wrap a function instead: minikeras.metrics.MeanMetricWrapper(fn), or pass fn itself."
        )


def resolve(identifier: Any, y_shape: tuple[int, ...], output_shape: tuple[int | None, ...]) -> Metric:
    """Turns a ``compile(metrics=...)`` entry into a metric, given the data shapes.

    Args:
        identifier: A name, a :class:`Metric`, a metric class, a serialized metric
            or a function ``fn(y_true, y_pred)``.
        y_shape: Shape of the targets.
        output_shape: Shape of the model output.

    Returns:
        The metric, named by the string when ``identifier`` is one.

    Examples:
        >>> type(resolve("acc", (8,), (None, 3))).__name__
        'SparseCategoricalAccuracy'
        >>> resolve("mse", (8, 1), (None, 1)).name
        'mse'
    """
    check(identifier)
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize_spec(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=to_snake_case(getattr(identifier, "__name__", "")) or None)
    if _is_accuracy(identifier):
        width = output_shape[-1]
        if width == 1:
            return BinaryAccuracy(name=identifier)
        if len(y_shape) < len(output_shape) or (y_shape[-1] == 1 and (width or 2) > 1):
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if identifier in _registry:
        metric = _registry.get(identifier)
        metric.name = identifier
        return metric
    return LossMetric(identifier, name=identifier)


def serialize_spec(spec: Any) -> Any:
    """The JSON form of a ``compile(metrics=...)`` entry in Keras's schema.

    Names stay strings, metrics become ``{"module", "class_name", "config", ...}``
    dicts, metric classes their snake_case names (``AUC`` -> ``"auc"``) and functions
    their names.

    Examples:
        >>> serialize_spec("acc")
        'acc'
        >>> serialize_spec(BinaryAccuracy(threshold=0.7))["config"]
        {'name': 'binary_accuracy', 'dtype': 'float32', 'threshold': 0.7}
    """
    if isinstance(spec, (str, dict)):
        return spec
    if isinstance(spec, Metric):
        return _registry.serialize(spec)
    if isinstance(spec, type):
        return to_snake_case(spec.__name__)  # the name the class's instances get by default
    return getattr(spec, "__name__", repr(spec))


def deserialize_spec(spec: Any) -> Any:
    """Reads an entry written by :func:`serialize_spec`, by Keras 3 or by tf-keras.

    Strings are returned unchanged; metric dicts become metrics. tf-keras's
    ``MeanMetricWrapper`` entries become their name (or function name).

    Raises:
        ValueError: For a dict naming an unknown metric class.

    Examples:
        >>> deserialize_spec({"class_name": "Precision", "config": {"name": "p", "thresholds": 0.3}}).thresholds
        [0.3]
    """
    if not isinstance(spec, dict):
        return spec
    class_name = spec.get("class_name")
    config = spec.get("config") or {}
    if class_name == "function" and isinstance(config, str):
        return config
    if class_name == "MeanMetricWrapper" and isinstance(config, dict):
        name, fn = config.get("name"), config.get("fn")
        fn = fn.get("config") if isinstance(fn, dict) else fn
        for candidate in (name, fn):
            if isinstance(candidate, str) and (_is_accuracy(candidate) or candidate in _registry
                                               or candidate in losses.names()):
                return candidate
        if isinstance(fn, str) and fn in FUNCTIONS:
            return MeanMetricWrapper(fn, name=name)
    if isinstance(class_name, str) and class_name.replace("Custom>", "") in _registry:
        return _registry.deserialize(spec)
    name = config.get("name") if isinstance(config, dict) else None
    raise ValueError(
        f"Cannot rebuild the metric {class_name!r}{f' named {name!r}' if name else ''} from its configuration: "
        "it is not a metric minikeras knows. Compile the model again with metrics minikeras provides."
    )


def log_keys(plain: list[Metric], weighted: list[Metric]) -> list[str]:
    """The log key of each metric, ``plain`` then ``weighted`` (Keras 3's naming rules).

    Examples:
        >>> from minikeras.metrics import Mean
        >>> log_keys([Mean(name="m"), Mean(name="m")], [Mean(name="m"), Mean(name="m")])
        ['m', 'm_1', 'weighted_m', 'weighted_m_1']
    """
    counters: dict[str, int] = {}
    keys = [_numbered(metric.name, counters) for metric in plain]
    for metric in weighted:
        name = metric.name if metric.name not in counters else f"weighted_{metric.name}"
        keys.append(_numbered(name, counters))
    return keys


def _numbered(name: str, counters: dict[str, int]) -> str:
    """``name`` the first time, then ``name_1``, ``name_2``, ...; ``counters`` keeps the counts."""
    if name not in counters:
        counters[name] = 1
        return name
    index = counters[name]
    counters[name] += 1
    return f"{name}_{index}"


def results_in_order(logs: dict[str, Any], metric_names: list[str]) -> Any:
    """``evaluate``'s list: the loss, then the metrics in compile order (Keras 3's rule).

    Values are taken by metric name in compile order, then every other log key follows
    in sorted order; a single value is returned alone.

    Examples:
        >>> results_in_order({"acc": 0.5, "loss": 0.25}, ["loss", "acc"])
        [0.25, 0.5]
        >>> results_in_order({"loss": 0.25}, ["loss"])
        0.25
    """
    results = [logs[name] for name in metric_names if name in logs]
    results += [logs[key] for key in sorted(logs) if key not in metric_names]
    return results[0] if len(results) == 1 else results


class CompileMetrics:
    """The metrics given to ``compile``, resolved, updated and read together.

    Args:
        metrics: Entries updated without sample weights.
        weighted_metrics: Entries updated with the sample weights.

    Raises:
        TypeError: If either is not a list (or tuple), or holds an entry of the wrong type.
        ValueError: For an unknown metric name.

    Examples:
        >>> cm = CompileMetrics(["acc", "acc"], ["acc", "mse"])
        >>> cm.build((4, 3), (None, 3))
        >>> cm.keys, [type(m).__name__ for m in cm.metrics]
        (['acc', 'acc_1', 'weighted_acc', 'mse'], ['CategoricalAccuracy', 'CategoricalAccuracy', 'CategoricalAccuracy', 'MeanSquaredError'])
    """

    def __init__(self, metrics: Any = None, weighted_metrics: Any = None) -> None:
        for arg, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple)):
                raise TypeError(
                    f"compile() expects `{arg}` to be a list such as ['accuracy']. Received: {value!r}."
                )
            for spec in value or []:
                check(spec)
        self.metric_specs = None if metrics is None else list(metrics)
        self.weighted_specs = None if weighted_metrics is None else list(weighted_metrics)
        self.built = False
        self.plain: list[Metric] = []
        self.weighted: list[Metric] = []
        self.keys: list[str] = []

    @property
    def metrics(self) -> list[Metric]:
        """Every metric, ``metrics`` first, then ``weighted_metrics``."""
        return self.plain + self.weighted

    def build(self, y_shape: tuple[int, ...], output_shape: tuple[int | None, ...]) -> None:
        """Resolves the entries for targets of ``y_shape`` and outputs of ``output_shape``."""
        self.plain = [resolve(spec, y_shape, output_shape) for spec in self.metric_specs or []]
        self.weighted = [resolve(spec, y_shape, output_shape) for spec in self.weighted_specs or []]
        self.keys = log_keys(self.plain, self.weighted)
        self.built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Updates ``metrics`` without and ``weighted_metrics`` with ``sample_weight``."""
        for metric in self.plain:
            metric.update_state(y_true, y_pred)
        for metric in self.weighted:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def reset_state(self) -> None:
        """Resets every metric."""
        for metric in self.metrics:
            metric.reset_state()

    def result(self) -> dict[str, Any]:
        """Returns ``{log key: value}``; values are floats (arrays for multi-threshold metrics)."""
        return {key: metric.result() for key, metric in zip(self.keys, self.metrics)}

    def names(self) -> list[str]:
        """The metric names in compile order (not the de-duplicated log keys)."""
        return [metric.name for metric in self.metrics]

    def get_config(self) -> dict[str, Any]:
        """``{"metrics": ..., "weighted_metrics": ...}`` in Keras's compile-config form."""
        return {
            "metrics": None if self.metric_specs is None else [serialize_spec(s) for s in self.metric_specs],
            "weighted_metrics": None if self.weighted_specs is None else [serialize_spec(s) for s in self.weighted_specs],
        }


def specs_from_config(entries: Any) -> list[Any] | None:
    """Reads a saved ``metrics`` entry (flat or, as tf-keras writes it, nested lists).

    Examples:
        >>> specs_from_config([["acc", {"class_name": "AUC", "config": {"name": "auc"}}]])
        ['acc', <AUC name=auc>]
    """
    if entries is None:
        return None
    if not isinstance(entries, (list, tuple)):
        entries = [entries]
    specs: list[Any] = []
    for entry in entries:
        if isinstance(entry, (list, tuple)):
            specs.extend(deserialize_spec(e) for e in entry)
        else:
            specs.append(deserialize_spec(entry))
    return specs
