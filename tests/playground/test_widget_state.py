"""Widget values map onto the config and back; layers are added and removed."""

import pytest

from core.config import ConfigError, LayerConfig, PlaygroundConfig
from playground import widget_state as W
from playground.presets import load_preset, preset_names


@pytest.mark.parametrize("name", preset_names())
def test_config_survives_widgets(name):
    config = load_preset(name)
    state = W.config_to_widgets(config)
    assert W.widgets_to_config(state, PlaygroundConfig()) == config


def test_a_widget_change_reaches_the_config():
    config = PlaygroundConfig()
    state = W.config_to_widgets(config)
    state[W.key("training.optimizer.learning_rate")] = 0.3
    state[W.layer_key(1, "activation")] = "relu"
    new = W.widgets_to_config(state, config)
    assert new.training.optimizer.learning_rate == 0.3
    assert new.network.hidden[1].activation == "relu"


def test_missing_widget_values_come_from_the_base_config():
    base = PlaygroundConfig()
    base.training.optimizer.beta1 = 0.5
    assert W.widgets_to_config({}, base) == base


def test_add_and_remove_layers():
    config = PlaygroundConfig()
    config.network.hidden = [LayerConfig(7, "relu", dropout=0.1)]
    state = W.config_to_widgets(config)
    W.add_layer(state, max_layers=16)
    new = W.widgets_to_config(state, config)
    assert [layer.units for layer in new.network.hidden] == [7, 7]
    assert new.network.hidden[1] == new.network.hidden[0]
    W.remove_layer(state)
    W.remove_layer(state)
    W.remove_layer(state)  # no-op at zero layers
    assert W.widgets_to_config(state, config).network.hidden == []


def test_add_layer_respects_the_limit():
    state = {W.N_LAYERS_KEY: 2}
    W.add_layer(state, max_layers=2)
    assert state[W.N_LAYERS_KEY] == 2


def test_invalid_widget_values_raise_config_error():
    state = W.config_to_widgets(PlaygroundConfig())
    state[W.layer_key(0, "units")] = 0
    with pytest.raises(ConfigError, match=r"network.hidden\[0\].units"):
        W.widgets_to_config(state, PlaygroundConfig())
