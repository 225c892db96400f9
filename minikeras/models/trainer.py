"""``compile``, ``fit``, ``evaluate`` and ``predict``: the training loop of a model.

The model supplies the layer stack (``_stack()``); this module owns the loss,
optimizer and metrics, runs epochs of shuffled batches, validation and callbacks.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras import losses, optimizers, regularizers
from minikeras import metrics as metrics_module
from minikeras._validation import (
    check_finite,
    check_no_unknown_kwargs,
    check_positive_int,
    pop_legacy_kwarg,
    shape_str,
)
from minikeras.backend import random as _random
from minikeras.callbacks import Callback, CallbackList, History, ProgbarLogger
from minikeras.callbacks.progbar import resolve_verbose
from minikeras.models.data import ArrayData, as_array, call_name, check_features, is_lazy_array
from minikeras.models.sources import (
    Epochs,
    GeneratorData,
    SequenceData,
    capitalized,
    is_generator,
    is_sequence,
    make_source,
)

BatchPrep = Callable[[Any, Any, Any], tuple[np.ndarray, Any, Any]]

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
        # Callbacks with an ``on_gradients(x, variables)`` method, during fit().
        self._gradient_watchers: list[Any] = []

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

        Examples:
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
            if hasattr(self.loss, "check_values") and not is_lazy_array(data.y):
                self.loss.check_values(data.y, int(self.output_shape[-1]))
        return data

    def _y_dtype(self) -> str | None:
        return "int64" if self.loss is not None and self.loss.target_kind == "sparse" else None

    def _source(self, x: Any, y: Any, sample_weight: Any, caller: str,
                steps: int | None = None) -> ArrayData | GeneratorData | SequenceData:
        """Returns the data source for ``x``; builds the model on its first batch if needed."""
        if not (is_generator(x) or is_sequence(x)):
            return self._data(x, y, sample_weight, caller)
        source = make_source(x, y, sample_weight, dtype=self.dtype, y_dtype=self._y_dtype(), caller=caller)
        if isinstance(source, SequenceData) and source.num_batches() is None and steps is None:
            name = "validation_steps" if caller.startswith("fit(") else "steps_per_epoch" if caller == "fit" else "steps"
            raise ValueError(
                f"{capitalized(source.what)} is endless (num_batches is None), so {call_name(caller)} needs "
                f"`{name}`: how many of its batches make one {'epoch' if caller == 'fit' else 'pass'}."
            )
        first_x, first_y = source.first[0], source.first[1]
        if first_y is None and caller != "predict":
            raise ValueError(
                f"{call_name(caller)} needs targets, but {source.what} gave a batch without them. Make it "
                "yield (x, y) or (x, y, sample_weight) tuples."
            )
        first_x = as_array(first_x, f"x of the first batch from {source.what}")
        if not self.built:
            _check_rank(first_x.shape, caller)
            self.build((None,) + tuple(first_x.shape[1:]))
        return source

    def _batch_prep(self, source: Any, caller: str, needs_y: bool = True,
                    class_weight: Any = None) -> BatchPrep | None:
        """Returns a function that checks and casts each batch of ``source`` as it arrives.

        ``None`` for arrays in memory, which were checked (and class-weighted) up front.
        """
        if isinstance(source, ArrayData):
            lazy_y = needs_y and source.y is not None and is_lazy_array(source.y)
            if not lazy_y:
                return None
            check_values = getattr(self.loss, "check_values", None)

            def prep_lazy(xb: np.ndarray, yb: Any, wb: Any) -> tuple[np.ndarray, Any, Any]:
                if check_values is not None:
                    check_values(yb, int(self.output_shape[-1]))
                if class_weight is not None:
                    wb = _class_weight_to_sample_weight(class_weight, yb, wb, self.output_shape, self.dtype,
                                                        call_name(caller))
                return xb, yb, wb

            return prep_lazy

        call, what = call_name(caller), source.what
        dtype, y_dtype = np.dtype(self.dtype), np.dtype(self._y_dtype() or self.dtype)

        def prep(xb: Any, yb: Any, wb: Any) -> tuple[np.ndarray, Any, Any]:
            xb = as_array(xb, f"x of a batch from {what}")
            check_features(xb.shape, self.input_shape, self.name, caller)
            check_finite(xb, f"x of a batch from {what}")
            xb = xb if xb.dtype == dtype else xb.astype(dtype)
            if not needs_y:
                return xb, None, None
            if yb is None:
                raise ValueError(
                    f"{call} needs targets, but {what} gave a batch without them. Make it yield "
                    "(x, y) or (x, y, sample_weight) tuples."
                )
            yb = as_array(yb, f"y of a batch from {what}")
            n = xb.shape[0]
            if yb.shape[0] != n:
                raise ValueError(
                    f"{capitalized(what)} gave a batch with {n} inputs and {yb.shape[0]} targets (x shape "
                    f"{shape_str(xb.shape)}, y shape {shape_str(yb.shape)}); each batch needs one target per input."
                )
            self.loss.check_targets(yb.shape, yb.dtype, self.output_shape)
            check_finite(yb, f"y of a batch from {what}")
            if hasattr(self.loss, "check_values"):
                self.loss.check_values(yb, int(self.output_shape[-1]))
            yb = yb if yb.dtype == y_dtype else yb.astype(y_dtype)
            if wb is not None:
                wb = as_array(wb, f"sample_weight of a batch from {what}")
                if wb.size != n:
                    raise ValueError(
                        f"{capitalized(what)} gave a batch of {n} samples with sample weights of shape "
                        f"{shape_str(wb.shape)}; give one weight per sample, shape ({n},)."
                    )
                check_finite(wb, f"sample_weight of a batch from {what}")
                wb = wb.reshape(n).astype(dtype, copy=False)
            if class_weight is not None:
                wb = _class_weight_to_sample_weight(class_weight, yb, wb, self.output_shape, self.dtype, call)
            return xb, yb, wb

        return prep

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

    def _compute_gradients(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> tuple[float, np.ndarray]:
        """Forward and backward pass of one training step: fills every trainable weight's ``grad``.

        Returns the loss (regularization penalties included) and the model's output.
        Nothing is updated; the layers keep their caches until ``clear_cache``.
        """
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
        return loss_value, out

    def _train_step(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> float:
        loss_value, out = self._compute_gradients(x, y, w)
        for watch in self._gradient_watchers:
            watch(x, self._train_vars)  # the optimizer's update overwrites the gradients
        self.optimizer.apply(self._train_vars)
        for var in self._constrained:
            var.apply_constraint()
        self._compile_metrics.update_state(y, out, w)
        for layer in self._stack():
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
            steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: Any = 1, **kwargs: Any) -> History:
        """Trains the model for ``epochs`` epochs of shuffled mini-batches.

        Each epoch reshuffles the training rows, runs one optimizer step per batch
        (the last batch keeps the remainder), then evaluates the validation data. The
        epoch ``loss`` is the sample-weighted mean of the batch losses.

        Args:
            x: Inputs, ``(N, features)``: an array, list, ``to_numpy()`` object or
                ``h5py.Dataset`` (read batch by batch); or a generator of ``(x, y)`` /
                ``(x, y, sample_weight)`` batches; or a :class:`minikeras.utils.Sequence`.
            y: Targets for array inputs: one-hot rows, integer labels or values, as the
                loss expects. Generators and sequences yield their own.
            batch_size: Samples per update. Defaults to ``32``, or with ``steps_per_epoch``
                to ``ceil(N / steps_per_epoch)`` for arrays.
            epochs: Index of the last epoch (training runs ``initial_epoch .. epochs - 1``).
            verbose: ``0`` silent, ``1`` progress bar, ``2`` one line per epoch, ``"auto"``
                (1 on a terminal, 2 otherwise).
            callbacks: :class:`~minikeras.callbacks.Callback` instances.
            validation_split: Fraction in ``[0, 1)`` of the data, taken from the end
                before shuffling, held out for validation.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)``, a
                generator or a ``Sequence``; overrides ``validation_split``.
            shuffle: ``True`` reshuffles the rows every epoch (the batch order of a
                ``Sequence``), ``"batch"`` shuffles batch-sized blocks and the rows inside
                them (contiguous reads from disk), ``False`` keeps the order. Generators
                keep their own order.
            class_weight: ``{class index: weight}``; each training sample's loss (and its
                weighted metrics) is multiplied by the weight of its class, read from
                integer labels or the argmax of one-hot rows. Classes not listed weigh 1.
                Multiplies ``sample_weight`` when both are given. Not applied to validation.
            sample_weight: Per-sample loss weights, ``(N,)``: the batch loss is
                ``sum(w * l) / N``, as in Keras 3. Also given to ``weighted_metrics``.
            initial_epoch: Epoch to start from (to resume training).
            steps_per_epoch: Batches per epoch. Batches carry on across epochs; arrays and
                sequences start a new pass when one ends, and a generator that runs out
                stops training with a warning. Needed for generators that loop forever.
            validation_steps: Batches per validation (default: the whole validation data).
            validation_batch_size: Rows per validation batch for arrays (default:
                ``batch_size``).
            validation_freq: Validate every ``k``-th epoch, or at the 1-based epochs in a
                list such as ``[1, 5, 10]``.
            **kwargs: The Keras 1 name ``nb_epoch`` (for ``epochs``), which warns.

        Returns:
            The :class:`~minikeras.callbacks.History` of the run.

        Examples:
            >>> model = Sequential([Input((2,)), Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=2, verbose=0)
            >>> history.history["loss"]
            [0.0, 0.0]
        """
        epochs = pop_legacy_kwarg("fit()", kwargs, "nb_epoch", "epochs", epochs, 1)
        check_no_unknown_kwargs("fit()", kwargs)
        self._assert_compiled("fit")
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
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
            raise ValueError(
                f"fit() expects `initial_epoch` to be a non-negative integer. Received: initial_epoch={initial_epoch!r}."
            )
        steps_per_epoch = _optional_positive_int("steps_per_epoch", steps_per_epoch)
        validation_steps = _optional_positive_int("validation_steps", validation_steps)
        validation_batch_size = _optional_positive_int("validation_batch_size", validation_batch_size)
        should_validate = _validation_schedule(validation_freq)
        data = self._source(x, y, sample_weight, "fit", steps_per_epoch)
        if not isinstance(data, ArrayData):
            _warn_unused_batch_size("fit()", "batch_size", batch_size, data)
            if validation_split:
                raise ValueError(
                    f"fit() can split off `validation_split` only from arrays, not from {data.what}. "
                    "Pass `validation_data` instead."
                )
        if batch_size is not None:
            batch_size = check_positive_int("fit()", "batch_size", batch_size)
        val = None
        if validation_data is not None:
            val = self._validation_source(validation_data, validation_steps)
        elif validation_split:
            data, val = data.split(float(validation_split))
        # As in Keras: without a batch_size, steps spread the (training or validation) arrays over
        # that many batches; the validation batches are not sized from steps_per_epoch.
        val_batch_size = validation_batch_size or batch_size or _spread(val, validation_steps)
        batch_size = batch_size or _spread(data, steps_per_epoch)
        if class_weight is not None and isinstance(data, ArrayData) and not is_lazy_array(data.y):
            data.sample_weight = _class_weight_to_sample_weight(class_weight, data.y, data.sample_weight,
                                                                self.output_shape, self.dtype, "fit()")
        prep = self._batch_prep(data, "fit", class_weight=class_weight)
        self._resolve_metrics(_target_shape(data))
        self._prepare_training()

        train_epochs = Epochs(data, batch_size, steps_per_epoch, shuffle)
        val_epochs = val_prep = None
        if val is not None:
            if not isinstance(val, ArrayData):
                _warn_unused_batch_size("fit()", "validation_batch_size", validation_batch_size, val)
            val_epochs = Epochs(val, val_batch_size, validation_steps)
            val_prep = self._batch_prep(val, "fit(validation_data)")

        history = History()
        cb_list = list(callbacks or [])
        if not any(isinstance(cb, History) for cb in cb_list):
            cb_list.append(history)
        else:
            history = next(cb for cb in cb_list if isinstance(cb, History))
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cb_list):
            cb_list.append(ProgbarLogger())
        cbs = CallbackList(cb_list, model=self, params={"verbose": verbose, "epochs": epochs,
                                                         "steps": train_epochs.steps})
        batch_hooks = cbs.wants("on_train_batch_begin") or cbs.wants("on_train_batch_end")

        self.stop_training = False
        self._initial_epoch = None
        self._gradient_watchers = [cb.on_gradients for cb in cb_list if callable(getattr(cb, "on_gradients", None))]
        try:
            return self._fit_epochs(cbs, train_epochs, val_epochs, prep, val_prep, should_validate, history,
                                    batch_hooks, int(initial_epoch), epochs)
        finally:
            self._gradient_watchers = []

    def _fit_epochs(self, cbs: CallbackList, train_epochs: Epochs, val_epochs: Epochs | None,
                    prep: BatchPrep | None, val_prep: BatchPrep | None, should_validate: Callable[[int], bool],
                    history: History, batch_hooks: bool, initial_epoch: int, epochs: int) -> History:
        cbs.call("on_train_begin", {})
        # A callback restoring an interrupted run (BackupAndRestore) sets where to go on from.
        restored_epoch = self.__dict__.pop("_initial_epoch", None)
        if restored_epoch is not None:
            initial_epoch = restored_epoch
        epoch_logs: dict[str, float] = {}
        for epoch in range(int(initial_epoch), epochs):
            for metric in self.metrics:
                metric.reset_state()
            total, count = 0.0, 0
            # The epoch's shuffle order and dropout masks depend only on the seed and the
            # step count, so a resumed run draws what an uninterrupted one would.
            with _random.training_scope(self.optimizer.iterations) as rng:
                batches = train_epochs.epoch(rng)
                first = next(batches, None)
                if first is None:
                    # Nothing left to train on (a generator that is used up): stop before the epoch.
                    train_epochs.finish()
                    warnings.warn(self._ran_dry_message(epoch, 0, train_epochs, epochs, initial_epoch),
                                  UserWarning, stacklevel=2)
                    break
                cbs.call("on_epoch_begin", epoch, {})
                for step, batch in enumerate(itertools.chain((first,), batches)):
                    xb, yb, wb = batch if prep is None else prep(*batch)
                    if batch_hooks:
                        cbs.call("on_train_batch_begin", step, {})
                    n = xb.shape[0]
                    total += self._train_step(xb, yb, wb) * n
                    count += n
                    if batch_hooks:
                        cbs.call("on_train_batch_end", step, self._logs(total, count))
                    if self.stop_training:
                        break
                else:
                    if train_epochs.ran_dry:
                        warnings.warn(self._ran_dry_message(epoch, step + 1, train_epochs, epochs, initial_epoch),
                                      UserWarning, stacklevel=2)
                        self.stop_training = True
                train_epochs.finish()
            epoch_logs = self._logs(total, count)
            if val_epochs is not None and should_validate(epoch):
                val_logs = self._run_test(val_epochs, cbs, prefix="val_", prep=val_prep)
                epoch_logs = dict(sorted({**epoch_logs, **val_logs}.items()))
            cbs.call("on_epoch_end", epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.call("on_train_end", epoch_logs)
        self.history = history
        return history

    @staticmethod
    def _ran_dry_message(epoch: int, seen: int, train_epochs: Epochs, epochs: int, initial_epoch: int) -> str:
        steps = train_epochs.steps_per_epoch
        if steps is None:
            return (
                f"fit() stopped before epoch {epoch + 1}: {train_epochs.source.what} was used up in an "
                "earlier epoch, and a generator can be read only once. Pass steps_per_epoch and make the "
                "generator loop over the data forever (`while True:`), or use a minikeras.utils.Sequence, "
                "which is read again every epoch."
            )
        needed = steps * (epochs - int(initial_epoch))
        return (
            f"fit() stopped in epoch {epoch + 1}: {train_epochs.source.what} ran out of data after "
            f"{seen} of the epoch's steps_per_epoch={steps} batches. It must yield at least "
            f"steps_per_epoch * epochs = {needed} batches: make it loop over the data forever "
            "(`while True:`), or lower steps_per_epoch."
        )

    def _validation_source(self, validation_data: Any,
                           validation_steps: int | None = None) -> ArrayData | GeneratorData | SequenceData:
        if is_generator(validation_data) or is_sequence(validation_data):
            return self._source(validation_data, None, None, "fit(validation_data)", validation_steps)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "fit() expects `validation_data` as (x_val, y_val), (x_val, y_val, sample_weight), a "
                f"generator or a minikeras.utils.Sequence. Received a {type(validation_data).__name__}"
                + (f" of length {len(validation_data)}." if isinstance(validation_data, (tuple, list)) else ".")
            )
        x_val, y_val, w_val = tuple(validation_data) + (None,) * (3 - len(validation_data))
        return self._data(x_val, y_val, w_val, "fit(validation_data)")

    def _run_test(self, epochs: Epochs, cbs: CallbackList | None, prefix: str = "",
                  prep: BatchPrep | None = None, caller: str = "fit(validation_data)") -> dict[str, float]:
        for metric in self.metrics:
            metric.reset_state()
        if cbs is not None:
            cbs.call("on_test_begin", {})
        total, count = 0.0, 0
        # Keras includes the regularization penalties in the evaluation loss too.
        penalties = regularizers.Penalties.of(self._stack(), self.trainable_weights)
        weight_penalty = penalties.weight_penalty() if penalties is not None else 0.0
        for step, batch in enumerate(epochs.epoch()):
            xb, yb, wb = batch if prep is None else prep(*batch)
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
        epochs.finish()
        if epochs.ran_dry and count:
            warnings.warn(
                f"{call_name(caller)} used only {step + 1} of the {epochs.steps_per_epoch} batches asked for "
                f"({'validation_steps' if caller.startswith('fit') else 'steps'}): {epochs.source.what} ran out "
                "of data. Let it loop forever (`while True:`) or ask for fewer batches.",
                UserWarning, stacklevel=3,
            )
        if count == 0:
            raise ValueError(
                f"{call_name(caller)} got no data: {epochs.source.what} is used up. A generator can be "
                "read only once: make it loop forever (`while True:`) and pass "
                f"{'validation_steps' if caller.startswith('fit') else 'steps'}, or use a "
                "minikeras.utils.Sequence."
            )
        logs = self._logs(total, count)
        if cbs is not None:
            cbs.call("on_test_end", logs)
        return {prefix + k: v for k, v in logs.items()}

    # -- evaluate / predict -------------------------------------------------------------
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: list[Callback] | None = None,
                 return_dict: bool = False, **kwargs: Any) -> Any:
        """Returns the loss (and metrics) on ``x``, ``y`` in inference mode.

        With ``sample_weight`` the loss of each batch is ``sum(w * l) / N`` and the
        ``weighted_metrics`` are weighted means; plain ``metrics`` ignore the weights.

        Args:
            x: Inputs: an array (or list, ``to_numpy()`` object, ``h5py.Dataset``), a
                generator of ``(x, y)`` or ``(x, y, sample_weight)`` batches, or a
                :class:`minikeras.utils.Sequence`.
            y: Targets for array inputs (generators and sequences yield their own).
            batch_size: Rows per batch for arrays. Defaults to ``32``, or with ``steps``
                to ``ceil(N / steps)``.
            verbose: ``0`` silent, ``1`` progress bar, ``2`` one line, ``"auto"``.
            sample_weight: Per-sample weights for array inputs.
            steps: Evaluate only this many batches (for a generator: until it ends).
            callbacks: Callbacks; their ``on_test_*`` hooks are called.
            return_dict: Return a dict keyed like the logs.

        Returns:
            The loss alone when no metrics were compiled, else ``[loss, *metrics]`` in
            compile order (``metrics`` then ``weighted_metrics``, as Keras 3 orders them),
            or a dict keyed like the logs with ``return_dict=True``.

        Examples:
            >>> model = Sequential([Input((2,)), Dense(1, kernel_initializer="zeros")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> model.evaluate(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
            1.0
        """
        check_no_unknown_kwargs("evaluate()", kwargs)
        self._assert_compiled("evaluate")
        steps = _optional_positive_int("steps", steps, "evaluate()")
        verbose = resolve_verbose(verbose)
        data = self._source(x, y, sample_weight, "evaluate", steps)
        if not isinstance(data, ArrayData):
            _warn_unused_batch_size("evaluate()", "batch_size", batch_size, data)
        batch_size = (_spread(data, steps) if batch_size is None
                      else check_positive_int("evaluate()", "batch_size", batch_size))
        self._resolve_metrics(_target_shape(data))
        epochs = Epochs(data, batch_size, steps)
        cb_list = list(callbacks or [])
        if verbose:
            cb_list.append(ProgbarLogger())
        cbs = CallbackList(cb_list, model=self, params={"verbose": verbose, "epochs": 1, "steps": epochs.steps})
        logs = self._run_test(epochs, cbs, prep=self._batch_prep(data, "evaluate"), caller="evaluate")
        return self._result(logs, return_dict)

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: list[Callback] | None = None, **kwargs: Any) -> np.ndarray:
        """Returns the model's outputs for ``x``, computed in batches in inference mode.

        Args:
            x: Inputs: an array (or list, ``to_numpy()`` object, ``h5py.Dataset``), a
                generator or a :class:`minikeras.utils.Sequence` (targets in its
                batches are ignored).
            batch_size: Rows per batch for arrays. Defaults to ``32``, or with ``steps``
                to ``ceil(N / steps)``.
            verbose: ``0`` silent, ``1`` progress bar, ``2`` one line, ``"auto"``.
            steps: Predict only this many batches (for a generator: until it ends).
            callbacks: Callbacks; their ``on_predict_*`` hooks are called.

        Examples:
            >>> model = Sequential([Input((2,)), Dense(3)])
            >>> model.predict(np.ones((5, 2)), verbose=0).shape
            (5, 3)
        """
        check_no_unknown_kwargs("predict()", kwargs)
        steps = _optional_positive_int("steps", steps, "predict()")
        verbose = resolve_verbose(verbose)
        data = self._source(x, None, None, "predict", steps)
        streamed = not isinstance(data, ArrayData)
        if streamed:
            _warn_unused_batch_size("predict()", "batch_size", batch_size, data)
        batch_size = (_spread(data, steps) if batch_size is None
                      else check_positive_int("predict()", "batch_size", batch_size))
        cb_list = list(callbacks or [])
        if verbose:
            cb_list.append(ProgbarLogger())
        if not cb_list and not streamed and steps is None and not data.lazy and len(data) <= batch_size:
            # One batch and nobody listening: skip the batching and callback machinery.
            xb, _, _ = next(data.batches(batch_size))
            out = self._forward(xb, training=False)
            return out.copy() if np.may_share_memory(out, data.x) else out
        epochs = Epochs(data, batch_size, steps)
        prep = self._batch_prep(data, "predict", needs_y=False)
        cbs = CallbackList(cb_list, model=self, params={"verbose": verbose, "epochs": 1, "steps": epochs.steps})
        cbs.call("on_predict_begin", {})
        if streamed or steps is not None:
            outputs: list[np.ndarray] = []
        else:
            result = np.empty(self.compute_output_shape((len(data),) + tuple(data.x.shape[1:])), dtype=self.dtype)
        start = 0
        for step, batch in enumerate(epochs.epoch()):
            xb = batch[0] if prep is None else prep(*batch)[0]
            cbs.call("on_predict_batch_begin", step, {})
            out = self._forward(xb, training=False)
            if streamed or steps is not None:
                outputs.append(out.copy())
            else:
                result[start:start + len(out)] = out
            start += len(out)
            cbs.call("on_predict_batch_end", step, {"outputs": out})
        epochs.finish()
        cbs.call("on_predict_end", {})
        if streamed or steps is not None:
            if not outputs:
                raise ValueError(f"predict() got no data: {data.what} is used up.")
            return np.concatenate(outputs, axis=0)
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
        return self._result(self._run_test(Epochs(data, len(data)), None, caller="test_on_batch"), return_dict)

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


def _target_shape(data: Any) -> tuple[int, ...]:
    """The shape of the targets: all of them for arrays, the first batch's for other sources."""
    return tuple((data.y if isinstance(data, ArrayData) else as_array(data.first[1], "y")).shape)


def _optional_positive_int(name: str, value: Any, caller: str = "fit()") -> int | None:
    """``None`` or a positive integer, else a ``ValueError`` naming the argument."""
    if value is None:
        return None
    return check_positive_int(caller, name, value)


def _spread(data: Any, steps: int | None) -> int:
    """Default batch size: ``ceil(N / steps)`` for arrays when ``steps`` is given, else ``32``."""
    if steps is None or not isinstance(data, ArrayData):
        return 32
    return -(-len(data) // steps)


def _validation_schedule(validation_freq: Any) -> Callable[[int], bool]:
    """Which epochs (0-based) validate: every ``k``-th, or the 1-based epochs listed."""
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(
                f"fit() expects `validation_freq` to be a positive integer or a list of epochs (1-based). "
                f"Received: validation_freq={validation_freq!r}."
            )
        every = int(validation_freq)
        return lambda epoch: (epoch + 1) % every == 0
    if isinstance(validation_freq, (list, tuple, set, frozenset, range)) and all(
            isinstance(e, (int, np.integer)) and not isinstance(e, bool) and e >= 1 for e in validation_freq):
        chosen = {int(e) for e in validation_freq}
        return lambda epoch: epoch + 1 in chosen
    raise ValueError(
        "fit() expects `validation_freq` to be a positive integer (validate every k-th epoch) or a "
        f"list of 1-based epoch numbers, e.g. [1, 5, 10]. Received: validation_freq={validation_freq!r}."
    )


def _warn_unused_batch_size(caller: str, name: str, value: Any, source: Any) -> None:
    """Warns that ``batch_size`` does nothing for data that comes in whole batches."""
    if value is not None:
        warnings.warn(
            f"{caller} ignores `{name}={value!r}`: {source.what} yields whole batches, whose size "
            f"it decides itself. Leave `{name}` out.",
            UserWarning, stacklevel=3,
        )
