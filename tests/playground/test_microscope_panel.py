"""The backprop microscope in the real app (AppTest): open it, pick a point and a weight, and the
numbers on screen are the engine's for this session's trainer (float64); the network diagram
marks the weight and its path, the output map rings the point; with several runs it examines the
run the sidebar edits."""

from __future__ import annotations

import numpy as np
import pytest

from core import microscope as M
from playground.charts.microscope import num
from playground.charts.network_diagram import MICROSCOPE
from playground.charts.output import MICROSCOPE_POINT
from playground.live import LIVE_VIEW
from playground.panels import microscope as panel
from playground.panels.runs import TIME_KEY
from tests.playground.apptest_helpers import (
    charts,
    click,
    open_app,
    opened_after_a_step,
    session,
    values,
)

FLOAT64 = {"network.dtype": "float64", "network.hidden": "4:tanh:do0.2,3:sigmoid:do0.2"}


def opened(query: dict | None = None):
    return opened_after_a_step(panel.OPEN, query)


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


# --- the diagram and the map mark what it looks at -----------------------------------------------


def whole(at, name: str) -> dict:
    """Chart `name` as a whole frame sends it (a frame leaves out what did not change)."""
    at.session_state[f"{LIVE_VIEW}__liveview"][0].full = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return next(fig for chart_id, fig in charts(at) if chart_id.endswith(name))


def ringed_at(fig: dict) -> np.ndarray:
    """Where the output map rings the microscope's point (its last trace)."""
    ring = fig["data"][-1]
    assert ring["name"] == MICROSCOPE_POINT
    return np.concatenate([values(ring["x"]), values(ring["y"])])


def now(at) -> None:
    """Show the network as it is now: the time-travel slider to its newest step. (A second Step
    while paused leaves the slider at the step it showed, so the page shows that step "as it was"
    and marks nothing: see the strict xfail below.)"""
    at.select_slider(key=TIME_KEY).set_value(session(at).trainer.step_count).run()
    assert not at.exception, [e.value for e in at.exception]


def microscope_traces(fig: dict) -> dict[str, dict]:
    return {t["name"]: t for t in fig["data"] if t["name"].startswith(MICROSCOPE)}


def test_the_diagram_marks_the_weight_and_the_map_rings_the_point_as_step_moves_on():
    at = opened()
    pick(at, "Point of the batch", 3)
    pick(at, "Layer", 0)
    pick(at, "To neuron", 2)
    pick(at, "From (weight or bias)", 1)
    trainer = session(at).trainer
    point = M.next_step(trainer).indices[3]
    diagram = whole(at, "network_chart")
    marks = microscope_traces(diagram)
    link = marks[f"{MICROSCOPE}: x₂ → hidden 1 #3"]
    assert list(values(link["x"])) == [0, 1] and {
        f"{MICROSCOPE} outline",
        f"{MICROSCOPE} path",
    } <= set(marks)
    labels = [a["text"] for a in diagram["layout"]["annotations"] if a.get("name") == MICROSCOPE]
    assert labels == [f"<b>{MICROSCOPE}:</b> x₂ → hidden 1 #3"]
    raw = session(at).dataset.raw_train
    np.testing.assert_allclose(ringed_at(whole(at, "output_chart")), raw[point], rtol=1e-6)

    click(at, "Step")  # the next batch's fourth point, the same weight
    now(at)
    moved = M.next_step(session(at).trainer).indices[3]
    assert moved != point  # the default data are shuffled: a new batch, new points
    np.testing.assert_allclose(ringed_at(whole(at, "output_chart")), raw[moved], rtol=1e-6)
    assert f"{MICROSCOPE}: x₂ → hidden 1 #3" in microscope_traces(whole(at, "network_chart"))

    pick(at, "From (weight or bias)", 2)  # hidden 1 #3's bias: its neuron ringed, no link
    marks = microscope_traces(whole(at, "network_chart"))
    assert set(marks) == {f"{MICROSCOPE} path"}

    at.session_state[panel.OPEN] = False  # closed: nothing marked
    assert not microscope_traces(whole(at, "network_chart"))
    assert MICROSCOPE_POINT not in [t["name"] for t in whole(at, "output_chart")["data"]]


def test_a_second_step_while_paused_still_shows_the_marks():
    at = opened()  # one Step taken
    click(at, "Step")
    assert MICROSCOPE_POINT in [t["name"] for t in whole(at, "output_chart")["data"]]


def test_a_point_chosen_by_index_is_ringed_and_the_defaults_mark_before_any_choice():
    at = opened()
    diagram = whole(at, "network_chart")  # the defaults: the output layer's first weight
    assert f"{MICROSCOPE}: hidden 2 #1 → output #1" in microscope_traces(diagram)
    pick(at, "Point from", panel.ANY_POINT)
    at.number_input(key=panel.POINT_INDEX).set_value(17).run()
    raw = session(at).dataset.raw_train
    np.testing.assert_allclose(ringed_at(whole(at, "output_chart")), raw[17], rtol=1e-6)


# --- several runs: it examines the run the sidebar edits ------------------------------------------


def test_with_runs_side_by_side_it_shows_the_selected_runs_numbers():
    from playground import widget_state as W

    at = open_app()
    click(at, "Compare")  # B, a clone of A (same data and initial weights), is selected
    lr = W.key("training.optimizer.learning_rate")
    slider = at.select_slider(key=lr)
    slider.set_value(10 * slider.value).run()  # B learns ten times faster
    click(at, "Step")
    click(at, "Step")
    ex = session(at).experiment
    assert ex["A"].trainer.lr != ex["B"].trainer.lr
    at.session_state[panel.OPEN] = True
    at.run()
    pick(at, "Layer", 0)
    pick(at, "To neuron", 1)
    pick(at, "From (weight or bias)", 0)
    weight = M.WeightChoice(0, 0, 1)
    seen = {name: M.examine(ex[name].trainer, None, weight) for name in ("A", "B")}
    assert num(seen["A"].weight_value) != num(seen["B"].weight_value)  # B learnt faster
    shown = text(at)
    assert f"now {num(seen['B'].weight_value)}" in shown
    assert f"now {num(seen['A'].weight_value)}" not in shown
    assert f"L = {num(seen['B'].batch_loss)}" in shown
    at.radio(key="edit_run").set_value("A").run()
    shown = text(at)
    assert f"now {num(seen['A'].weight_value)}" in shown
    assert f"L = {num(seen['A'].batch_loss)}" in shown
