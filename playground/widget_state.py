"""Sidebar widget values <-> the config tree, with no Streamlit in it.

Each config leaf that has a widget lives in session state under `cfg:<dotted path>`;
hidden layers under `cfg:layer:<i>:<field>` with their count in `cfg:n_layers`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from dataclasses import fields

from core.config import LayerConfig, PlaygroundConfig, flatten, from_dict, set_path, to_dict

PREFIX = "cfg:"
N_LAYERS_KEY = "cfg:n_layers"
LAYER_FIELDS = tuple(f.name for f in fields(LayerConfig))


def key(path: str) -> str:
    return f"{PREFIX}{path}"


def layer_key(index: int, name: str) -> str:
    return f"{PREFIX}layer:{index}:{name}"


def _leaves(tree: dict) -> dict[str, object]:
    """Config leaves that have a widget of their own (hidden layers have several)."""
    return {path: v for path, v in flatten(tree).items() if path != "network.hidden"}


def config_to_widgets(config: PlaygroundConfig) -> dict[str, object]:
    """Session-state entries that make every widget show `config`."""
    state = {key(path): copy.copy(value) for path, value in _leaves(to_dict(config)).items()}
    state[N_LAYERS_KEY] = len(config.network.hidden)
    for i, layer in enumerate(config.network.hidden):
        for name in LAYER_FIELDS:
            state[layer_key(i, name)] = getattr(layer, name)
    return state


def widgets_to_config(state: Mapping[str, object], base: PlaygroundConfig) -> PlaygroundConfig:
    """The config the widgets show; fields without a widget value come from `base`.

    Raises ConfigError if the widgets hold an invalid combination.
    """
    tree = to_dict(base)
    for path in _leaves(tree):
        if key(path) in state:
            value = state[key(path)]
            set_path(tree, path, list(value) if isinstance(value, tuple) else value)
    n_layers = int(state.get(N_LAYERS_KEY, len(base.network.hidden)))
    default = to_dict(LayerConfig())
    hidden = []
    for i in range(n_layers):
        template = tree["network"]["hidden"][i] if i < len(base.network.hidden) else default
        hidden.append({n: state.get(layer_key(i, n), template[n]) for n in LAYER_FIELDS})
    tree["network"]["hidden"] = hidden
    return from_dict(PlaygroundConfig, tree)


def add_layer(state: MutableMapping[str, object], max_layers: int) -> None:
    """Append a hidden layer that copies the last one (or the default layer)."""
    n = int(state.get(N_LAYERS_KEY, 0))
    if n >= max_layers:
        return
    source = {name: state.get(layer_key(n - 1, name)) for name in LAYER_FIELDS} if n else {}
    default = to_dict(LayerConfig())
    for name in LAYER_FIELDS:
        value = source.get(name)
        state[layer_key(n, name)] = default[name] if value is None else value
    state[N_LAYERS_KEY] = n + 1


def remove_layer(state: MutableMapping[str, object]) -> None:
    n = int(state.get(N_LAYERS_KEY, 0))
    if n == 0:
        return
    for name in LAYER_FIELDS:
        state.pop(layer_key(n - 1, name), None)
    state[N_LAYERS_KEY] = n - 1
