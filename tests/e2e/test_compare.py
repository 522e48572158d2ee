"""Runs side by side in headless Chromium (issue 11): Compare, change B's activation, Play, the
loss chart overlays A and B in their colours, the maps and diagrams sit side by side.

Screenshots go to artifacts/screenshots/ and are meant to be looked at.
"""

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

pytestmark = pytest.mark.e2e

GROUPS_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  return gd && gd.data ? [...new Set(gd.data.map(t => t.legendgroup).filter(Boolean))] : [];
}"""
CHARTS_JS = """() => [...document.querySelectorAll('.bp-liveview-chart')].map(
  c => c.dataset.chart)"""


RUN_STEPS_JS = """() => {
  for (const t of document.querySelectorAll('[data-testid="stTable"] table')) {
    const heads = [...t.querySelectorAll('thead th')].map((h) => h.innerText.trim());
    if (heads[0] !== 'Run' || heads[1] !== 'Step') continue;
    return [...t.querySelectorAll('tbody tr')].map((tr) => tr.children[1].innerText.trim());
  }
  return null;
}"""
STATS_JS = "() => window.__bpLiveviewStats"
MAP_STEPS_JS = """() => [...document.querySelectorAll('[data-bp-text^="map step "]')].map(
  (span) => span.innerText.trim())"""


def _fast_frames_move_the_status_table_on(page) -> None:
    """Between Streamlit frames (about one a second), fast frames rewrite the runs' status
    table: its Step cells take more values than Streamlit frames arrive; the maps' headers
    follow."""
    before, seen = page.evaluate(STATS_JS), set()
    for _ in range(40):
        shown = page.evaluate(RUN_STEPS_JS)  # None while Streamlit re-renders the table
        if shown is not None:
            seen.add(tuple(shown))
        page.wait_for_timeout(50)
    streamlit = page.evaluate(STATS_JS)["acks"] - before["acks"]
    assert len(seen) > streamlit + 2, (seen, streamlit)
    wait_until(lambda: page.evaluate(MAP_STEPS_JS) == page.evaluate(RUN_STEPS_JS), timeout=5)


def _pick(page, label: str, nth: int, option: str) -> None:
    """Pick `option` in the sidebar's `nth` select box labelled `label`."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    select = sidebar.locator('[data-testid="stSelectbox"]').filter(has_text=label).nth(nth)
    open_list(select, page.get_by_role("option", name=option, exact=True)).click()
    wait_idle(page)


def test_compare_b_with_relu_overlays_the_curves(page, app_url):
    open_app(page, app_url)
    click(page, "Compare")
    wait_until(lambda: page.get_by_text("Edit run").count() >= 1, timeout=30)
    layers = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has_text="Activation"
    )
    for i in range(layers.count()):
        _pick(page, "Activation", i, "relu")
    wait_until(lambda: "activation relu" in page.inner_text("body"), timeout=30)
    click(page, "Play")
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=10_000)
    wait_until(lambda: steps(page) > 300, timeout=90)
    wait_until(lambda: {"A", "B"} <= set(page.evaluate(GROUPS_JS, "loss_chart")), timeout=30)
    shown = set(page.evaluate(CHARTS_JS))
    assert {"output_chart_A", "output_chart_B", "network_chart_A", "network_chart_B"} <= shown
    _fast_frames_move_the_status_table_on(page)
    screenshot(page, "compare_01_playing")
    click(page, "Pause")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=10_000)
    wait_idle(page)
    wait_until(lambda: page.get_by_text("Travel back in time").count() >= 1, timeout=30)
    assert exception_boxes(page) == 0
    screenshot(page, "compare_02_paused")
    # time travel: the slider a few checkpoints back, then a branch from there
    travel = page.locator('[data-testid="stExpander"]').filter(has_text="Travel back in time")
    travel.get_by_role("slider").focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    wait_idle(page)
    wait_until(lambda: page.get_by_text("as it was at step").count() >= 2, timeout=30)
    screenshot(page, "compare_03_time_travel")
    click(page, "Branch from here")
    wait_until(lambda: page.get_by_text("branch of B at step").count() >= 1, timeout=30)
    wait_until(lambda: "C" in page.evaluate(GROUPS_JS, "loss_chart"), timeout=30)
    wait_idle(page)
    assert exception_boxes(page) == 0
    screenshot(page, "compare_04_branched")
    assert page.js_errors == []
