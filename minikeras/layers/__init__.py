"""Layers: the building blocks of a model, each with a forward and a backward pass."""

from __future__ import annotations

from minikeras.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from minikeras.layers.base import Layer, Variable, deserialize, get, register, serialize
from minikeras.layers.core import Activation, Dense
from minikeras.layers.input_layer import Input, InputLayer, KerasTensor
from minikeras.layers.normalization import BatchNormalization
from minikeras.layers.regularization import Dropout
from minikeras.layers.reshaping import Flatten, Reshape

__all__ = [
    "ELU", "Activation", "BatchNormalization", "Dense", "Dropout", "Flatten", "Input", "InputLayer",
    "KerasTensor", "Layer", "LeakyReLU", "PReLU", "ReLU", "Reshape", "Softmax", "Variable",
    "deserialize", "get", "register", "serialize",
]
