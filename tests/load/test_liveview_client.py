"""The load client's live view (tests/load/liveview.py) acks as liveview.js does, in the
message Streamlit's frontend sends for a v2 component's trigger value. No server here."""

from __future__ import annotations

import asyncio
import json

from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.components.v2.bidi_component.serialization import deserialize_trigger_list
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.load import protocol as P
from tests.load.liveview import ACK_EVENT, LiveViewTab

DRIVER_ID = "$$ID-abc-live_view"
FRAGMENT = "frag1"


def driver(frame: int, answers: int, running: bool = True, **extra) -> dict:
    return {
        "role": "driver",
        "id": frame,
        "answers": answers,
        "running": running,
        "members": [],
        "min_interval": extra.get("min_interval", 0.0),
        "watchdog": extra.get("watchdog", 10.0),
    }


class Recorder:
    """A tab whose acks are recorded instead of sent."""

    def __init__(self, **kwargs) -> None:
        self.acks: list[tuple[float, str, str, dict]] = []
        self.drawn: list[int] = []
        self.tab = LiveViewTab(self._ack, lambda f: self.drawn.append(f["id"]), **kwargs)

    async def _ack(self, element_id: str, fragment_id: str, value: dict) -> None:
        self.acks.append((asyncio.get_running_loop().time(), element_id, fragment_id, value))

    async def frame(self, part: dict, settle: float = 0.01) -> None:
        self.tab.receive(DRIVER_ID, FRAGMENT, part)
        await asyncio.sleep(settle)

    def acked(self) -> list[int]:
        return [value["frame"] for *_, value in self.acks]


def test_the_ack_is_the_message_the_browser_sends():
    data = P.rerun_message(
        fragment_id=FRAGMENT, component=(DRIVER_ID, ACK_EVENT, {"frame": 3, "ok": True})
    )
    msg = BackMsg()
    msg.ParseFromString(data)
    state = msg.rerun_script
    assert state.fragment_id == FRAGMENT and not state.is_auto_rerun
    (widget,) = state.widget_states.widgets
    assert widget.id == _make_trigger_id(DRIVER_ID, "events")  # Streamlit's own naming
    assert widget.WhichOneof("value") == "json_trigger_value"
    payloads = deserialize_trigger_list(widget.json_trigger_value)
    assert payloads == [{"event": "drawn", "value": {"frame": 3, "ok": True}}]
    assert json.loads(widget.json_trigger_value) == payloads


def test_each_running_frame_is_acked_once_its_answer_arrived():
    async def scenario() -> Recorder:
        rec = Recorder()
        await rec.frame(driver(1, 0))  # after Play: acked
        await rec.frame(driver(2, 0))  # a full rerun's frame, not the answer to ack 1
        await rec.frame(driver(3, 1))  # the answer: acked
        await rec.frame(driver(3, 1))  # the same frame again: nothing new
        await rec.frame(driver(4, 3, running=False))  # paused: not acked
        await rec.frame(driver(5, 3, running=False))
        rec.tab.close()
        return rec

    rec = asyncio.run(scenario())
    assert rec.acked() == [1, 3]
    assert rec.drawn == [1, 2, 3, 4, 5]
    assert {(e, f) for _, e, f, _ in rec.acks} == {(DRIVER_ID, FRAGMENT)}
    assert len(rec.tab.stats.answer_seconds) == 2


def test_acks_keep_the_frame_rate_ceiling_and_wait_for_the_draw():
    async def scenario() -> Recorder:
        rec = Recorder(draw_seconds=0.05)
        for n in range(1, 5):
            await rec.frame(driver(n, n - 1, min_interval=0.2), settle=0.3)
        rec.tab.close()
        return rec

    rec = asyncio.run(scenario())
    times = [t for t, *_ in rec.acks]
    assert rec.acked() == [1, 2, 3, 4]
    assert all(b - a >= 0.19 for a, b in zip(times, times[1:], strict=False)), times


