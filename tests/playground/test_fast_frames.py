"""Fast frames (playground.liveview.fast) in the real app under AppTest: what the route answers
is what `fast.answer` returns; the browser side is tested in tests/e2e/test_liveview.py."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.applications import Starlette

from playground import pacing
from playground.live import LIVE_VIEW
from playground.liveview import decode, fast
from tests.playground.apptest_helpers import charts, click, metric, open_app, session, steps
from tests.playground.test_doctor_divergence import PLANE_AT_LR_10


@pytest.fixture
def served():
    """This process serves fast frames, as under playground/server.py, with no load recorded
    by earlier tests (the pace a fast frame asks for depends on it)."""
    pacing.reset()
    fast.routes()
    yield
    fast._served.clear()
    pacing.reset()


def _loop(at):
    return at.session_state[f"{LIVE_VIEW}__liveview"][0]


def _driver(at) -> dict:
    return next(
        decode(e.proto.bytes)
        for e in at.get("bidi_component")
        if str(e.proto.id).endswith(LIVE_VIEW)
    )


def _fast(at, drawn: int | None = None) -> dict:
    loop = _loop(at)
    return json.loads(fast.answer(loop.token, str(loop.sent if drawn is None else drawn)))


def _socket_answers(messages: list[str]) -> list[dict]:
    """Send `messages` on the frame socket (its ASGI route, driven as uvicorn drives it: a
    connect, the messages, a disconnect) and read what it answers."""
    incoming = [{"type": "websocket.connect"}]
    incoming += [{"type": "websocket.receive", "text": message} for message in messages]
    incoming.append({"type": "websocket.disconnect", "code": 1000})
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "websocket", "path": fast.FRAME_PATH, "headers": [], "query_string": b""}
    scope |= {"scheme": "ws", "root_path": "", "subprotocols": [], "asgi": {"version": "3.0"}}
    asyncio.run(Starlette(routes=fast.routes())(scope, receive, send))
    assert sent[0]["type"] == "websocket.accept"
    return [json.loads(m["text"]) for m in sent[1:] if m["type"] == "websocket.send"]


def test_without_the_route_every_frame_is_a_streamlit_frame():
    at = click(open_app(), "Play")
    assert _driver(at)["fast_url"] is None
    assert json.loads(fast.answer(_loop(at).token, "1")) == {"slow": True}


def test_a_fast_frame_trains_and_carries_the_output_map_and_the_metrics(served):
    at = click(open_app(), "Play")
    head = _driver(at)
    assert head["fast_url"] == fast.FRAME_PATH and head["running"] is True
    before = session(at).trainer.step_count
    answer = _fast(at)
    trained = session(at).trainer.step_count
    assert trained > before
    assert answer["id"] == _loop(at).sent and answer["answers"] == head["id"]
    assert answer["wait"] == 0.0  # an idle process: no pace beyond the browser's ceiling
    assert answer["metrics"]["Steps"] == f"{trained:,}"
    assert set(answer["metrics"]) == {m.label for m in at.metric}
    (part,) = answer["parts"]
    assert part["chart"]["id"] == "output_chart" and part["frame"] == answer["id"]
    assert part["live"] is True  # drawn while training: the browser may redraw it lightly
    image = part["chart"]["layout"]["images"][0]  # while training: the map as an image
    assert image["source"].startswith("data:image/png;base64,")
    # the points never change: the fast part leaves them out (null), the browser keeps them
    assert None in part["chart"]["data"]


def test_the_frame_socket_answers_its_messages_in_order_as_the_route_does(served):
    at = click(open_app(), "Play")
    loop, before = _loop(at), session(at).trainer.step_count
    query = f"view={loop.token}&drawn={loop.sent}"
    too_long, malformed = f"{query}&pad={'x' * 300}", f"view={loop.token}&drawn=x"
    messages = [query, query, too_long, malformed, "view=nope&drawn=1", "&&="]
    first, *slow, unknown, empty = _socket_answers(messages)
    assert first["id"] == loop.sent and first["answers"] == int(query.rsplit("=", 1)[1])
    assert first["parts"][0]["chart"]["id"] == "output_chart"
    assert first["metrics"]["Steps"] == f"{session(at).trainer.step_count:,}"
    assert session(at).trainer.step_count > before
    assert slow == [{"slow": True}] * 3  # the same ack again trains nothing
    assert unknown == empty == {"slow": True, "lost": True}


def test_a_repeated_or_stale_ack_trains_nothing_and_the_next_streamlit_frame_follows_on(served):
    at = click(open_app(), "Play")
    first = _fast(at)
    trained = session(at).trainer.step_count
    assert _fast(at, drawn=first["id"]) != {"slow": True}  # the ack of the fast frame: taken
    again = session(at).trainer.step_count
    assert again > trained
    assert _fast(at, drawn=first["id"]) == {"slow": True}  # that ack again
    assert _fast(at, drawn=10**6) == {"slow": True}  # a frame never sent
    assert session(at).trainer.step_count == again
    at.run()  # the Streamlit ack that follows: a frame of every chart, numbered after them
    assert not at.exception
    assert _driver(at)["id"] > first["id"] + 1 and steps(at) == again


def test_paused_a_fast_frame_answers_slow_and_trains_nothing(served):
    at = click(open_app(), "Play")
    click(at, "Pause")
    trained = session(at).trainer.step_count
    assert _driver(at)["fast_url"] is None
    assert _fast(at) == {"slow": True}
    assert session(at).trainer.step_count == trained


def test_chart_parts_are_live_while_training_and_not_once_paused(served):
    """A live part may be redrawn without Plotly (liveview.js); paused, Plotly draws each."""

    def live_parts(at) -> set:
        charted = {str(e.proto.id).rsplit("-", 1)[-1]: e for e in at.get("bidi_component")}
        parts = [decode(e.proto.bytes) for key, e in charted.items() if key.endswith("_chart")]
        return {part.get("live", False) for part in parts}

    at = click(open_app(), "Play")
    assert live_parts(at) == {True}
    assert live_parts(click(at, "Pause")) == {False}


def test_on_a_loaded_process_the_curves_and_the_diagram_come_less_often(served, monkeypatch):
    at = click(open_app(), "Play")
    monkeypatch.setattr(pacing, "loaded", lambda: True)
    n = pacing.LOADED_CADENCE
    charted = [sorted(p["chart"]["id"] for p in _fast(at)["parts"]) for _ in range(n)]
    every = ["loss_chart", "network_chart", "output_chart"]
    assert charted == [every if i + 1 == n else ["output_chart"] for i in range(n)]


def test_a_run_that_ends_in_a_fast_frame_reruns_the_page(served):
    """Divergence stops the run inside a fast frame: the browser falls back to a Streamlit
    ack, and that frame reruns the page, which shows Play and why training stopped."""
    at = click(open_app(PLANE_AT_LR_10), "Play")
    for _ in range(500):
        if _fast(at) == {"slow": True}:
            break
    trainer = session(at).trainer
    assert trainer.divergence.diverged and not session(at).running
    at.run()
    assert not at.exception
    assert any(b.label == "Play" for b in at.button)
    assert any("diverged" in str(e.value) for e in at.error)
    assert metric(at, "Steps") == f"{trainer.step_count:,}"


def test_a_malformed_ack_is_answered_slow_and_an_unknown_session_lost(served):
    """A token no session of this process holds (it restarted, or the session expired): the
    browser reloads the page, since a fragment rerun would reach no fragment there."""
    at = click(open_app(), "Play")
    token = _loop(at).token
    for drawn in ["", "-1", "1e3"]:
        assert json.loads(fast.answer(token, drawn)) == {"slow": True}
    for view in ["nope", "", token[::-1]]:
        assert json.loads(fast.answer(view, "1")) == {"slow": True, "lost": True}
    click(at, "Pause")
    assert json.loads(fast.answer(token, str(_loop(at).sent))) == {"slow": True}  # known


def test_side_by_side_a_fast_frame_carries_each_runs_map_and_the_status_table(served):
    at = click(open_app({"preset": "compare_vanishing_gradients"}), "Play")
    answer = _fast(at)
    names = session(at).run_names
    assert len(names) == 3
    assert sorted(p["chart"]["id"] for p in answer["parts"]) == [
        f"output_chart_{name}" for name in sorted(names)
    ]
    (table,) = answer["tables"]
    snaps = session(at).snapshots()
    assert table["Run"] == names
    assert table["Step"] == [f"{snaps[name].step:,}" for name in names]
    assert all(snaps[name].step > 0 for name in names)
    # each map's header names the step of the map the fast frame carries
    assert {answer["metrics"][f"map step {name}"] for name in names} == set(table["Step"][:1])
    headers = " ".join(m.value for m in at.markdown)
    assert all(f'data-bp-text="map step {name}"' in headers for name in names)
    # the page drew a table of the same columns (the fast frame finds it by them)
    assert any(list(t.value.columns) == list(table) for t in at.table)


def test_between_fast_frames_the_inspection_charts_redraw_in_every_streamlit_frame(served):
    """Streamlit frames are rare when fast frames are served: each redraws the inspection
    charts (a steady count of fast frames between them once kept them from ever redrawing)."""
    at = click(open_app(), "Play")
    redrawn = 0
    for _ in range(4):
        _fast(at)  # one fast frame between Streamlit frames: frame ids go up by two
        at.run()  # the Streamlit ack
        elements = {str(e.proto.id).rsplit("-", 1)[-1]: e for e in at.get("bidi_component")}
        head = _driver(at)
        part = decode(elements["gradients_chart"].proto.bytes)["frame"]
        assert ("gradients_chart" in head["members"]) == (part == head["id"])
        redrawn += part == head["id"]
    assert redrawn == 4


def test_the_curves_and_the_diagram_come_in_one_fast_frame_out_of_their_cadence(served):
    from playground.live import COMPARING_FAST_CADENCE, FAST_CADENCE

    at = click(open_app(), "Play")
    n = FAST_CADENCE["network_chart"]
    assert FAST_CADENCE["loss_chart"] == n > 1
    charted = [sorted(p["chart"]["id"] for p in _fast(at)["parts"]) for _ in range(2 * n)]
    every = ["loss_chart", "network_chart", "output_chart"]
    assert charted == [every if (i + 1) % n == 0 else ["output_chart"] for i in range(2 * n)]

    at = click(open_app({"preset": "compare_vanishing_gradients"}), "Play")
    names = session(at).run_names
    n = COMPARING_FAST_CADENCE["network_chart"]  # a diagram per run: less often
    assert COMPARING_FAST_CADENCE["loss_chart"] == n > FAST_CADENCE["network_chart"]
    charted = [sorted(p["chart"]["id"] for p in _fast(at)["parts"]) for _ in range(2 * n)]
    maps = [f"output_chart_{name}" for name in names]
    slow = sorted(["loss_chart", *maps, *(f"network_chart_{name}" for name in names)])
    assert charted == [slow if (i + 1) % n == 0 else maps for i in range(2 * n)]
    answer = _fast(at)  # the diagrams' headers follow the runs' steps
    assert answer["metrics"][f"diagram step {names[0]}"] == answer["tables"][0]["Step"][0]


def test_a_page_run_after_a_fast_frame_sends_every_chart_whole(served):
    """The fast frame's parts travel on the frame socket while a click's page run renders:
    the page run's frame names no part of it, it carries every chart whole."""
    at = click(open_app(), "Play")
    _fast(at)
    click(at, "Pause")
    specs = [spec for _, spec in charts(at) if "layout_key" in spec]
    assert specs and all("layout" in spec and None not in spec["data"] for spec in specs)
