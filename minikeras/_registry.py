"""One registry mechanism shared by every family of named objects.

Each family (activations, losses, optimizers, initializers, metrics, layers,
callbacks, models, schedules) owns one :class:`Registry`. A registry maps
canonical class names and snake_case aliases to classes (or ready-made
instances), turns user identifiers into objects with :meth:`Registry.get`, and
serializes objects to the Keras config schema.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

_REGISTRIES: dict[str, Registry] = {}


class Registry:
    """A named table of classes (or instances) of one family.

    Args:
        family: Singular family name used in messages, e.g. ``"activation"``.
        module: Keras module string written in serialized configs, e.g.
            ``"keras.initializers"``.
        instantiate: Whether string look-ups return a new instance of a
            registered class (``True``) or the registered object itself.

    Examples:
        >>> reg = Registry("widget", "keras.widgets")
        >>> @reg.register("tiny_widget")
        ... class TinyWidget:
        ...     def get_config(self):
        ...         return {}
        >>> type(reg.get("tiny_widget")).__name__
        'TinyWidget'
    """

    def __init__(self, family: str, module: str, *, instantiate: bool = True) -> None:
        if family in _REGISTRIES:
            raise ValueError(f"A registry for {family!r} already exists.")
        self.family = family
        self.module = module
        self.instantiate = instantiate
        self._entries: dict[str, Any] = {}
        self._aliases: set[str] = set()
        _REGISTRIES[family] = self

    # -- registration -----------------------------------------------------------------
    def register(self, *aliases: str, name: str | None = None) -> Callable[[Any], Any]:
        """Class decorator that records a class under its name and ``aliases``.

        Args:
            *aliases: Extra names (usually snake_case) that resolve to the class.
            name: Canonical name; defaults to the class's ``__name__``.

        Returns:
            The decorator; it returns the class unchanged.
        """

        def decorator(obj: Any) -> Any:
            canonical = name or getattr(obj, "__name__", None) or type(obj).__name__
            self.add(canonical, obj)
            for alias in aliases:
                self.add(alias, obj, alias=True)
            return obj

        return decorator

    def add(self, key: str, obj: Any, *, alias: bool = False) -> None:
        """Adds one entry; refuses a name that is already taken by another object."""
        existing = self._entries.get(key)
        if existing is not None and existing is not obj:
            raise ValueError(
                f"The {self.family} name {key!r} is already registered to {existing!r}. "
                "Choose another name."
            )
        self._entries[key] = obj
        if alias:
            self._aliases.add(key)

    # -- look-up ----------------------------------------------------------------------
    def names(self, *, include_aliases: bool = True) -> list[str]:
        """Returns the sorted registered names."""
        return sorted(
            k for k in self._entries if include_aliases or k not in self._aliases
        )

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def lookup(self, key: str) -> Any:
        """Returns the registered class or object for ``key`` or raises ``ValueError``."""
        try:
            return self._entries[key]
        except KeyError:
            raise ValueError(self.unknown_message(key)) from None

    def unknown_message(self, key: object) -> str:
        """The message used for an unknown identifier: close matches and valid names."""
        names = self.names()
        msg = f"Unknown {self.family} {key!r}."
        if isinstance(key, str):
            close = difflib.get_close_matches(key, names, n=1)
            if close:
                msg += f" Did you mean {close[0]!r}?"
        msg += f" Known {self.family} names: {', '.join(names)}."
        return msg

    def unknown_class_message(self, class_name: object) -> str:
        """The message for a serialized class minikeras does not know, e.g. from a file."""
        if class_name == "Lambda":
            return (
                "Cannot deserialize a 'Lambda' layer: it holds Python code, and minikeras never "
                "runs code from a configuration or model file. Write the function as a layer "
                "class and pass it as custom_objects={'Lambda': YourLayer}."
            )
        return (
            f"{self.unknown_message(class_name)} If {class_name!r} is a class of your own, pass it "
            f"as custom_objects={{{class_name!r}: YourClass}}."
        )

    def get(self, identifier: Any) -> Any:
        """Turns a name, a config dict or an object into an object of this family.

        Args:
            identifier: A registered name, a ``{"class_name": ..., "config": ...}``
                dict, or an object, which is returned unchanged.

        Returns:
            The resolved object.

        Raises:
            ValueError: If the name or class name is unknown.
        """
        if isinstance(identifier, str):
            entry = self.lookup(identifier)
            return entry() if self.instantiate and isinstance(entry, type) else entry
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        return identifier

    # -- serialization ----------------------------------------------------------------
    def serialize(self, obj: Any) -> dict[str, Any]:
        """Serializes ``obj`` to the Keras schema ``{module, class_name, config, ...}``."""
        class_name = type(obj).__name__
        registered = None if class_name in self._entries else f"Custom>{class_name}"
        return {
            "module": self.module,
            "class_name": class_name,
            "config": obj.get_config(),
            "registered_name": registered,
        }

    def deserialize(self, config: dict[str, Any], custom_objects: dict | None = None) -> Any:
        """Builds an object from a serialized config dict.

        Accepts the Keras 3 schema (with ``module``) and the older
        ``{"class_name", "config"}`` schema written by Keras 2.
        """
        if "class_name" not in config:
            raise ValueError(
                f"Cannot deserialize a {self.family} from {config!r}: expected a dict "
                "with the keys 'class_name' and 'config'."
            )
        class_name = config["class_name"]
        if isinstance(class_name, str) and class_name.startswith("Custom>"):
            class_name = class_name[len("Custom>"):]
        if custom_objects and class_name in custom_objects:
            cls = custom_objects[class_name]
        elif class_name in self._entries:
            cls = self._entries[class_name]
        else:
            raise ValueError(self.unknown_class_message(class_name))
        inner = config.get("config") or {}
        if hasattr(cls, "from_config"):
            return cls.from_config(dict(inner))
        return cls(**inner)


def get_registry(family: str) -> Registry:
    """Returns the registry of ``family`` (e.g. ``"layer"``)."""
    return _REGISTRIES[family]


class Configurable:
    """Mixin for small value objects described completely by their ``get_config()``.

    Gives ``from_config``, a ``repr`` that shows the arguments, and equality and
    hashing by class and configuration.

    Examples:
        >>> class Scale(Configurable):
        ...     def __init__(self, factor=1.0):
        ...         self.factor = factor
        ...     def get_config(self):
        ...         return {"factor": self.factor}
        >>> Scale(2.0) == Scale.from_config({"factor": 2.0}), Scale(2.0)
        (True, Scale(factor=2.0))
    """

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        """Builds the object from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self), repr(self)))
