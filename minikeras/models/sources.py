"""Where batches come from, and the batches of each epoch.

A data source is one of:

- :class:`~minikeras.models.data.ArrayData`: arrays, lists, ``to_numpy()`` objects
  or on-disk arrays such as ``h5py.Dataset``, batched by the loop;
- :class:`GeneratorData`: a Python generator (or any iterator) of whole batches,
  read once, in its own order;
- :class:`SequenceData`: a :class:`minikeras.utils.Sequence` (Keras's ``PyDataset``)
  of whole batches by index, which can be re-read in any order every epoch.

:class:`Epochs` turns a source into the batches of one epoch after another: a
whole pass over the data, or ``steps`` batches taken from a stream of passes.
"""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Iterator
from typing import Any

import numpy as np

from minikeras.models.data import ArrayData, call_name
from minikeras.utils.sequence import Sequence

Batch = tuple[np.ndarray, "np.ndarray | None", "np.ndarray | None"]


def is_generator(data: Any) -> bool:
    """Whether ``data`` is an iterator of batches (a generator, ``map``, ``itertools`` ...)."""
    return isinstance(data, collections.abc.Iterator) and not isinstance(data, np.ndarray)


def capitalized(text: str) -> str:
    """``"the generator ..."`` -> ``"The generator ..."``."""
    return text[:1].upper() + text[1:]


def unpack_batch(item: Any, what: str) -> tuple[Any, Any, Any]:
    """Splits one yielded item into ``(x, y, sample_weight)``.

    Accepts ``(x,)``, ``(x, y)``, ``(x, y, sample_weight)`` as a tuple or list, or
    ``x`` alone as an array.
    """
    if isinstance(item, np.ndarray):
        return item, None, None
    if isinstance(item, list):
        item = tuple(item)
    if not isinstance(item, tuple) or len(item) not in (1, 2, 3):
        text = repr(item)
        raise ValueError(
            f"{capitalized(what)} must give batches as (x, y), (x, y, sample_weight) or (x,) tuples. Received "
            f"a {type(item).__name__}: {text[:80]}{'...' if len(text) > 80 else ''}"
        )
    return item + (None,) * (3 - len(item))


class GeneratorData:
    """Batches from a Python generator: read once, in the generator's order.

    The first batch is read at once (to build and check the model) and handed out
    again as the first batch of the first epoch.

    Args:
        iterator: Yields ``(x, y)``, ``(x, y, sample_weight)`` or ``(x,)``.
        caller: Name of the public method, for messages.
    """

    restartable = False

    def __init__(self, iterator: Iterator[Any], caller: str) -> None:
        self.what = f"the generator passed to {call_name(caller)}"
        self._iterator = iterator
        try:
            item = next(iterator)
        except StopIteration:
            raise ValueError(
                f"{capitalized(self.what)} yielded no batch at all. Pass a generator that yields (x, y) batches, "
                "for example one that loops over the data with `while True:`."
            ) from None
        self.first = unpack_batch(item, self.what)
        self._pending: list[tuple[Any, Any, Any]] = [self.first]

    def num_batches(self, batch_size: int | None = None) -> int | None:
        """Unknown: a generator does not say how many batches it holds."""
        return None

    def iterate(self, batch_size: int | None = None, shuffle: Any = False,
                rng: np.random.Generator | None = None) -> Iterator[tuple[Any, Any, Any]]:
        """Yields the generator's remaining batches (the same stream on every call)."""
        while True:
            if self._pending:
                yield self._pending.pop()
                continue
            try:
                item = next(self._iterator)
            except StopIteration:
                return
            yield unpack_batch(item, self.what)

    def on_epoch_begin(self) -> None:
        """Nothing to do: a generator cannot be told about epochs."""

    def on_epoch_end(self) -> None:
        """Nothing to do: a generator cannot be told about epochs."""


class SequenceData:
    """Batches of a :class:`~minikeras.utils.Sequence`, by index.

    Each epoch reads ``sequence[i]`` for every ``i`` (in a new random order when
    shuffling), and calls the sequence's ``on_epoch_begin``/``on_epoch_end``. With
    ``workers > 1`` the batches are loaded ahead of the loop by that many threads,
    still handed out in order.

    Args:
        sequence: The dataset.
        caller: Name of the public method, for messages.
    """

    restartable = True

    def __init__(self, sequence: Sequence, caller: str) -> None:
        self.sequence = sequence
        self.what = f"the {type(sequence).__name__} passed to {call_name(caller)}"
        # Keras 2's Sequence (and look-alikes) have only __len__, Keras 3's PyDataset num_batches too.
        count = sequence.num_batches if hasattr(type(sequence), "num_batches") else len(sequence)
        if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0):
            raise ValueError(f"{capitalized(self.what)} has {count!r} batches; len() must return a non-negative integer.")
        if count == 0:
            raise ValueError(f"{capitalized(self.what)} is empty: len() returned 0. It must hold at least one batch.")
        self._count = None if count is None else int(count)
        self.first = unpack_batch(sequence[0], f"{self.what} (its __getitem__)")
        self.restartable = self._count is not None

    def num_batches(self, batch_size: int | None = None) -> int | None:
        """``len(sequence)``, or ``None`` for an endless one."""
        return self._count

    def iterate(self, batch_size: int | None = None, shuffle: Any = False,
                rng: np.random.Generator | None = None) -> Iterator[tuple[Any, Any, Any]]:
        """Yields every batch once, in random order when ``shuffle`` is set."""
        if self._count is None:
            indices: Any = _count_up()
        elif shuffle and rng is not None:
            indices = (int(i) for i in rng.permutation(self._count))
        else:
            indices = iter(range(self._count))
        what = f"{self.what} (its __getitem__)"
        workers = int(getattr(self.sequence, "workers", 1) or 1)
        if workers <= 1:
            for index in indices:
                yield unpack_batch(self.sequence[index], what)
            return
        ahead = max(int(getattr(self.sequence, "max_queue_size", 10) or 1), 1)
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            queue: collections.deque = collections.deque()
            for index in indices:
                queue.append(pool.submit(self.sequence.__getitem__, index))
                if len(queue) >= ahead:
                    yield unpack_batch(queue.popleft().result(), what)
            while queue:
                yield unpack_batch(queue.popleft().result(), what)

    def on_epoch_begin(self) -> None:
        """Calls the sequence's ``on_epoch_begin``."""
        hook = getattr(self.sequence, "on_epoch_begin", None)
        if hook is not None:
            hook()

    def on_epoch_end(self) -> None:
        """Calls the sequence's ``on_epoch_end`` (e.g. to reshuffle its files)."""
        hook = getattr(self.sequence, "on_epoch_end", None)
        if hook is not None:
            hook()


