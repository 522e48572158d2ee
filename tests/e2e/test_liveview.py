"""The closed-loop live view in headless Chromium: frames are pulled by the browser (no timer),
charts keep their zoom while they update, Pause freezes at once, a hidden tab rests, and a
chart that fails to draw is redrawn whole.

Screenshots go to artifacts/screenshots/ and are meant to be looked at.
"""

import time

import pytest

from tests.e2e.browser_helpers import click, open_app, screenshot, steps, wait_idle, wait_until
from tests.e2e.test_explain import shot

pytestmark = pytest.mark.e2e

STATS_JS = "() => window.__bpLiveviewStats"
# Every chart's newest frame drew without error (a failed one was repaired by a whole frame).
REPAIRED_JS = """() => [...window.__bpLiveview.charts.values()].every(
  (view) => view.drawnFrame > 0 && view.okFrame === view.drawnFrame)"""
X_RANGE_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  return gd && gd._fullLayout ? [...gd._fullLayout.xaxis.range] : null;
}"""
LINES_JS = """(id) => [...document.querySelectorAll(
  `.bp-liveview-chart[data-chart="${id}"] path.js-line`)].map((p) => p.getAttribute("d"))"""
LIGHT_JS = "(id) => window.__bpLiveviewStats.light[id] || 0"  # parts drawn without Plotly
ZOOMED_JS = """(id) => document.querySelector(
  `.bp-liveview-chart[data-chart="${id}"]`)._fullLayout.xaxis.autorange === false"""
DRAG_BOX_JS = """(id) => {
  const r = document.querySelector(
    `.bp-liveview-chart[data-chart="${id}"] .nsewdrag`).getBoundingClientRect();
  return [r.left, r.top, r.width, r.height];
}"""
FRAME_JS = """(id) => Number(
  document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`).dataset.frame)"""
LATER_JS = """([first, second]) => {
  const frame = (id) => Number(
    document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`).dataset.frame);
  return frame(first) > frame(second);
}"""
HIDE_JS = """(hidden) => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def _play(page, app_url):
    open_app(page, app_url)
    wait_until(lambda: page.evaluate(STATS_JS) and page.evaluate(STATS_JS)["frames"] >= 1)
    click(page, "Play")
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=10_000)
    wait_until(lambda: steps(page) > 0, timeout=30)


def _frozen_within(page, seconds: float) -> float:
    """Seconds until "Steps" stops changing (it must hold for 1.5 s), at most `seconds`."""
    start = time.monotonic()
    last, since = steps(page), time.monotonic()
    while time.monotonic() - since < 1.5:
        time.sleep(0.05)
        now = steps(page)
        if now != last:
            last, since = now, time.monotonic()
            assert since - start <= seconds, f"Steps still changing {since - start:.2f} s later"
    return since - start


def test_the_browser_pulls_frames_and_a_hidden_tab_rests(page, app_url):
    _play(page, app_url)
    before, frames = steps(page), page.evaluate(STATS_JS)["frames"]
    time.sleep(2)
    assert steps(page) > before
    assert page.evaluate(STATS_JS)["frames"] > frames  # frames drawn and acked
    page.evaluate(HIDE_JS, True)  # no ack while hidden: nothing trains (no timer drives it)
    _frozen_within(page, 2.0)
    hidden_at = steps(page)
    time.sleep(1.5)
    assert steps(page) == hidden_at
    page.evaluate(HIDE_JS, False)
    wait_until(lambda: steps(page) > hidden_at, timeout=15)
    screenshot(page, "liveview_01_playing")
    click(page, "Pause")
    assert page.js_errors == []


def test_zoom_survives_three_seconds_of_training(page, app_url):
    _play(page, app_url)
    chart = "loss_chart"

    def trained_a_while():  # some curve to zoom into
        x = page.evaluate(X_RANGE_JS, chart)
        return x and x[1] - x[0] > 50

    wait_until(trained_a_while, timeout=30)
    # Zoom as a user does: drag across the left half of the plot (an x-only box zoom).
    left, top, width, height = page.evaluate(DRAG_BOX_JS, chart)
    page.mouse.move(left + 0.1 * width, top + height / 2)
    page.mouse.down()
    page.mouse.move(left + 0.3 * width, top + height / 2, steps=5)
    page.mouse.move(left + 0.5 * width, top + height / 2, steps=5)
    page.mouse.up()
    wait_until(lambda: page.evaluate(ZOOMED_JS, chart))
    zoom = page.evaluate(X_RANGE_JS, chart)
    page.mouse.move(2, 2)  # off the chart: light redraws (under the pointer, Plotly's)
    lines, light, steps_before = (
        page.evaluate(LINES_JS, chart),
        page.evaluate(LIGHT_JS, chart),
        steps(page),
    )
    time.sleep(3)
    assert steps(page) > steps_before
    assert page.evaluate(LINES_JS, chart) != lines  # the curves moved on
    assert page.evaluate(LIGHT_JS, chart) > light  # drawn through the zoomed axes
    assert page.evaluate(X_RANGE_JS, chart) == pytest.approx(zoom)  # the zoom stayed
    assert page.evaluate(STATS_JS)["failed"] == 0  # no part went missing, nothing redrawn whole
    screenshot(page, "liveview_02_zoom_kept")
    click(page, "Pause")
    assert page.js_errors == []


