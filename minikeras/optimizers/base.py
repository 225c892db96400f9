"""The ``Optimizer`` base class: learning rate, clipping, weight decay, state and the update loop.

A subclass creates its per-weight state in :meth:`Optimizer.build_slots` and
updates one weight in place in :meth:`Optimizer.update_step`. The base class
does everything Keras 3 does around those two, in Keras 3's order: clip the
gradients, apply decoupled weight decay, run the update of every weight, count
the step.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras._registry import Registry
from minikeras._validation import check_no_unknown_kwargs, pop_legacy_kwarg, positional_arity
from minikeras.backend import config as _config
from minikeras.optimizers import schedules

_registry = Registry("optimizer", "keras.optimizers")
register = _registry.register

# Keras 3 arguments every optimizer accepts that minikeras does not implement: they
# are accepted only at their defaults.
_UNSUPPORTED = ("loss_scale_factor", "gradient_accumulation_steps", "ema_overwrite_frequency")


def _optional_non_negative(owner: str, name: str, value: Any) -> float | None:
    """Returns ``value`` as a float (``None`` stays ``None``) or raises ``ValueError``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(
            f"{owner} expects `{name}` to be None or a non-negative float. "
            f"Received: {name}={value!r}."
        )
    return float(value)


def check_fraction(owner: str, name: str, value: Any, *, include_one: bool = False) -> float:
    """Returns ``value`` as a float in ``[0, 1)`` (``[0, 1]`` with ``include_one``) or raises ``ValueError``."""
    interval = "[0, 1]" if include_one else "[0, 1)"
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (0.0 <= number < 1.0 or (include_one and number == 1.0)):
        raise ValueError(f"{owner} expects `{name}` in {interval}. Received: {name}={value!r}.")
    return number


