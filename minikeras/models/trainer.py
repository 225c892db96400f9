"""``compile``, ``fit``, ``evaluate`` and ``predict``: the training loop of a model.

The model supplies the layer stack (``_stack()``); this module owns the loss,
optimizer and metrics, runs epochs of shuffled batches, validation and callbacks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras import losses, optimizers
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
        self.metrics: list[metrics_module.Metric] = []
        self._loss_spec: Any = None
        self._metrics_resolved = False

    # -- compile ------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: list[Any] | None = None,
                loss_weights: Any = None, weighted_metrics: Any = None, **kwargs: Any) -> None:
        """Chooses the optimizer, loss and metrics for training.

        Args:
            optimizer: Optimizer name (``"sgd"``) or instance. Defaults to ``"rmsprop"``.
            loss: Loss name (``"categorical_crossentropy"``, ``"mse"``, ...) or instance.
            metrics: Metric names such as ``["accuracy"]``; the names become log keys.
            **kwargs: Keras's ``run_eagerly``, ``jit_compile``, ``steps_per_execution`` and
                ``auto_scale_loss`` are accepted and have no effect (the results are the same).

        Example:
            >>> model = Sequential([Input((3,)), Dense(2, activation="softmax")])
            >>> model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        """
        check_no_unknown_kwargs("compile()", kwargs, _NO_EFFECT_COMPILE)
        for name, value in (("loss_weights", loss_weights), ("weighted_metrics", weighted_metrics)):
            if value is not None:
                raise NotImplementedError(f"compile(`{name}=...`) is not supported by this version of minikeras.")
        if loss is None:
            raise ValueError("compile() needs a `loss`, e.g. loss='categorical_crossentropy'.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile() expects `metrics` to be a list such as ['accuracy']. Received: {metrics!r}.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self._loss_spec = loss
        for spec in metrics or []:
            metrics_module.check(spec)
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
        out_shape = self.output_shape
        self.metrics = [metrics_module.resolve(spec, y_shape, out_shape) for spec in self._metric_specs]
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
        last = stack[-1] if stack else None
        self._head_activation = getattr(last, "activation", None) if hasattr(last, "backward_logits") else None

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self._stack():
            x = layer.call(x, training=training)
        return x

    def _train_step(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> float:
        stack = self._stack()
        out = self._forward(x, training=True)
        loss_value = self.loss(y, out, w)
        delta = None
        if self._head_activation is not None:
            delta = self.loss.logits_gradient(y, out, self._head_activation, w)
        if delta is not None:
            grad = stack[-1].backward_logits(delta)
            upper = len(stack) - 2
        else:
            grad = self.loss.gradient(y, out, w)
            upper = len(stack) - 1
        for i in range(upper, self._first_trainable - 1, -1):
            grad = stack[i].backward(grad)
        self.optimizer.apply(self._train_vars)
        for metric in self.metrics:
            metric.update_state(y, out)
        for layer in stack:
            layer.clear_cache()
        return loss_value

    def _logs(self, loss_total: float, count: int, prefix: str = "") -> dict[str, float]:
        logs = {prefix + "loss": loss_total / count if count else 0.0}
        for metric in self.metrics:
            logs[prefix + metric.name] = float(metric.result())
        return dict(sorted(logs.items()))

    # -- fit ----------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: list[Callback] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool | str = True,
            sample_weight: Any = None, initial_epoch: int = 0, **kwargs: Any) -> History:
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
            sample_weight: Per-sample loss weights, ``(N,)``.
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
        self._resolve_metrics(data.y.shape)
        self._prepare_training()
        rng = _random.generator()

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
        cbs.call("on_train_begin", {})
        epoch_logs: dict[str, float] = {}
        for epoch in range(int(initial_epoch), epochs):
            for metric in self.metrics:
                metric.reset_state()
            cbs.call("on_epoch_begin", epoch, {})
            total, count = 0.0, 0
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
        for step, (xb, yb, wb) in enumerate(data.batches(batch_size)):
            if cbs is not None:
                cbs.call("on_test_batch_begin", step, {})
            out = self._forward(xb, training=False)
            n = xb.shape[0]
            total += self.loss(yb, out, wb) * n
            count += n
            for metric in self.metrics:
                metric.update_state(yb, out)
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

        Returns:
            The loss alone when no metrics were compiled, else ``[loss, *metrics]`` in
            compile order, or a dict with ``return_dict=True``.

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
        if return_dict:
            return logs
        if not self.metrics:
            return logs["loss"]
        return [logs["loss"]] + [logs[m.name] for m in self.metrics]

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

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Runs one optimizer step on exactly ``x``, ``y``; returns loss (and metrics) of that batch."""
        self._assert_compiled("train_on_batch")
        data = self._data(x, y, sample_weight, "train_on_batch")
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
        if not self.metrics:
            return logs["loss"]
        return [logs["loss"]] + [logs[m.name] for m in self.metrics]

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
        metric_names = [m if isinstance(m, str) else m.name for m in self._metric_specs]
        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": losses.serialize(self.loss),
            "loss_weights": None,
            "metrics": metric_names or None,
            "weighted_metrics": None,
            "run_eagerly": False,
            "steps_per_execution": 1,
            "jit_compile": False,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compiles from :meth:`get_compile_config` output or a Keras ``training_config``."""
        optimizer = config.get("optimizer", config.get("optimizer_config"))
        if isinstance(optimizer, dict) and "module" not in optimizer and "class_name" in optimizer:
            optimizer = {"class_name": optimizer["class_name"], "config": optimizer.get("config", {})}
        metric_specs = []
        for spec in config.get("metrics") or []:
            if isinstance(spec, list):
                metric_specs.extend(_metric_name(s) for s in spec)
            else:
                metric_specs.append(_metric_name(spec))
        self.compile(optimizer=optimizer, loss=config["loss"], metrics=metric_specs)


def _check_rank(shape: tuple[int, ...], caller: str) -> None:
    """Raises ``ValueError`` if inputs have no feature axis, before a model is built on them."""
    if len(shape) < 2:
        raise ValueError(
            f"{call_name(caller)} expects `x` of shape (samples, features), but received x of shape "
            f"{shape_str(shape)}. For a single feature use x.reshape(-1, 1); for a single sample, "
            "x.reshape(1, -1)."
        )


def _metric_name(spec: Any) -> Any:
    if isinstance(spec, dict):
        return spec.get("config", {}).get("name", spec.get("class_name"))
    return spec
