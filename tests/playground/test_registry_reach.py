"""A registry entry is the only edit a new activation needs: the config, the sidebar's options,
the links and the engine all pick it up (issue 9)."""

from __future__ import annotations

import numpy as np
import pytest

from core import activations
from core.config import LayerConfig, PlaygroundConfig
from core.data import load_dataset
from core.trainer import Trainer
from playground.url_state import config_to_query, query_to_state
from tests.playground.apptest_helpers import open_app


def _cube(c):
    """y = x^3 / 3 (bounded nowhere);  dy/dx = x^2."""
    return (lambda x: x * x * x / c.three), (lambda x, y: x * x)


CUBE = activations.ActivationInfo(
    "cube", "x^3 / 3", "x^2", "smooth", (-np.inf, np.inf), "xavier_uniform", _cube
)


@pytest.fixture
def cube(monkeypatch):
    monkeypatch.setitem(activations.REGISTRY, "cube", CUBE)
    return "cube"


def _with_cube() -> PlaygroundConfig:
    config = PlaygroundConfig()
    config.network.hidden = [LayerConfig(3, "cube"), LayerConfig(2, "tanh")]
    return config


def test_a_new_activation_is_a_valid_config_choice(cube):
    config = PlaygroundConfig.from_json(_with_cube().to_json())
    assert config.network.hidden[0].activation == cube


def test_an_unregistered_activation_is_refused():
    with pytest.raises(ValueError, match="cube"):
        PlaygroundConfig.from_json(_with_cube().to_json())


def test_a_new_activation_travels_through_a_link(cube):
    config = _with_cube()
    state = query_to_state(config_to_query(config))
    assert state.notices == [] and state.config == config


def test_a_new_activation_trains(cube):
    config = _with_cube()
    trainer = Trainer(config, load_dataset(config.data))
    trainer.run(5, max_steps=20)
    assert trainer.step_count == 20
    assert np.isfinite(trainer.evaluate()["train_loss"])


def test_a_new_activation_is_offered_in_the_sidebar(cube):
    at = open_app()
    boxes = [s for s in at.selectbox if s.label == "Activation"]
    assert boxes and all(cube in box.options for box in boxes)
    boxes[0].set_value(cube).run()
    assert not at.exception
    assert at.session_state["session"].config.network.hidden[0].activation == cube
