"""liveview.js alone in a page (no Streamlit): served with the plotly.js the app uses, for
browser tests and benchmarks that drive the live view's entry directly."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from playground.liveview.component import FRONTEND, PLOTLY_DIR
from playground.liveview.frames import Chart, FrameBuilder

# A page whose `window.draw(part)` hands a chart part to liveview.js as Streamlit would (one
# holder per chart id, 560 px wide) and resolves once the chart has drawn that frame.
HOLDERS = """
import entry from "./liveview.js";
const holders = new Map();
window.holder = (id) => {
  if (!holders.has(id)) {
    const div = document.createElement("div");
    div.style.width = "560px";
    document.getElementById("charts").appendChild(div);
    holders.set(id, div);
  }
  return holders.get(id);
};
window.draw = async (part) => {
  const id = part.chart.id;
  entry({data: JSON.stringify(part), parentElement: window.holder(id), setTriggerValue: () => {}});
  const view = window.__bpLiveview.charts.get(id);
  while (view.drawnFrame < part.frame) await new Promise((r) => setTimeout(r, 0));
  return view;
};
"""
PAGE = """<!doctype html><html><head><style>{css}</style>
<script src="./plotly.min.js"></script></head><body>
<div id="charts"></div>
<script type="module">{script}
window.ready = true;
</script></body></html>"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def served(script: str = "") -> Iterator[str]:
    """The URL of a page with liveview.js's `window.draw` (and `script` after it), served from
    a temporary folder until the block ends."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "liveview.js").write_text((FRONTEND / "liveview.js").read_text())
        (root / "plotly.min.js").write_text((PLOTLY_DIR / "plotly.min.js").read_text())
        css = (FRONTEND / "liveview.css").read_text()
        page = PAGE.format(css=css, script=HOLDERS + script)
        (root / "index.html").write_text(page)
        handler = functools.partial(_QuietHandler, directory=folder)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
        finally:
            server.shutdown()


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.ready === true && !!window.Plotly")


def parts(figures: list, chart_id: str) -> list[tuple[dict, dict]]:
    """The figures as the chart's parts of frames 1, 2, ... (the first whole; the later ones
    live, as while training), each with the figure's whole part (for Plotly alone)."""
    builder, wholes, out = FrameBuilder(), FrameBuilder(), []
    for number, figure in enumerate(figures, start=1):
        args = {"frame": number, "uirevision": "test", "plotly_url": "./plotly.min.js"}
        part = json.loads(builder.chart(Chart(chart_id, figure), full=number == 1, **args))
        whole = json.loads(wholes.chart(Chart(chart_id, figure), full=True, **args))
        out.append((part | {"live": number > 1}, whole))
    return out
