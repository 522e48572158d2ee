"""Where the browser's time goes while the real app trains (not a timed test).

    python -m tests.benchmarks.app_profile [--seconds 6] [--scenario default] [--trace]

Starts `streamlit run`, opens a scenario of `tests.benchmarks.app_live` in headless Chromium,
presses Play, waits 3 s, then samples the page's main thread with the DevTools CPU profiler for
`--seconds`. Prints the live view's frames per second and, per frame, the milliseconds spent in
plotly.js, in the live view's own script, in Streamlit's frontend (React re-rendering the page
on every script run: every other script the page loaded) and in the browser itself (style,
layout, paint, garbage collection), and idle. `--trace` records a Chromium trace instead and
prints, per frame the browser rendered, the busy milliseconds of each thread (the page's main
thread, raster workers, compositors, the browser's) and the events that took most of them by
self time: what the browser itself does for a frame, beyond the scripts.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import time
from collections.abc import Iterator

from tests.benchmarks.app_live import SCENARIOS
from tests.e2e.browser_helpers import click, open_app
from tests.e2e.server import app_and_chromium

STATS_JS = "() => ({...(window.__bpLiveviewStats || {frames: 0})})"
NATIVE = {"(program)", "(garbage collector)", "(root)"}


TRACED = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "cc", "viz", "v8"]
DRAWN = "Display::DrawAndSwap"  # one per frame the browser rendered


@contextlib.contextmanager
def training(query: str) -> Iterator[tuple]:
    """(browser, page) of the app at `query`, 3 s after Play."""
    with app_and_chromium() as (url, _, browser):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_app(page, url, query)
        click(page, "Play")
        time.sleep(3)
        yield browser, page


def profile(query: str, seconds: float) -> tuple[int, dict]:
    """(frames drawn, the profile's nodes and samples) over `seconds` of Play."""
    with training(query) as (_, page):
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        before = page.evaluate(STATS_JS)["frames"]
        cdp.send("Profiler.start")
        time.sleep(seconds)
        result = cdp.send("Profiler.stop")["profile"]
        frames = page.evaluate(STATS_JS)["frames"] - before
    return frames, result


def trace(query: str, seconds: float) -> list[dict]:
    """The trace events of `seconds` of Play."""
    with training(query) as (browser, page):
        browser.start_tracing(page=page, categories=TRACED)
        time.sleep(seconds)
        return json.loads(browser.stop_tracing())["traceEvents"]


def self_times(events: list[dict]) -> collections.Counter:
    """(thread name, event name) -> microseconds in complete events ("X") outside the events
    nested in them on the same thread."""
    named = [e for e in events if e.get("name") == "thread_name"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in named}
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    spans.sort(key=lambda e: (e["pid"], e["tid"], e["ts"], -e["dur"]))
    spent: collections.Counter = collections.Counter()
    open_: dict[tuple, list[dict]] = collections.defaultdict(list)
    for e in spans:
        thread = (e["pid"], e["tid"])
        stack = open_[thread]
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
            stack.pop()
        name = names.get(thread, f"thread {e['tid']}")
        if stack:
            spent[(name, stack[-1]["name"])] -= e["dur"]
        spent[(name, e["name"])] += e["dur"]
        stack.append(e)
    return spent


def print_trace(events: list[dict], top: int = 20) -> None:
    frames = max(sum(e.get("name") == DRAWN for e in events), 1)
    spent = self_times(events)
    threads: collections.Counter = collections.Counter()
    for (thread, _), us in spent.items():
        threads[thread] += us
    print(f"{frames} frames rendered; busy ms per frame by thread:")
    for thread, us in threads.most_common(8):
        print(f"  {thread:36s} {us / 1000 / frames:6.1f}")
    print("by event (self time), ms per frame:")
    for (thread, name), us in spent.most_common(top):
        print(f"  {thread[:24]:24s} {name[:48]:48s} {us / 1000 / frames:6.2f}")


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
    parser.add_argument("--trace", action="store_true", help="the browser's threads and events")
    args = parser.parse_args()
    if args.trace:
        print_trace(trace(SCENARIOS[args.scenario], args.seconds))
        return
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
