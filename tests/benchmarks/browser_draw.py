"""What each live chart costs the browser to redraw, without Streamlit (not a timed test).

    python -m tests.benchmarks.browser_draw [--frames 40] [--steps 200] [--preset NAME]

A preset's trainer (the app's default network by default) trains a little between frames;
each frame's charts are built as the app builds them (`tests.benchmarks.chart_speed.builders`,
plus the output map as an image, as it travels while training) and encoded by the live view's
own `FrameBuilder`. Headless Chromium then draws the frames through the live view's own
liveview.js (the same entry Streamlit calls), one chart at a time, and reports per chart the
median milliseconds of a redraw (Plotly.react, timed by liveview.js), of a redraw in which
nothing changed (the last UNCHANGED frames, with no training between), and the bytes sent.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from core.trainer import Trainer
from playground import charts
from playground.liveview.frames import Chart, FrameBuilder
from tests.benchmarks.chart_speed import OUTPUT_RESOLUTION, builders, trained
from tests.e2e.liveview_page import open_page, served
from tests.e2e.server import CHROMIUM_ARGS, chromium_path

UNCHANGED = 3  # frames drawn again at the end with nothing changed
LIVE_CHARTS = (
    "network_diagram",
    "output_image",
    "output_figure",
    "loss_curves",
    "gradient_norms",
    "gradient_heatmap",
)
RUN = """
const frames = {frames};
window.run = async () => {{
  const times = {{}};
  for (const frame of frames) {{
    for (const part of frame) {{
      const id = part.chart.id;
      const before = (window.__bpLiveviewStats.chartMs || {{}})[id] || 0;
      await window.draw(part);
      (times[id] = times[id] || []).push(window.__bpLiveviewStats.chartMs[id] - before);
    }}
  }}
  return times;
}};
"""


def output_image(trainer: Trainer) -> dict:
    """The output map as it travels while training (its background an image), if it has one."""
    ds = trainer.dataset
    if ds.raw_dim != 2:
        return {}
    xs, ys, grid = ds.grid(OUTPUT_RESOLUTION)
    pred = trainer.network.predict(grid)
    return {"output_image": lambda: charts.output_figure(ds, xs, pred, ys, image=True)}


def training_curves(trainer: Trainer) -> dict:
    """The loss curves as they travel while training (their step axis with room to grow)."""
    snap = trainer.snapshot(weights=False)
    history, stopping, divergence = snap.history, snap.early_stopping, snap.divergence
    return {"loss_curves": lambda: charts.loss_curves(history, stopping, divergence, room=True)}


def recorded_frames(
    trainer: Trainer, count: int, steps: int, light: bool = False
) -> tuple[list, dict]:
    """`count` frames of parts, `steps` training steps apart, then UNCHANGED frames with no
    training between (what a frame costs when nothing in it changed); bytes per chart and
    frame. `light`: the parts after the first are marked live, as while training (liveview.js
    may then redraw a chart without Plotly, see its lightPlan)."""
    builder, frames, sizes = FrameBuilder(), [], {}
    for number in range(1, count + UNCHANGED + 1):
        if number <= count:
            trainer.run(1e9, max_steps=steps)
        made = builders(trainer) | output_image(trainer) | training_curves(trainer)
        parts = []
        for key in LIVE_CHARTS:
            if key in made:
                part = builder.chart(
                    Chart(key, made[key]()),
                    frame=number,
                    full=number == 1,
                    uirevision="bench",
                    plotly_url="./plotly.min.js",
                )
                sizes.setdefault(key, []).append(len(part))
                parts.append(json.loads(part) | {"live": light and number > 1})
        frames.append(parts)
    return frames, sizes


def draw(frames: list) -> dict:
    """Draw every frame in Chromium; ms per redraw per chart (the first, whole, left out)."""
    from playwright.sync_api import sync_playwright

    with served(RUN.format(frames=json.dumps(frames))) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda e: print("page error:", e))
        open_page(page, url)
        per_chart = page.evaluate("async () => await window.run()")
        browser.close()
    return per_chart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--steps", type=int, default=200, help="training steps between frames")
    parser.add_argument("--preset", default=None)
    parser.add_argument("--light", action="store_true", help="parts after the first live")
    args = parser.parse_args()
    trainer = trained(args.preset, None, 0)
    frames, sizes = recorded_frames(trainer, args.frames, args.steps, args.light)
    began = time.monotonic()
    times = draw(frames)
    print(f"{args.frames} frames drawn in {time.monotonic() - began:.1f} s")
    for key in LIVE_CHARTS:
        if key in times:
            redraws = times[key][1 : -UNCHANGED or None]  # the first draw is a whole one
            unchanged = statistics.median(times[key][-UNCHANGED:])
            print(
                f"  {key:18s} redraw {statistics.median(redraws):6.1f} ms median "
                f"[{min(redraws):.1f}-{max(redraws):.1f}], unchanged {unchanged:5.1f} ms, "
                f"first {times[key][0]:.0f} ms, "
                f"{statistics.median(sizes[key]) / 1e3:6.1f} KB per part (median)"
            )


if __name__ == "__main__":
    main()
