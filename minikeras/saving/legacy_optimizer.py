"""Restoring optimizer state saved by Keras 1, 2 and 3 onto minikeras's optimizers.

minikeras keeps an optimizer's state in Keras 3's order (see
``Optimizer.variable_names``): the step count, the learning rate (unless it is a
schedule), then the slots of every trained weight, then shared scalars. Older
writers stored the same quantities under other names and in other orders:

=====================  ===========================================  =====================================
writer                 names in ``optimizer_weights``               order
=====================  ===========================================  =====================================
Keras 3, minikeras     ``adam/iteration``, ``adam/learning_rate``,  Keras 3's
                       ``adam/sequential_dense_kernel_momentum``
tf-keras >= 2.11       ``iteration:0``, ``Adam/m/dense/kernel:0``   step, then Keras 3's slot order
tf.keras 2.0-2.10      ``Adam/iter:0``, ``Adam/dense/kernel/m:0``   step, then all ``m``, all ``v``, ...
(OptimizerV2)                                                       (Nadam: a momentum cache after the step)
Keras 1, Keras 2.0-2.3 ``Adam/iterations:0``,                       per optimizer, e.g. Adam
                       ``training/Adam/Variable_3:0``, ``param_4``  ``[iterations] + ms + vs (+ vhats)``
=====================  ===========================================  =====================================

Where the names tell which trained weight and which slot an array belongs to, the
state is matched by name (layer and weight name, slot name); otherwise by the order
the writer used for that optimizer (Keras 2.2's RMSprop, Adagrad and Adadelta stored
no step count; its Adam stored ``(1,)``-shaped placeholders for ``vhat`` without
AMSGrad; its SGD stored momenta even without momentum). If neither fits the model,
a warning is issued and training continues with a fresh state.

A restored state continues training as Keras 3 would from it. Older Keras used other
rules in places: Adagrad and RMSprop of Keras 1, Keras 2 and tf.keras (RMSprop there
only without momentum) added ``epsilon`` outside the square root, Keras 1 and 2's
Adagrad accumulator started at zero, Nadam's momentum schedule was
``0.96 ** (t * 0.004)``, and Keras 1 and 2's ``clipnorm`` clipped the joint norm of all
gradients (read as ``global_clipnorm``). Nadam's running product of momentum factors
is recomputed from the step count with Keras 3's schedule.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from minikeras._validation import shape_str
from minikeras.saving import safe_h5
from minikeras.saving.legacy_config import Writer
from minikeras.saving.optimizer_state import StateMismatch, check_step, keras3_values, reset

# File slot names (tf.keras OptimizerV2, tf-keras >= 2.11, Keras 3) -> minikeras slot names.
_SLOTS: dict[str, dict[str, str]] = {
    "SGD": {"momentum": "momentum", "m": "momentum"},
    "RMSprop": {"rms": "velocity", "velocity": "velocity", "momentum": "momentum", "mg": "average_gradient",
                "average_gradient": "average_gradient"},
    "Adagrad": {"accumulator": "accumulator"},
    "Adadelta": {"accum_grad": "accumulated_grad", "accumulated_grad": "accumulated_grad",
                 "accum_var": "accumulated_delta_var", "accumulated_delta_var": "accumulated_delta_var"},
    "Adam": {"m": "momentum", "momentum": "momentum", "v": "velocity", "velocity": "velocity",
             "vhat": "velocity_hat", "velocity_hat": "velocity_hat"},
    "Adamax": {"m": "momentum", "momentum": "momentum", "v": "norm", "u": "norm", "norm": "norm"},
    "Nadam": {"m": "momentum", "momentum": "momentum", "v": "velocity", "velocity": "velocity"},
}
_SLOTS["AdamW"] = _SLOTS["Adam"]

# Scalars some writers stored that minikeras derives instead (tf.keras's Nadam momentum
# cache, Keras 3's learning rate is taken from the configuration).
_IGNORED_SCALARS = re.compile(r"^(?:[^/]+/)?(?:momentum_cache|m_schedule|learning_rate|lr|u_product)(?::\d+)?$")
_STEP = re.compile(r"^(?:[^/]+/)?(?:iter|iteration|iterations)(?::\d+)?$")


def _family(optimizer: Any) -> str | None:
    for cls in type(optimizer).__mro__:
        if cls.__name__ in _SLOTS:
            return cls.__name__
    return None


def restore(model: Any, group: Any, writer: Writer, label: str) -> None:
    """Restores the state in ``group`` (a file's ``/optimizer_weights``) into ``model.optimizer``.

    Args:
        model: A compiled model whose optimizer will be (re)built on its trained weights.
        group: The ``optimizer_weights`` group.
        writer: Who wrote the file.
        label: Names the file in messages.

    Raises:
        ModelFileError: If the group is damaged or holds something that is not numbers.

    Examples:
        >>> import h5py
        >>> from minikeras.saving.legacy_config import detect_writer
        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> _ = model.train_on_batch(np.ones((4, 3)), np.ones((4, 2)))
        >>> model.save(tmp_dir / "m.h5")
        >>> model.compile(optimizer="adam", loss="mse")  # a fresh optimizer
        >>> with h5py.File(tmp_dir / "m.h5", "r") as f:
        ...     restore(model, f["optimizer_weights"], detect_writer("3.15.1"), "m.h5")
        >>> model.optimizer.iterations
        1
    """
    optimizer = model.optimizer
    variables = model.trainable_weights
    optimizer.build(variables)
    names = safe_h5.read_str_list(group, "weight_names")
    entries = [(name, safe_h5.child(group, name)) for name in names]
    try:
        values = _plan(optimizer, variables, entries, writer)
        optimizer.set_weights(values)
    except (StateMismatch, ValueError) as err:
        if isinstance(err, safe_h5.ModelFileError):
            raise
        reset(model, str(err), label)
        return
    if optimizer._extra_state and not _is_keras3(names, writer):
        _replay_shared_state(optimizer, variables)


def _is_keras3(names: list[str], writer: Writer) -> bool:
    if writer.family == "keras3":
        return True
    return bool(names) and names[0].endswith("/iteration") and ":" not in names[0]


def _plan(optimizer: Any, variables: list[Any], entries: list[tuple[str, Any]], writer: Writer) -> list[np.ndarray]:
    """The state values in ``optimizer.variable_names`` order, read from ``entries``."""
    names = [name for name, _ in entries]
    if _is_keras3(names, writer):
        return keras3_values(optimizer, entries)
    family = _family(optimizer)
    if family is None:
        raise StateMismatch(f"minikeras knows no older layout for the state of {type(optimizer).__name__}")
    targets = _targets(optimizer, variables)
    plan = _by_name(optimizer, family, variables, entries, targets)
    if plan is None:
        plan = _by_order(optimizer, family, variables, entries, writer, targets)
    step, slots = plan
    values = [np.array(step, dtype=np.int64)]
    if optimizer._lr_fn is None:
        values.append(np.array(optimizer._learning_rate))
    values.extend(slots[key] for key in targets)
    values.extend(np.array(v) for v in optimizer._extra_state.values())
    return values


def _targets(optimizer: Any, variables: list[Any]) -> dict[tuple[int, str], tuple[int, ...]]:
    """``(variable index, slot name) -> shape`` for every slot, in Keras 3's order."""
    groups = optimizer._slot_groups if optimizer._slot_groups is not None else [optimizer._slot_names]
    return {(i, slot): tuple(var.shape) for group in groups for i, var in enumerate(variables) for slot in group}


def _read_step(name: str, dataset: Any) -> int:
    shape = safe_h5.declared_shape(dataset, f"optimizer step count {name!r}")
    if shape != ():
        raise StateMismatch(f"the step count '{name}' has shape {shape_str(shape)}, expected ()")
    return check_step(safe_h5.read_array(dataset, expected_shape=(), what=f"optimizer step count {name!r}"))


def _read_slot(name: str, dataset: Any, shape: tuple[int, ...]) -> np.ndarray:
    return safe_h5.read_array(dataset, expected_shape=shape, what=f"optimizer state {name!r}")


# -- matching by name (tf.keras OptimizerV2, tf-keras >= 2.11) --------------------------------
def _variable_keys(variables: list[Any]) -> dict[str, int]:
    """``"dense/kernel"`` (layer name / weight name, as TensorFlow named them) -> variable index."""
    keys = {}
    for i, var in enumerate(variables):
        keys[var.path.split("/", 1)[-1]] = i
    return keys


def _by_name(optimizer: Any, family: str, variables: list[Any], entries: list[tuple[str, Any]],
             targets: dict[tuple[int, str], tuple[int, ...]]) -> tuple[int, dict] | None:
    aliases = _SLOTS[family]
    keys = _variable_keys(variables)
    step = None
    found: dict[tuple[int, str], tuple[str, Any]] = {}
    for name, dataset in entries:
        if _STEP.match(name):
            if step is not None:
                return None
            step = (name, dataset)
            continue
        if _IGNORED_SCALARS.match(name):
            continue
        parts = re.sub(r":\d+$", "", name).split("/")
        match = None
        if len(parts) >= 3:
            # tf-keras >= 2.11: optimizer/slot/layer/weight; tf.keras 2.x: optimizer/layer/weight/slot.
            for slot, var_key in ((parts[1], "/".join(parts[2:])), (parts[-1], "/".join(parts[1:-1]))):
                if slot in aliases and var_key in keys:
                    match = (keys[var_key], aliases[slot])
                    break
        if match is None:
            return None
        if match not in targets:
            continue  # a slot this configuration does not keep (tf-keras's SGD momenta without momentum)
        if match in found:
            return None
        found[match] = (name, dataset)
    if step is None or set(found) != set(targets):
        return None
    for key, (name, dataset) in found.items():
        shape = safe_h5.declared_shape(dataset, f"optimizer state {name!r}")
        if shape != targets[key]:
            raise StateMismatch(f"'{name}' has shape {shape_str(shape)}, but the weight it "
                                f"belongs to has shape {shape_str(targets[key])}")
    return _read_step(*step), {key: _read_slot(name, ds, targets[key]) for key, (name, ds) in found.items()}


# -- matching by order (Keras 1, Keras 2.0-2.3, and names that do not match) ----------------
Item = tuple[str, Any, int]  # (kind, slot name or None, variable index): one stored array


def _by_order(optimizer: Any, family: str, variables: list[Any], entries: list[tuple[str, Any]],
              writer: Writer, targets: dict[tuple[int, str], tuple[int, ...]]) -> tuple[int, dict]:
    shapes = [safe_h5.declared_shape(dataset) for _, dataset in entries]
    candidates = _layouts(optimizer, family, writer, entries, variables, targets)
    for items in candidates:
        if len(items) == len(entries) and all(_item_shape(item, variables) == shape
                                              for item, shape in zip(items, shapes)):
            return _read_by_order(items, entries, variables, optimizer, targets)
    described = "; ".join(_describe(items, len(variables)) for items in candidates)
    raise StateMismatch(
        f"the file holds {len(entries)} arrays of shapes {', '.join(shape_str(s) for s in shapes[:6])}"
        f"{', ...' if len(shapes) > 6 else ''}, which fit none of the layouts {writer.label} used for "
        f"{family} with {len(variables)} trained weights ({described})"
    )


def _describe(items: list[Item], count: int) -> str:
    parts: list[str] = []
    for kind, slot, _ in items:
        label = {"step": "step", "scalar": "scalar", "placeholder": "placeholder"}.get(kind, slot or kind)
        if not parts or parts[-1] != label:
            parts.append(label)
    return " + ".join(p if p in ("step", "scalar") else f"{p} x{count}" for p in parts)


def _layouts(optimizer: Any, family: str, writer: Writer, entries: list[tuple[str, Any]], variables: list[Any],
             targets: dict[tuple[int, str], tuple[int, ...]]) -> list[list[Item]]:
    """The orders in which the writer may have stored this optimizer's state, one item per array."""
    n = len(variables)
    step: list[Item] = [("step", None, -1)]
    scalar: list[Item] = [("scalar", None, -1)]

    def slots(*names: str) -> list[Item]:  # slot-major: all of the first slot, then the next
        return [("slots", name, i) for name in names for i in range(n)]

    placeholders: list[Item] = [("placeholder", None, i) for i in range(n)]
    first = entries[0][0] if entries else ""
    style = writer.family
    if re.match(r"^iteration(:\d+)?$", first):
        style = "tf-keras"
    elif re.search(r"/iter(:\d+)?$", first):
        style = "tf.keras"
    if style in ("tf-keras", "keras3"):
        # The step, then Keras 3's order; tf-keras's SGD keeps momenta even without momentum.
        layouts = [step + [("slots", slot, i) for (i, slot) in targets]]
        if family == "SGD" and not targets:
            layouts.append(step + slots("momentum"))
        return layouts
    amsgrad = bool(getattr(optimizer, "amsgrad", False))
    if style == "tf.keras":
        return [{
            "SGD": step + (slots("momentum") if optimizer.momentum else []),
            "RMSprop": step + slots("velocity") + (slots("momentum") if optimizer.momentum else [])
            + (slots("average_gradient") if optimizer.centered else []),
            "Adagrad": step + slots("accumulator"),
            "Adadelta": step + slots("accumulated_grad", "accumulated_delta_var"),
            "Adam": step + slots("momentum", "velocity") + (slots("velocity_hat") if amsgrad else []),
            "AdamW": step + slots("momentum", "velocity") + (slots("velocity_hat") if amsgrad else []),
            "Adamax": step + slots("momentum", "norm"),
            "Nadam": step + scalar + slots("momentum", "velocity"),
        }[family]]
    # Keras 1 and the multi-backend Keras 2 (2.3 added the step count to every optimizer).
    adam = [step + slots("momentum", "velocity"), step + slots("momentum", "velocity") + placeholders,
            step + slots("momentum", "velocity", "velocity_hat")]
    if amsgrad:
        adam = [adam[2], adam[0], adam[1]]
    return {
        "SGD": [step + slots("momentum")],
        "RMSprop": [slots("velocity"), step + slots("velocity")],
        "Adagrad": [slots("accumulator"), step + slots("accumulator")],
        "Adadelta": [slots("accumulated_grad", "accumulated_delta_var"),
                     step + slots("accumulated_grad", "accumulated_delta_var")],
        "Adam": adam,
        "AdamW": adam,
        "Adamax": [step + slots("momentum", "norm")],
        "Nadam": [step + slots("momentum", "velocity"), step + scalar + slots("momentum", "velocity")],
    }[family]


def _item_shape(item: Item, variables: list[Any]) -> tuple[int, ...]:
    kind, _, index = item
    if kind in ("step", "scalar"):
        return ()
    if kind == "placeholder":
        return (1,)
    return tuple(variables[index].shape)


def _read_by_order(items: list[Item], entries: list[tuple[str, Any]], variables: list[Any],
                   optimizer: Any, targets: dict[tuple[int, str], tuple[int, ...]]) -> tuple[int, dict]:
    step = 0  # Keras 2.2's RMSprop, Adagrad and Adadelta did not store it; Keras 2.3 read them as step 0 too
    slots: dict[tuple[int, str], np.ndarray] = {}
    for (kind, slot, index), (name, dataset) in zip(items, entries):
        if kind == "step":
            step = _read_step(name, dataset)
        elif kind == "slots" and (index, slot) in targets:
            slots[(index, slot)] = _read_slot(name, dataset, targets[(index, slot)])
    missing = [f"{variables[i].path} {slot}" for (i, slot) in targets if (i, slot) not in slots]
    if missing:
        raise StateMismatch(f"the file holds no {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}, "
                        f"which optimizer '{optimizer.name}' needs")
    return step, slots


def _replay_shared_state(optimizer: Any, variables: list[Any]) -> None:
    """Recomputes state shared by all weights (Nadam's product of momentum factors) for the
    restored step count, as Keras 3 would have accumulated it."""
    steps = optimizer.iterations
    initial = optimizer.build_extra_state([var.value for var in variables])
    for key, value in optimizer._extra_state.items():
        np.copyto(value, initial[key])
    try:
        for step in range(steps):
            optimizer.iterations = step
            before = [v.copy() for v in optimizer._extra_state.values()]
            optimizer.prepare_step(optimizer._lr_at(step))
            if all(np.array_equal(b, v) for b, v in zip(before, optimizer._extra_state.values())):
                break  # a fixed point (the product reached zero): later steps change nothing
    finally:
        optimizer.iterations = steps
