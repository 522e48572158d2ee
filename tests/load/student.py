"""One simulated student: a browser tab's websocket session that presses Play and trains.

The student does what the frontend does (see `protocol.py`): fetch the page (keeping any
cookie, as a browser would, so a proxy's session affinity applies), open the websocket,
request the first run, click Play, then answer every `auto_rerun` with a fixed-rate timer
until its training time is over; then it clicks Pause and leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.load import protocol as P

LOAD_TIMEOUT = 90.0  # seconds for the first page run (30 tabs opening at once queue up)
CLICK_TIMEOUT = 60.0  # a click answered later than this counts as an error
UPSTREAM_HEADER = "X-Upstream"  # set by deploy/nginx.conf.template: which app process


@dataclass
class StudentResult:
    index: int
    upstream: str = ""  # app process behind the proxy ("" when connected directly)
    loaded: bool = False
    load_seconds: float | None = None
    played: bool = False
    trained_seconds: float = 0.0
    redraws: int = 0  # finished runs that redrew the Steps metric, while training
    fragment_runs: int = 0
    full_runs: int = 0
    preempted: int = 0  # runs that ended early for another rerun while training
    steps_start: int | None = None
    steps_end: int | None = None
    max_gap: float = 0.0  # longest wait between two redraws while training (s)
    reruns_sent: int = 0
    play_at: float = 0.0  # wall-clock time (time.time()) training began
    stop_at: float = 0.0
    bytes_received: int = 0
    intervals: dict[str, float] = field(default_factory=dict)  # fragment id -> run_every
    fragment_redraws: dict[str, int] = field(default_factory=dict)  # while training
    run_seconds: list[float] = field(default_factory=list)  # new_session -> script_finished
    disconnected: bool = False
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


def ws_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{P.STREAM_PATH}"


ROUTE_COOKIE = "bp_route"  # the proxy's affinity cookie (deploy/nginx.conf.template)


def fetch_page_cookies(url: str, cookie: str = "") -> str:
    """GET the page like a browser (sending `cookie`) and return the cookies it then holds."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Cookie": cookie} if cookie else {}
    request = urllib.request.Request(url.rstrip("/") + "/", headers=headers)
    jar = dict(c.split("=", 1) for c in cookie.split("; ") if "=" in c)
    with opener.open(request, timeout=30) as response:
        response.read()
        for c in response.headers.get_all("Set-Cookie") or []:
            name, _, value = c.split(";", 1)[0].partition("=")
            jar[name.strip()] = value
    return "; ".join(f"{k}={v}" for k, v in jar.items())


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
        self, index: int, url: str, seconds: float, route: str = "", query: str = ""
    ) -> None:
        self.result = StudentResult(index=index)
        self.url, self.seconds = url, seconds
        self.query = query  # the address bar's query string, e.g. a classroom link
        self.route = route  # a browser that already holds the proxy's affinity cookie
        self.ws = None
        self.buttons: dict[str, str] = {}  # label -> widget id
        self.steps: int | None = None
        self.runs_done = 0
        self.changed = asyncio.Event()
        self.training = False
        self.last_redraw = 0.0
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._run_had_steps = False
        self._run_fragments: set[str] = set()
        self._run_began = 0.0
        self._closing = False

    # --- the session ------------------------------------------------------------------------

    async def run(self) -> StudentResult:
        r = self.result
        try:
            held = f"{ROUTE_COOKIE}={self.route}" if self.route else ""
            cookie = await asyncio.to_thread(fetch_page_cookies, self.url, held)
            headers = {"Cookie": cookie} if cookie else {}
            async with connect(
                ws_url(self.url),
                subprotocols=[P.SUBPROTOCOL],
                additional_headers=headers,
                proxy=None,
                max_size=None,
                ping_interval=None,  # the browser sends no pings; it answers the server's
                open_timeout=30,
            ) as ws:
                self.ws = ws
                r.upstream = ws.response.headers.get(UPSTREAM_HEADER, "")
                reader = asyncio.create_task(self._read())
                try:
                    await self._session()
                finally:
                    self._closing = True
                    self._stop_timers()
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
        except (TimeoutError, OSError, ConnectionClosed) as err:
            r.error(f"connection: {type(err).__name__}: {err}")
            r.disconnected = True
        except AssertionError as err:
            r.error(str(err))
        return r

    async def _session(self) -> None:
        r = self.result
        start = time.monotonic()
        await self._send(self._rerun())
        await self._wait(lambda: self.runs_done >= 1 and "Play" in self.buttons, LOAD_TIMEOUT)
        r.loaded, r.load_seconds = True, round(time.monotonic() - start, 2)
        r.steps_start = self.steps
        await self._click("Play", expect="Pause")
        r.played = True
        self.training, began = True, time.monotonic()
        r.play_at = time.time()
        self.last_redraw = began
        await self._sleep_unless_closed(self.seconds)
        self.training = False
        r.stop_at = time.time()
        r.trained_seconds = round(time.monotonic() - began, 3)
        r.max_gap = round(max(r.max_gap, time.monotonic() - self.last_redraw), 3)
        r.steps_end = self.steps
        self._stop_timers()
        if not r.disconnected:
            await self._click("Pause", expect="Play")

    async def _click(self, label: str, expect: str) -> None:
        assert label in self.buttons, f"no {label!r} button on the page"
        done = self.runs_done
        await self._send(self._rerun(trigger_id=self.buttons[label]))
        await self._wait(lambda: self.runs_done > done and expect in self.buttons, CLICK_TIMEOUT)

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
            if not self._closing:
                self._lost(err)
        else:
            if not self._closing:
                self._lost(None)

    def _lost(self, err) -> None:
        if not self.result.disconnected:
            self.result.disconnected = True
            self.result.error(f"disconnected by the server: {err}")
        self._stop_timers()
        self.changed.set()

    def _handle(self, seen: P.Seen) -> None:
        r = self.result
        if seen.button:
            label, widget_id = seen.button
            self.buttons = {k: v for k, v in self.buttons.items() if v != widget_id}
            self.buttons[label] = widget_id
        if seen.metric and seen.metric[0] == "Steps":
            self.steps = P.parse_count(seen.metric[1])
            self._run_had_steps = True
        if seen.exception:
            r.error(f"exception on the page: {seen.exception}")
        if seen.auto_rerun:
            self._start_timer(*seen.auto_rerun)
        for fragment_id in seen.stop_auto_rerun:
            self._stop_timer(fragment_id)
        if seen.query_string is not None:
            self.query = seen.query_string  # the browser's address bar follows the app
        if seen.delta_fragment:
            self._run_fragments.add(seen.delta_fragment)
        if seen.kind == "new_session":  # every run starts with one, fragment runs too
            self._run_had_steps = False
            self._run_fragments = set()
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
            now = time.monotonic()
            if self.training and self._run_began:
                r.run_seconds.append(round(now - self._run_began, 3))
                for fid in self._run_fragments:
                    r.fragment_redraws[fid] = r.fragment_redraws.get(fid, 0) + 1
            if self.training and self._run_had_steps:
                r.redraws += 1
                r.max_gap = round(max(r.max_gap, now - self.last_redraw), 3)
                self.last_redraw = now
            self.runs_done += 1
        self._run_had_steps = False
        self._run_fragments = set()
        self._run_began = 0.0
        self.changed.set()

    # --- run_every timers, as the frontend's setInterval -------------------------------------

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        if not fragment_id or interval <= 0:
            return
        current = self.timers.get(fragment_id)
        if current and current[0] == interval:
            return  # the frontend keeps a timer whose interval did not change
        self._stop_timer(fragment_id)
        self.result.intervals[fragment_id] = round(interval, 3)
        task = asyncio.create_task(self._tick(fragment_id, interval))
        self.timers[fragment_id] = (interval, task)

    async def _tick(self, fragment_id: str, interval: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + interval
        while not self.result.disconnected:
            await asyncio.sleep(max(0.0, due - loop.time()))
            await self._send(self._rerun(fragment_id=fragment_id, auto=True))
            due += interval
            if due < loop.time():  # a late timer does not fire a burst to catch up
                due = loop.time() + interval

    def _stop_timer(self, fragment_id: str) -> None:
        entry = self.timers.pop(fragment_id, None)
        if entry:
            entry[1].cancel()

    def _stop_timers(self) -> None:
        for fragment_id in list(self.timers):
            self._stop_timer(fragment_id)


async def run_students(
    url: str,
    indices: list[int],
    total: int,
    seconds: float,
    ramp: float,
    routes: tuple[str, ...] = (),
    query: str = "",
) -> list[StudentResult]:
    """Students `indices` of `total` who join evenly over `ramp` seconds; each trains `seconds`.

    With `routes`, student i arrives holding affinity cookie routes[i % len(routes)].
    """

    async def one(i: int) -> StudentResult:
        await asyncio.sleep(ramp * i / max(1, total))
        student = Student(i, url, seconds, routes[i % len(routes)] if routes else "", query)
        limit = LOAD_TIMEOUT + seconds + 2 * CLICK_TIMEOUT + 30
        try:
            return await asyncio.wait_for(student.run(), limit)
        except TimeoutError:
            student.result.error(f"student gave up after {limit:.0f} s")
            return student.result

    return list(await asyncio.gather(*(one(i) for i in indices)))


def run_students_blocking(*args) -> list[StudentResult]:
    """`run_students` in a fresh event loop (for worker processes)."""
    return asyncio.run(run_students(*args))


class Probe:
    """An idle tab that loads the page and stays connected until `leave()`."""

    def __init__(self, url: str, query: str = "") -> None:
        self.student = Student(-1, url, 0.0, query=query)
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