def check_epsilon(owner: str, value: Any) -> float:
    """Returns ``epsilon`` as a float >= 0 or raises ``ValueError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not number >= 0 or not math.isfinite(number):
        raise ValueError(f"{owner} expects `epsilon` >= 0. Received: epsilon={value!r}.")
    return number


def move_toward(average: np.ndarray, target: np.ndarray, rate: np.floating, work: np.ndarray) -> None:
    """Moving-average update ``average += (target - average) * rate``, in place.

    ``work`` receives the increment and may be ``target`` itself (which is then
    overwritten). This is the form Keras 3 uses for Adam-style moment averages.
    """
    np.subtract(target, average, out=work)
    work *= rate
    average += work


def step_over_root(value: np.ndarray, step: np.ndarray, source: np.ndarray, epsilon: np.floating,
                   work: np.ndarray) -> None:
    """Applies ``value -= step / (sqrt(source) + epsilon)`` in place; overwrites ``step`` and ``work``.

    ``work`` may be ``source`` itself.
    """
    np.sqrt(source, out=work)
    work += epsilon
    step /= work
    value -= step


def _step_arity(fn: Callable[..., Any]) -> int:
    """Returns 1 if ``fn`` can be called with the step, 0 if only without arguments."""
    try:
        arity = positional_arity(fn, (1, 0))
    except TypeError as signature:
        raise ValueError(
            f"A callable `learning_rate` must take the step (an int) or no argument. "
            f"Received: learning_rate={fn!r} with signature {signature}. "
            "Pass e.g. `learning_rate=lambda step: 0.1 * 0.5 ** (step // 1000)`."
        ) from None
    return 1 if arity is None else arity  # some builtins have no signature: assume fn(step)


class Optimizer:
    """Base class of optimizers.

    One call of :meth:`apply` does, in Keras 3's order:

    1. clip the gradients (``clipnorm``, ``clipvalue`` or ``global_clipnorm``);
    2. decoupled weight decay, ``w = w - w * weight_decay * lr``, on every weight
       not excluded by :meth:`exclude_from_weight_decay`;
    3. :meth:`update_step` on every weight, with the same ``lr``;
    4. ``iterations += 1``.

    Args:
        learning_rate: A non-negative float, a
            :class:`~minikeras.optimizers.schedules.LearningRateSchedule`, or a
            Python callable. A callable is called with the step (``iterations``,
            starting at 0) if it takes one argument, or with no argument (Keras 3's
            form) if it takes none; it cannot be saved in a config.
        weight_decay: If set, each update first shrinks every weight by
            ``weight_decay * lr`` of its value. Defaults to ``None``.
        clipnorm: If set, each weight's gradient is rescaled so that its L2 norm is
            at most this value. Defaults to ``None``.
        clipvalue: If set, gradients are clipped to ``[-clipvalue, clipvalue]``.
            Defaults to ``None``.
        global_clipnorm: If set, all gradients are rescaled together so that the
            L2 norm of their concatenation is at most this value. Only one of the
            three clipping arguments may be set. Defaults to ``None``.
        name: Name used in configs and saved files.
        **kwargs: The Keras 1/2 names ``lr`` (for ``learning_rate``) and ``decay``
            (``lr / (1 + decay * iterations)``, i.e. an ``InverseTimeDecay``
            schedule); both warn. Keras 3's ``use_ema``,
            ``loss_scale_factor``, ``gradient_accumulation_steps`` and
            ``ema_overwrite_frequency`` are accepted only at their defaults.

    Examples:
        >>> opt = mk.optimizers.SGD(learning_rate=0.1, clipvalue=0.5, weight_decay=0.01)
        >>> opt.get_config()["clipvalue"], opt.get_config()["weight_decay"]
        (0.5, 0.01)
    """

    uses_scratch = False

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        # `lr` may replace `learning_rate` only when that is left at the class's default
        # (compared by value: the default literal of a subclass is a different object).
        default = self._default_learning_rate()
        if type(learning_rate) is float and learning_rate == default:
            learning_rate = default
        # stacklevel 4: warn at the user's SGD(...) call, not in the subclass's __init__.
        learning_rate = pop_legacy_kwarg(owner, kwargs, "lr", "learning_rate", learning_rate,
                                         default, stacklevel=4)
        if "decay" in kwargs:
            decay = float(kwargs.pop("decay"))
            if decay:
                warnings.warn(
                    f"`decay` is a Keras 1/2 argument of {owner}; use `learning_rate="
                    f"InverseTimeDecay({learning_rate}, decay_steps=1, decay_rate={decay})` instead.",
                    DeprecationWarning, stacklevel=3,
                )
                if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
                    raise ValueError(f"{owner} cannot combine `decay` with a learning-rate schedule.")
                learning_rate = schedules.InverseTimeDecay(float(learning_rate), 1, decay)
        for key in _UNSUPPORTED:
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

        self.weight_decay = _optional_non_negative(owner, "weight_decay", weight_decay)
        self.clipnorm = _optional_non_negative(owner, "clipnorm", clipnorm)
        self.clipvalue = _optional_non_negative(owner, "clipvalue", clipvalue)
        self.global_clipnorm = _optional_non_negative(owner, "global_clipnorm", global_clipnorm)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}. "
                "Pass only one of them."
            )
        self.name = name or owner

        # The learning rate: a constant (a floatx() scalar, as Keras 3 keeps it in a
        # variable), a schedule, or a callable; the last two are evaluated every step.
        self._lr_fn: Callable[[int], Any] | None = None
        self._lr_callable: Callable[..., Any] | None = None
        if isinstance(learning_rate, dict):
            if learning_rate.get("class_name") in ("__lambda__", "function"):
                raise TypeError(
                    f"{owner} cannot rebuild a `learning_rate` that was saved from a Python function "
                    f"({learning_rate.get('config')!r}). Pass the function again, or use a "
                    "LearningRateSchedule subclass, which serializes by class name."
                )
            learning_rate = schedules.deserialize(learning_rate)
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._lr_fn = learning_rate
            self._learning_rate = None
        elif callable(learning_rate):
            self._lr_callable = learning_rate
            fn = learning_rate
            self._lr_fn = fn if _step_arity(fn) == 1 else (lambda step: fn())
            self._learning_rate = None
        else:
            if isinstance(learning_rate, bool) or not np.isscalar(learning_rate) \
                    or not isinstance(learning_rate, (int, float, np.integer, np.floating)) \
                    or not float(learning_rate) >= 0:
                raise ValueError(
                    f"{owner} expects `learning_rate` to be a non-negative float, a "
                    f"LearningRateSchedule or a callable of the step. Received: learning_rate={learning_rate!r}."
                )
            # Keras 3 keeps a constant learning rate in a variable of dtype floatx().
            self._learning_rate = np.dtype(_config.floatx()).type(learning_rate)
        self.iterations = 0
        self.built = False
        self._slots: list[list[np.ndarray]] = []
        self._slot_names: list[str] = []
        self._slot_groups: list[list[str]] | None = None
        self._extra_state: dict[str, np.ndarray] = {}
        self._wd_exclude_ids: set[int] = set()
        self._wd_exclude_pattern: re.Pattern[str] | None = None

    @classmethod
    def _default_learning_rate(cls) -> float:
        return 0.001

    # -- learning rate ------------------------------------------------------------------
    @property
    def _schedule(self) -> schedules.LearningRateSchedule | None:
        """The schedule, if the learning rate is one."""
        return self._lr_fn if isinstance(self._lr_fn, schedules.LearningRateSchedule) else None

    def _lr_at(self, step: int) -> np.floating:
        """The learning rate of step ``step`` (a float32/float64 scalar)."""
        if self._lr_fn is None:
            return self._learning_rate
        value = self._lr_fn(step)
        try:
            return np.float64(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"The learning rate of optimizer '{self.name}' must be a number, but its "
                f"{'schedule' if self._schedule is not None else 'callable'} returned {value!r} "
                f"at step {step}. Return a float."
            ) from None

    @property
    def learning_rate(self) -> float:
        """The learning rate for the next update (settable unless a schedule or callable is used)."""
        if self._lr_fn is not None:
            return float(np.dtype(_config.floatx()).type(self._lr_at(self.iterations)))
        return float(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if self._lr_fn is not None:
            kind = "a schedule" if self._schedule is not None else "a callable"
            raise TypeError(
                f"This optimizer's learning rate is {kind}; it cannot be set to a number. "
                "Create the optimizer with a float `learning_rate` to change it during training."
            )
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            raise TypeError(
                "A schedule or callable learning rate can only be given when the optimizer is created, "
                f"e.g. {type(self).__name__}(learning_rate=schedule). Received: {value!r}."
            )
        self._learning_rate = self._learning_rate.dtype.type(value)

    lr = learning_rate

    # -- weight decay -------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list: list[Any] | None = None,
                                  var_names: list[str] | None = None) -> None:
        """Exempts some weights from ``weight_decay``; call before the first update.

        Args:
            var_list: Weights (``Variable`` objects) to exempt.
            var_names: Regular expressions; a weight whose ``name`` (e.g.
                ``"bias"``) contains a match is exempt.

        Raises:
            ValueError: If the optimizer has already been built.

        Examples:
            >>> opt = mk.optimizers.AdamW(weight_decay=0.01)
            >>> opt.exclude_from_weight_decay(var_names=["bias"])
        """
        if self.built:
            raise ValueError(
                "`exclude_from_weight_decay()` can only be configured before the optimizer is built. "
                "Call it before the first training step."
            )
        if isinstance(var_names, str):
            raise TypeError(
                f"`var_names` must be a list of strings. Received: var_names={var_names!r}. "
                f"Pass var_names=[{var_names!r}]."
            )
        self._wd_exclude_ids = {id(v) for v in var_list or ()}
        names = sorted(set(var_names or ()))
        self._wd_exclude_pattern = re.compile("|".join(names)) if names else None

    def _uses_weight_decay(self, variable: Any) -> bool:
        if id(variable) in self._wd_exclude_ids:
            return False
        pattern = self._wd_exclude_pattern
        return pattern is None or pattern.search(str(getattr(variable, "name", ""))) is None

    # -- state --------------------------------------------------------------------------
    def build(self, variables: list[Any]) -> None:
        """Creates the per-weight state for ``variables`` (a model's trainable weights)."""
        self._paths = [v.path for v in variables]
        self._slots = [self.build_slots(v.value) for v in variables]
        self._scratch = [np.empty_like(v.value) if self.uses_scratch else None for v in variables]
        self._decay_mask = [self._uses_weight_decay(v) for v in variables]
        self._extra_state = self.build_extra_state([v.value for v in variables])
        self.built = True

    def build_slots(self, value: np.ndarray) -> list[np.ndarray]:
        """Returns the state arrays for one weight, in the order of ``_slot_names`` (none by default)."""
        return []

    def build_extra_state(self, values: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Returns named 0-d state arrays shared by all weights (none by default).

        They come after the slots in :meth:`get_weights`, as Keras 3 creates them last.
        """
        return {}

    def _state(self) -> list[tuple[str, np.ndarray]]:
        """The slots and extra state, named and in Keras 3's order.

        Keras 3 creates slots in groups: within a group the slots of one weight are
        adjacent (Adam: ``kernel_momentum, kernel_velocity, bias_momentum, ...``);
        groups follow each other (Adam's ``velocity_hat`` slots come after all of
        those, RMSprop's momenta after all velocities).
        """
        groups = self._slot_groups if self._slot_groups is not None else [self._slot_names]
        index = {name: i for i, name in enumerate(self._slot_names)}
        state = []
        for group in groups:
            for path, slots in zip(getattr(self, "_paths", []), self._slots):
                stem = path.replace("/", "_")
                state.extend((f"{stem}_{name}", slots[index[name]]) for name in group)
        state.extend(self._extra_state.items())
        return state

    @property
    def variable_names(self) -> list[str]:
        """Names of :meth:`get_weights` entries, as Keras 3 names optimizer variables."""
        names = ["iteration"]
        if self._lr_fn is None:
            names.append("learning_rate")
        names.extend(name for name, _ in self._state())
        return names

    def get_weights(self) -> list[np.ndarray]:
        """Returns the state: iteration count, learning rate, then the slots in Keras 3's order."""
        weights: list[np.ndarray] = [np.array(self.iterations, dtype=np.int64)]
        if self._lr_fn is None:
            weights.append(np.array(self._learning_rate))
        weights.extend(array.copy() for _, array in self._state())
        return weights

    def set_weights(self, weights: list[Any]) -> None:
        """Restores the state written by :meth:`get_weights` (after :meth:`build`).

        Every shape is checked before anything is assigned, so a mismatch leaves the
        state unchanged.
        """
        names = self.variable_names
        if len(weights) != len(names):
            raise ValueError(
                f"Optimizer '{self.name}' expects {len(names)} state arrays "
                f"({', '.join(names)}), but received {len(weights)}."
            )
        values = [np.asarray(w) for w in weights]
        n_head = len(names) - len(self._state())
        targets = [array for _, array in self._state()]
        for name, value, target in zip(names[n_head:], values[n_head:], targets):
            if value.shape != target.shape:
                raise ValueError(
                    f"Optimizer '{self.name}' state '{name}' has shape {tuple(target.shape)}, "
                    f"but received an array of shape {tuple(value.shape)}."
                )
        self.iterations = int(values[0])
        if self._lr_fn is None:
            self._learning_rate = self._learning_rate.dtype.type(values[1])
        for value, target in zip(values[n_head:], targets):
            np.copyto(target, value, casting="unsafe")

    # -- updates ------------------------------------------------------------------------
    def apply(self, variables: list[Any]) -> None:
        """Updates each variable in place from its ``grad``, then counts one step.

        ``grad`` buffers are clipped in place and may be overwritten by the update.
        """
        if not self.built:
            self.build(variables)
        elif len(variables) != len(self._slots):
            raise ValueError(
                f"Optimizer '{self.name}' was built for {len(self._slots)} weights, but received "
                f"{len(variables)}. Use a new optimizer for a different set of weights."
            )
        lr = self._lr_at(self.iterations)
        if self.clipnorm or self.clipvalue or self.global_clipnorm:
            self._clip_gradients(variables)
        if self.weight_decay is not None:
            for var, decay in zip(variables, self._decay_mask):
                if decay:
                    dtype = var.value.dtype.type
                    var.value *= dtype(1) - dtype(self.weight_decay) * lr.astype(dtype)
        self.prepare_step(lr)
        for var, slots, scratch in zip(variables, self._slots, self._scratch):
            self.update_step(var.value, var.grad, slots, lr.astype(var.value.dtype), scratch)
        self.iterations += 1

    def _clip_gradients(self, variables: list[Any]) -> None:
        """Clips every ``grad`` in place, as Keras 3 does (only positive settings clip)."""
        if self.clipnorm:
            for var in variables:
                flat = var.grad.reshape(-1)
                norm = math.sqrt(float(np.dot(flat, flat)))
                if not norm <= self.clipnorm:  # also rescales (to NaN) for a NaN norm, like Keras
                    var.grad *= var.grad.dtype.type(self.clipnorm / norm)
        elif self.global_clipnorm:
            total = 0.0
            for var in variables:
                flat = var.grad.reshape(-1)
                total += float(np.dot(flat, flat))
            norm = math.sqrt(total)
            if not norm <= self.global_clipnorm:
                # Keras's scale is NaN for an infinite or NaN norm, so the step is NaN.
                scale = self.global_clipnorm / norm if math.isfinite(norm) else math.nan
                for var in variables:
                    var.grad *= var.grad.dtype.type(scale)
        elif self.clipvalue:
            for var in variables:
                np.clip(var.grad, -self.clipvalue, self.clipvalue, out=var.grad)

    def prepare_step(self, lr: np.floating) -> None:
        """Called once per step, after clipping and weight decay, before the updates."""

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
        """Returns the configuration in Keras 3's schema.

        Raises:
            TypeError: If the learning rate is a plain Python callable, which no
                config can rebuild.
        """
        if self._lr_callable is not None:
            fn_name = getattr(self._lr_callable, "__name__", repr(self._lr_callable))
            raise TypeError(
                f"Optimizer '{self.name}' cannot be serialized: its `learning_rate` is the Python "
                f"callable {fn_name!r}, which a config cannot rebuild by name. To save it, subclass "
                "minikeras.optimizers.schedules.LearningRateSchedule (with get_config) and register it "
                "with minikeras.optimizers.schedules.register(), or save only the weights "
                "(model.save_weights)."
            )
        lr: Any = (schedules.serialize(self._schedule) if self._schedule is not None
                   else float(self._learning_rate))
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
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

    Examples:
        >>> type(mk.optimizers.get("rmsprop")).__name__
        'RMSprop'
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
