"""Keras 1 and 2's ``fit_generator``, ``evaluate_generator`` and ``predict_generator``.

Keras 2.6 folded them into ``fit``, ``evaluate`` and ``predict``, which take
generators and ``Sequence`` objects directly. Old scripts still call them, so they
are kept: each warns once with the call to write instead and forwards to the new
method. Keras 1 counted *samples* (``samples_per_epoch``, ``nb_val_samples``,
``val_samples``); these are turned into batches with the size of the first batch
the data yields, which is what Keras 1 did when batches have equal size.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

from minikeras._validation import check_no_unknown_kwargs, check_positive_int, pop_legacy_kwarg
from minikeras.callbacks import History
from minikeras.models.sources import is_generator, is_sequence, unpack_batch

# Keras 1 name -> Keras 2 name, shared by the three methods.
_RENAMED = {"nb_worker": "workers", "pickle_safe": "use_multiprocessing",
            "max_q_size": "max_queue_size"}
# Keras 2 loading options with no counterpart in Keras 3's fit: Sequence objects carry them.
_LOADING = ("workers", "use_multiprocessing", "max_queue_size")


class LegacyGenerators:
    """Mixin giving a model the generator methods Keras 2.6 removed."""

    def fit_generator(self, generator: Any, steps_per_epoch: int | None = None, epochs: int = 1,
                      verbose: Any = 1, callbacks: list[Any] | None = None, validation_data: Any = None,
                      validation_steps: int | None = None, validation_freq: Any = 1, class_weight: Any = None,
                      shuffle: bool = True, initial_epoch: int = 0, **kwargs: Any) -> History:
        """Deprecated: use ``fit(generator, steps_per_epoch=...)``.

        Accepts the Keras 1 names ``samples_per_epoch`` (samples, converted to batches),
        ``nb_epoch``, ``nb_val_samples``, ``nb_worker``, ``pickle_safe`` and ``max_q_size``.
        """
        generator = _peekable(generator)
        epochs = pop_legacy_kwarg("fit_generator()", kwargs, "nb_epoch", "epochs", epochs, 1)
        kwargs = _rename(kwargs, "fit_generator()")
        if "samples_per_epoch" in kwargs:
            steps_per_epoch = _samples_to_steps("fit_generator()", "samples_per_epoch",
                                                kwargs.pop("samples_per_epoch"), generator)
        if "nb_val_samples" in kwargs:
            nb_val_samples = kwargs.pop("nb_val_samples")
            if validation_data is not None and not isinstance(validation_data, (tuple, list)):
                # Arrays are evaluated whole, as Keras 1 did; a generator is read for that many samples.
                validation_data = _peekable(validation_data)
                validation_steps = _samples_to_steps("fit_generator()", "nb_val_samples", nb_val_samples,
                                                     validation_data)
        _drop_loading_options("fit_generator()", kwargs, generator)
        check_no_unknown_kwargs("fit_generator()", kwargs)
        _warn("fit_generator()", "fit(generator, steps_per_epoch=..., epochs=...)")
        return self.fit(_unwrap(generator), steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=_unwrap(validation_data), validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    def evaluate_generator(self, generator: Any, steps: int | None = None, callbacks: list[Any] | None = None,
                           verbose: Any = 0, **kwargs: Any) -> Any:
        """Deprecated: use ``evaluate(generator, steps=...)``.

        Accepts the Keras 1 names ``val_samples`` (samples, converted to batches),
        ``nb_worker``, ``pickle_safe`` and ``max_q_size``.
        """
        generator, steps = _inference_arguments("evaluate_generator()", generator, steps, kwargs)
        _warn("evaluate_generator()", "evaluate(generator, steps=...)")
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def predict_generator(self, generator: Any, steps: int | None = None, callbacks: list[Any] | None = None,
                          verbose: Any = 0, **kwargs: Any) -> Any:
        """Deprecated: use ``predict(generator, steps=...)``.

        Accepts the Keras 1 names ``val_samples`` (samples, converted to batches),
        ``nb_worker``, ``pickle_safe`` and ``max_q_size``.
        """
        generator, steps = _inference_arguments("predict_generator()", generator, steps, kwargs)
        _warn("predict_generator()", "predict(generator, steps=...)")
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)


def _inference_arguments(method: str, generator: Any, steps: int | None, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """The data and ``steps`` for ``evaluate``/``predict`` from the arguments of ``method``."""
    generator = _peekable(generator)
    kwargs = _rename(kwargs, method)
    if "val_samples" in kwargs:
        steps = _samples_to_steps(method, "val_samples", kwargs.pop("val_samples"), generator, stacklevel=4)
    _drop_loading_options(method, kwargs, generator)
    check_no_unknown_kwargs(method, kwargs)
    return _unwrap(generator), steps


def _warn(method: str, replacement: str) -> None:
    warnings.warn(
        f"{method} was removed in Keras 2.6; fit(), evaluate() and predict() take generators and "
        f"Sequence objects themselves. Write model.{replacement} instead.",
        DeprecationWarning, stacklevel=3,
    )


def _rename(kwargs: dict[str, Any], method: str) -> dict[str, Any]:
    out = dict(kwargs)
    for old, new in _RENAMED.items():
        if old in out:
            if new in out:
                raise TypeError(f"{method} received both the Keras 1 argument `{old}` and `{new}`. Pass only `{new}`.")
            out[new] = out.pop(old)
    return out


class _Peeked:
    """A generator whose first item has been read (to learn the batch size) and is replayed."""

    def __init__(self, first: Any, rest: Any) -> None:
        self.first = first
        self.iterator = itertools.chain((first,), rest)


def _peekable(data: Any) -> Any:
    if is_generator(data):
        try:
            first = next(data)
        except StopIteration:
            return iter(())
        return _Peeked(first, data)
    return data


def _first_batch_rows(data: Any) -> int | None:
    if isinstance(data, _Peeked):
        item = data.first
    elif is_sequence(data):
        item = data[0]
    else:
        return None
    return len(unpack_batch(item, "the generator")[0])


def _samples_to_steps(method: str, name: str, samples: Any, data: Any, stacklevel: int = 3) -> int:
    samples = check_positive_int(method, name, samples)
    rows = _first_batch_rows(data)
    if not rows:
        raise ValueError(
            f"{method} cannot turn `{name}={samples}` (a number of samples) into batches: the data "
            f"yields no batch. Pass the number of batches as "
            f"`{'validation_steps' if name == 'nb_val_samples' else 'steps_per_epoch' if name == 'samples_per_epoch' else 'steps'}`."
        )
    steps = math.ceil(samples / rows)
    warnings.warn(
        f"`{name}` counts samples in Keras 1; {method} now counts batches. {samples} samples in batches "
        f"of {rows} make {steps} batches, which is what is used.",
        DeprecationWarning, stacklevel=stacklevel,
    )
    return steps


def _drop_loading_options(method: str, kwargs: dict[str, Any], data: Any) -> None:
    """Refuses Keras 2's loading options unless they ask for nothing (threads live on Sequence)."""
    for name in _LOADING:
        if name not in kwargs:
            continue
        value = kwargs.pop(name)
        harmless = (name == "workers" and value in (0, 1)) or (name == "use_multiprocessing" and not value) \
            or name == "max_queue_size"
        if not harmless:
            raise ValueError(
                f"{method} received {name}={value!r}. Loading in parallel is set on the data itself: "
                "subclass minikeras.utils.Sequence and pass Sequence(workers=N) (threads), then call fit()."
            )


def _unwrap(data: Any) -> Any:
    return data.iterator if isinstance(data, _Peeked) else data
