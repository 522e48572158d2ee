"""Fast frames: live-view frames that travel outside Streamlit's script runs.

Every Streamlit frame (a fragment run) costs the browser about 130 ms of Streamlit's own
rendering, whatever changed. A fast frame is one message instead: the browser sends

    view=<LiveLoop.token>&drawn=<the newest frame id it drew>

on a WebSocket at FRAME_PATH that it keeps open (where one cannot open, it GETs FRAME_PATH with
that query: a fetch costs Chromium about 7 ms of CPU across its processes, a message 2 to 4;
`tests.benchmarks.frame_transport`),
the server takes it as the ack of that frame, trains for the frame's budget, and answers with
the parts of the charts that change at every step (the output maps), the texts of the metrics
and of the spans marked for it (`component.marked`), and the tables' cells (the runs' status):

    {"id", "answers", "running", "wait", "metrics": {key: text},
     "tables": [{column: [cell, ...]}], "parts": [chart part, ...]}

("wait": seconds the browser leaves between this fast frame's ack and the next, so that a
loaded process keeps room for page loads and clicks: `pacing.frame_interval`)
    {"slow": true}   the next frame must be a Streamlit one (a run ended, a chart failed and a
                     whole frame is due, or the view is not training); the browser acks as
                     before
    {"slow": true, "lost": true}   no session of this process has that token (it restarted,
                     or the session expired): the page's session is gone, and a fragment
                     rerun would reach no fragment, so the browser reloads the page

Each Streamlit frame of the live panel registers what its fast frames draw (`FastView`), under
its loop's token; the registry holds views weakly (the tab's session state holds them), so a
tab that leaves takes its view along. Served only where `routes()` is mounted (`st.App` in
playground/server.py); elsewhere the live view runs on Streamlit frames alone.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from playground import pacing
from playground.liveview.frames import Chart, FrameBuilder
from playground.liveview.loop import Ack, LiveLoop

FRAME_PATH = "/bp/frame"
SLOW = b'{"slow":true}'
LOST = b'{"slow":true,"lost":true}'  # no session of this process has that token
MAX_QUERY = 200  # characters of a socket's message: a token and a frame id need about 40

_views: weakref.WeakValueDictionary[str, FastView] = weakref.WeakValueDictionary()
_loops: weakref.WeakValueDictionary[str, LiveLoop] = weakref.WeakValueDictionary()
_served = threading.Event()  # set once the route is mounted in this process


@dataclass(eq=False)
class FastView:
    """What one tab's fast frames do, as its latest Streamlit frame left it. The callables run
    under `lock` (the session's): `train(gap)` trains one frame's worth given the seconds since
    the previous frame and returns whether the run goes on; `charts` are recipes for the charts
    redrawn in fast frames (chart id -> figure; each in one out of `cadence` n, by default
    every one); `metrics()` gives the metrics' texts, and
    each of `tables` a table's columns (as `st.table` was given them)."""

    loop: LiveLoop
    builder: FrameBuilder
    lock: threading.RLock
    train: Callable[[float], bool]
    charts: dict[str, Callable[[], object]]
    metrics: Callable[[], dict[str, str]]
    uirevision: str
    plotly_url: str
    tables: list[Callable[[], dict[str, list[str]]]] = field(default_factory=list)
    cadence: dict[str, int] = field(default_factory=dict)  # chart (or key prefix) -> n
    frames: int = 0  # fast frames answered since this view was registered

    def due(self, key: str, loaded: bool = False) -> bool:
        """Whether chart `key` is redrawn in this fast frame: in one out of its cadence's n
        (by its key, or its key's prefix before "_<run>"; stretched on a `loaded` process:
        `pacing.cadence`), counted from the Streamlit frame."""
        n = self.cadence.get(key) or self.cadence.get(key.rsplit("_", 1)[0]) or 1
        return self.frames % pacing.cadence(n, loaded) == 0


def served() -> bool:
    """Whether this process answers fast frames (the route is mounted)."""
    return _served.is_set()


def register(view: FastView) -> None:
    _views[view.loop.token] = view


def register_loop(loop: LiveLoop) -> None:
    """A tab's loop, known for as long as its session holds it (weakly here)."""
    _loops[loop.token] = loop


def frame(view: FastView, drawn: int) -> bytes:
    """The fast frame that answers the browser's ack of frame `drawn` (JSON bytes)."""
    with pacing.tick_slot(fast=True), view.lock:
        loop = view.loop
        if loop.full or not loop.receive(Ack(drawn)):
            return SLOW  # a whole frame is due, or a repeated ack: Streamlit answers
        gap = loop.take_tick()
        if not view.train(0.0 if gap is None else gap):
            loop.page_rerun.raise_()  # the run ended: the page shows why, and the Play button
            return SLOW
        number, answers, _ = loop.next_frame()
        view.frames += 1
        loaded = pacing.loaded()
        parts = [
            view.builder.chart(
                Chart(key, recipe()),
                frame=number,
                full=False,
                uirevision=view.uirevision,
                plotly_url=view.plotly_url,
                live=True,
            )
            for key, recipe in view.charts.items()
            if view.due(key, loaded)
        ]
        head = {
            "id": number,
            "answers": answers,
            "running": True,
            "wait": round(pacing.frame_interval(), 3),
            "metrics": view.metrics(),
            "tables": [table() for table in view.tables],
        }
    return json.dumps(head)[:-1].encode() + b',"parts":[' + b",".join(parts) + b"]}"


def answer(token: str, drawn: str) -> bytes:
    """The fast frame for the query `view=token&drawn=drawn`; SLOW for anything else, LOST
    for a token no session here holds."""
    if token not in _loops:
        return LOST
    view = _views.get(token)
    if view is None or not drawn.isdigit():
        return SLOW
    return frame(view, int(drawn))


def answer_query(query: str) -> bytes:
    """The fast frame for a query string `view=...&drawn=...` (a socket's message, or the
    GET's query)."""
    if len(query) > MAX_QUERY:
        return SLOW
    params = urllib.parse.parse_qs(query)
    return answer(params.get("view", [""])[0], params.get("drawn", [""])[0])


def routes() -> list:
    """The Starlette routes that serve fast frames (for `st.App(routes=...)`): a GET, and a
    WebSocket whose every text message is a query answered in order."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocketDisconnect

    async def serve(request) -> Response:
        body = await run_in_threadpool(answer_query, request.url.query)
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def socket(websocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                query = await websocket.receive_text()
                body = await run_in_threadpool(answer_query, query)
                await websocket.send_text(body.decode())

    _served.set()
    return [Route(FRAME_PATH, serve, methods=["GET"]), WebSocketRoute(FRAME_PATH, socket)]
