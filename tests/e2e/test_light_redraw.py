"""Light redraws in headless Chromium, through liveview.js alone (no Streamlit): while training,
a fast frame's loss curves and network diagram are drawn without Plotly, and what they show is
what Plotly draws from the same figure; what a light redraw cannot draw goes to Plotly."""

import json
import re

import numpy as np
import pytest

from core import predictions
from playground import charts
from playground.charts.training_curves import room_end
from tests.benchmarks.chart_speed import trained
from tests.e2e.liveview_page import open_page, parts, served

pytestmark = pytest.mark.e2e

NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"
# Per trace (by index), the vertices of its drawn lines and the fills of its markers.
DRAWN_JS = """(div) => {
  const out = {};
  for (const group of div.querySelectorAll("g.trace.scatter")) {
    const index = group.__data__[0].trace.index;
    const lines = [...group.querySelectorAll("path.js-line")].map((p) => p.getAttribute("d"));
    const fills = [...group.querySelectorAll("path.point")].map((p) => p.style.fill);
    out[index] = {lines: lines.join(""), fills};
  }
  return out;
}"""
VIEW_DIV_JS = "(id) => window.__bpLiveview.charts.get(id).div"
PLOTLY_JS = """async ([part, width]) => {
  const div = document.createElement("div");
  div.style.width = width + "px";
  document.body.appendChild(div);
  const spec = part.chart;
  const layout = {...spec.layout, uirevision: "x"};
  await Plotly.newPlot(div, spec.data, layout, {displayModeBar: false, responsive: true});
  return div;
}"""


def vertices(path: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(NUMBER, path)]).reshape(-1, 2)


def drawn(page, handle) -> dict:
    return page.evaluate(DRAWN_JS, handle)


def plotly_drawn(page, frame: tuple) -> dict:
    """What Plotly alone draws from a frame's whole part, in a div of the chart's width."""
    return drawn(page, page.evaluate_handle(PLOTLY_JS, [frame[1], 560]))


def draw_all(page, frames: list) -> list:
    """Each frame's part drawn through liveview.js in turn; the frames."""
    for part, _ in frames:
        page.evaluate("(part) => window.draw(part)", part)
    return frames


def light_count(page, chart_id: str) -> int:
    return page.evaluate(f"() => window.__bpLiveviewStats.light[{json.dumps(chart_id)}] || 0")


def assert_plotly_draws_the_same(light: dict, plotly: dict) -> None:
    """Every vertex Plotly draws is one the light redraw drew (Plotly may leave out points on
    a straight stretch), in order, with the same ends; fills within one unit per channel."""
    assert light.keys() == plotly.keys()
    for index, ours in light.items():
        theirs = plotly[index]
        mine, plotly_points = vertices(ours["lines"]), vertices(theirs["lines"])
        assert len(mine) >= len(plotly_points), f"trace {index}"
        if len(plotly_points):
            np.testing.assert_allclose(mine[[0, -1]], plotly_points[[0, -1]], atol=0.02)
            at = 0
            for point in plotly_points:
                while at < len(mine) and np.abs(mine[at] - point).max() > 0.02:
                    at += 1
                assert at < len(mine), f"trace {index}: Plotly's vertex {point} not drawn"
        assert len(ours["fills"]) == len(theirs["fills"]), f"trace {index}"
        for a, b in zip(ours["fills"], theirs["fills"], strict=True):
            assert np.abs(np.array(rgb(a)) - rgb(b)).max() <= 1, f"trace {index}: {a} vs {b}"


def rgb(fill: str) -> list[int]:
    return [int(v) for v in re.findall(r"\d+", fill)[:3]]


@pytest.fixture
def light_page(page):
    with served() as url:
        open_page(page, url)
        yield page


def test_a_light_redraw_draws_the_curves_plotly_draws(light_page):
    page = light_page
    assert room_end(300) == room_end(380)  # the same room on the step axis: one layout
    frames = draw_all(page, parts(curves((300, 40, 40)), "loss_chart"))
    assert light_count(page, "loss_chart") == 2  # both later frames, without Plotly
    assert_drawn_as_plotly_draws(page, "loss_chart", frames)


def test_a_light_redraw_draws_log_curves_plotly_draws(light_page):
    """On a log axis (each curve's values reversed: the same extent, another shape)."""
    page = light_page
    first, second = curves((300,), log_y=True)[0], curves((300,), log_y=True)[0]
    for trace in second.data:
        trace.y = np.asarray(trace.y)[::-1]
    frames = draw_all(page, parts([first, second], "loss_chart"))
    assert light_count(page, "loss_chart") == 1
    assert_drawn_as_plotly_draws(page, "loss_chart", frames)


