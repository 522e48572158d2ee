"""The live view's browser side as a student's tab runs it (playground/liveview/frontend/
liveview.js, without the drawing).

The fragment draws a frame as chart parts followed by a driver part (playground/liveview/
frames.py). The tab draws the charts (the first one loads plotly.min.js from the app), then
the driver acks the frame:

    frame n arrives -> draw (`draw_seconds`) -> ack n, no sooner than min_interval after the
    previous ack -> the server trains one tick and sends frame n+1 (its `answers` >= n)

One ack outstanding at a time: a frame that does not answer the outstanding ack is drawn
but not acked (a full rerun's frame, say); a paused frame (`running` false) is not acked;
if no answer comes for `watchdog` seconds the newest frame is acked again (the server takes
each ack once). A drawn frame is reported to `on_drawn` (the student counts redraws).

Fast frames (playground/liveview/fast.py): a running frame that names a `fast_url` is acked by
fetching it (`view=<session>&drawn=<newest id drawn>`) instead; the answer is drawn and
reported like a frame (with its Steps), and the next fast frame fetched, until `slow_interval`
after the newest Streamlit frame, or an answer {"slow": true} or a failed fetch: then the ack
goes to Streamlit (naming the newest frame drawn), as liveview.js does.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

ACK_EVENT = "drawn"  # the driver's trigger event (playground.liveview.component.ACK_EVENT)

SendAck = Callable[[str, str, dict], Awaitable[None]]  # (element id, fragment id, value)
FetchFrame = Callable[[str], Awaitable[dict | None]]  # path?query -> the JSON answer, or None


@dataclass
class Driver:
    """One driver element, as liveview.js keeps it per mounted element."""

    element_id: str
    fragment_id: str = ""
    latest: dict | None = None  # newest frame head received
    waiting: int | None = None  # id of the frame acked and not yet answered
    acked_at: float = -math.inf
    timed: int | None = None  # the ack whose answer time was recorded
    ack_timer: asyncio.Task | None = None
    watchdog: asyncio.Task | None = None
    drawn_id: int = 0  # newest frame id drawn, Streamlit or fast: what an ack names
    pace: float = 0.0  # seconds between acks the newest fast frame asked for (a loaded server)
    slow_at: float = -math.inf  # when the newest Streamlit frame arrived

    def clear_timers(self) -> None:
        for task in (self.ack_timer, self.watchdog):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self.ack_timer = self.watchdog = None


@dataclass
class LiveViewStats:
    """What the live view did in one tab."""

    frames: int = 0  # frames drawn (all of their charts)
    acks: int = 0  # acks sent (watchdog repeats included)
    fast: int = 0  # of the frames drawn, fast frames
    watchdog_acks: int = 0  # of them, repeats after an answer never came
    answer_seconds: list[float] = field(default_factory=list)  # ack -> its answer arrived
    plotly_seconds: float | None = None  # loading plotly.min.js


class LiveViewTab:
    """The live view in one tab: chart and driver parts in, acks out."""

    def __init__(
        self,
        send_ack: SendAck,
        on_drawn: Callable[[dict], None],
        load_plotly: Callable[[str], Awaitable[None]] | None = None,
        draw_seconds: float = 0.0,
        fetch_frame: FetchFrame | None = None,
    ) -> None:
        self.send_ack = send_ack
        self.on_drawn = on_drawn
        self.load_plotly = load_plotly  # None: do not fetch plotly.min.js
        self.draw_seconds = draw_seconds
        self.fetch_frame = fetch_frame  # None: every frame is a Streamlit one
        self.drivers: dict[str, Driver] = {}
        self.plotly: asyncio.Task | None = None
        self.tasks: set[asyncio.Task] = set()
        self.stats = LiveViewStats()

    def receive(self, element_id: str, fragment_id: str, part: dict) -> None:
        """A component element arrived (in a delta of fragment `fragment_id`)."""
        if part.get("role") == "chart":
            self._chart(part)
        elif part.get("role") == "driver":
            self._driver(element_id, fragment_id, part)

    def close(self) -> None:
        """The tab leaves (or its connection dropped): no more timers or draws."""
        for driver in self.drivers.values():
            driver.clear_timers()
        for task in [*self.tasks, self.plotly]:
            if task is not None:
                task.cancel()
        self.tasks.clear()
        self.plotly = None

    # --- charts -------------------------------------------------------------------------------

    def _chart(self, part: dict) -> None:
        url = part.get("plotly_url")
        if self.plotly is None and self.load_plotly is not None and url:
            self.plotly = asyncio.create_task(self._load_plotly(url))

    async def _load_plotly(self, url: str) -> None:
        began = time.monotonic()
        await self.load_plotly(url)
        self.stats.plotly_seconds = round(time.monotonic() - began, 3)

    # --- the driver ---------------------------------------------------------------------------

    def _driver(self, element_id: str, fragment_id: str, part: dict) -> None:
        driver = self.drivers.setdefault(element_id, Driver(element_id))
        driver.fragment_id = fragment_id
        if driver.latest is not None and part.get("id") == driver.latest.get("id"):
            return
        driver.latest = part
        now = time.monotonic()
        driver.slow_at = now
        waiting = driver.waiting
        if waiting is not None and part.get("answers", 0) >= waiting != driver.timed:
            driver.timed = waiting
            self.stats.answer_seconds.append(round(now - driver.acked_at, 3))
        self._spawn(self._close_frame(driver, part))

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _close_frame(self, driver: Driver, frame: dict) -> None:
        """Draw the frame's charts, then decide whether to ack it (liveview.js closeFrame)."""
        if self.plotly is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.plotly)  # charts draw once plotly.js is there
        if self.draw_seconds:
            await asyncio.sleep(self.draw_seconds)
        if driver.latest is not frame:
            return  # a newer frame decides
        self.stats.frames += 1
        driver.drawn_id = frame["id"]
        self.on_drawn(frame)
        self._after_draw(driver, frame)

    def _after_draw(self, driver: Driver, frame: dict) -> None:
        if not frame.get("running"):
            driver.clear_timers()
            driver.waiting = None
            return
        if driver.waiting is not None and frame.get("answers", 0) < driver.waiting:
            return  # not the answer to our ack
        driver.clear_timers()
        min_interval = max(float(frame.get("min_interval", 0.0)), driver.pace)
        wait = max(0.0, driver.acked_at + min_interval - time.monotonic())
        slow_interval = float(frame.get("slow_interval", 0.0))
        fast = bool(self.fetch_frame and frame.get("fast_url"))
        fast = fast and time.monotonic() - driver.slow_at < slow_interval
        driver.ack_timer = self._spawn(self._ack_later(driver, frame, wait, fast))

    async def _ack_later(self, driver: Driver, frame: dict, wait: float, fast: bool) -> None:
        if wait:
            await asyncio.sleep(wait)
        driver.ack_timer = None
        if fast:
            await self._fast_frame(driver, frame)
        else:
            await self._send_ack(driver, frame)

    async def _fast_frame(self, driver: Driver, frame: dict) -> None:
        """Ack by fetching the next frame; draw it, or fall back to a Streamlit ack."""
        driver.acked_at = time.monotonic()
        query = urlencode({"view": frame.get("session", ""), "drawn": driver.drawn_id})
        answer = await self.fetch_frame(f"{frame['fast_url']}?{query}")
        if driver.latest is not frame:
            return  # a Streamlit frame arrived meanwhile: it decides
        if not answer or answer.get("slow") or not isinstance(answer.get("parts"), list):
            await self._send_ack(driver, frame)
            return
        self.stats.answer_seconds.append(round(time.monotonic() - driver.acked_at, 3))
        if self.draw_seconds:
            await asyncio.sleep(self.draw_seconds)
        if driver.latest is not frame:
            return
        self.stats.frames += 1
        self.stats.fast += 1
        driver.drawn_id = answer["id"]
        driver.pace = min(float(answer.get("wait") or 0.0), float(frame.get("watchdog", 10.0)))
        self.on_drawn({"id": answer["id"], "steps": _count(answer.get("metrics", {}))})
        self._after_draw(driver, frame)

    async def _send_ack(self, driver: Driver, frame: dict) -> None:
        if driver.latest is not frame:
            return
        driver.waiting = max(frame["id"], driver.drawn_id)  # after fast frames, the newest
        driver.acked_at = time.monotonic()
        self.stats.acks += 1
        if frame.get("running"):
            driver.watchdog = self._spawn(self._watchdog(driver, float(frame["watchdog"])))
        await self.send_ack(
            driver.element_id, driver.fragment_id, {"frame": driver.waiting, "ok": True}
        )

    async def _watchdog(self, driver: Driver, seconds: float) -> None:
        """A lost answer must not stop the loop: ack the newest frame again."""
        await asyncio.sleep(seconds)
        driver.watchdog = None
        if driver.latest is not None and driver.latest.get("running"):
            self.stats.watchdog_acks += 1
            await self._send_ack(driver, driver.latest)


def _count(metrics: dict) -> int | None:
    """The Steps figure of a fast frame's metrics ("1,234"), None if it has none."""
    text = str(metrics.get("Steps", "")).replace(",", "")
    return int(text) if text.isdigit() else None
