"""The configuration round-trips through the URL; bad parameters fall back with a notice."""

from core.config import LayerConfig, PlaygroundConfig
from playground.presets import load_preset, preset_names
from playground.url_state import (
    config_to_query,
    hidden_to_spec,
    query_to_state,
    spec_to_hidden,
)


def test_default_config_has_an_empty_query():
    assert config_to_query(PlaygroundConfig()) == {}


def test_every_preset_round_trips_through_the_url():
    for name in preset_names():
        config = load_preset(name)
        params = config_to_query(config)
        state = query_to_state(params)
        assert state.notices == [], (name, state.notices)
        restored = state.config
        restored.title, restored.notes = config.title, config.notes
        assert restored == config, name


def test_hidden_layer_spec_round_trip():
    layers = [
        LayerConfig(8, "relu", batch_norm=True, dropout=0.2),
        LayerConfig(3, "tanh", kind="maxout", maxout_pieces=3),
        LayerConfig(1, "prelu"),
    ]
    spec = hidden_to_spec(layers)
    assert spec == "8:relu:bn:do0.2,3:tanh:maxout3,1:prelu"
    assert [LayerConfig(**d) for d in spec_to_hidden(spec)] == layers
    assert spec_to_hidden("none") == []


def test_values_are_parsed_to_their_types():
    state = query_to_state(
        {
            "data.dataset": "xor",
            "data.noise": "20",
            "data.features": "x1,x2,x1x2",
            "training.batch_size": "30",
            "training.early_stopping.enabled": "true",
            "network.hidden": "6:relu,6:relu",
        }
    )
    assert state.notices == []
    c = state.config
    assert c.data.dataset == "xor" and c.data.noise == 20.0
    assert c.data.features == ["x1", "x2", "x1x2"]
    assert c.training.batch_size == 30 and c.training.early_stopping.enabled is True
    assert [layer.units for layer in c.network.hidden] == [6, 6]


def test_bad_parameters_fall_back_to_defaults_with_notices():
    state = query_to_state(
        {
            "data.dataset": "<script>alert(1)</script>",
            "training.optimizer.learning_rate": "1e9",
            "training.batch_size": "ten",
            "network.hidden": "999:relu",
            "nonsense": "1",
            "data.noise": "10",
        }
    )
    default = PlaygroundConfig()
    assert state.config.data.dataset == default.data.dataset
    assert state.config.training.optimizer.learning_rate == default.training.optimizer.learning_rate
    assert state.config.network.hidden == default.network.hidden
    assert state.config.data.noise == 10.0  # the one good parameter is kept
    joined = " ".join(state.notices)
    for name in ("data.dataset", "learning_rate", "batch_size", "network.hidden", "nonsense"):
        assert name in joined
    assert len(state.notices) == 5


def test_head_that_does_not_fit_the_task_is_replaced_with_a_notice():
    state = query_to_state({"network.task": "regression"})
    assert state.config.network.task == "regression"
    assert state.config.network.head == "linear_mse"
    assert any("does not fit" in n for n in state.notices)


def test_hide_sections_and_unknown_sections():
    state = query_to_state({"hide": "data,network,bogus"})
    assert state.hidden_sections == ("data", "network")
    assert any("bogus" in n for n in state.notices)


def test_too_many_or_too_long_parameters_are_refused():
    many = {f"p{i}": "1" for i in range(200)}
    assert query_to_state(many).config == PlaygroundConfig()
    long = query_to_state({"data.dataset": "x" * 5000})
    assert long.config == PlaygroundConfig() and "too long" in long.notices[0]


def test_list_values_from_streamlit_take_the_first():
    state = query_to_state({"data.dataset": ["spiral", "xor"]})
    assert state.config.data.dataset == "spiral"
