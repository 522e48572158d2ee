"""The views that explain, in a real Chromium: the training doctor names the dead units of the
ReLU circle at learning rate 10, the backprop microscope writes out the chain rule, marks its
weight's path on the network diagram and its point on the output map, and moves on with Step, and
a weight typed into "Edit a weight" is drawn at once and trained from there.

Screenshots go to artifacts/screenshots/explain_*.png and are meant to be looked at. Everything
is awaited (wait_until), never read once after a fixed sleep: the CI machine is loaded.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser_helpers import (
    click,
    exception_boxes,
    open_app,
    open_list,
    screenshot,
    steps,
    wait_idle,
    wait_until,
)
from tests.e2e.server import ARTIFACTS

pytestmark = pytest.mark.e2e

RELU_CIRCLE_AT_LR_10 = "?network.hidden=4:relu,2:relu&training.optimizer.learning_rate=10"
DEAD = "every unit of hidden 1 and hidden 2 is dead: the learning rate is too high"
SATURATED = "sit at the flat ends of the sigmoid or tanh"  # the doctor's saturated finding

CHART_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  if (!gd || !gd._fullData) return null;
  return JSON.stringify(gd._fullData.map(t => [t.name, t.line && t.line.width,
    t.marker && t.marker.color, t.z, t.customdata]));
}"""
MICROSCOPE_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  if (!gd || !gd._fullData || !gd._fullLayout) return null;
  const traces = gd._fullData.filter(t => (t.name || "").startsWith("microscope"))
    .map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}));
  const notes = (gd._fullLayout.annotations || []).filter(a => a.name === "microscope")
    .map(a => a.text);
  const rings = (gd._fullLayout.shapes || []).filter(s => s.name === "microscope ring").length;
  return {traces, notes, rings};
}"""
LINK_WEIGHTS_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  if (!gd || !gd._fullData) return null;
  return gd._fullData.filter(t => t.meta && t.meta.links !== undefined)
    .flatMap(t => Array.from(t.customdata || [], row => Number(row[0])));
}"""


def shot(locator, name: str) -> None:
    """A screenshot of one part of the page (next to the whole page's)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def expander(page, title: str):
    return page.locator('[data-testid="stExpander"]').filter(has_text=title).first


def open_expander(page, title: str):
    box = expander(page, title)
    box.get_by_text(title, exact=True).click()
    wait_idle(page)
    return box


def choose(box, label: str, option: str) -> None:
    """Pick `option` in the select box labelled `label` inside `box`."""
    select = box.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    open_list(select, box.page.get_by_role("option", name=option, exact=True)).click()
    wait_idle(box.page)
    wait_until(lambda: option in shown_choice(select), timeout=20)


def choose_nth(box, label: str, index: int) -> str:
    """Pick the option at `index` (0-based) of the select box labelled `label`; its text."""
    select = box.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    option = open_list(select, box.page.get_by_role("option").nth(index))
    name = option.inner_text().strip()
    option.click()
    wait_idle(box.page)
    wait_until(lambda: name in shown_choice(select), timeout=20)
    return name


def shown_choice(select) -> str:
    """What a select box shows as chosen (an input's value or its text)."""
    inputs = select.locator("input")
    value = inputs.first.input_value() if inputs.count() else ""
    return f"{select.inner_text()} {value}"


def text_of(box) -> str:
    return box.inner_text()


ZERO_CELLS_DRAWN_JS = """() => {
  const div = document.querySelector('.bp-liveview-chart[data-chart="gradient_heatmap_chart"]');
  const zeros = ((div && div.data) || []).find((trace) => trace.name === 'exactly 0');
  return Boolean(zeros) && Array.from(zeros.z).some((row) => Array.from(row).some((v) => v === 0));
}"""


def test_the_doctor_names_the_dead_units_of_the_relu_circle(page, app_url):
    open_app(page, app_url, RELU_CIRCLE_AT_LR_10)
    click(page, "Play")
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=10_000)
    wait_until(lambda: DEAD in page.inner_text("body").lower(), timeout=120, interval=0.5)
    click(page, "Pause")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=10_000)
    wait_idle(page)
    body = page.inner_text("body")
    assert "Training doctor" in body
    assert "Evidence:" in body and "Fix:" in body and "Reference:" in body
    assert exception_boxes(page) == 0
    # Zero gradients are visible as such: black cells in the heatmap, the floor marked "0".
    assert page.evaluate(ZERO_CELLS_DRAWN_JS)
    screenshot(page, "explain_01_doctor_dead_units")
    finding = page.locator('[data-testid="stAlert"]').filter(has_text="Dead ReLUs").first
    shot(finding, "explain_01_doctor_finding")
    assert page.js_errors == []


def test_the_doctor_calls_the_large_weight_sigmoid_lesson_saturated(page, app_url):
    """The lesson where saturation is real: played as a student plays it, the doctor says so
    (and the activation charts, the lesson's focus, are in view)."""
    open_app(page, app_url, "?preset=saturated_sigmoid")
    click(page, "Play")
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=10_000)
    wait_until(lambda: SATURATED in page.inner_text("body"), timeout=120, interval=0.5)
    click(page, "Pause")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=10_000)
    wait_idle(page)
    assert SATURATED in page.inner_text("body")
    assert exception_boxes(page) == 0
    screenshot(page, "explain_06_doctor_saturated")
    finding = page.locator('[data-testid="stAlert"]').filter(has_text=SATURATED).first
    shot(finding, "explain_06_doctor_saturated_finding")
    assert page.js_errors == []


