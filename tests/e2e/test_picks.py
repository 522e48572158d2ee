"""Clicks that choose, in a real Chromium: a click on a link of the network diagram opens the
backprop microscope on that weight (and marks it), a click on a training point of the output map
makes it the microscope's point (and rings it), a click on a neuron sets the open weight editor on
its bias. The mouse clicks where the point is drawn, found from the graph's own axes
(`_fullLayout.xaxis.l2p`) and its box on the page, as a user would click it.

Screenshots go to artifacts/screenshots/picks_*.png and are meant to be looked at. Everything is
awaited (wait_until), never read once after a fixed sleep: the CI machine is loaded.
"""

from __future__ import annotations

import pytest

from tests.e2e.browser_helpers import (
    click,
    exception_boxes,
    open_app,
    screenshot,
    steps,
    wait_idle,
    wait_until,
)
from tests.e2e.test_explain import _marked, expander, open_expander, shot, shown_choice, text_of

pytestmark = pytest.mark.e2e

# Where a tagged point of chart `id` is drawn, in page pixels, with its tag: the first point of
# `kind` whose tag holds `want` (its fields) and that no other hoverable point sits within
# `room` px of (a click there picks it and nothing else). null until the graph is drawn.
POINT_JS = """([id, kind, want, room]) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  if (!gd || !gd._fullData || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const px = (x, y) => [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
  const points = [];
  for (const t of gd._fullData) {
    if (t.type !== "scatter" || t.hoverinfo === "skip" || !t.visible) continue;
    const n = (t.y || []).length;
    for (let k = 0; k < n; k++) {
      const x = t.x ? t.x[k] : t.x0 + k * t.dx;
      const [u, v] = px(x, t.y[k]);
      const pick = t.meta && t.meta.pick;
      let tag = null;
      if (pick) {
        const row = t.customdata[k];
        tag = { ...pick.tag };
        for (const [name, col] of Object.entries(pick.fields)) {
          tag[name] = Number(typeof row === "object" ? row[col] : row);
        }
      }
      points.push({ u, v, tag });
    }
  }
  const chosen = points.find((p) => p.tag && p.tag.kind === kind &&
    Object.entries(want).every(([k, v]) => p.tag[k] === v) &&
    points.every((q) => q === p || Math.hypot(q.u - p.u, q.v - p.v) > room));
  return chosen ? { x: chosen.u, y: chosen.v, tag: chosen.tag } : null;
}"""
INPUTS = ("x₁", "x₂")  # the default data's input names


def chart(page, name: str):
    return page.locator(f'.bp-liveview-chart[data-chart="{name}"]')


def click_point(page, name: str, kind: str, want: dict | None = None, room: float = 12) -> dict:
    """Click chart `name` where a point of `kind` (its tag holding `want`) is drawn apart from
    the others; its tag."""
    chart(page, name).scroll_into_view_if_needed()
    found = wait_until(lambda: page.evaluate(POINT_JS, [name, kind, want or {}, room]), timeout=30)
    page.mouse.move(found["x"], found["y"])  # hover first, as a hand does
    page.mouse.click(found["x"], found["y"])
    return found["tag"]


