"""Models: ``Sequential`` and the functions that save, load and rebuild them."""

from __future__ import annotations

import json
from typing import Any

from minikeras.models.sequential import Sequential
from minikeras.saving import load_model, save_model


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Sequential:
    """Rebuilds a model (with fresh weights) from :meth:`Sequential.to_json` output.

    Examples:
        >>> from minikeras.layers import Dense, Input
        >>> model = Sequential([Input((3,)), Dense(2)], name="m")
        >>> model_from_json(model.to_json()).get_config() == model.get_config()
        True
    """
    try:
        payload = json.loads(json_string)
    except json.JSONDecodeError as err:
        raise ValueError(f"model_from_json() received text that is not JSON: {err}.") from None
    if isinstance(payload, dict) and payload.get("class_name") not in (None, "Sequential"):
        raise ValueError(f"model_from_json() reads Sequential models. Received: {payload.get('class_name')!r}.")
    config = payload.get("config", payload) if isinstance(payload, dict) else payload
    model = Sequential.from_config(config, custom_objects=custom_objects)
    if isinstance(payload, dict) and payload.get("compile_config"):
        model.compile_from_config(payload["compile_config"])
    return model


__all__ = ["Sequential", "load_model", "model_from_json", "save_model"]
