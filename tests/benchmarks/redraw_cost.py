"""What redrawing one live chart costs Chromium in CPU, light or by Plotly (not a timed test).

    python -m tests.benchmarks.redraw_cost [--frames 80] [--repeats 3] [--without-maps]

The default network trains 3,000 steps, then the loss curves (with room on the step axis, as
while training) and the network diagram (as the app builds it; `--without-maps`: without its
neuron and input maps) are built every 18 steps. Headless Chromium draws
each chart's frames through liveview.js alone (no Streamlit, `tests.e2e.liveview_page`), one
every 62 ms (16 a second, what the live view asks at most of a quiet server), as parts marked
live (liveview.js redraws them without Plotly where it can: a light redraw) or not (Plotly
draws each), once with the timer alone (the page's cost with no drawing), and once with a
text change alone per frame (the floor: what any visible change costs Chromium a frame, for
style, paint, raster and compositing, whatever is drawn). It prints the CPU share of one core
that every Chromium process used and the CPU milliseconds per redraw beyond the page's cost
with the timer alone, each the median of the repeats [range].
"""

from __future__ import annotations

import argparse
import statistics

from core import predictions
from playground import charts
from playground.panels.network import diagram
from tests.benchmarks.app_live import _browser_cpu
from tests.benchmarks.chart_speed import trained
from tests.e2e.liveview_page import open_page, parts, served
from tests.e2e.server import CHROMIUM_ARGS, chromium_path

STEPS = 18  # training steps between frames
PAUSE_MS = 62  # between frames: 16 a second
LOOP = """async ([frames, mode, pause]) => {
  await window.draw(frames[0]);
  const text = document.body.appendChild(document.createElement("div"));
  const started = performance.now();
  for (const part of frames.slice(1)) {
    if (mode === "text") text.textContent = `frame ${part.frame}`;
    else if (mode !== "timer") await window.draw({...part, live: mode === "light"});
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const stats = window.__bpLiveviewStats || {light: {}};
  return [(performance.now() - started) / 1000, Object.values(stats.light || {}).reduce(
    (a, b) => a + b, 0)];
}"""


def frames(count: int, with_maps: bool = True) -> dict[str, list[dict]]:
    """Per chart, the parts of `count` frames, STEPS training steps apart, each chart built as
    the app builds it (the diagram without its neuron and input maps unless `with_maps`)."""
    t = trained(None, None, 3000)
    names = [block.name for block in t.network.blocks]
    acts = [block.activation for block in t.network.blocks]
    figures: dict[str, list] = {"loss_chart": [], "network_chart": []}
    for _ in range(count):
        t.run(1e9, max_steps=STEPS)
        snap = t.snapshot()
        figures["loss_chart"].append(charts.loss_curves(snap.history, room=True))
        maps = predictions.neuron_maps(t.network, t.dataset) if with_maps else None
        figure = diagram(snap.weights, names, t.dataset, maps, acts, frozen=())
        figures["network_chart"].append(figure)
    return {key: [part for part, _ in parts(made, key)] for key, made in figures.items()}


def drawn(playwright, url: str, chart_frames: list[dict], mode: str) -> tuple[float, float, int]:
    """(CPU seconds of every Chromium process while drawing, seconds, light redraws made)."""
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport={"width": 1500, "height": 1200})
        open_page(page, url)
        before = _browser_cpu()
        seconds, light = page.evaluate(LOOP, [chart_frames, mode, PAUSE_MS])
        return _browser_cpu() - before, seconds, light
    finally:
        browser.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--without-maps", action="store_true", help="the diagram without maps")
    args = parser.parse_args()
    made = frames(args.frames, with_maps=not args.without_maps)
    with served() as url, sync_playwright() as p:
        for key, chart_frames in made.items():
            redraws = len(chart_frames) - 1
            timer = None
            for mode in ("timer", "text", "light", "plotly"):
                runs = [drawn(p, url, chart_frames, mode) for _ in range(args.repeats)]
                shares = [cpu / seconds for cpu, seconds, _ in runs]
                timer = statistics.median(shares) if mode == "timer" else timer
                # beyond the page's own cost over the same time, per redraw
                extra = [1000 * (cpu - timer * seconds) / redraws for cpu, seconds, _ in runs]
                light = statistics.median(count for *_, count in runs)
                print(
                    f"{key:14s} {mode:7s} {statistics.median(shares):.3f} core "
                    f"[{min(shares):.3f}-{max(shares):.3f}]"
                    + (
                        ""
                        if mode == "timer"
                        else f", {statistics.median(extra):5.1f} ms [{min(extra):.1f}-"
                        f"{max(extra):.1f}] a redraw beyond the timer alone "
                        f"({light:.0f} of {redraws} light)"
                    )
                )


if __name__ == "__main__":
    main()
