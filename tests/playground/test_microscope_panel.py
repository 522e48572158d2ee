"""The backprop microscope in the real app (AppTest): open it, pick a point and a weight, and the
numbers on screen are the engine's for this session's trainer (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from core import microscope as M
from playground.charts.microscope import num
from playground.panels import microscope as panel
from tests.playground.apptest_helpers import click, open_app, session

FLOAT64 = {"network.dtype": "float64", "network.hidden": "4:tanh:do0.2,3:sigmoid:do0.2"}


def opened(query: dict | None = None):
    at = open_app(query)
    click(at, "Step")
    at.session_state[panel.OPEN] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pick(at, label: str, value) -> None:
    widget = next(w for w in [*at.selectbox, *at.radio] if w.label == label)
    widget.set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]


def text(at) -> str:
    """Markdown, notices and formulas as a reader sees them (Markdown escapes removed)."""
    parts = [*at.markdown, *at.info, *at.latex, *at.code]
    return "\n".join(str(p.value) for p in parts).replace("\\", "")


def table(at, first_column_header: str):
    return next(d.value for d in at.dataframe if first_column_header in d.value.columns)


def test_closed_it_shows_only_its_title():
    at = open_app()
    assert panel.TITLE in [e.label for e in at.expander]
    assert "Forward pass" not in text(at)


def test_the_numbers_on_screen_are_the_engines():
    at = opened(FLOAT64)
    pick(at, "Point of the batch", 3)
    pick(at, "Layer", 0)
    pick(at, "To neuron", 2)
    pick(at, "From (weight or bias)", 1)
    trainer = session(at).trainer
    assert trainer.step_count == 1
    shown = text(at)
    assert "Step 2" in shown and "x₂ → hidden 1 #3" in shown

    # the engine on a copy of this session's network, on the trainer's next batch
    a = trainer._pos * trainer._batch
    xb, yb = trainer._Xs[a : a + trainer._batch], trainer._ys[a : a + trainer._batch]
    twin = M.clone(trainer.network)
    loss = twin.loss(xb, yb, True)
    forward = table(at, "z")
    for block in twin.blocks[:-1]:
        rows = forward[forward["layer"] == block.name]
        np.testing.assert_allclose(rows["z"], block._act.X[:, 3], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rows["a"], block._act.Y[:, 3], rtol=1e-12, atol=1e-12)
        masks = next(layer for layer in block.layers if hasattr(layer, "_mask"))._mask
        np.testing.assert_allclose(rows["dropout m/(1−p)"], masks[:, 3], rtol=1e-12)
    output = forward[forward["layer"] == "output"]
    np.testing.assert_allclose(output["z"], twin.head.Z[:, 3], rtol=1e-12, atol=1e-12)
    assert f"L = {num(loss)}" in shown
    twin.backward()
    assert f"∂L/∂w = (1/10) Σ_i ∂L_i/∂w = {num(twin.grads['0.W'][1, 2])}" in shown
    x2 = trainer._Xs[a + 3, 1]
    assert "∂z/∂w = the input to this weight" in shown and num(x2) in shown

    # the update shown is the one Step makes
    line = next(x for x in shown.splitlines() if x.startswith("- w: "))
    before, after = line[5:].split("  (")[0].split(" → ")
    assert before == num(trainer.network.params["0.W"][1, 2])
    click(at, "Step")
    assert after == num(session(at).trainer.network.params["0.W"][1, 2])
    assert "Step 3" in text(at)


def test_a_point_outside_the_batch_and_a_bias():
    at = opened()
    pick(at, "Point from", panel.ANY_POINT)
    trainer = session(at).trainer
    point = next(i for i in range(len(trainer._X)) if i not in M.next_step(trainer).indices)
    at.number_input(key=panel.POINT_INDEX).set_value(point).run()
    pick(at, "From (weight or bias)", 2)  # the output layer's bias: after hidden 2's 2 units
    shown = text(at)
    assert f"point {point} (not in the next batch)" in shown
    assert "bias → output #1" in shown and "1 (the bias)" in shown


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_the_update_states_the_optimizers_rule_and_state(optimizer):
    at = opened({"training.optimizer.name": optimizer})
    shown = text(at)
    rule = session(at).trainer.optimizer.update_rule
    assert all(line in shown for line in rule)
    if optimizer == "adam":
        assert "m̂ = m / (1 − β₁ᵗ)" in shown and "t = 2" in shown
    else:
        assert "velocity: " in shown
