"""``Sequence`` (Keras 3's ``PyDataset``): a dataset of batches that ``fit`` can index.

Subclass it when the data does not fit in memory or is produced on the fly:
``__getitem__(i)`` returns batch ``i`` and ``__len__`` the number of batches.
Unlike a generator, a ``Sequence`` can be read in any order, so ``fit`` can
shuffle the order of its batches every epoch and read it again for every epoch.
"""

from __future__ import annotations

from typing import Any


class Sequence:
    """Base class for datasets that return whole batches by index.

    A subclass implements ``__getitem__(index)``, returning ``(x, y)``,
    ``(x, y, sample_weight)`` or just ``x`` (for ``predict``), and ``__len__``,
    the number of batches (or a ``num_batches`` property that may be ``None`` for
    an endless dataset). ``on_epoch_begin`` and ``on_epoch_end`` are called
    around every epoch, e.g. to reshuffle files.

    Args:
        workers: Number of threads that load batches ahead of the training loop
            (``1`` loads them in the loop itself). Threads help when
            ``__getitem__`` waits for disk or releases the GIL (NumPy, h5py).
        use_multiprocessing: Accepted for Keras compatibility; must be ``False``
            because batches are loaded in threads.
        max_queue_size: How many batches the workers may load ahead.

    Examples:
        >>> import numpy as np
        >>> class Squares(Sequence):
        ...     def __len__(self):
        ...         return 3
        ...     def __getitem__(self, index):
        ...         x = np.full((2, 1), float(index))
        ...         return x, x ** 2
        >>> data = Squares()
        >>> x, y = data[2]
        >>> len(data), y.ravel().tolist()
        (3, [4.0, 4.0])
    """

    # Class-level defaults, so a subclass that forgets ``super().__init__()`` still works.
    workers: int = 1
    use_multiprocessing: bool = False
    max_queue_size: int = 10

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        for name, value, low in (("workers", workers, 0), ("max_queue_size", max_queue_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(
                    f"{type(self).__name__} expects `{name}` to be an integer >= {low}. "
                    f"Received: {name}={value!r}."
                )
        if use_multiprocessing:
            raise ValueError(
                f"{type(self).__name__} received use_multiprocessing=True, but minikeras loads "
                "batches in threads only. Pass use_multiprocessing=False (and workers=N for N "
                "loading threads)."
            )
        self.workers = workers
        self.use_multiprocessing = False
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        """Returns batch ``index``: ``(x, y)``, ``(x, y, sample_weight)`` or ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(self, index).")

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch: ``len(self)``, or ``None`` for an endless dataset."""
        if type(self).__len__ is Sequence.__len__:
            raise NotImplementedError(
                f"{type(self).__name__} must implement __len__(self) (or a num_batches property)."
            )
        return len(self)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        raise NotImplementedError(f"{type(self).__name__} must implement __len__(self).")

    def __iter__(self):
        """Yields the batches in order (endlessly if ``num_batches`` is ``None``)."""
        count = self.num_batches
        index = 0
        while count is None or index < count:
            yield self[index]
            index += 1

    def on_epoch_begin(self) -> None:
        """Called before every epoch."""

    def on_epoch_end(self) -> None:
        """Called after every epoch."""


#: Keras 3's name for :class:`Sequence`.
PyDataset = Sequence
