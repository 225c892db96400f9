"""Optimizer state stored in Keras 3's order, as every format of minikeras and Keras 3 keeps it.

The order is ``optimizer.variable_names``: the step count, the learning rate (unless
it is a schedule), then the slots of every trained weight. Both Keras 3 layouts (the
``optimizer/vars`` group of ``.weights.h5`` and ``.keras`` files, and the
``optimizer_weights`` group of a Keras 3 ``.h5`` file) are read here; older layouts
are mapped onto this order by :mod:`~minikeras.saving.legacy_optimizer`. A state that
does not fit the model's optimizer is never half-applied: a warning says why and
training starts from a fresh state.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras._validation import shape_str
from minikeras.saving import safe_h5


class StateMismatch(Exception):
    """The stored state does not fit the model's optimizer (the message says why)."""


def check_step(value: Any) -> int:
    """Returns a stored step count as an ``int``.

    Raises:
        StateMismatch: If it is not a non-negative whole number.
    """
    value = np.asarray(value)
    if value.shape != () or value.dtype.kind == "b" or not np.isfinite(value) or value < 0 \
            or float(value) != np.floor(float(value)):
        raise StateMismatch(f"the stored step count {value!r} is not a non-negative whole number")
    return int(value)


def keras3_values(optimizer: Any, entries: list[tuple[str, Any]]) -> list[np.ndarray]:
    """Reads a built optimizer's state from ``(name, dataset)`` pairs in Keras 3's order.

    A model compiled but never trained was written with only the step count and
    the learning rate (Keras 3 does the same); its slots then stay zero.

    Raises:
        StateMismatch: If the number or shapes of the arrays do not fit the optimizer.
        ModelFileError: If an array is damaged or not numbers.
    """
    names = optimizer.variable_names
    fresh = optimizer.get_weights()
    n_head = 2 if len(names) > 1 and names[1] == "learning_rate" else 1
    count = n_head if len(entries) == n_head < len(names) else len(names)
    if len(entries) != count:
        raise StateMismatch(f"the file holds {len(entries)} optimizer variable(s), but optimizer "
                            f"'{optimizer.name}' of this model has {len(names)} ({', '.join(names)})")
    values = []
    for (stored_name, dataset), name, value in zip(entries, names, fresh):
        shape = np.shape(value)
        what = f"optimizer variable {stored_name!r}"
        stored = safe_h5.declared_shape(dataset, what)
        if stored != shape:
            raise StateMismatch(f"{what} ('{name}') has shape {shape_str(stored)}, but this model needs "
                                f"{shape_str(shape)}")
        values.append(safe_h5.read_array(dataset, expected_shape=shape, what=what))
    values.extend(fresh[count:])
    check_step(values[0])
    return values


def reset(model: Any, reason: str, label: str, stacklevel: int = 4) -> None:
    """Warns that the state in ``label`` could not be restored and rebuilds a fresh one."""
    warnings.warn(
        f"The optimizer state in {label} could not be restored ({reason}); training continues with a "
        "fresh optimizer state.", UserWarning, stacklevel=stacklevel + 1,
    )
    model.optimizer.build(model.trainable_weights)
    model.optimizer.iterations = 0
