"""Layers: the building blocks of a model, each with a forward and a backward pass."""

from __future__ import annotations

from minikeras.layers.base import Layer, Variable, deserialize, get, register, serialize
from minikeras.layers.core import Activation, Dense
from minikeras.layers.input_layer import Input, InputLayer, KerasTensor

__all__ = [
    "Activation", "Dense", "Input", "InputLayer", "KerasTensor", "Layer", "Variable",
    "deserialize", "get", "register", "serialize",
]
