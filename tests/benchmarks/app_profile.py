"""Where the browser's time goes while the real app trains (not a timed test).

    python -m tests.benchmarks.app_profile [--seconds 6] [--scenario default]

Starts `streamlit run`, opens a scenario of `tests.benchmarks.app_live` in headless Chromium,
presses Play, waits 3 s, then samples the page's main thread with the DevTools CPU profiler for
`--seconds`. Prints the live view's frames per second and, per frame, the milliseconds spent in
plotly.js, in the live view's own script, in Streamlit's frontend (React re-rendering the page
on every script run: every other script the page loaded) and in the browser itself (style,
layout, paint, garbage collection), and idle.
"""

from __future__ import annotations

import argparse
import collections
import time

from tests.benchmarks.app_live import SCENARIOS
from tests.e2e.browser_helpers import click, open_app
from tests.e2e.server import app_and_chromium

STATS_JS = "() => ({...(window.__bpLiveviewStats || {frames: 0})})"
NATIVE = {"(program)", "(garbage collector)", "(root)"}


def profile(query: str, seconds: float) -> tuple[int, dict]:
    """(frames drawn, the profile's nodes and samples) over `seconds` of Play."""
    with app_and_chromium() as (url, _, browser):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_app(page, url, query)
        click(page, "Play")
        time.sleep(3)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        before = page.evaluate(STATS_JS)["frames"]
        cdp.send("Profiler.start")
        time.sleep(seconds)
        result = cdp.send("Profiler.stop")["profile"]
        frames = page.evaluate(STATS_JS)["frames"] - before
    return frames, result


def where(node: dict) -> str:
    """The part of the page a sampled function belongs to."""
    frame = node["callFrame"]
    name, url = frame["functionName"], frame["url"]
    if name == "(idle)":
        return "idle"
    if not url:
        if name in NATIVE or not name:
            return "browser (style, layout, paint, GC)"
        return "DOM calls (from any script)"
    if url.endswith("plotly.min.js"):
        return "plotly.js"
    if url.startswith("http") and "/static/" in url:
        return "Streamlit frontend (React)"
    return "live view script and other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--scenario", default="default", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    frames, result = profile(SCENARIOS[args.scenario], args.seconds)
    nodes = {node["id"]: node for node in result["nodes"]}
    spent: collections.Counter = collections.Counter()
    for sample, delta in zip(result["samples"], result["timeDeltas"], strict=True):
        spent[where(nodes[sample])] += delta / 1000.0  # microseconds -> ms
    print(f"{args.scenario}: {frames / args.seconds:.1f} frames/s over {args.seconds:.0f} s")
    for part, ms in spent.most_common():
        print(f"  {part:36s} {ms / max(frames, 1):6.1f} ms per frame")


if __name__ == "__main__":
    main()
