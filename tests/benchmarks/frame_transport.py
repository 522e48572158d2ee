"""What a fast frame's transport costs: a fetch against a message on the kept frame socket.

    python -m tests.benchmarks.frame_transport [--seconds 8] [--rounds 2] [--requests 2000]

Against the real app (`streamlit run playground/server.py`), headless Chromium asks
/bp/frame 16 times a second for `--seconds`, as a training page does, first by fetch and then
on a WebSocket (the query names no session, so the answer is the short "lost"; the app does no
training): Chromium's CPU by process kind, with a page that only waits as the baseline. Then
this process asks `--requests` times in a row each way, and the app's CPU per request is
printed. Not a timed test: the figures vary with the machine.
"""

from __future__ import annotations

import argparse
import http.client
import time

import psutil
from websockets.sync.client import connect

from tests.benchmarks.app_live import chromium_cpu
from tests.e2e.browser_helpers import open_app
from tests.e2e.server import app_and_chromium

QUERY = "view=nobody&drawn=1"
PERIOD_MS = 62  # 16 asks a second
SETTLE_SECONDS = 5.0
LOOPS_JS = """([mode, query, period]) => {
  window.__stop = false;
  const pause = () => new Promise((r) => setTimeout(r, period));
  const viaFetch = async () => {
    while (!window.__stop) { await (await fetch('/bp/frame?' + query)).json(); await pause(); }
  };
  const viaSocket = () => {
    const socket = new WebSocket(`ws://${location.host}/bp/frame`);
    socket.onopen = () => socket.send(query);
    socket.onmessage = async (e) => {
      JSON.parse(e.data); await pause();
      if (window.__stop) socket.close(); else socket.send(query);
    };
  };
  if (mode === 'fetch') viaFetch();
  if (mode === 'socket') viaSocket();
  if (mode === 'timer') (async () => { while (!window.__stop) await pause(); })();
}"""


def browser_share(page, mode: str, seconds: float) -> dict[str, float]:
    """Chromium's CPU share by process kind while the page asks in `mode`."""
    page.evaluate(LOOPS_JS, [mode, QUERY, PERIOD_MS])
    time.sleep(1.0)
    before = chromium_cpu()
    time.sleep(seconds)
    after = chromium_cpu()
    page.evaluate("() => { window.__stop = true; }")
    time.sleep(0.5)
    shares: dict[str, float] = {}
    for pid, (kind, cpu) in after.items():
        if pid in before:
            shares[kind] = shares.get(kind, 0.0) + (cpu - before[pid][1]) / seconds
    shares["all"] = sum(shares.values())
    return shares


def server_ms_per_request(port: int, server: psutil.Process, requests: int) -> dict[str, float]:
    """The app's CPU milliseconds per request, asked in a row by fetch-like GETs and on a socket."""

    def cpu() -> float:
        times = server.cpu_times()
        return times.user + times.system

    conn = http.client.HTTPConnection("127.0.0.1", port)
    start = cpu()
    for _ in range(requests):
        conn.request("GET", f"/bp/frame?{QUERY}")
        conn.getresponse().read()
    via_get = cpu() - start
    conn.close()
    with connect(f"ws://127.0.0.1:{port}/bp/frame", proxy=None) as socket:
        start = cpu()
        for _ in range(requests):
            socket.send(QUERY)
            socket.recv()
        via_socket = cpu() - start
    return {"fetch": 1000 * via_get / requests, "socket": 1000 * via_socket / requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with app_and_chromium() as (url, proc, browser):
        page = browser.new_page()
        open_app(page, url)
        time.sleep(SETTLE_SECONDS)  # the first run's charts and plotly.js settle first
        print(f"Chromium CPU (share of a core) at {1000 // PERIOD_MS} asks a second:")
        for _ in range(args.rounds):
            for mode in ("timer", "fetch", "socket"):
                shares = browser_share(page, mode, args.seconds)
                parts = "  ".join(f"{k} {v:.3f}" for k, v in sorted(shares.items()) if v >= 0.001)
                print(f"  {mode:<7} {parts}")
        port = int(url.rsplit(":", 1)[1])
        for _ in range(args.rounds):
            ms = server_ms_per_request(port, psutil.Process(proc.pid), args.requests)
            print(f"app CPU per request: fetch {ms['fetch']:.3f} ms, socket {ms['socket']:.3f} ms")


if __name__ == "__main__":
    main()