def test_a_clicked_link_and_a_clicked_point_are_the_microscopes(page, app_url):
    open_app(page, app_url)
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_idle(page)
    box = expander(page, "Backprop microscope")
    assert "Chain rule" not in text_of(box)  # closed

    tag = click_point(page, "network_chart", "weight", {"layer": 0})
    label = f"{INPUTS[tag['from']]} → hidden 1 #{tag['to'] + 1}"
    wait_until(lambda: f"for w = {label}" in text_of(box).replace("\\", ""), timeout=60)
    shown = text_of(box)
    assert "Forward pass" in shown and "∂L/∂w" in shown and "Step 2" in shown
    diagram = wait_until(lambda: _marked(page, "network_chart", f"microscope: {label}"), timeout=30)
    assert diagram["traces"][f"microscope: {label}"]["x"] == [0, 1]  # inputs to hidden 1
    wait_idle(page)
    screenshot(page, "picks_01_link_clicked")
    shot(chart(page, "network_chart"), "picks_01_diagram")
    shot(box, "picks_01_microscope")

    tag = click_point(page, "output_chart", "point", room=14)
    index = tag["index"]
    wait_until(lambda: f"point {index} (" in text_of(box), timeout=60)
    assert f"for w = {label}" in text_of(box).replace("\\", "")  # the weight stays
    ring = wait_until(lambda: _marked(page, "output_chart", "microscope point"), timeout=30)
    at = ring["traces"]["microscope point"]
    drawn = page.evaluate(
        """([id, index]) => {
          const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
          for (const t of gd._fullData) {
            const pick = t.meta && t.meta.pick;
            if (!pick || pick.tag.kind !== "point") continue;
            const k = Array.from(t.customdata).indexOf(index);
            if (k >= 0) return [t.x[k], t.y[k]];
          }
          return null;
        }""",
        ["output_chart", index],
    )
    assert drawn and at["x"] == pytest.approx([drawn[0]]) and at["y"] == pytest.approx([drawn[1]])
    # the ring sits on the clicked point
    wait_idle(page)
    screenshot(page, "picks_02_point_clicked")
    shot(chart(page, "output_chart"), "picks_02_output_map")
    shot(box, "picks_02_microscope")
    assert exception_boxes(page) == 0
    assert page.js_errors == []


def test_a_clicked_neuron_sets_the_open_weight_editor_on_its_bias(page, app_url):
    open_app(page, app_url)
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_idle(page)
    box = open_expander(page, "Edit a weight")
    box.locator('[data-testid="stTextInput"] input').wait_for(timeout=30_000)
    tag = click_point(page, "network_chart", "bias", {"layer": 1, "to": 1})
    assert tag == {"kind": "bias", "layer": 1, "to": 1}

    def chosen() -> list[str]:
        selects = box.locator('[data-testid="stSelectbox"]')
        return [shown_choice(selects.nth(i)) for i in range(selects.count())]

    wait_until(lambda: "hidden 2 #2" in " ".join(chosen()), timeout=60)
    layer, to, source = chosen()
    assert "hidden 2" in layer and "hidden 2 #2" in to and "bias" in source.replace("or bias", "")
    assert "Chain rule" not in text_of(expander(page, "Backprop microscope"))  # stays closed
    wait_idle(page)
    shot(box, "picks_03_weight_editor")
    assert exception_boxes(page) == 0
    assert page.js_errors == []


def test_with_runs_side_by_side_a_click_picks_in_that_run(page, app_url):
    """A link clicked on run B's diagram while A is selected: B becomes the run the sidebar
    edits, the microscope opens on that weight of B's network, and B's diagram marks it."""
    open_app(page, app_url, "?preset=compare_vanishing_gradients")
    click(page, "Step")
    wait_until(lambda: steps(page) == 1)
    wait_idle(page)
    edit_b = page.get_by_role("radio", name="B", exact=True)
    assert not edit_b.is_checked()
    box = expander(page, "Backprop microscope")
    tag = click_point(page, "network_chart_B", "weight", {"layer": 0}, room=7)
    label = f"{INPUTS[tag['from']]} → hidden 1 #{tag['to'] + 1}"
    wait_until(lambda: f"for w = {label}" in text_of(box).replace("\\", ""), timeout=60)
    wait_until(edit_b.is_checked, timeout=30)
    assert "Forward pass" in text_of(box)
    wait_until(lambda: _marked(page, "network_chart_B", f"microscope: {label}"), timeout=30)
    assert not _marked(page, "network_chart_A", f"microscope: {label}")  # B's diagram alone
    wait_idle(page)
    screenshot(page, "picks_04_run_b_clicked")
    assert exception_boxes(page) == 0
    assert page.js_errors == []
