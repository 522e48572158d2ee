"""One simulated student: a browser tab's websocket session that presses Play and trains.

The student does what the browser does (see `browser.py` and `protocol.py`): fetch the page
and its static files (keeping cookies, so a proxy's session affinity applies), open the
websocket, request the first run, load the frontend chunks of the elements it drew, click
Play, then draw and ack every frame of the live view as the browser does (`liveview.py`:
only an ack trains the next tick, so the server paces the redraws) until its training time
is over; then it clicks Pause and leaves. A redraw counts when a drawn frame delivered a new
"Steps" value. A student whose Play is answered "the server is busy" keeps its page open
without training. Optionally it reconnects when its connection drops (as the frontend does:
a health check, then the websocket naming its session), and has a network blip at a given
time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.load import protocol as P
from tests.load.browser import ROUTE_COOKIE, XSRF_COOKIE, Cookies, PageLoad, Tab, open_socket
from tests.load.liveview import ACK_EVENT, LiveViewTab

LOAD_TIMEOUT = 90.0  # seconds for the first page run (30 tabs opening at once queue up)
CLICK_TIMEOUT = 60.0  # a click answered later than this counts as an error
RECONNECT_TIMEOUT = 30.0  # how long a tab keeps trying to reconnect
UPSTREAM_HEADER = "X-Upstream"  # set by deploy/nginx.conf.template: which app process
BUSY_NOTICE = "The server is busy"  # Play refused by the admission cap (panels.run_buttons)


@dataclass
class Behaviour:
    """How a student's tab behaves beyond opening, playing and leaving."""

    assets: bool = True  # fetch the page's static files as a browser does
    reconnect: bool = False  # reconnect when the connection drops, as the frontend does
    blip_at: float = 0.0  # seconds after Play: drop the connection once and reconnect (0: no)
    upload_after_blip: bool = False  # then PUT a file to the session's upload endpoint
    draw_seconds: float = 0.0  # time the tab takes to draw a live view frame before its ack
    fast_frames: bool = True  # fetch the live view's fast frames, as liveview.js does


@dataclass
class StudentResult:
    index: int
    upstream: str = ""  # app process behind the proxy ("" when connected directly)
    loaded: bool = False
    load_seconds: float | None = None
    played: bool = False
    told_busy: bool = False  # Play answered "the server is busy" (the admission cap)
    trained_seconds: float = 0.0
    redraws: int = 0  # drawn live view frames that delivered a new Steps value, while training
    page_files: int = 0  # files fetched over HTTP to show the page (static files and chunks)
    page_bytes: int = 0  # as sent (compressed if the server compressed)
    page_by_proxy: int = 0  # of them served by the proxy itself
    play_seconds: float | None = None  # Play clicked -> the Pause button (or the notice) drawn
    session_ids: list[str] = field(default_factory=list)  # each distinct, in order
    upstreams: list[str] = field(default_factory=list)  # each websocket's process, in order
    reconnects: int = 0
    resumed_after_blip: bool | None = None  # the blip's reconnect found the same session
    upload_status: int | None = None  # the upload after the blip (204 ok, 400 wrong process)
    fragment_runs: int = 0
    full_runs: int = 0
    preempted: int = 0  # runs that ended early for another rerun while training
    frames_drawn: int = 0  # live view frames drawn (the whole visit)
    fast_frames: int = 0  # of them, fast frames (fetched, no Streamlit run)
    acks: int = 0  # live view acks sent (the whole visit, watchdog repeats included)
    watchdog_acks: int = 0  # acks repeated because no answer came in time
    answer_seconds: list[float] = field(default_factory=list)  # ack -> its answering frame
    plotly_seconds: float | None = None  # loading plotly.min.js (the first chart waits for it)
    steps_start: int | None = None
    steps_end: int | None = None
    max_gap: float = 0.0  # longest wait between two redraws while training, from Play (s)
    first_redraw_seconds: float | None = None  # Play -> the first redraw
    max_gap_after_first: float = 0.0  # longest wait between redraws after the first one (s)
    max_gap_ended_at: float = 0.0  # wall-clock time (time.time()) that wait ended
    reruns_sent: int = 0  # BackMsgs sent: page runs, clicks and acks
    play_at: float = 0.0  # wall-clock time (time.time()) training began
    stop_at: float = 0.0
    bytes_received: int = 0
    run_seconds: list[float] = field(default_factory=list)  # new_session -> script_finished
    disconnected: bool = False  # lost the connection (and, if it reconnects, not back yet)
    lost_connection: bool = False  # lost it at least once
    errors: list[str] = field(default_factory=list)  # distinct messages
    error_count: int = 0

    def error(self, text: str) -> None:
        self.error_count += 1
        if text not in self.errors:
            self.errors.append(text)

    @property
    def redraws_per_second(self) -> float:
        return self.redraws / self.trained_seconds if self.trained_seconds else 0.0

    @property
    def steps_per_second(self) -> float:
        if not self.trained_seconds or self.steps_start is None or self.steps_end is None:
            return 0.0
        return (self.steps_end - self.steps_start) / self.trained_seconds

    def to_dict(self) -> dict:
        out = asdict(self)
        out["redraws_per_second"] = round(self.redraws_per_second, 3)
        out["steps_per_second"] = round(self.steps_per_second, 1)
        return out


