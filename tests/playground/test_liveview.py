"""The live view's server side: acks are taken once, frames carry what changed."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from playground.liveview import Ack, Chart, FrameBuilder, LiveLoop, decode
from playground.liveview.frames import driver


def _sent(loop: LiveLoop, frames: int) -> None:
    for _ in range(frames):
        loop.next_frame()


def test_an_ack_of_the_newest_frame_trains_one_tick():
    loop = LiveLoop()
    _sent(loop, 1)
    assert loop.receive(Ack(1))
    assert loop.take_tick() == 0.0 and loop.take_tick() is None


def test_a_duplicate_ack_trains_nothing():
    loop = LiveLoop()
    _sent(loop, 1)
    assert loop.receive(Ack(1)) and loop.take_tick() is not None
    _sent(loop, 1)
    assert not loop.receive(Ack(1))  # the watchdog's repeat of an answered ack
    assert loop.take_tick() is None


def test_a_stale_or_unsent_frame_is_not_taken():
    loop = LiveLoop()
    _sent(loop, 3)
    assert loop.receive(Ack(3)) and loop.take_tick() is not None
    assert not loop.receive(Ack(2))  # older than the ack already taken
    assert not loop.receive(Ack(9))  # never sent
    assert loop.take_tick() is None


def test_an_ack_of_an_earlier_unanswered_frame_is_taken_once():
    """A full rerun rendered frame 2 while the browser acked frame 1: frame 1's ack still
    trains once, and frame 2 answers it."""
    loop = LiveLoop()
    _sent(loop, 2)
    assert loop.receive(Ack(1)) and not loop.receive(Ack(1))
    frame, answers, _ = loop.next_frame()
    assert (frame, answers) == (3, 1)


def test_malformed_acks_are_ignored():
    for value in (None, 3, "1", {}, {"frame": "1"}, {"frame": True}, {"frame": 1.5}):
        assert Ack.parse(value) is None, value
    assert Ack.parse({"frame": 4, "ok": False}) == Ack(4, ok=False)


def test_a_failed_draw_makes_the_next_frame_whole():
    loop = LiveLoop()
    assert loop.next_frame()[2]  # the first frame is whole
    assert not loop.next_frame()[2]
    loop.receive(Ack(2, ok=False))
    assert loop.next_frame()[2]
    assert not loop.next_frame()[2]


def _figure(y, title="loss") -> go.Figure:
    return go.Figure(go.Scatter(y=np.asarray(y, dtype=np.float32)), layout={"title": title})


def _part(builder, chart, frame, full=False):
    raw = builder.chart(chart, frame=frame, full=full, uirevision="r", plotly_url="/p.js")
    return decode(raw)


def test_a_layout_travels_only_when_it_changed():
    builder = FrameBuilder()
    first = _part(builder, Chart("loss", _figure([1, 2])), 1, full=True)["chart"]
    second = _part(builder, Chart("loss", _figure([1, 2, 3])), 2)["chart"]
    third = _part(builder, Chart("loss", _figure([1, 2, 3], title="other")), 3)["chart"]
    assert "layout" in first and "layout" not in second and "layout" in third
    assert second["layout_key"] == first["layout_key"] != third["layout_key"]


def test_a_trace_travels_only_when_it_changed():
    def figure(points, line):
        return {
            "data": [{"type": "scatter", "y": points}, {"type": "scatter", "y": line}],
            "layout": {},
        }

    builder = FrameBuilder()
    first = _part(builder, Chart("map", figure([1, 2], [3])), 1, full=True)["chart"]
    second = _part(builder, Chart("map", figure([1, 2], [4])), 2)["chart"]
    whole = _part(builder, Chart("map", figure([1, 2], [4])), 3, full=True)["chart"]
    assert second["data"][0] is None and second["data"][1]["y"] == [4]
    assert second["data_keys"][0] == first["data_keys"][0] != first["data_keys"][1]
    assert all(trace is not None for trace in whole["data"])


def test_a_whole_frame_carries_every_layout():
    builder = FrameBuilder()
    _part(builder, Chart("map", _figure([1])), 1, full=True)
    assert "layout" not in _part(builder, Chart("map", _figure([2])), 2)["chart"]
    assert "layout" in _part(builder, Chart("map", _figure([2])), 3, full=True)["chart"]


def test_a_frame_is_json_even_with_nan_and_names_what_the_browser_needs():
    fig = {"data": [{"type": "scatter", "y": [1.0, math.nan]}], "layout": {"title": "t"}}
    part = _part(FrameBuilder(), Chart("c", fig), 5)
    assert part["chart"]["data"][0]["y"] == [1.0, None]
    assert (part["role"], part["frame"], part["plotly_url"], part["uirevision"]) == (
        "chart",
        5,
        "/p.js",
        "r",
    )
    head = decode(driver(frame=5, answers=4, running=True, members=["c"]))
    assert (head["role"], head["id"], head["answers"], head["running"]) == ("driver", 5, 4, True)
    assert head["members"] == ["c"] and head["min_interval"] > 0 and head["watchdog"] > 1


# --- in the app (AppTest runs no JavaScript: the test acks as the browser would) -------------


def test_in_the_app_only_an_ack_trains_and_a_repeated_ack_trains_nothing():
    from playground.live import LIVE_VIEW
    from tests.playground.apptest_helpers import chart_ids, click, open_app, steps

    at = click(open_app(), "Play")
    loop = at.session_state[f"{LIVE_VIEW}__liveview"][0]
    at.run()
    assert steps(at) == 0  # running, but nothing was acked: no timer trains
    assert {"output_chart", "loss_chart", "network_chart"} <= {
        i.rsplit("-", 1)[-1] for i in chart_ids(at)
    }
    assert loop.receive(Ack(loop.sent))
    at.run()
    trained = steps(at)
    assert trained > 0
    assert not loop.receive(Ack(loop.acked))  # the same ack again
    at.run()
    assert steps(at) == trained
    click(at, "Pause")
    loop.receive(Ack(loop.sent))  # an ack that crossed the pause trains nothing
    at.run()
    assert steps(at) == trained


def test_a_page_run_after_a_fragment_or_fast_frame_sends_every_chart_whole():
    """A page run (a click) that follows an ack's fragment run or a fast frame may have
    stopped that run, or started before its parts were sent: Streamlit drops them, so the
    page run's frame carries every chart whole (its layout and every trace). A page run after
    a page run (all AppTest runs are) leaves out what did not change."""
    from playground.live import LIVE_VIEW
    from tests.playground.apptest_helpers import ack, charts, click, open_app

    def parts(at) -> list[dict]:
        return [spec for _, spec in charts(at) if "layout_key" in spec]

    at = ack(ack(click(open_app(), "Play")))
    assert any("layout" not in spec or None in spec["data"] for spec in parts(at))
    builder = at.session_state[f"{LIVE_VIEW}__liveview"][1]
    builder.page_frame -= 1  # the newest frame came from a fragment run, as in the browser
    ack(at)
    assert parts(at) and all("layout" in spec and None not in spec["data"] for spec in parts(at))
    ack(at)
    assert any("layout" not in spec or None in spec["data"] for spec in parts(at))


def test_an_inspection_chart_is_resent_unchanged_between_its_frames():
    """The inspection charts redraw in one frame out of INSPECTION_CADENCE: in the others the
    browser is sent the same part (it keeps its drawing) and the frame does not wait for it."""
    from playground.live import INSPECTION_CADENCE, LIVE_VIEW
    from tests.playground.apptest_helpers import ack, click, open_app

    assert INSPECTION_CADENCE == 2
    at = click(open_app(), "Play")
    redrawn = 0
    for _ in range(4):
        ack(at)
        elements = {str(e.proto.id).rsplit("-", 1)[-1]: e for e in at.get("bidi_component")}
        part = decode(elements["gradients_chart"].proto.bytes)["frame"]
        head = decode(elements[LIVE_VIEW].proto.bytes)
        assert ("gradients_chart" in head["members"]) == (part == head["id"])
        redrawn += part == head["id"]
    assert redrawn == 2  # in two of four frames


def test_a_lost_session_is_reported_once_and_the_driver_names_the_session():
    loop, other = LiveLoop(), LiveLoop()
    assert loop.token != other.token and not loop.rejoined.take()
    loop.rejoined.raise_()
    assert loop.rejoined.take() and not loop.rejoined.take()
    head = decode(driver(frame=1, answers=0, running=False, members=[], session=loop.token))
    assert head["session"] == loop.token and head["trained"] is False


def test_in_the_app_a_page_that_lost_its_session_is_told_and_training_starts_over():
    """What the browser reports when a page that trained meets a new server session (the
    process died and the page reconnected to another, or the session expired)."""
    from playground.live import LIVE_VIEW
    from tests.playground.apptest_helpers import click, messages, open_app, steps

    at = click(open_app(), "Step")
    head = decode(at.get("bidi_component")[-1].proto.bytes)
    assert head["role"] == "driver" and head["trained"] is True
    assert "lost its session" not in messages(at)
    at.session_state[f"{LIVE_VIEW}__liveview"][0].rejoined.raise_()  # the trigger's callback
    at.run()
    assert not at.exception
    assert "lost its session on the server" in messages(at)
    assert "Save, load and export" in messages(at)
    click(at, "Step")
    assert steps(at) == 2 and messages(at).count("lost its session") == 1


@pytest.mark.parametrize("acks", [1, 2])
def test_the_frame_after_pause_redraws_every_chart(acks):
    """Paused, no next frame comes: the inspection charts must not keep a stale drawing."""
    from playground.live import LIVE_VIEW
    from tests.playground.apptest_helpers import ack, click, open_app

    at = click(open_app(), "Play")
    for _ in range(acks):
        ack(at)
    click(at, "Pause")
    elements = {str(e.proto.id).rsplit("-", 1)[-1]: e for e in at.get("bidi_component")}
    head = decode(elements[LIVE_VIEW].proto.bytes)
    assert head["running"] is False
    part = decode(elements["gradients_chart"].proto.bytes)
    assert part["frame"] == head["id"] and "gradients_chart" in head["members"]


def test_a_tick_reports_the_time_since_the_previous_one():
    loop = LiveLoop()
    _sent(loop, 2)
    loop.receive(Ack(1))
    assert loop.take_tick(now=10.0) == 0.0
    loop.receive(Ack(2))
    assert loop.take_tick(now=10.75) == 0.75


def test_slow_frames_on_an_idle_server_train_a_share_of_the_gap():
    """A slow browser (one frame a second) still trains 1/6 of the time, as the old 0.12 s
    ticks did; a loaded server keeps its own smaller budget; Pause never waits long."""
    from playground import pacing
    from playground.live import MAX_FRAME_TRAINING, frame_budget

    full = pacing.TRAIN_BUDGET
    assert frame_budget(full, 0.05) == full  # fast frames: the usual budget
    assert frame_budget(full, 0.48) == pytest.approx(4 * full)
    assert frame_budget(full, 10.0) == MAX_FRAME_TRAINING <= 0.1
    assert frame_budget(full / 2, 10.0) == full / 2  # loaded: the server's budget rules


@pytest.mark.parametrize("preset", ["circle_starter", "vanishing_gradients", "digits"])
def test_frames_encode_every_chart_as_plotly_does(preset):
    """The live view's own encoder (read in place, no deep copy) gives the JSON plotly.py's
    `to_json` gives, typed arrays included, for every chart the app draws."""
    import plotly.io as pio

    from playground.liveview.frames import figure_parts, to_json
    from tests.benchmarks.chart_speed import builders, trained

    for name, build in builders(trained(preset, None, max_steps=30)).items():
        fig = build()
        expected = json.loads(pio.to_json(fig, validate=False))
        data, layout = figure_parts(fig)
        assert [json.loads(to_json(t)) for t in data] == expected["data"], name
        assert json.loads(to_json(layout)) == expected["layout"], name


def test_frames_encode_arrays_compactly_and_non_finite_values_as_null():
    from playground.liveview.frames import to_json

    out = json.loads(
        to_json(
            {
                "z": np.arange(6, dtype=np.int64).reshape(2, 3),
                "x": np.array([1.0, np.nan]),
                "range": np.array([0.0, 1.0]),
                "y": [np.float32(2.5), math.inf],
                "text": np.array(["a", "b"]),
            }
        )
    )
    assert out["z"]["dtype"] == "i1" and out["z"]["shape"] == "2, 3"
    assert np.array_equal(np.frombuffer(base64.b64decode(out["z"]["bdata"]), np.int8), range(6))
    assert np.isnan(np.frombuffer(base64.b64decode(out["x"]["bdata"]))[1])
    assert out["range"] == [0.0, 1.0] and out["y"] == [2.5, None] and out["text"] == ["a", "b"]
