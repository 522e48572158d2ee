"""The live view's server side: acks are taken once, frames carry what changed."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from playground.liveview import Ack, Chart, FrameBuilder, LiveLoop, decode


def _sent(loop: LiveLoop, frames: int) -> None:
    for _ in range(frames):
        loop.next_frame()


def test_an_ack_of_the_newest_frame_trains_one_tick():
    loop = LiveLoop()
    _sent(loop, 1)
    assert loop.receive(Ack(1))
    assert loop.take_tick() and not loop.take_tick()


def test_a_duplicate_ack_trains_nothing():
    loop = LiveLoop()
    _sent(loop, 1)
    assert loop.receive(Ack(1)) and loop.take_tick()
    _sent(loop, 1)
    assert not loop.receive(Ack(1))  # the watchdog's repeat of an answered ack
    assert not loop.take_tick()


def test_a_stale_or_unsent_frame_is_not_taken():
    loop = LiveLoop()
    _sent(loop, 3)
    assert loop.receive(Ack(3)) and loop.take_tick()
    assert not loop.receive(Ack(2))  # older than the ack already taken
    assert not loop.receive(Ack(9))  # never sent
    assert not loop.take_tick()


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


def _build(builder, charts, frame, full=False):
    raw = builder.build(
        charts,
        frame=frame,
        answers=frame - 1,
        full=full,
        running=True,
        uirevision="r",
        plotly_url="/p.js",
    )
    return decode(raw)


def test_a_layout_travels_only_when_it_changed():
    builder = FrameBuilder()
    first = _build(builder, [Chart("loss", _figure([1, 2]))], 1, full=True)
    second = _build(builder, [Chart("loss", _figure([1, 2, 3]))], 2)
    third = _build(builder, [Chart("loss", _figure([1, 2, 3], title="other"))], 3)
    assert "layout" in first["charts"][0]
    assert "layout" not in second["charts"][0]
    assert second["charts"][0]["layout_key"] == first["charts"][0]["layout_key"]
    assert "layout" in third["charts"][0]
    assert third["charts"][0]["layout_key"] != first["charts"][0]["layout_key"]


def test_a_whole_frame_carries_every_layout_and_every_chart():
    builder = FrameBuilder()
    charts = [Chart("map", _figure([1])), Chart("inspect", _figure([2]), every=3)]
    _build(builder, charts, 1, full=True)
    partial = _build(builder, charts, 2)
    whole = _build(builder, charts, 4, full=True)
    assert [c["id"] for c in partial["charts"]] == ["map"]
    assert partial["order"] == ["map", "inspect"]
    assert [c["id"] for c in whole["charts"]] == ["map", "inspect"]
    assert all("layout" in c for c in whole["charts"])


def test_a_frame_is_json_even_with_nan_and_names_what_the_browser_needs():
    fig = {"data": [{"type": "scatter", "y": [1.0, math.nan]}], "layout": {"title": "t"}}
    frame = _build(FrameBuilder(), [Chart("c", fig)], 5)
    assert frame["charts"][0]["data"][0]["y"] == [1.0, None]
    assert (frame["id"], frame["answers"], frame["running"]) == (5, 4, True)
    assert frame["min_interval"] > 0 and frame["watchdog"] > 1
    assert frame["plotly_url"] == "/p.js" and frame["uirevision"] == "r"