def stream_path(url: str) -> str:
    """The path of Streamlit's websocket under the app at `url`."""
    return f"{urlsplit(url).path.rstrip('/')}{P.STREAM_PATH}"


def route_upstream(url: str, route: str) -> str:
    """Which app process the proxy sends a browser holding this affinity cookie to."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Cookie": f"{ROUTE_COOKIE}={route}"}
    request = urllib.request.Request(url.rstrip("/") + "/_stcore/health", headers=headers)
    with opener.open(request, timeout=10) as response:
        response.read()
        return response.headers.get(UPSTREAM_HEADER, "")


class Student:
    def __init__(
        self,
        index: int,
        url: str,
        seconds: float,
        route: str = "",
        query: str = "",
        behaviour: Behaviour | None = None,
        go: asyncio.Event | None = None,
    ) -> None:
        self.result = StudentResult(index=index)
        self.url, self.seconds = url, seconds
        self.query = query  # the address bar's query string, e.g. a classroom link
        self.route = route  # a browser that already holds the proxy's affinity cookie
        self.behaviour = behaviour or Behaviour()
        self.go = go  # lesson style: press Play when this is set (None: at once)
        self.loaded = asyncio.Event()  # the page is drawn and usable
        self.tab = Tab(url, Cookies({ROUTE_COOKIE: route} if route else {}))
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.buttons: dict[str, str] = {}  # label -> widget id
        self.elements: set[str] = set()  # element types drawn (their chunks get loaded)
        self.steps: int | None = None
        self.session_id = ""
        self.runs_done = 0
        self.changed = asyncio.Event()
        self.training = False
        self.last_redraw = 0.0
        self.counted_steps: int | None = None  # the Steps value of the last counted redraw
        self.live = LiveViewTab(
            self._send_ack,
            self._drawn,
            self._load_plotly if self.behaviour.assets else None,
            self.behaviour.draw_seconds,
            self.tab.ask_frame if self.behaviour.fast_frames else None,
        )
        self.notices: list[str] = []  # the notices of the latest finished run
        self._run_notices: list[str] = []
        self._frame_steps: int | None = None  # Steps drawn since the last live view frame
        self._run_began = 0.0
        self._closing = False

    # --- the session ------------------------------------------------------------------------

    async def run(self) -> StudentResult:
        r = self.result
        try:
            self._page(await self.tab.open_page(self.query, self.behaviour.assets))
            await self._connect()
            try:
                await self._session()
            finally:
                await self._disconnect()
                self.live.close()
                await self.tab.close()
        except (TimeoutError, OSError, ConnectionClosed, InvalidHandshake) as err:
            r.error(f"connection: {type(err).__name__}: {err}")
            r.disconnected = r.lost_connection = True
        except AssertionError as err:
            r.error(str(err))
        self._live_stats()
        return r

    def _live_stats(self) -> None:
        r, stats = self.result, self.live.stats
        r.frames_drawn, r.acks, r.watchdog_acks = stats.frames, stats.acks, stats.watchdog_acks
        r.answer_seconds, r.plotly_seconds = stats.answer_seconds, stats.plotly_seconds
        r.fast_frames = stats.fast

    def _page(self, load: PageLoad) -> None:
        r = self.result
        r.page_files += load.files
        r.page_bytes += load.bytes
        r.page_by_proxy += load.by_proxy
        for e in load.errors:
            r.error(f"page: {e}")

    async def _connect(self) -> None:
        """Open the websocket as the frontend does: the XSRF token and, on a reconnect, the
        session id ride in the subprotocol list; the proxy's cookie is kept."""
        protocols = [P.SUBPROTOCOL, self.tab.cookies.get(XSRF_COOKIE) or "none"]
        if self.session_id:
            protocols.append(self.session_id)
        self.ws = await open_socket(self.url, stream_path(self.url), self.tab.cookies, protocols)
        self._closing = False
        self.tab.cookies.absorb(list(self.ws.response.headers.raw_items()))
        self.result.upstream = self.ws.response.headers.get(UPSTREAM_HEADER, "")
        self.result.upstreams.append(self.result.upstream)
        self.result.disconnected = False
        self.reader = asyncio.create_task(self._read())

    async def _disconnect(self) -> None:
        self._closing = True
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _reconnect(self) -> None:
        """After a drop: health check, then the websocket naming the session; a new session
        (the old process died) is loaded and Play pressed again, as a student would."""
        r = self.result
        await self._disconnect()
        deadline = time.monotonic() + RECONNECT_TIMEOUT
        while True:
            try:
                await self.tab.health()
                await self._connect()
                break
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, ValueError):
                if time.monotonic() > deadline:
                    raise AssertionError("could not reconnect") from None
                await asyncio.sleep(1.0)
        r.reconnects += 1
        before, done = self.session_id, self.runs_done
        await self._send(self._rerun())
        await self._wait(lambda: self.runs_done > done and self.buttons, LOAD_TIMEOUT)
        if self.session_id != before and "Play" in self.buttons and self.training:
            await self._click("Play", expect="Pause")

    async def _session(self) -> None:
        r = self.result
        start = time.monotonic()
        await self._send(self._rerun())
        await self._wait(lambda: self.runs_done >= 1 and "Play" in self.buttons, LOAD_TIMEOUT)
        if self.behaviour.assets:  # the frontend loads each drawn element's chunk
            self._page(await self.tab.element_chunks(self.elements))
        r.loaded, r.load_seconds = True, round(time.monotonic() - start, 2)
        self.loaded.set()
        if self.go is not None:
            await self.go.wait()
        r.steps_start = self.counted_steps = self.steps  # a redraw shows Steps beyond these
        clicked = time.monotonic()
        await self._click("Play", expect="Pause", refused=BUSY_NOTICE)
        r.play_seconds = round(time.monotonic() - clicked, 3)
        if "Pause" not in self.buttons:
            r.told_busy = True  # the page stays open, without training
            await self._sleep_unless_closed(self.seconds)
            return
        r.played = True
        self.training, began = True, time.monotonic()
        r.play_at = time.time()
        self.last_redraw = began
        await self._train_until(began + self.seconds)
        self.training = False
        r.stop_at = time.time()
        r.trained_seconds = round(time.monotonic() - began, 3)
        self._gap(time.monotonic())
        r.steps_end = self.steps
        if not r.disconnected:
            await self._click("Pause", expect="Play")

    async def _train_until(self, end: float) -> None:
        """The live view's acks drive the training; reconnect and blip as the behaviour says."""
        b = self.behaviour
        blip = end - self.seconds + b.blip_at if b.blip_at else None
        while time.monotonic() < end:
            if self.result.disconnected:
                if not b.reconnect:
                    return
                await self._reconnect()
            elif blip is not None and time.monotonic() >= blip:
                blip = None
                await self._blip()
            else:
                await asyncio.sleep(min(0.25, end - time.monotonic()))

    async def _blip(self) -> None:
        """A network blip: the connection drops and the tab reconnects to its session."""
        r = self.result
        before = self.session_id
        await self._reconnect()
        r.resumed_after_blip = self.session_id == before
        if self.behaviour.upload_after_blip:
            r.upload_status = await self.tab.put_upload(self.session_id)

    async def _click(self, label: str, expect: str, refused: str = "") -> None:
        """Click and wait for the run that draws the `expect` button (or, with `refused`, a
        notice that starts so)."""
        assert label in self.buttons, f"no {label!r} button on the page"
        done = self.runs_done

        def answered() -> bool:
            turned_away = refused and any(n.startswith(refused) for n in self.notices)
            return self.runs_done > done and (expect in self.buttons or turned_away)

        await self._send(self._rerun(trigger_id=self.buttons[label]))
        await self._wait(answered, CLICK_TIMEOUT)

    async def _wait(self, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.result.disconnected:
                raise AssertionError("disconnected while waiting for the page")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for the page")
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    async def _sleep_unless_closed(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.result.disconnected:
            await asyncio.sleep(min(0.5, end - time.monotonic()))

    def _rerun(self, **kwargs) -> bytes:
        url = self.url.rstrip("/") + "/" + (f"?{self.query}" if self.query else "")
        return P.rerun_message(url=url, query=self.query, **kwargs)

    async def _send_ack(self, element_id: str, fragment_id: str, value: dict) -> None:
        """The live view's trigger value, rerunning the fragment its driver was drawn in."""
        await self._send(
            self._rerun(fragment_id=fragment_id, component=(element_id, ACK_EVENT, value))
        )

    async def _load_plotly(self, path: str) -> None:
        """The first chart loads plotly.js from the app (a script tag: once per tab)."""
        self._page(await self.tab.fetch(path))

    def _drawn(self, frame: dict) -> None:
        """A live view frame is drawn: a redraw while training if it shows new Steps."""
        r = self.result
        steps = frame.get("steps")
        if not self.training or steps is None or steps == self.counted_steps:
            return
        now = time.monotonic()
        if r.redraws == 0:
            r.first_redraw_seconds = round(now - self.last_redraw, 3)
        self._gap(now)
        r.redraws += 1
        self.last_redraw = now
        self.counted_steps = steps

    def _gap(self, now: float) -> None:
        """The wait since the last redraw (or Play) ends now."""
        r = self.result
        gap = now - self.last_redraw
        r.max_gap = round(max(r.max_gap, gap), 3)
        if r.redraws and gap > r.max_gap_after_first:
            r.max_gap_after_first, r.max_gap_ended_at = round(gap, 3), time.time()

    async def _send(self, data: bytes) -> None:
        if self.result.disconnected:
            return
        try:
            await self.ws.send(data)
            self.result.reruns_sent += 1
        except ConnectionClosed as err:
            self._lost(err)

    # --- what the server sends ---------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.result.bytes_received += len(data)
                self._handle(P.read(data))
        except ConnectionClosed as err:
            self._lost(err)
        else:
            self._lost(None)

    def _lost(self, err) -> None:
        """The server dropped the session (not a send that raced this tab's own close: the
        live view's ack may be on its way as the student leaves)."""
        if not self._closing and not self.result.disconnected:
            self.result.disconnected = self.result.lost_connection = True
            self.result.error(f"disconnected by the server: {err}")
        self.changed.set()

    def _handle(self, seen: P.Seen) -> None:
        r = self.result
        if seen.button:
            label, widget_id = seen.button
            self.buttons = {k: v for k, v in self.buttons.items() if v != widget_id}
            self.buttons[label] = widget_id
        if seen.metric and seen.metric[0] == "Steps":
            self.steps = self._frame_steps = P.parse_count(seen.metric[1])
        if seen.alert:
            self._run_notices.append(seen.alert)
        if seen.component:
            element_id, part = seen.component
            if part.get("role") == "driver":  # the frame's charts came before it
                part["steps"], self._frame_steps = self._frame_steps, None
            self.live.receive(element_id, seen.delta_fragment, part)
        if seen.element:
            self.elements.add(seen.element)
        if seen.session_id and seen.session_id != self.session_id:
            self.session_id = seen.session_id
            self.result.session_ids.append(seen.session_id)
        if seen.exception:
            r.error(f"exception on the page: {seen.exception}")
        if seen.query_string is not None:
            self.query = seen.query_string  # the browser's address bar follows the app
        if seen.kind == "new_session":  # every run starts with one, fragment runs too
            self._frame_steps = None
            self._run_notices = []
            self._run_began = time.monotonic()
        if seen.finished is not None:
            self._finished(seen)

    def _finished(self, seen: P.Seen) -> None:
        r = self.result
        if seen.finished == P.FINISHED.FINISHED_WITH_COMPILE_ERROR:
            r.error("the script failed to compile")
        if seen.finished == P.FINISHED.FINISHED_EARLY_FOR_RERUN and self.training:
            r.preempted += 1
        if seen.finished in P.RUN_DONE:
            fragment = seen.finished == P.FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
            r.fragment_runs += fragment
            r.full_runs += not fragment
            if self.training and self._run_began:
                r.run_seconds.append(round(time.monotonic() - self._run_began, 3))
            self.notices = self._run_notices
            self.runs_done += 1
        self._run_notices = []
        self._run_began = 0.0
        self.changed.set()


async def run_students(
    url: str,
    indices: list[int],
    total: int,
    seconds: float,
    ramp: float,
    routes: tuple[str, ...] = (),
    query: str = "",
    behaviour: Behaviour | None = None,
    lesson: bool = False,
) -> list[StudentResult]:
    """Students `indices` of `total` who open the page evenly over `ramp` seconds; each
    trains `seconds`. Each presses Play as soon as its page is usable, or, `lesson`-style,
    all together once every page has loaded.

    With `routes`, student i arrives holding affinity cookie routes[i % len(routes)].
    """
    go = asyncio.Event() if lesson else None
    students = [
        Student(i, url, seconds, routes[i % len(routes)] if routes else "", query, behaviour, go)
        for i in indices
    ]

    async def one(student: Student, i: int) -> StudentResult:
        await asyncio.sleep(ramp * i / max(1, total))
        limit = LOAD_TIMEOUT + seconds + 2 * CLICK_TIMEOUT + 60
        if lesson:
            limit += LOAD_TIMEOUT + ramp
        try:
            return await asyncio.wait_for(student.run(), limit)
        except TimeoutError:
            student.result.error(f"student gave up after {limit:.0f} s")
            return student.result

    async def teacher() -> None:
        """Lesson style: "press Play" once every page has loaded (or failed)."""
        if go is None:
            return
        waits = [asyncio.ensure_future(s.loaded.wait()) for s in students]
        await asyncio.wait(waits, timeout=LOAD_TIMEOUT + ramp)
        for w in waits:
            w.cancel()
        go.set()

    results, _ = await asyncio.gather(
        asyncio.gather(*(one(s, i) for s, i in zip(students, indices, strict=True))), teacher()
    )
    return list(results)


def run_students_blocking(*args) -> list[StudentResult]:
    """`run_students` in a fresh event loop (for worker processes)."""
    return asyncio.run(run_students(*args))


class Probe:
    """An idle tab that loads the page and stays connected until `leave()`."""

    def __init__(self, url: str, query: str = "") -> None:
        self.student = Student(-1, url, 0.0, query=query, behaviour=Behaviour(assets=False))
        self._leave = asyncio.Event()
        self.loaded = asyncio.Event()
        self.task: asyncio.Task | None = None

    def start(self) -> Probe:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> StudentResult:
        s = self.student
        s._session = self._idle  # same connection handling, idle session
        return await s.run()

    async def _idle(self) -> None:
        s = self.student
        await s._send(s._rerun())
        await s._wait(lambda: s.runs_done >= 1, LOAD_TIMEOUT)
        self.loaded.set()
        await self._leave.wait()

    async def leave(self) -> StudentResult:
        self._leave.set()
        return await self.task
