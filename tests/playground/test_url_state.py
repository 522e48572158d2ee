"""The configuration round-trips through the URL; bad parameters fall back with a notice."""

import copy
from dataclasses import fields, is_dataclass
from typing import get_type_hints

from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import OUTPUT_HEADS, LayerConfig, NetworkConfig, PlaygroundConfig, from_dict
from playground import widget_state as W
from playground.presets import load_preset, preset_names
from playground.url_state import (
    config_to_query,
    hidden_to_spec,
    link_query,
    query_to_state,
    spec_to_hidden,
)
from tests.playground.apptest_helpers import open_app, session


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
        LayerConfig(2, "relu", maxout_pieces=4),  # dense, keeps its pieces for a switch back
    ]
    spec = hidden_to_spec(layers)
    assert spec == "8:relu:bn:do0.2,3:tanh:maxout3,1:prelu,2:relu:pieces4"
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


# --- every valid configuration round-trips exactly (property-based) --------------------------


def _field_strategy(hint, meta: dict):
    """Values a field allows, read from its declared type and metadata (choices, range, items)."""
    if "choices" in meta:
        return st.sampled_from(meta["choices"])
    if "range" in meta:
        lo, hi = meta["range"]
        if meta.get("integer"):
            return st.integers(lo, hi)
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if "items" in meta:
        lo, hi = meta["length"]
        return st.lists(st.sampled_from(meta["items"]), min_size=lo, max_size=hi, unique=True)
    if hint is bool:
        return st.booleans()
    if hint is str:
        return st.text(max_size=meta.get("max_chars", 50))
    raise AssertionError(f"no strategy for {hint} {meta}: the test needs a new case")


def _dataclass_strategy(cls, special: dict):
    """A fixed dictionary of every field of `cls` (nested dataclasses recursively); fields in
    `special` (by name) take the given strategy."""
    hints = get_type_hints(cls)
    parts = {}
    for f in fields(cls):
        hint = hints[f.name]
        if f.name in special:
            parts[f.name] = special[f.name]
        elif is_dataclass(hint):
            parts[f.name] = _dataclass_strategy(hint, special)
        else:
            parts[f.name] = _field_strategy(hint, f.metadata)
    return st.fixed_dictionaries(parts)


UNITS_LIMITS = {f.name: f.metadata for f in fields(NetworkConfig)}


@st.composite
def valid_configs(draw) -> PlaygroundConfig:
    """Any valid configuration: every field drawn from its own metadata, then the cross-field
    rules (the head fits the task; frozen layers index existing layers) put right."""
    lo, hi = UNITS_LIMITS["hidden"]["length"]
    hidden = draw(st.lists(_dataclass_strategy(LayerConfig, {}), min_size=lo, max_size=hi))
    lo, hi = UNITS_LIMITS["frozen"]["length"]
    frozen = st.lists(st.integers(0, len(hidden)), min_size=lo, max_size=hi)
    special = {
        "hidden": st.just(hidden),
        "frozen": frozen,
        "title": st.just(""),
        "notes": st.just(""),
    }
    tree = draw(_dataclass_strategy(PlaygroundConfig, special))
    tree["network"]["head"] = draw(st.sampled_from(OUTPUT_HEADS[tree["network"]["task"]]))
    return from_dict(PlaygroundConfig, tree)


@settings(max_examples=200, deadline=None)
@given(valid_configs())
def test_every_valid_config_round_trips_through_the_link_exactly(config):
    state = query_to_state(config_to_query(config))
    assert state.notices == []
    assert state.config == config
    assert state.config.to_json() == config.to_json()  # same types too (1 is not 1.0)


@settings(max_examples=50, deadline=None)
@given(valid_configs(), st.sampled_from(preset_names()))
def test_a_config_written_over_a_preset_reads_back_over_it(config, name):
    base = load_preset(name)
    config.title, config.notes = base.title, base.notes
    params = config_to_query(config, preset=name, base=base)
    assert params["preset"] == name
    state = query_to_state(params, base)
    assert state.notices == [] and state.config == config


def test_an_empty_list_and_long_floats_come_back():
    """Regressions: `network.frozen=0` was refused (an empty default has no item type) and
    floats were written with 6 significant digits."""
    config = PlaygroundConfig()
    config.network.frozen = [0, 2]
    config.training.optimizer.learning_rate = 0.123456789
    config.data.noise = 12.3456789
    config.network.hidden[0].dropout = 0.123456789
    params = config_to_query(config)
    assert params["network.frozen"] == "0,2"
    assert params["data.noise"] == "12.3456789"
    state = query_to_state(params)
    assert state.notices == [] and state.config == config
    assert query_to_state({"network.frozen": "0"}).config.network.frozen == [0]


def test_hidden_layers_are_read_before_the_frozen_layers_they_index():
    state = query_to_state({"network.frozen": "4", "network.hidden": "3:relu,3:relu,3:relu,3:relu"})
    assert state.notices == [] and state.config.network.frozen == [4]


# --- a lesson keeps its text on reload -------------------------------------------------------

LESSON = "spiral_sgd"


def test_the_link_names_the_preset_while_the_config_shows_its_text():
    lesson = load_preset(LESSON)
    lesson.network.hidden[0].units = 7  # a student's change: still this lesson
    params = link_query(lesson, LESSON)
    assert params["preset"] == LESSON and params["network.hidden"].startswith("7:")
    assert query_to_state(params, load_preset(LESSON)).config == lesson
    other = copy.deepcopy(lesson)
    other.title, other.notes = "My saved run", ""  # e.g. a loaded model: not the lesson's text
    assert "preset" not in link_query(other, LESSON)
    assert query_to_state(link_query(other, LESSON)).config.network == other.network
    assert "preset" not in link_query(lesson, "no_such_lesson")


def _shown_text(at) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption]).replace("\\", "")


def _reload(at):
    """A new browser session on the link the app wrote (what a reload does)."""
    return open_app(dict(at.query_params))


def test_a_lesson_link_keeps_the_preset_after_a_change_and_a_reload_shows_its_text():
    lesson = load_preset(LESSON)
    at = open_app({"preset": LESSON})
    assert at.query_params.get("preset") == LESSON
    at.number_input(key=W.layer_key(0, "units")).set_value(7).run()
    assert at.query_params.get("preset") == LESSON
    assert str(at.query_params.get("network.hidden")).startswith("7:")
    again = _reload(at)
    assert lesson.title in _shown_text(again) and lesson.notes[:60] in _shown_text(again)
    assert session(again).config == session(at).config


def test_a_lesson_picked_from_the_menu_is_in_the_link_and_survives_a_reload():
    lesson = load_preset(LESSON)
    at = open_app()
    at.selectbox(key="preset_choice").select(LESSON).run()
    assert at.query_params.get("preset") == LESSON
    again = _reload(at)
    assert lesson.title in _shown_text(again)
    assert session(again).config == session(at).config