def _count_up() -> Iterator[int]:
    index = 0
    while True:
        yield index
        index += 1


def is_sequence(data: Any) -> bool:
    """Whether ``data`` is a :class:`~minikeras.utils.Sequence` (or quacks like Keras's)."""
    if isinstance(data, Sequence):
        return True
    # Keras's own PyDataset / Sequence subclasses, and look-alikes, by their methods.
    names = {cls.__name__ for cls in type(data).__mro__}
    return bool(names & {"PyDataset", "Sequence"}) and hasattr(data, "__getitem__") and hasattr(data, "__len__")


class Epochs:
    """The batches of one epoch after another.

    Without ``steps`` an epoch is one whole pass over the source (for a generator:
    until it ends). With ``steps`` it is the next ``steps`` batches of a stream that
    carries on across epochs; a source that can be re-read (arrays, a finite
    ``Sequence``) starts a new pass whenever one ends, a generator cannot, so it
    may run dry (:attr:`ran_dry`).

    Args:
        source: ``ArrayData``, ``GeneratorData`` or ``SequenceData``.
        batch_size: Rows per batch for arrays (ignored by the other sources).
        steps: Batches per epoch, or ``None`` for whole passes.
        shuffle: ``True``, ``False`` or ``"batch"``.
    """

    def __init__(self, source: Any, batch_size: int | None, steps: int | None = None,
                 shuffle: bool | str = False) -> None:
        self.source = source
        self.batch_size = batch_size
        self.steps_per_epoch = steps
        self.shuffle = shuffle
        self.ran_dry = False
        self._stream: Iterator[Any] | None = None

    @property
    def steps(self) -> int | None:
        """Batches per epoch, if known (``None`` for a generator without ``steps``)."""
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return self.source.num_batches(self.batch_size)

    def epoch(self, rng: np.random.Generator | None = None) -> Iterator[Any]:
        """Yields the batches of the next epoch; sets :attr:`ran_dry` if the data ran out.

        Calls the source's ``on_epoch_begin`` first; call :meth:`finish` after the epoch.
        """
        self.ran_dry = False
        self.source.on_epoch_begin()
        if self.steps_per_epoch is None:
            seen = 0
            for batch in self.source.iterate(self.batch_size, self.shuffle, rng):
                seen += 1
                yield batch
            self.ran_dry = seen == 0
            return
        for _ in range(self.steps_per_epoch):
            batch = self._next(rng)
            if batch is None:
                self.ran_dry = True
                return
            yield batch

    def finish(self) -> None:
        """Ends the epoch: calls the source's ``on_epoch_end``."""
        self.source.on_epoch_end()

    def _next(self, rng: np.random.Generator | None) -> Any:
        for _ in range(2):
            if self._stream is None:
                self._stream = self.source.iterate(self.batch_size, self.shuffle, rng)
            batch = next(self._stream, None)
            if batch is not None:
                return batch
            self._stream = None
            if not self.source.restartable:
                return None
        return None


def make_source(x: Any, y: Any, sample_weight: Any, *, dtype: str, y_dtype: str | None,
                caller: str) -> ArrayData | GeneratorData | SequenceData:
    """Returns the data source for ``x`` (and ``y``, ``sample_weight`` for arrays).

    Raises:
        ValueError: If ``y`` or ``sample_weight`` is given with a generator or
            ``Sequence``, which yield their own.
    """
    if is_sequence(x) or is_generator(x):
        kind = "generator" if is_generator(x) else type(x).__name__
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(
                    f"{call_name(caller)} received `{name}` together with a {kind} as `x`. A {kind} "
                    f"yields its own (x, y) or (x, y, sample_weight) batches; leave `{name}` out."
                )
        return GeneratorData(x, caller) if is_generator(x) else SequenceData(x, caller)
    return ArrayData(x, y, sample_weight, dtype=dtype, y_dtype=y_dtype, caller=caller)


__all__ = ["Epochs", "GeneratorData", "SequenceData", "is_generator", "is_sequence", "make_source",
           "unpack_batch"]