def test_the_microscope_writes_out_the_chain_rule_and_step_moves_it_on(page, app_url):
    open_app(page, app_url)
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_idle(page)
    box = open_expander(page, "Backprop microscope")
    wait_until(lambda: "Chain rule" in text_of(box), timeout=30)
    choose_nth(box, "Point of the batch", 3)
    choose(box, "Layer", "hidden 1")
    choose(box, "To neuron", "hidden 1 #3")
    choose(box, "From (weight or bias)", "x₂")
    wait_until(lambda: "x₂ → hidden 1 #3" in text_of(box), timeout=20)
    before = text_of(box)
    assert "Step 2" in before and "Forward pass" in before and "Backward pass" in before
    assert "∂L/∂w" in before and "Update" in before
    assert box.locator(".katex").count() > 0  # the chain rule as formulas
    # the diagram marks the weight and its path, the map rings the point (batch position 4)
    label = "microscope: x₂ → hidden 1 #3"
    diagram = wait_until(lambda: _marked(page, "network_chart", label), timeout=30)
    assert diagram["notes"] == ["<b>microscope:</b> x₂ → hidden 1 #3"]
    assert diagram["traces"][label]["x"] == [0, 1]  # from the inputs to hidden 1
    assert "microscope path" in diagram["traces"] and diagram["rings"] >= 2 + 3
    point = re.search(r"point (\d+) \(in the next batch\)", before)
    assert point, before
    ring = wait_until(lambda: _marked(page, "output_chart", "microscope point"), timeout=30)
    assert len(ring["traces"]["microscope point"]["x"]) == 1
    screenshot(page, "explain_02_microscope")
    shot(box, "explain_02_microscope_panel")
    shot(page.locator('.bp-liveview-chart[data-chart="network_chart"]'), "explain_02_diagram")
    shot(page.locator('.bp-liveview-chart[data-chart="output_chart"]'), "explain_02_output_map")
    click(page, "Step")
    wait_until(lambda: steps(page) == 2)
    wait_until(lambda: "Step 3" in text_of(box), timeout=30)
    after = text_of(box)
    assert "x₂ → hidden 1 #3" in after  # the same weight, its next step
    assert _numbers(after) != _numbers(before)
    assert exception_boxes(page) == 0
    assert page.js_errors == []


def test_a_typed_weight_is_drawn_at_once_and_trained_from_there(page, app_url):
    open_app(page, app_url)
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_idle(page)
    diagram = wait_until(lambda: page.evaluate(CHART_JS, "network_chart"), timeout=30)
    output_map = wait_until(lambda: page.evaluate(CHART_JS, "output_chart"), timeout=30)
    box = open_expander(page, "Edit a weight")
    value = box.locator('[data-testid="stTextInput"] input')
    value.wait_for(timeout=30_000)
    choose(box, "Layer", "output")
    choose(box, "To neuron", "output #1")
    choose(box, "From (weight or bias)", "hidden 2 #1")

    value.fill("banana")
    value.press("Enter")
    wait_idle(page)
    box.get_by_role("button", name="Set", exact=True).click()
    wait_until(lambda: "Nothing was changed" in text_of(box), timeout=30)
    assert "is not a number" in text_of(box)
    assert exception_boxes(page) == 0

    value.fill("-5")
    value.press("Enter")
    wait_idle(page)
    box.get_by_role("button", name="Set", exact=True).click()
    wait_until(lambda: "to -5 at step 1" in text_of(box), timeout=30)
    wait_until(lambda: page.evaluate(CHART_JS, "network_chart") != diagram, timeout=30)
    wait_until(lambda: page.evaluate(CHART_JS, "output_chart") != output_map, timeout=30)
    weights = page.evaluate(LINK_WEIGHTS_JS, "network_chart")
    assert any(w == pytest.approx(-5.0) for w in weights), weights  # the link's hover value
    assert "New value (now -5)" in text_of(box)
    screenshot(page, "explain_03_weight_set")
    shot(box, "explain_03_weight_editor")
    shot(page.locator('.bp-liveview-chart[data-chart="network_chart"]'), "explain_03_diagram")

    click(page, "Step")
    wait_until(lambda: steps(page) == 2)
    wait_until(lambda: "New value (now -5)" not in text_of(box), timeout=30)  # trained on
    assert exception_boxes(page) == 0
    assert page.js_errors == []


def test_a_frozen_layer_is_marked_on_the_diagram(page, app_url):
    open_app(page, app_url, "?network.frozen=0")
    wait_until(lambda: page.evaluate(CHART_JS, "network_chart"), timeout=30)
    chart = page.locator('.bp-liveview-chart[data-chart="network_chart"]')
    wait_until(lambda: "frozen" in chart.inner_text(), timeout=30)
    assert "Frozen (not trained): hidden 1" in chart.inner_text()
    shot(chart, "explain_04_frozen_layer")
    assert exception_boxes(page) == 0


def _marked(page, chart: str, name: str) -> dict | None:
    """The microscope's marks on a chart as the browser drew them (traces by name, the named
    annotations' texts, the number of rings), once the trace `name` is among them."""
    found = page.evaluate(MICROSCOPE_JS, chart)
    if not found or not any(t["name"] == name for t in found["traces"]):
        return None
    return found | {"traces": {t["name"]: t for t in found["traces"]}}


def _numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)