def test_pause_freezes_steps(page, app_url):
    """Pause stops training (how fast is the benchmark's figure: tests.benchmarks.app_live)."""
    _play(page, app_url)
    time.sleep(1)
    click(page, "Pause")
    _frozen_within(page, 5.0)
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=10_000)
    wait_idle(page)
    assert page.js_errors == []


def test_a_chart_that_fails_to_draw_is_redrawn_whole(page, app_url):
    _play(page, app_url)
    failed = page.evaluate(STATS_JS)["failed"]
    # As if the frames that carried its layout were lost: the next frame names a layout the
    # browser lacks, the chart fails, and the browser asks for a whole frame.
    page.evaluate("() => window.__bpLiveview.layouts.delete('output_chart')")
    wait_until(lambda: page.evaluate(STATS_JS)["failed"] > failed, timeout=15)
    broke_at = steps(page)
    wait_until(
        lambda: (
            page.evaluate(
                "() => { const c = window.__bpLiveview.charts.get('output_chart');"
                " return c.okFrame > 0 && c.okFrame === c.drawnFrame && !c.broken; }"
            )
            and steps(page) > broke_at
        ),
        timeout=15,
    )
    screenshot(page, "liveview_03_redrawn")
    click(page, "Pause")


CALCDATA_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  const images = (gd._fullLayout.images || []).map((image) => image.source);
  const shown = [...gd.querySelectorAll("image")].map(
    (el) => el.getAttributeNS("http://www.w3.org/1999/xlink", "href"));
  return {frame: Number(gd.dataset.frame), traces: gd.calcdata.length, images, shown};
}"""
MARK_CALCDATA_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  window.__bpMarked = gd.calcdata.map((trace) => trace);
}"""
SAME_CALCDATA_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  return gd.calcdata.map((trace, i) => trace === window.__bpMarked[i]);
}"""


def test_while_training_the_output_map_redraws_its_image_and_not_its_points(page, app_url):
    """The map's background travels as an image while training, and its points' traces are
    unchanged from frame to frame: the image alone is swapped (no Plotly.react pass over the
    chart, its points keep their calculated data) and the image shown is the newest."""
    _play(page, app_url)
    chart = "output_chart"
    wait_until(lambda: page.evaluate(CALCDATA_JS, chart)["images"], timeout=15)
    before = page.evaluate(CALCDATA_JS, chart)
    swapped = page.evaluate(STATS_JS)["swapped"]
    page.evaluate(MARK_CALCDATA_JS, chart)
    wait_until(lambda: page.evaluate(CALCDATA_JS, chart)["frame"] >= before["frame"] + 3)
    after = page.evaluate(CALCDATA_JS, chart)
    assert after["images"] != before["images"]  # the map moved on
    assert after["shown"] == after["images"] != before["shown"]  # and the page shows it
    assert page.evaluate(STATS_JS)["swapped"] >= swapped + 2  # by swapping the image alone
    assert page.evaluate(SAME_CALCDATA_JS, chart) == [True] * before["traces"]
    map_box = page.locator(f'.bp-liveview-chart[data-chart="{chart}"]')
    shot(map_box, "liveview_04_output_map_training")  # crisp cells, as the heatmap's
    click(page, "Pause")
    wait_until(lambda: not page.evaluate(CALCDATA_JS, chart)["images"], timeout=15)
    wait_idle(page)
    shot(map_box, "liveview_05_output_map_paused")  # paused: the heatmap (with its hover)
    assert page.js_errors == []


def test_fast_frames_redraw_the_map_and_metrics_between_streamlit_frames(page, app_url):
    """Served by playground/server.py, most frames are fast (a message on the frame socket, no
    Streamlit run): the output map and the metrics move on in each, the loss curves and the
    diagram in one out of a few (`live.FAST_CADENCE`), mostly by light redraws (liveview.js
    draws their lines and fills itself), the inspection charts in Streamlit frames."""
    _play(page, app_url)
    before = page.evaluate(STATS_JS)
    gradients = page.evaluate(FRAME_JS, "gradients_chart")
    shown, curves, started = set(), set(), time.monotonic()
    while time.monotonic() - started < 4:
        shown.add(steps(page))
        curves.add(page.evaluate(FRAME_JS, "loss_chart"))
        time.sleep(0.02)
    after = page.evaluate(STATS_JS)
    fast, streamlit = after["fast"] - before["fast"], after["acks"] - before["acks"]
    assert fast > 2 * streamlit
    assert after["socket"] - before["socket"] >= fast and after["fetched"] == 0  # no fetch
    assert len(shown) > streamlit + 2  # the metrics moved on between Streamlit frames
    assert len(curves) > streamlit + 1  # and the curves, in one fast frame out of a few
    for chart in ("loss_chart", "network_chart"):  # lightly redrawn while training
        light = before["light"].get(chart, 0)
        wait_until(lambda c=chart, n=light: page.evaluate(LIGHT_JS, c) >= n + 2, timeout=20)
    wait_until(lambda: page.evaluate(FRAME_JS, "gradients_chart") > gradients, timeout=10)
    wait_until(lambda: page.evaluate(LATER_JS, ["output_chart", "loss_chart"]))  # a fast one
    click(page, "Pause")
    _frozen_within(page, 5.0)
    # A chart part that names a layout or trace the page never received fails to draw and
    # asks for a whole frame. Seen twice in full e2e runs, every chart at once: the Pause
    # click's page run had Streamlit drop a fragment run's unsent frame (its frame is now
    # whole: test_a_page_run_after_a_fragment_or_fast_frame_sends_every_chart_whole). What
    # must hold whatever the cause is that such a chart is repaired, not stuck.
    failed = page.evaluate(STATS_JS)["failed"]
    if failed:
        print(f"{failed} chart parts failed to draw; repaired?")
    wait_until(lambda: page.evaluate(REPAIRED_JS), timeout=15)
    assert page.js_errors == []


def test_where_the_frame_socket_is_refused_fast_frames_come_by_fetch(page, app_url):
    """A proxy that closes the frame socket (as one without WebSocket support would): the page
    falls back to fetching its fast frames, and the live view goes on as fast as before."""
    page.route_web_socket("**/bp/frame", lambda socket: socket.close())
    _play(page, app_url)
    wait_until(lambda: page.evaluate(STATS_JS)["fetched"] > 10, timeout=20)
    before = page.evaluate(STATS_JS)
    time.sleep(2)
    after = page.evaluate(STATS_JS)
    assert after["socket"] == 0
    assert after["fast"] - before["fast"] > 2 * (after["acks"] - before["acks"])
    assert after["fetched"] >= after["fast"]  # every fast frame drawn was asked by fetch
    click(page, "Pause")
    _frozen_within(page, 5.0)
    assert page.evaluate(STATS_JS)["failed"] == 0
    assert page.js_errors == []


INSPECTION = ("gradients_chart", "gradient_heatmap_chart", "activations_chart", "weights_chart")
INSPECTION += ("update_ratio_chart",)
DRAWN_JS = """(id) => {
  const gd = document.querySelector(`.bp-liveview-chart[data-chart="${id}"]`);
  return gd && gd.dataset.frame ? Number(gd.dataset.frame) : -1;
}"""  # the newest frame a chart drew; -1 before it is on the page
ROWS_JS = """(id) => [...document.querySelectorAll(
  `.bp-liveview-chart[data-chart="${id}"] .ytick text`)]
  .map((t) => [t.getBoundingClientRect().top, t.textContent])
  .sort((a, b) => a[0] - b[0]).map((row) => row[1])"""  # a chart's y labels, top first


def test_all_inspection_views_at_once_stay_live_while_training(page, app_url):
    """The "All" view shows every inspection chart at once, and each redraws while the network
    trains (with the Streamlit frames, every few seconds), beside the live map and curves."""
    open_app(page, app_url)
    page.locator("[data-testid=stButtonGroup] button", has_text="All").first.click()
    wait_idle(page)
    wait_until(lambda: all(page.evaluate(DRAWN_JS, c) >= 0 for c in INSPECTION), timeout=20)
    click(page, "Play")
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=10_000)
    wait_until(lambda: steps(page) > 0, timeout=30)
    drawn = {chart: page.evaluate(DRAWN_JS, chart) for chart in INSPECTION}
    wait_until(lambda: all(page.evaluate(DRAWN_JS, c) > drawn[c] for c in INSPECTION), timeout=30)
    assert page.evaluate(STATS_JS)["failed"] == 0
    # Drawn empty on opening, then with data: the heatmap's first layer is still on top.
    assert page.evaluate(ROWS_JS, "gradient_heatmap_chart") == ["hidden 1", "hidden 2", "output"]
    screenshot(page, "liveview_06_all_views_training")
    click(page, "Pause")
    assert page.js_errors == []
