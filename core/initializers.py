"""Weight initializers: W of shape (fan_in, fan_out). Biases always start at zero.

    zeros            W = 0
    constant         W = init_scale
    uniform          W ~ U(−0.5, 0.5)                      (TensorFlow Playground)
    normal           W ~ N(0, init_scale²)
    xavier_uniform   W ~ U(±√(6/(fan_in + fan_out)))       (Glorot & Bengio)
    xavier_normal    W ~ N(0, 2/(fan_in + fan_out))
    he_uniform       W ~ U(±√(6/fan_in))                   (He et al.)
    he_normal        W ~ N(0, 2/fan_in)
    lecun            W ~ N(0, 1/fan_in)                    (LeCun normal)
    auto             the activation's recommended initializer (core.activations.REGISTRY):
                     He normal for the ReLU family, swish and GELU, Xavier uniform otherwise.

Draws are made in float64 and then cast, so one seed gives the same network in either dtype.
"""

from __future__ import annotations

import math

import numpy as np

from core.activations import REGISTRY

OUTPUT_DEFAULT = "xavier_uniform"  # for output activations that are no hidden choice (softmax)


def resolve(name: str, activation: str) -> str:
    """The concrete initializer behind `name` ("auto" depends on the layer's activation)."""
    if name != "auto":
        return name
    entry = REGISTRY.get(activation)
    return entry.init if entry else OUTPUT_DEFAULT


def _uniform(limit: float):
    return lambda rng, shape: rng.uniform(-limit, limit, shape)


def _normal(std: float):
    return lambda rng, shape: rng.normal(0.0, std, shape)


def _sampler(name: str, fan_in: int, fan_out: int, scale: float):
    if name == "zeros":
        return lambda rng, shape: np.zeros(shape)
    if name == "constant":
        return lambda rng, shape: np.full(shape, scale)
    formulas = {
        "uniform": lambda: _uniform(0.5),
        "normal": lambda: _normal(scale),
        "xavier_uniform": lambda: _uniform(math.sqrt(6.0 / (fan_in + fan_out))),
        "xavier_normal": lambda: _normal(math.sqrt(2.0 / (fan_in + fan_out))),
        "he_uniform": lambda: _uniform(math.sqrt(6.0 / fan_in)),
        "he_normal": lambda: _normal(math.sqrt(2.0 / fan_in)),
        "lecun": lambda: _normal(math.sqrt(1.0 / fan_in)),
    }
    if name not in formulas:
        raise ValueError(f"unknown initializer {name!r}; expected one of {sorted(formulas)}")
    return formulas[name]()


def init_weights(
    name: str,
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator,
    *,
    scale: float = 0.1,
    activation: str = "tanh",
    dtype=np.float64,
    columns: int | None = None,
) -> np.ndarray:
    """W of shape (fan_in, columns or fan_out) drawn by initializer `name`.

    `columns` lets a maxout layer draw fan_out·k columns while the formulas use fan_out units.
    """
    sample = _sampler(resolve(name, activation), fan_in, fan_out, scale)
    return sample(rng, (fan_in, columns or fan_out)).astype(dtype)
