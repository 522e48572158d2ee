"""Clicks that choose: `picks.choose` turns a chart's pick tag into the choosers' widget state
and refuses a tag that names nothing in the network; in the real app (AppTest runs no
JavaScript) a tag taken from a chart as the live view sent it is handed to it on the app's session
state, as the chart's click callback does, and the page's next run shows the pick: the microscope
opens on that weight (its numbers are the engine's for it) or that training point, the weight
editor's boxes hold it."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from core import microscope as M
from playground import widget_state as W
from playground.charts import microscope as tables
from playground.charts.network_diagram import MICROSCOPE
from playground.charts.output import MICROSCOPE_POINT
from playground.charts.pick_tags import BIAS, POINT, WEIGHT, tags
from playground.panels import microscope as lens
from playground.panels import picks, runs
from playground.panels import weights as editor
from playground.panels.common import fmt
from tests.playground.apptest_helpers import click, open_app, opened_after_a_step, session
from tests.playground.test_microscope_panel import microscope_traces, ringed_at, text, whole


def wire_tags(trace: dict) -> list[dict]:
    """`pick_tags.tags` of a trace as the live view sent it (customdata a typed array)."""
    data = trace.get("customdata")
    if isinstance(data, dict):
        shape = [int(n) for n in str(data.get("shape", "-1")).split(",")]
        raw = np.frombuffer(base64.b64decode(data["bdata"]), np.dtype(data["dtype"]))
        data = raw.reshape(shape)
    return tags({"meta": trace.get("meta"), "customdata": data}) if data is not None else []


def clicked(at, chart: str, trace_name: str, **fields) -> dict:
    """Click the point of `trace_name` on `chart` whose tag holds `fields`: what the chart's
    click callback does with its tag; the page runs again (the live view reruns it)."""
    trace = next(t for t in whole(at, chart)["data"] if t["name"] == trace_name)
    tag = next(t for t in wire_tags(trace) if fields.items() <= t.items())
    trainer = session(at).trainer
    space, points = M.weights_of(trainer), len(M.next_step(trainer).X_train)
    assert picks.choose(at.session_state, tag, space, points)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return tag


def test_a_clicked_link_opens_the_microscope_on_that_weight():
    at = click(open_app(), "Step")
    assert not at.session_state[lens.OPEN]
    tag = clicked(at, "network_chart", "inputs → hidden 1", to=2, **{"from": 1})
    assert tag == {"kind": "weight", "layer": 0, "from": 1, "to": 2}
    assert at.session_state[lens.OPEN] and "Forward pass" in text(at)  # opened
    boxes = {b.label: b.value for b in at.selectbox if b.key.startswith("microscope")}
    assert boxes["Layer"] == 0 and boxes["To neuron"] == 2 and boxes["From (weight or bias)"] == 1
    trainer = session(at).trainer
    view = M.examine(trainer, M.next_step(trainer).indices[0], M.WeightChoice(0, 1, 2))
    shown = text(at)
    assert "x₂ → hidden 1 #3" in shown
    assert all(line in shown for line in tables.gradient_lines(view))  # ∂L/∂w of that weight
    marks = microscope_traces(whole(at, "network_chart"))
    assert f"{MICROSCOPE}: x₂ → hidden 1 #3" in marks


def test_a_clicked_neuron_sets_the_open_weight_editor_on_its_bias():
    at = opened_after_a_step(editor.OPEN)
    clicked(at, "network_chart", "output: 1 sigmoid_bce", to=0)
    boxes = {b.label: b.value for b in at.selectbox if b.key.startswith(editor.PREFIX)}
    assert boxes == {"Layer": 2, "To neuron": 0, "From (weight or bias)": 2}  # after 2 units
    bias = session(at).trainer.weights()[2][1][0]
    assert at.text_input(key=editor.VALUE).label == f"New value (now {fmt(bias, 6)})"
    assert not at.session_state[lens.OPEN]  # the open editor shows it: the microscope stays shut


def test_a_clicked_training_point_is_the_microscopes_point():
    at = click(open_app(), "Step")
    trainer = session(at).trainer
    batch = set(M.next_step(trainer).indices)
    trace = next(t for t in whole(at, "output_chart")["data"] if t["name"] == "train: class 0")
    index = next(t["index"] for t in wire_tags(trace) if t["index"] not in batch)
    clicked(at, "output_chart", "train: class 0", index=index)
    assert at.session_state[lens.OPEN]
    assert at.radio(key=lens.POINT_SOURCE).value == lens.ANY_POINT
    assert at.number_input(key=lens.POINT_INDEX).value == index
    assert f"point {index} (not in the next batch)" in text(at)
    raw = session(at).dataset.raw_train
    np.testing.assert_allclose(ringed_at(whole(at, "output_chart")), raw[index], rtol=1e-6)


def test_a_tag_that_names_nothing_leaves_the_page_as_it_was():
    at = click(open_app(), "Step")
    trainer = session(at).trainer
    space, points = M.weights_of(trainer), len(M.next_step(trainer).X_train)
    for tag in ({"kind": "weight", "layer": 9, "from": 0, "to": 0}, {"kind": "point", "index": -1}):
        assert not picks.choose(at.session_state, tag, space, points)
    at.run()
    assert not at.session_state[lens.OPEN]
    assert "Forward pass" not in text(at)


# --- the mapping on its own ---------------------------------------------------------------------

SPACE = (
    M.LayerWeights(0, "hidden 1", ("x₁", "x₂", M.BIAS), ("hidden 1 #1", "hidden 1 #2")),
    M.LayerWeights(1, "output", ("hidden 1 #1", "hidden 1 #2", M.BIAS), ("output #1",)),
)


def test_a_weight_tag_sets_both_choosers_and_opens_the_microscope():
    state: dict = {}
    assert picks.choose(state, {"kind": WEIGHT, "layer": 0, "from": 1, "to": 1}, SPACE, 10)
    for prefix in picks.CHOOSERS:
        assert state[f"{prefix}_layer_2x1"] == 0
        assert state[f"{prefix}_to_2x1_0"] == 1 and state[f"{prefix}_from_2x1_0"] == 1
    assert state[lens.OPEN] is True


def test_a_bias_tag_picks_the_last_source_and_a_point_the_any_point_chooser():
    state: dict = {editor.OPEN: True}
    assert picks.choose(state, {"kind": BIAS, "layer": 1, "to": 0}, SPACE, 10)
    assert state["weights_from_2x1_1"] == 2 and state["microscope_from_2x1_1"] == 2
    assert lens.OPEN not in state  # the open weight editor shows the pick
    assert picks.choose(state, {"kind": POINT, "index": 9.0}, SPACE, 10)
    assert state[lens.POINT_SOURCE] == lens.ANY_POINT and state[lens.POINT_INDEX] == 9
    assert state[lens.OPEN] is True  # only the microscope looks at points


@pytest.mark.parametrize(
    "tag",
    [
        None,
        "weight",
        [0, 1, 1],
        {"kind": "neuron", "layer": 0, "to": 0},
        {"kind": WEIGHT, "layer": 2, "from": 0, "to": 0},
        {"kind": WEIGHT, "layer": 0, "from": 2, "to": 0},  # the bias is picked as a bias
        {"kind": WEIGHT, "layer": 0, "from": 0, "to": 2},
        {"kind": WEIGHT, "layer": 0, "from": -1, "to": 0},
        {"kind": WEIGHT, "layer": 0, "from": 0.5, "to": 0},
        {"kind": WEIGHT, "layer": True, "from": 0, "to": 0},
        {"kind": WEIGHT, "layer": 0, "to": 0},
        {"kind": BIAS, "layer": "0", "to": 0},
        {"kind": POINT, "index": 10},
        {"kind": POINT, "index": float("nan")},
    ],
)
def test_a_tag_that_names_nothing_here_changes_nothing(tag):
    state: dict = {}
    assert not picks.choose(state, tag, SPACE, 10)
    assert state == {}


def test_parse_names_the_engines_weight():
    link = {"kind": WEIGHT, "layer": 1, "from": 1, "to": 0}
    assert picks.parse(link, SPACE, 5) == M.WeightChoice(1, 1, 0)
    assert picks.parse({"kind": BIAS, "layer": 0, "to": 1}, SPACE, 5) == M.WeightChoice(0, 2, 1)
    assert picks.parse({"kind": POINT, "index": 4}, SPACE, 5) == picks.PointPick(4)


# --- runs side by side ---------------------------------------------------------------------------


def test_a_click_on_another_runs_diagram_selects_that_run_and_picks_in_it():
    """Side by side, a link clicked on run A's diagram while B is selected: A becomes the run
    the sidebar edits (its widgets show A's settings) and the microscope opens on that weight
    of A's network; a training point clicked on B's map selects B again."""
    at = open_app({"preset": "compare_vanishing_gradients"})
    click(at, "Step")
    ours = session(at)
    runs.show_run(ours, "C", at.session_state)  # as the "Edit run" radio does
    at.run()
    assert ours.selected == "C"
    weight_trace = next(
        t for t in whole(at, "network_chart_A")["data"] if t["name"] == "inputs → hidden 1"
    )
    tag = next(t for t in wire_tags(weight_trace) if t["to"] == 1)
    assert picks.pick(at.session_state, ours, tag, "A")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert ours.selected == "A"
    assert next(r for r in at.radio if r.label == "Edit run").value == "A"
    shown = W.config_to_widgets(ours.config)  # A's settings
    assert shown != W.config_to_widgets(next(r for r in ours.runs if r.name == "C").config)
    assert {key: at.session_state[key] for key in shown} == shown  # the sidebar shows A's
    assert at.session_state[lens.OPEN] and "Forward pass" in text(at)
    boxes = {b.label: b.value for b in at.selectbox if b.key.startswith("microscope")}
    assert (boxes["Layer"], boxes["To neuron"]) == (0, 1)
    marked = {run: microscope_traces(whole(at, f"network_chart_{run}")) for run in "ABC"}
    label = f"{MICROSCOPE}: x{'₁₂'[tag['from']]} → hidden 1 #2"
    assert label in marked["A"] and not marked["B"] and not marked["C"]  # on A's diagram alone
    point_trace = next(
        t for t in whole(at, "output_chart_B")["data"] if t["name"].startswith("train")
    )
    point = wire_tags(point_trace)[0]
    assert picks.pick(at.session_state, ours, point, "B")
    at.run()
    assert ours.selected == "B" and at.number_input(key=lens.POINT_INDEX).value == point["index"]
    raw = ours.dataset.raw_train
    np.testing.assert_allclose(
        ringed_at(whole(at, "output_chart_B")), raw[point["index"]], rtol=1e-6
    )
    assert whole(at, "output_chart_A")["data"][-1]["name"] != MICROSCOPE_POINT  # B's map alone


def test_a_tag_that_names_nothing_in_that_run_selects_nothing():
    at = open_app({"preset": "compare_vanishing_gradients"})
    ours = session(at)
    selected = ours.selected
    other = next(name for name in ours.run_names if name != selected)
    assert not picks.pick(at.session_state, ours, {"kind": WEIGHT, "layer": 99}, other)
    assert not picks.pick(at.session_state, ours, {"kind": POINT, "index": 0}, "Z")  # no run Z
    assert ours.selected == selected