def assert_drawn_as_plotly_draws(page, chart_id: str, frames: list) -> None:
    """The chart shows what Plotly alone draws from the newest frame, not the first one."""
    div = page.evaluate_handle(VIEW_DIV_JS, chart_id)
    shown = drawn(page, div)
    assert_plotly_draws_the_same(shown, plotly_drawn(page, frames[-1]))
    assert shown != plotly_drawn(page, frames[0])
    assert page.js_errors == []


def diagrams() -> list:
    """The default network's diagram now and after a nudge that keeps every link's width level
    (all weights x 1.01) but moves the biases (their colours) and the neuron maps."""
    t = trained(None, None, 0)
    t.run(1e9, max_steps=300)
    weights = t.snapshot().weights
    maps = predictions.neuron_maps(t.network, t.dataset).neurons
    nudged = [(W * 1.01, 0.5 * b + 0.1) for W, b in weights]
    return [
        charts.network_diagram(weights, neuron_maps=maps),
        charts.network_diagram(nudged, neuron_maps=[0.5 - m for m in maps]),
    ]


def test_a_light_redraw_fills_the_diagrams_nodes_as_plotly_does(light_page):
    page = light_page
    frames = draw_all(page, parts(diagrams(), "network_chart"))
    assert light_count(page, "network_chart") == 1
    assert_drawn_as_plotly_draws(page, "network_chart", frames)
    div = page.evaluate_handle(VIEW_DIV_JS, "network_chart")
    images = "(div) => [...div.querySelectorAll('image')].map((i) => i.getAttribute('href'))"
    newest = [image["source"] for image in frames[1][1]["chart"]["layout"]["images"]]
    assert page.evaluate(images, div) == newest  # the neuron maps swapped too


def curves(steps: tuple[int, ...] = (300, 40), log_y: bool = False) -> list:
    """The default network's loss curves (with room to grow) after each of `steps` in turn."""
    t, figures = trained(None, None, 0), []
    for n in steps:
        t.run(1e9, max_steps=n)
        history = t.snapshot(weights=False).history
        figures.append(charts.loss_curves(history, room=True, log_y=log_y))
    return figures


def test_the_pointer_over_a_lightly_redrawn_chart_has_plotly_draw_it_whole(light_page):
    """Hover and clicks read Plotly's data: the pointer's arrival draws the newest frame whole."""
    page = light_page
    frames = draw_all(page, parts(curves(), "loss_chart"))
    assert light_count(page, "loss_chart") == 1
    div = page.evaluate_handle(VIEW_DIV_JS, "loss_chart")
    light = drawn(page, div)
    newest = len(frames[1][1]["chart"]["data"][0]["y"]["bdata"])
    plotly_y = "(div) => div.data.map((trace) => trace.y.length)"
    before = page.evaluate(plotly_y, div)
    box = page.evaluate(
        "(div) => { const r = div.getBoundingClientRect(); "
        "return [r.left + r.width / 2, r.top + r.height / 3]; }",
        div,
    )
    page.mouse.move(*box)
    page.wait_for_function("() => !window.__bpLiveview.charts.get('loss_chart').light")
    assert page.evaluate(plotly_y, div) != before  # Plotly now holds the newest points
    assert newest > 0
    assert_plotly_draws_the_same(light, drawn(page, div))  # and draws what was shown
    assert page.js_errors == []


def test_what_a_light_redraw_cannot_draw_goes_to_plotly(light_page):
    """Points above the autoranged loss axis are drawn by Plotly (the axis grows to hold
    them), and so is any part drawn while paused (not live)."""
    page = light_page
    first, second = curves()
    second.data[1].y = np.asarray(second.data[1].y) * 10  # train loss far above the axis
    frames = draw_all(page, parts([first, second], "loss_chart"))
    assert light_count(page, "loss_chart") == 0
    div = page.evaluate_handle(VIEW_DIV_JS, "loss_chart")
    top = "(div) => div._fullLayout.yaxis.range[1]"
    assert page.evaluate(top, div) >= float(np.nanmax(second.data[1].y))
    page.evaluate("(part) => window.draw(part)", frames[0][0] | {"frame": 3, "live": False})
    assert light_count(page, "loss_chart") == 0  # a part drawn while paused: Plotly's
    assert page.js_errors == []
