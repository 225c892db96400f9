"""The ``Optimizer`` base class: learning rate, step counter, state and the update loop.

A subclass creates its per-weight state in :meth:`Optimizer.build_slots` and
updates one weight in place in :meth:`Optimizer.update_step`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minikeras._registry import Registry
from minikeras._validation import check_no_unknown_kwargs, pop_legacy_kwarg
from minikeras.backend import config as _config
from minikeras.optimizers import schedules

_registry = Registry("optimizer", "keras.optimizers")
register = _registry.register

# Keras 3 arguments every optimizer accepts; minikeras implements them in a later version.
_LATER = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor",
          "gradient_accumulation_steps", "ema_overwrite_frequency")


class Optimizer:
    """Base class of optimizers.

    Args:
        learning_rate: A float or a :class:`~minikeras.optimizers.schedules.LearningRateSchedule`.
        name: Name used in configs and saved files.
        **kwargs: The Keras 1/2 names ``lr`` (for ``learning_rate``) and ``decay``
            (``lr / (1 + decay * iterations)``, i.e. an ``InverseTimeDecay``
            schedule); both warn. Keras 3's ``weight_decay``, ``clipnorm``,
            ``clipvalue``, ``global_clipnorm`` and ``use_ema`` are accepted only at
            their defaults in this version.
    """

    uses_scratch = False

    def __init__(self, learning_rate: Any = 0.001, name: str | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        # stacklevel 4: warn at the user's SGD(...) call, not in the subclass's __init__.
        learning_rate = pop_legacy_kwarg(owner, kwargs, "lr", "learning_rate", learning_rate,
                                         self._default_learning_rate(), stacklevel=4)
        if "decay" in kwargs:
            decay = float(kwargs.pop("decay"))
            if decay:
                warnings.warn(
                    f"`decay` is a Keras 1/2 argument of {owner}; use `learning_rate="
                    f"InverseTimeDecay({learning_rate}, decay_steps=1, decay_rate={decay})` instead.",
                    DeprecationWarning, stacklevel=3,
                )
                if isinstance(learning_rate, schedules.LearningRateSchedule):
                    raise ValueError(f"{owner} cannot combine `decay` with a learning-rate schedule.")
                learning_rate = schedules.InverseTimeDecay(float(learning_rate), 1, decay)
        for key in _LATER:
            if kwargs.get(key) is not None:
                raise NotImplementedError(
                    f"{owner}(`{key}=...`) is not supported by this version of minikeras. "
                    f"Received: {key}={kwargs[key]!r}. Remove the argument."
                )
            kwargs.pop(key, None)
        if kwargs.pop("use_ema", False):
            raise NotImplementedError(f"{owner}(use_ema=True) is not supported by this version of minikeras.")
        kwargs.pop("ema_momentum", None)
        kwargs.pop("jit_compile", None)
        kwargs.pop("is_legacy_optimizer", None)
        check_no_unknown_kwargs(owner, kwargs)
        self.name = name or owner
        if isinstance(learning_rate, dict):
            learning_rate = schedules.deserialize(learning_rate)
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._schedule: schedules.LearningRateSchedule | None = learning_rate
            self._learning_rate = np.float32(learning_rate(0))
        else:
            if not np.isscalar(learning_rate) or float(learning_rate) < 0:
                raise ValueError(
                    f"{owner} expects `learning_rate` to be a non-negative float or a schedule. "
                    f"Received: learning_rate={learning_rate!r}."
                )
            self._schedule = None
            # Keras 3 keeps a constant learning rate in a variable of dtype floatx().
            self._learning_rate = np.dtype(_config.floatx()).type(learning_rate)
        self.iterations = 0
        self.built = False
        self._slots: list[list[np.ndarray]] = []
        self._slot_names: list[str] = []

    @classmethod
    def _default_learning_rate(cls) -> float:
        return 0.001

    # -- learning rate ------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The learning rate for the next update (settable unless a schedule is used)."""
        if self._schedule is not None:
            return float(np.float32(self._schedule(self.iterations)))
        return float(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if self._schedule is not None:
            raise TypeError("This optimizer's learning rate is a schedule; it cannot be set to a number.")
        self._learning_rate = self._learning_rate.dtype.type(value)

    lr = learning_rate

    # -- state --------------------------------------------------------------------------
    def build(self, variables: list[Any]) -> None:
        """Creates the per-weight state for ``variables`` (a model's trainable weights)."""
        self._paths = [v.path for v in variables]
        self._slots = [self.build_slots(v.value) for v in variables]
        self._scratch = [np.empty_like(v.value) if self.uses_scratch else None for v in variables]
        self.built = True

    def build_slots(self, value: np.ndarray) -> list[np.ndarray]:
        """Returns the state arrays for one weight (none by default)."""
        return []

    @property
    def variable_names(self) -> list[str]:
        """Names of :meth:`get_weights` entries, as Keras 3 names optimizer variables."""
        names = ["iteration"]
        if self._schedule is None:
            names.append("learning_rate")
        for path in getattr(self, "_paths", []):
            stem = path.replace("/", "_")
            names.extend(f"{stem}_{slot}" for slot in self._slot_names)
        return names

    def get_weights(self) -> list[np.ndarray]:
        """Returns the state: iteration count, learning rate, then each weight's slots."""
        weights: list[np.ndarray] = [np.array(self.iterations, dtype=np.int64)]
        if self._schedule is None:
            weights.append(np.array(self._learning_rate))
        for slots in self._slots:
            weights.extend(s.copy() for s in slots)
        return weights

    def set_weights(self, weights: list[Any]) -> None:
        """Restores the state written by :meth:`get_weights` (after :meth:`build`)."""
        expected = len(self.variable_names)
        if len(weights) != expected:
            raise ValueError(
                f"Optimizer '{self.name}' expects {expected} state arrays "
                f"({', '.join(self.variable_names)}), but received {len(weights)}."
            )
        it = iter(weights)
        self.iterations = int(np.asarray(next(it)))
        if self._schedule is None:
            self._learning_rate = self._learning_rate.dtype.type(np.asarray(next(it)))
        for slots in self._slots:
            for slot in slots:
                value = np.asarray(next(it))
                if value.shape != slot.shape:
                    raise ValueError(
                        f"Optimizer '{self.name}' state has shape {value.shape}, expected {slot.shape}."
                    )
                np.copyto(slot, value, casting="unsafe")

    # -- updates ------------------------------------------------------------------------
    def apply(self, variables: list[Any]) -> None:
        """Updates each variable in place from its ``grad``, then counts one step."""
        if not self.built:
            self.build(variables)
        lr = self._learning_rate if self._schedule is None else np.float32(self._schedule(self.iterations))
        for var, slots, scratch in zip(variables, self._slots, self._scratch):
            self.update_step(var.value, var.grad, slots, lr.astype(var.value.dtype), scratch)
        self.iterations += 1

    def update_step(self, value: np.ndarray, grad: np.ndarray, slots: list[np.ndarray], lr: np.floating,
                    scratch: np.ndarray | None = None) -> None:
        """Updates one weight in place; may overwrite ``grad`` and ``scratch``.

        ``scratch`` is a work buffer shaped like the weight when the class sets
        ``uses_scratch = True`` (it is not part of the saved state).
        """
        raise NotImplementedError

    def flush_tiny(self, slots: list[np.ndarray], work: np.ndarray) -> None:
        """Sets slot values too small to matter to zero, every 16th step.

        Averages of gradients that stay zero (dead units) decay towards subnormal
        numbers, on which CPUs run tens of times slower. Values below
        ``tiny * 2**24`` (about 2e-31 in float32) are far too small to change any
        weight, so zeroing them keeps the arithmetic on normal numbers without
        changing results. ``work`` is a buffer shaped like the slots.
        """
        if self.iterations % 16 != 15:
            return
        limit = np.finfo(work.dtype).tiny * 2.0**24
        for slot in slots:
            np.abs(slot, out=work)
            slot[work < limit] = 0

    # -- configuration ------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Returns the configuration in Keras 3's schema."""
        lr: Any = (schedules.serialize(self._schedule) if self._schedule is not None
                   else float(self._learning_rate))
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": None,
            "clipnorm": None,
            "global_clipnorm": None,
            "clipvalue": None,
            "use_ema": False,
            "ema_momentum": 0.99,
            "ema_overwrite_frequency": None,
            "loss_scale_factor": None,
            "gradient_accumulation_steps": None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Builds the optimizer from :meth:`get_config` output (Keras 2 or 3)."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} learning_rate={self.learning_rate:g} iterations={self.iterations}>"


def get(identifier: Any) -> Optimizer:
    """Returns an optimizer for a name (case-insensitive), a config dict or an optimizer.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        lowered = {k.lower(): k for k in _registry.names()}
        return _registry.get(lowered.get(identifier.lower(), identifier))
    if isinstance(identifier, dict):
        return _registry.deserialize(identifier)
    raise TypeError(f"Expected an optimizer name or a minikeras.optimizers.Optimizer; received {identifier!r}.")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Serializes an optimizer to the Keras 3 schema."""
    return _registry.serialize(optimizer)


deserialize = _registry.deserialize
