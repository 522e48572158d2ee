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
import functools
import http.server
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from core.trainer import Trainer
from playground import charts
from playground.liveview.component import FRONTEND, PLOTLY_DIR
from playground.liveview.frames import Chart, FrameBuilder
from tests.benchmarks.chart_speed import OUTPUT_RESOLUTION, builders, trained
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
PAGE = """<!doctype html><html><head><style>{css}</style></head><body>
<div id="charts"></div>
<script type="module">
import entry from "./liveview.js";
const frames = {frames};
const holders = new Map();
window.run = async () => {{
  const times = {{}};
  for (const frame of frames) {{
    for (const part of frame) {{
      const id = part.chart.id;
      if (!holders.has(id)) {{
        const div = document.createElement("div");
        div.style.width = "560px";
        document.getElementById("charts").appendChild(div);
        holders.set(id, div);
      }}
      const before = (window.__bpLiveviewStats.chartMs || {{}})[id] || 0;
      const call = {{data: JSON.stringify(part), parentElement: holders.get(id)}};
      entry({{...call, setTriggerValue: () => {{}}}});
      const view = window.__bpLiveview.charts.get(id);
      while (view.drawnFrame < part.frame) await new Promise((r) => setTimeout(r, 0));
      (times[id] = times[id] || []).push(window.__bpLiveviewStats.chartMs[id] - before);
    }}
  }}
  return times;
}};
window.ready = true;
</script></body></html>"""


def output_image(trainer: Trainer) -> dict:
    """The output map as it travels while training (its background an image), if it has one."""
    ds = trainer.dataset
    if ds.raw_dim != 2:
        return {}
    xs, ys, grid = ds.grid(OUTPUT_RESOLUTION)
    pred = trainer.network.predict(grid)
    return {"output_image": lambda: charts.output_figure(ds, xs, pred, ys, image=True)}


def recorded_frames(trainer: Trainer, count: int, steps: int) -> tuple[list, dict]:
    """`count` frames of parts, `steps` training steps apart, then UNCHANGED frames with no
    training between (what a frame costs when nothing in it changed); bytes per chart and
    frame."""
    builder, frames, sizes = FrameBuilder(), [], {}
    for number in range(1, count + UNCHANGED + 1):
        if number <= count:
            trainer.run(1e9, max_steps=steps)
        made = builders(trainer) | output_image(trainer)
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
                parts.append(json.loads(part))
        frames.append(parts)
    return frames, sizes


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def draw(frames: list) -> dict:
    """Draw every frame in Chromium; ms per redraw per chart (the first, whole, left out)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "liveview.js").write_text((FRONTEND / "liveview.js").read_text())
        (root / "plotly.min.js").write_text((PLOTLY_DIR / "plotly.min.js").read_text())
        css = (FRONTEND / "liveview.css").read_text()
        page_text = PAGE.format(css=css, frames=json.dumps(frames))
        (root / "index.html").write_text(page_text)
        handler = functools.partial(_QuietHandler, directory=folder)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: print("page error:", e))
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.evaluate("""() => new Promise((resolve) => {
              const s = document.createElement('script'); s.src = './plotly.min.js';
              s.onload = resolve; document.head.appendChild(s); })""")
            page.wait_for_function("window.ready === true")
            per_chart = page.evaluate("async () => await window.run()")
            browser.close()
        server.shutdown()
    return per_chart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--steps", type=int, default=200, help="training steps between frames")
    parser.add_argument("--preset", default=None)
    args = parser.parse_args()
    frames, sizes = recorded_frames(trained(args.preset, None, 0), args.frames, args.steps)
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