def test_a_lost_answer_is_acked_again_after_the_watchdog():
    async def scenario() -> Recorder:
        rec = Recorder()
        await rec.frame(driver(1, 0, watchdog=0.1), settle=0.25)  # no answer comes
        rec.tab.close()
        return rec

    rec = asyncio.run(scenario())
    assert rec.acked()[:2] == [1, 1]
    assert rec.tab.stats.watchdog_acks >= 1


class FastServer:
    """Answers fast frames as playground/liveview/fast.py does: each fetch is the ack of the
    frame it names and gets the next id; `slow_after` fetches, it answers {"slow": true}."""

    def __init__(self, first_id: int, slow_after: int = 10**6) -> None:
        self.next_id, self.slow_after = first_id, slow_after
        self.queries: list[str] = []

    async def fetch(self, path: str) -> dict | None:
        self.queries.append(path)
        if len(self.queries) > self.slow_after:
            return {"slow": True}
        self.next_id += 1
        return {"id": self.next_id, "metrics": {"Steps": f"{1000 * self.next_id:,}"}, "parts": []}


def fast_driver(frame: int, answers: int, slow_interval: float = 10.0) -> dict:
    part = driver(frame, answers)
    return {**part, "session": "tok", "fast_url": "/bp/frame", "slow_interval": slow_interval}


def test_fast_frames_are_fetched_and_drawn_until_a_slow_answer_and_then_streamlit_is_acked():
    server = FastServer(first_id=1, slow_after=3)
    steps: list = []

    async def scenario() -> LiveViewTab:
        tab = LiveViewTab(lambda *a: _record(acks, *a), lambda f: steps.append(f.get("steps")))
        tab.fetch_frame = server.fetch
        tab.receive(DRIVER_ID, FRAGMENT, fast_driver(1, 0))
        await asyncio.sleep(0.1)
        tab.close()
        return tab

    acks: list[dict] = []
    tab = asyncio.run(scenario())
    assert server.queries == [
        "/bp/frame?view=tok&drawn=1",
        "/bp/frame?view=tok&drawn=2",
        "/bp/frame?view=tok&drawn=3",
        "/bp/frame?view=tok&drawn=4",
    ]
    assert steps == [None, 2000, 3000, 4000]  # the Streamlit frame, then three fast ones
    assert acks == [{"frame": 4, "ok": True}]  # the slow answer: Streamlit, naming the newest
    assert tab.stats.fast == 3 and tab.stats.frames == 4


def test_after_the_slow_interval_the_ack_goes_to_streamlit():
    server = FastServer(first_id=5)

    async def scenario() -> None:
        tab = LiveViewTab(lambda *a: _record(acks, *a), lambda f: None)
        tab.fetch_frame = server.fetch
        tab.receive(DRIVER_ID, FRAGMENT, {**fast_driver(5, 4, 0.05), "min_interval": 0.02})
        await asyncio.sleep(0.2)
        tab.close()

    acks: list[dict] = []
    asyncio.run(scenario())
    assert 1 <= len(server.queries) <= 4  # fast frames, at most one per min_interval
    assert acks == [{"frame": server.next_id, "ok": True}]  # then one Streamlit ack


async def _record(acks: list, element_id: str, fragment_id: str, value: dict) -> None:
    assert (element_id, fragment_id) == (DRIVER_ID, FRAGMENT)
    acks.append(value)


def test_a_loaded_servers_wait_spaces_the_next_fast_frame():
    class Paced(FastServer):
        async def fetch(self, path: str) -> dict | None:
            answer = await super().fetch(path)
            return {**answer, "wait": 0.15}

    server, times = Paced(first_id=1), []

    async def scenario() -> None:
        async def fetch(path: str):
            times.append(asyncio.get_running_loop().time())
            return await server.fetch(path)

        tab = LiveViewTab(lambda *a: _record([], *a), lambda f: None)
        tab.fetch_frame = fetch
        tab.receive(DRIVER_ID, FRAGMENT, fast_driver(1, 0))
        await asyncio.sleep(0.5)
        tab.close()

    asyncio.run(scenario())
    assert 2 <= len(times) <= 5, times  # not back to back: one per 0.15 s
    assert all(b - a >= 0.14 for a, b in zip(times[1:], times[2:], strict=False)), times
