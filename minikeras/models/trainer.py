"""``compile``, ``fit``, ``evaluate`` and ``predict``: the training loop of a model.

The model supplies the layer stack (``_stack()``); this module owns the loss,
optimizer and metrics, runs epochs of shuffled batches, validation and callbacks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras import losses, optimizers, regularizers
from minikeras import metrics as metrics_module
from minikeras._validation import check_no_unknown_kwargs, check_positive_int, pop_legacy_kwarg, shape_str
from minikeras.backend import random as _random
from minikeras.callbacks import Callback, CallbackList, History, ProgbarLogger
from minikeras.callbacks.progbar import resolve_verbose
from minikeras.models.data import ArrayData, call_name, check_features

_NO_EFFECT_COMPILE = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss")


class Trainer:
    """Mixin that gives a layer stack ``compile``/``fit``/``evaluate``/``predict``."""

    def _init_trainer(self) -> None:
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.compiled = False
        self.stop_training = False
        self.history: History | None = None
        self._metric_specs: list[Any] = []
        self._compile_metrics = metrics_module.CompileMetrics()
        self.metrics: list[metrics_module.Metric] = []
        self._loss_spec: Any = None
        self._metrics_resolved = False

    # -- compile ------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: list[Any] | None = None,
                loss_weights: Any = None, weighted_metrics: Any = None, **kwargs: Any) -> None:
        """Chooses the optimizer, loss and metrics for training.

        Args:
            optimizer: Optimizer name (``"sgd"``) or instance. Defaults to ``"rmsprop"``.
            loss: Loss name (``"categorical_crossentropy"``, ``"mse"``, ...), instance,
                loss function (``minikeras.losses.huber``) or any callable
                ``f(y_true, y_pred)`` returning one loss per sample, whose gradient is
                then computed by central differences (see ``minikeras.losses``).
            metrics: Metrics to report, unweighted: names such as ``["accuracy", "auc"]``,
                metric objects (``minikeras.metrics.Precision(top_k=2)``) or functions
                ``fn(y_true, y_pred)``. A name becomes the log key as written.
            weighted_metrics: Metrics that receive the sample weights (from ``sample_weight``
                or ``class_weight``); one already in ``metrics`` is logged as
                ``weighted_<name>``.
            **kwargs: Keras's ``run_eagerly``, ``jit_compile``, ``steps_per_execution`` and
                ``auto_scale_loss`` are accepted and have no effect (the results are the same).

        Example:
            >>> model = Sequential([Input((3,)), Dense(2, activation="softmax")])
            >>> model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        """
        check_no_unknown_kwargs("compile()", kwargs, _NO_EFFECT_COMPILE)
        for name, value in (("loss_weights", loss_weights),):
            if value is not None:
                raise NotImplementedError(f"compile(`{name}=...`) is not supported by this version of minikeras.")
        if loss is None:
            raise ValueError("compile() needs a `loss`, e.g. loss='categorical_crossentropy'.")
        compile_metrics = metrics_module.CompileMetrics(metrics, weighted_metrics)
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self._loss_spec = loss
        self._compile_metrics = compile_metrics
        self._metric_specs = list(metrics or [])
        self.metrics = []
        self._metrics_resolved = False
        self.compiled = True

    def _assert_compiled(self, caller: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {caller}(). For example: "
                "model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])."
            )

    def _resolve_metrics(self, y_shape: tuple[int, ...]) -> None:
        if self._metrics_resolved:
            return
        self._compile_metrics.build(y_shape, self.output_shape)
        self.metrics = self._compile_metrics.metrics
        self._metrics_resolved = True

    # -- data ---------------------------------------------------------------------------
    def _data(self, x: Any, y: Any, sample_weight: Any, caller: str) -> ArrayData:
        needs_y = caller != "predict"
        if needs_y and y is None:
            raise ValueError(f"{call_name(caller)} needs targets `y` for the inputs `x`.")
        y_dtype = None
        if self.loss is not None and self.loss.target_kind == "sparse":
            y_dtype = "int64"
        data = ArrayData(x, y, sample_weight, dtype=self.dtype, y_dtype=y_dtype, caller=caller)
        if not self.built:
            _check_rank(data.x.shape, caller)
            self.build((None,) + tuple(data.x.shape[1:]))
        check_features(data.x.shape, self.input_shape, self.name, caller)
        if needs_y and self.loss is not None:
            self.loss.check_targets(data.y.shape, data.y.dtype, self.output_shape)
            if hasattr(self.loss, "check_values"):
                self.loss.check_values(data.y, int(self.output_shape[-1]))
        return data

    # -- one step -----------------------------------------------------------------------
    def _prepare_training(self) -> None:
        stack = self._stack()
        trainable = [i for i, layer in enumerate(stack) if layer.trainable_weights and self.trainable]
        self._first_trainable = trainable[0] if trainable else len(stack)
        for i, layer in enumerate(stack):
            layer.need_input_grad = i > self._first_trainable
        self._train_vars = list(self.trainable_weights)
        # None / empty unless some layer has a regularizer or constraint: no extra work per step.
        self._penalties = regularizers.Penalties.of(stack, self._train_vars)
        self._constrained = [v for v in self._train_vars if getattr(v, "constraint", None) is not None]
        last = stack[-1] if stack else None
        self._head_activation = getattr(last, "activation", None) if hasattr(last, "backward_logits") else None

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self._stack():
            x = layer.call(x, training=training)
        return x

    def _train_step(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> float:
        stack = self._stack()
        penalties = self._penalties
        if penalties is None:
            out = self._forward(x, training=True)
            loss_value = self.loss(y, out, w)
        else:
            out, penalty = penalties.forward(stack, x, training=True)
            loss_value = self.loss(y, out, w) + penalty + penalties.weight_penalty()
        delta = None
        if self._head_activation is not None:
            delta = self.loss.logits_gradient(y, out, self._head_activation, w)
        if delta is not None:
            if penalties is not None:
                delta = penalties.logits_gradient(len(stack) - 1, delta, self._head_activation)
            grad = stack[-1].backward_logits(delta)
            upper = len(stack) - 2
        else:
            grad = self.loss.gradient(y, out, w)
            upper = len(stack) - 1
        for i in range(upper, self._first_trainable - 1, -1):
            if penalties is not None:
                grad = penalties.output_gradient(i, grad)
            grad = stack[i].backward(grad)
        if penalties is not None:
            penalties.add_weight_gradients()
            penalties.clear()
        self.optimizer.apply(self._train_vars)
        for var in self._constrained:
            var.apply_constraint()
        self._compile_metrics.update_state(y, out, w)
        for layer in stack:
            layer.clear_cache()
        return loss_value

    def _logs(self, loss_total: float, count: int, prefix: str = "") -> dict[str, float]:
        logs = {prefix + "loss": loss_total / count if count else 0.0}
        for key, value in self._compile_metrics.result().items():
            logs[prefix + key] = value
        return dict(sorted(logs.items()))

    # -- fit ----------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: list[Callback] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool | str = True,
            class_weight: dict[int, float] | None = None, sample_weight: Any = None, initial_epoch: int = 0,
            **kwargs: Any) -> History:
        """Trains the model for ``epochs`` epochs of shuffled mini-batches.

        Each epoch reshuffles the training rows, runs one optimizer step per batch
        (the last batch keeps the remainder), then evaluates the validation data. The
        epoch ``loss`` is the sample-weighted mean of the batch losses.

        Args:
            x: Inputs, ``(N, features)``.
            y: Targets: one-hot rows, integer labels or values, as the loss expects.
            batch_size: Samples per update. Defaults to ``32``.
            epochs: Index of the last epoch (training runs ``initial_epoch .. epochs - 1``).
            verbose: ``0`` silent, ``1`` progress bar, ``2`` one line per epoch, ``"auto"``
                (1 on a terminal, 2 otherwise).
            callbacks: :class:`~minikeras.callbacks.Callback` instances.
            validation_split: Fraction in ``[0, 1)`` of the data, taken from the end
                before shuffling, held out for validation.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)``;
                overrides ``validation_split``.
            shuffle: ``True`` reshuffles every epoch, ``"batch"`` only within batches,
                ``False`` keeps the order.
            class_weight: ``{class index: weight}``; each training sample's loss (and its
                weighted metrics) is multiplied by the weight of its class, read from
                integer labels or the argmax of one-hot rows. Classes not listed weigh 1.
                Multiplies ``sample_weight`` when both are given. Not applied to validation.
            sample_weight: Per-sample loss weights, ``(N,)``: the batch loss is
                ``sum(w * l) / N``, as in Keras 3. Also given to ``weighted_metrics``.
            initial_epoch: Epoch to start from (to resume training).
            **kwargs: The Keras 1 name ``nb_epoch`` (for ``epochs``), which warns.

        Returns:
            The :class:`~minikeras.callbacks.History` of the run.

        Example:
            >>> model = Sequential([Input((2,)), Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=2, verbose=0)
            >>> history.history["loss"]
            [0.0, 0.0]
        """
        epochs = pop_legacy_kwarg("fit()", kwargs, "nb_epoch", "epochs", epochs, 1)
        check_no_unknown_kwargs("fit()", kwargs)
        self._assert_compiled("fit")
        batch_size = 32 if batch_size is None else check_positive_int("fit()", "batch_size", batch_size)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(
                f"fit() expects `epochs` to be a non-negative integer. Received: epochs={epochs!r}."
            )
        epochs = int(epochs)
        verbose = resolve_verbose(verbose)
        if (isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.number))
                or not 0.0 <= float(validation_split) < 1.0):
            raise ValueError(
                f"fit() expects `validation_split` to be a number in [0, 1), e.g. 0.2. "
                f"Received: validation_split={validation_split!r}."
            )
        if not isinstance(shuffle, (bool, np.bool_, int, str)) or shuffle not in (True, False, "batch"):
            raise ValueError(f"fit() expects `shuffle` to be True, False or 'batch'. Received: shuffle={shuffle!r}.")
        data = self._data(x, y, sample_weight, "fit")
        val = None
        if validation_data is not None:
            val = self._validation_data(validation_data)
        elif validation_split:
            data, val = data.split(float(validation_split))
        if class_weight is not None:
            data.sample_weight = _class_weight_to_sample_weight(class_weight, data.y, data.sample_weight,
                                                                self.output_shape, self.dtype, "fit()")
        self._resolve_metrics(data.y.shape)
        self._prepare_training()

        history = History()
        cb_list = list(callbacks or [])
        if not any(isinstance(cb, History) for cb in cb_list):
            cb_list.append(history)
        else:
            history = next(cb for cb in cb_list if isinstance(cb, History))
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cb_list):
            cb_list.append(ProgbarLogger())
        steps = data.num_batches(batch_size)
        cbs = CallbackList(cb_list, model=self, params={"verbose": verbose, "epochs": epochs, "steps": steps})
        batch_hooks = cbs.wants("on_train_batch_begin") or cbs.wants("on_train_batch_end")

        self.stop_training = False
        self._initial_epoch = None
        cbs.call("on_train_begin", {})
        # A callback restoring an interrupted run (BackupAndRestore) sets where to go on from.
        restored_epoch = self.__dict__.pop("_initial_epoch", None)
        if restored_epoch is not None:
            initial_epoch = restored_epoch
        epoch_logs: dict[str, float] = {}
        for epoch in range(int(initial_epoch), epochs):
            for metric in self.metrics:
                metric.reset_state()
            cbs.call("on_epoch_begin", epoch, {})
            total, count = 0.0, 0
            # The epoch's shuffle order and dropout masks depend only on the seed and the
            # step count, so a resumed run draws what an uninterrupted one would.
            with _random.training_scope(self.optimizer.iterations) as rng:
                for step, (xb, yb, wb) in enumerate(data.batches(batch_size, shuffle, rng)):
                    if batch_hooks:
                        cbs.call("on_train_batch_begin", step, {})
                    n = xb.shape[0]
                    total += self._train_step(xb, yb, wb) * n
                    count += n
                    if batch_hooks:
                        cbs.call("on_train_batch_end", step, self._logs(total, count))
                    if self.stop_training:
                        break
            epoch_logs = self._logs(total, count)
            if val is not None:
                val_logs = self._run_test(val, batch_size, cbs, prefix="val_")
                epoch_logs = dict(sorted({**epoch_logs, **val_logs}.items()))
            cbs.call("on_epoch_end", epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.call("on_train_end", epoch_logs)
        self.history = history
        return history

    def _validation_data(self, validation_data: Any) -> ArrayData:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "fit() expects `validation_data` as (x_val, y_val) or (x_val, y_val, sample_weight). "
                f"Received a {type(validation_data).__name__}."
            )
        return self._data(*validation_data, None, "fit(validation_data)") if len(validation_data) == 2 \
            else self._data(*validation_data, "fit(validation_data)")

    def _run_test(self, data: ArrayData, batch_size: int, cbs: CallbackList | None, prefix: str = "") -> dict[str, float]:
        for metric in self.metrics:
            metric.reset_state()
        if cbs is not None:
            cbs.call("on_test_begin", {})
        total, count = 0.0, 0
        # Keras includes the regularization penalties in the evaluation loss too.
        penalties = regularizers.Penalties.of(self._stack(), self.trainable_weights)
        weight_penalty = penalties.weight_penalty() if penalties is not None else 0.0
        for step, (xb, yb, wb) in enumerate(data.batches(batch_size)):
            if cbs is not None:
                cbs.call("on_test_batch_begin", step, {})
            if penalties is None:
                out = self._forward(xb, training=False)
                penalty = 0.0
            else:
                out, penalty = penalties.forward(self._stack(), xb, training=False)
                penalty += weight_penalty
            n = xb.shape[0]
            total += (self.loss(yb, out, wb) + penalty) * n
            count += n
            self._compile_metrics.update_state(yb, out, wb)
            if cbs is not None:
                cbs.call("on_test_batch_end", step, self._logs(total, count))
        logs = self._logs(total, count)
        if cbs is not None:
            cbs.call("on_test_end", logs)
        return {prefix + k: v for k, v in logs.items()}

    # -- evaluate / predict -------------------------------------------------------------
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, callbacks: list[Callback] | None = None,
                 return_dict: bool = False, **kwargs: Any) -> Any:
        """Returns the loss (and metrics) on ``x``, ``y`` in inference mode.

        With ``sample_weight`` the loss of each batch is ``sum(w * l) / N`` and the
        ``weighted_metrics`` are weighted means; plain ``metrics`` ignore the weights.

        Returns:
            The loss alone when no metrics were compiled, else ``[loss, *metrics]`` in
            compile order (``metrics`` then ``weighted_metrics``, as Keras 3 orders them),
            or a dict keyed like the logs with ``return_dict=True``.

        Example:
            >>> model = Sequential([Input((2,)), Dense(1, kernel_initializer="zeros")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> model.evaluate(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
            1.0
        """
        check_no_unknown_kwargs("evaluate()", kwargs)
        self._assert_compiled("evaluate")
        batch_size = 32 if batch_size is None else check_positive_int("evaluate()", "batch_size", batch_size)
        verbose = resolve_verbose(verbose)
        data = self._data(x, y, sample_weight, "evaluate")
        self._resolve_metrics(data.y.shape)
        cb_list = list(callbacks or [])
        if verbose:
            cb_list.append(ProgbarLogger())
        cbs = CallbackList(cb_list, model=self, params={"verbose": verbose, "epochs": 1,
                                                         "steps": data.num_batches(batch_size)})
        logs = self._run_test(data, batch_size, cbs)
        return self._result(logs, return_dict)

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                callbacks: list[Callback] | None = None, **kwargs: Any) -> np.ndarray:
        """Returns the model's outputs for ``x``, computed in batches in inference mode.

        Example:
            >>> model = Sequential([Input((2,)), Dense(3)])
            >>> model.predict(np.ones((5, 2)), verbose=0).shape
            (5, 3)
        """
        check_no_unknown_kwargs("predict()", kwargs)
        batch_size = 32 if batch_size is None else check_positive_int("predict()", "batch_size", batch_size)
        verbose = resolve_verbose(verbose)
        data = self._data(x, None, None, "predict")
        cb_list = list(callbacks or [])
        if verbose:
            cb_list.append(ProgbarLogger())
        if not cb_list and len(data) <= batch_size:
            # One batch and nobody listening: skip the batching and callback machinery.
            xb, _, _ = next(data.batches(batch_size))
            out = self._forward(xb, training=False)
            return out.copy() if np.may_share_memory(out, data.x) else out
        out_shape = self.compute_output_shape((len(data),) + tuple(data.x.shape[1:]))
        result = np.empty(out_shape, dtype=self.dtype)
        cbs = CallbackList(cb_list, model=self, params={"verbose": verbose, "epochs": 1,
                                                         "steps": data.num_batches(batch_size)})
        cbs.call("on_predict_begin", {})
        start = 0
        for step, (xb, _, _) in enumerate(data.batches(batch_size)):
            cbs.call("on_predict_batch_begin", step, {})
            out = self._forward(xb, training=False)
            result[start:start + len(out)] = out
            start += len(out)
            cbs.call("on_predict_batch_end", step, {"outputs": out})
        cbs.call("on_predict_end", {})
        return result

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Returns the outputs for one batch ``x`` (no batching, no progress bar)."""
        x = np.asarray(x, dtype=self.dtype)
        if not self.built:
            _check_rank(x.shape, "predict_on_batch")
            self.build((None,) + x.shape[1:])
        check_features(x.shape, self.input_shape, self.name, "predict_on_batch")
        return self._forward(x, training=False)

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None, class_weight: dict[int, float] | None = None,
                       return_dict: bool = False) -> Any:
        """Runs one optimizer step on exactly ``x``, ``y``; returns loss (and metrics) of that batch.

        ``class_weight`` works as in :meth:`fit`.
        """
        self._assert_compiled("train_on_batch")
        data = self._data(x, y, sample_weight, "train_on_batch")
        if class_weight is not None:
            data.sample_weight = _class_weight_to_sample_weight(class_weight, data.y, data.sample_weight,
                                                                self.output_shape, self.dtype, "train_on_batch()")
        self._resolve_metrics(data.y.shape)
        self._prepare_training()
        for metric in self.metrics:
            metric.reset_state()
        xb, yb, wb = next(data.batches(len(data)))
        logs = self._logs(self._train_step(xb, yb, wb), 1)
        return self._result(logs, return_dict)

    def test_on_batch(self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Returns loss (and metrics) of one batch without updating the weights."""
        self._assert_compiled("test_on_batch")
        data = self._data(x, y, sample_weight, "test_on_batch")
        self._resolve_metrics(data.y.shape)
        return self._result(self._run_test(data, len(data), None), return_dict)

    def _result(self, logs: dict[str, float], return_dict: bool) -> Any:
        if return_dict:
            return logs
        return metrics_module.compile_metrics.results_in_order(logs, ["loss"] + self._compile_metrics.names())

    # -- Keras 1/2 prediction helpers ---------------------------------------------------
    def predict_classes(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
        """Deprecated: class indices; use ``np.argmax(model.predict(x), axis=-1)``."""
        warnings.warn(
            "predict_classes() was removed in Keras 2.6. Use np.argmax(model.predict(x), axis=-1) "
            "for multi-class outputs, or (model.predict(x) > 0.5).astype('int32') for a sigmoid output.",
            DeprecationWarning, stacklevel=2,
        )
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
        """Deprecated: same as ``predict``."""
        warnings.warn("predict_proba() was removed in Keras 2.6. Use model.predict(x).",
                      DeprecationWarning, stacklevel=2)
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    # -- compile config -----------------------------------------------------------------
    def get_compile_config(self) -> dict[str, Any] | None:
        """Returns the training configuration written to model files, or ``None``."""
        if not self.compiled:
            return None
        metric_config = self._compile_metrics.get_config()
        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": losses.serialize(self.loss),
            "loss_weights": None,
            "metrics": metric_config["metrics"],
            "weighted_metrics": metric_config["weighted_metrics"],
            "run_eagerly": False,
            "steps_per_execution": 1,
            "jit_compile": False,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compiles from :meth:`get_compile_config` output or a Keras ``training_config``."""
        optimizer = config.get("optimizer", config.get("optimizer_config"))
        if isinstance(optimizer, dict) and "module" not in optimizer and "class_name" in optimizer:
            optimizer = {"class_name": optimizer["class_name"], "config": optimizer.get("config", {})}
        read = metrics_module.compile_metrics.specs_from_config
        self.compile(optimizer=optimizer, loss=config["loss"], metrics=read(config.get("metrics")),
                     weighted_metrics=read(config.get("weighted_metrics")))


def _check_rank(shape: tuple[int, ...], caller: str) -> None:
    """Raises ``ValueError`` if inputs have no feature axis, before a model is built on them."""
    if len(shape) < 2:
        raise ValueError(
            f"{call_name(caller)} expects `x` of shape (samples, features), but received x of shape "
            f"{shape_str(shape)}. For a single feature use x.reshape(-1, 1); for a single sample, "
            "x.reshape(1, -1)."
        )


def _class_weight_to_sample_weight(class_weight: Any, y: np.ndarray, sample_weight: np.ndarray | None,
                                   output_shape: tuple[int | None, ...], dtype: str, caller: str) -> np.ndarray:
    """Per-sample weights from ``{class index: weight}``, as Keras 3 derives them.

    A sample's class is its target rounded to an integer, or the argmax of a target
    row with more than one column; classes not in the dict weigh 1. The result
    multiplies ``sample_weight`` when that is given.
    """
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"{caller} expects `class_weight` to be a dict mapping class indices to weights, e.g. "
            f"{{0: 1.0, 1: 5.0}}. Received: {class_weight!r}."
        )
    width = output_shape[-1]
    num_classes = None if width is None else (2 if width == 1 else int(width))
    table: dict[int, float] = {}
    for key, value in class_weight.items():
        integral = (isinstance(key, (int, np.integer)) and not isinstance(key, bool)) or (
            isinstance(key, (float, np.floating)) and float(key).is_integer())
        if not integral or key < 0 or (num_classes is not None and key >= num_classes):
            raise ValueError(
                f"{caller} received the class_weight key {key!r}, but the model's output of shape "
                f"{shape_str(output_shape)} predicts classes 0 to {'...' if num_classes is None else num_classes - 1}. "
                "Key `class_weight` by class index, e.g. {0: 1.0, 1: 5.0}."
            )
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
            raise ValueError(
                f"{caller} expects every class weight to be a finite number. "
                f"Received: class_weight[{key!r}]={value!r}."
            )
        table[int(key)] = float(value)
    if y.ndim > 2:
        raise ValueError(
            f"{caller} supports `class_weight` for targets of shape (N,), (N, 1) or one-hot (N, num_classes); "
            f"received targets of shape {shape_str(y.shape)}. Pass per-sample weights as `sample_weight` instead."
        )
    labels = y if y.ndim == 1 else (y[:, 0] if y.shape[-1] == 1 else np.argmax(y, axis=-1))
    labels = np.round(labels)
    weights = np.ones(len(y), dtype=dtype)
    for label, value in table.items():
        weights[labels == label] = value
    if sample_weight is not None:
        weights *= np.asarray(sample_weight, dtype=dtype)
    return weights
