"""Weights you can touch, in the real app (AppTest): choose a weight, type a value, Set; the
trainer's network holds it, the diagram and the output map are redrawn with it, training goes
on from there; a bad value is a message, not an exception, and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from playground.panels import weights as panel
from tests.playground.apptest_helpers import (
    charts,
    click,
    open_app,
    opened_after_a_step,
    session,
    steps,
)


def opened(query: dict | None = None):
    return opened_after_a_step(panel.OPEN, query)


def pick(at, label: str, value) -> None:
    """The editor's own select box (the microscope's has the same labels)."""
    box = next(w for w in at.selectbox if w.label == label and w.key.startswith(panel.PREFIX))
    box.set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]


def set_value(at, text: str) -> None:
    at.text_input(key=panel.VALUE).input(text)
    at.button(key=panel.SET).click().run()
    assert not at.exception, [e.value for e in at.exception]


def drawn(at, name: str) -> tuple:
    """What identifies the figure the live view last sent for chart `name`: its layout's and
    traces' keys (a redrawn chart with other numbers has other keys)."""
    fig = next(f for chart_id, f in charts(at) if chart_id.endswith(name))
    return fig["layout_key"], tuple(fig["data_keys"])


def shown(at) -> str:
    return " ".join(str(m.value) for m in [*at.success, *at.error]).replace("\\", "")


def test_closed_it_shows_only_its_title_and_caption():
    at = open_app()
    assert panel.TITLE in [e.label for e in at.expander]
    assert not any(w.key == panel.VALUE for w in at.text_input)
    assert any("optimizer's momentum or Adam moments" in c.value for c in at.caption)


def test_a_typed_weight_is_in_the_network_and_on_screen_and_training_goes_on():
    at = opened()
    pick(at, "Layer", 0)
    pick(at, "To neuron", 1)
    pick(at, "From (weight or bias)", 0)
    network, output = drawn(at, "network_chart"), drawn(at, "output_chart")
    set_value(at, "-3.5")
    trainer = session(at).trainer
    assert trainer.network.params["0.W"][0, 1] == -3.5
    assert "Set x₁ → hidden 1 #2" in shown(at) and "to -3.5 at step 1" in shown(at)
    assert drawn(at, "network_chart") != network
    assert drawn(at, "output_chart") != output
    assert "New value (now -3.5)" in [t.label for t in at.text_input]
    click(at, "Step")
    assert steps(at) == 2
    assert session(at).trainer.network.params["0.W"][0, 1] != -3.5  # trained from there


def test_a_bias_is_set_too():
    at = opened()
    pick(at, "Layer", 1)
    pick(at, "To neuron", 0)
    pick(at, "From (weight or bias)", 4)  # hidden 2's sources: hidden 1's 4 units, then the bias
    set_value(at, "2")
    assert session(at).trainer.network.params["1.b"][0] == 2.0


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("banana", "is not a number"),
        ("nan", "not a finite number"),
        ("inf", "not a finite number"),
        ("1e9", "out of range"),
        ("", "Type a number"),
    ],
)
def test_a_bad_value_is_a_message_and_changes_nothing(text, said):
    at = opened()
    before = session(at).trainer.network.flat_params.copy()
    network = drawn(at, "network_chart")
    set_value(at, text)
    assert said in shown(at) and "Nothing was changed" in shown(at)
    assert at.error and not at.success
    np.testing.assert_array_equal(session(at).trainer.network.flat_params, before)
    assert drawn(at, "network_chart") == network


def test_a_frozen_layer_is_marked_on_the_app_diagram():
    at = open_app({"network.frozen": "0"})
    fig = next(f for chart_id, f in charts(at) if chart_id.endswith("network_chart"))
    texts = [a.get("text", "") for a in fig["layout"]["annotations"]]
    assert "frozen" in texts and any("Frozen (not trained): hidden 1" in t for t in texts)
    dashed = [t for t in fig["data"] if t and t.get("line", {}).get("dash") == "dash"]
    assert dashed and all(t["meta"].get("frozen") for t in dashed)
