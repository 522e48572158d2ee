"""The load client itself: two simulated students against one real app process."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from tests.load.classroom import Plan, run_plan
from tests.load.student import Student


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_students_press_play_and_train(app_url):
    rep = run_plan(Plan(app_url, students=2, seconds=10, ramp=1.0, linger=1.0))

    assert rep["errors"] == []
    for student in rep["per_student"]:
        assert student["loaded"] and student["played"], student
        assert not student["disconnected"] and not student["told_busy"]
        # Play started the closed loop: the student acked each frame it drew, mostly by
        # fetching a fast frame (trained, Steps redrawn, no script run), and every few seconds
        # (pacing.SLOW_FRAME_INTERVAL) by a rerun of the live fragment alone (every chart) ...
        assert student["redraws"] >= 3, student
        assert student["fast_frames"] > 5 * student["acks"] >= 10, student
        assert student["acks"] + student["fast_frames"] >= student["redraws"], student
        assert student["full_runs"] <= 4, student  # the page, Play, Pause (and a repace)
        fragment_runs = student["fragment_runs"]
        assert fragment_runs + student["fast_frames"] >= student["redraws"] - student["full_runs"]
        # ... each answered by the next frame, none lost.
        assert len(student["answer_seconds"]) >= student["redraws"] - 1, student
        assert student["watchdog_acks"] == 0, student
        # The first chart loaded plotly.js from the app, as the browser does.
        assert student["plotly_seconds"] is not None, student
        # The Steps shown count training steps.
        assert student["steps_end"] > student["steps_start"] >= 0
        assert student["steps_per_second"] > 0
        assert 9.5 <= student["trained_seconds"] <= 12.0
    server = rep["server"]
    assert server["rss_one_tab_mb"] > server["rss_idle_mb"] > 0
    assert server["cpu_percent_training"] > 10  # the server really trained


def _send_on_closed_socket(student, closing: bool) -> None:
    """The live view acks while the socket is closed (by the student leaving, or the server)."""

    class ClosedSocket:
        async def send(self, data):
            raise ConnectionClosedError(None, Close(1000, ""), None)  # "sent 1000 (OK)"

    student.ws, student._closing = ClosedSocket(), closing
    asyncio.run(student._send(b"ack"))


def test_an_ack_that_meets_the_students_own_closing_socket_is_not_an_error():
    student = Student(0, "http://127.0.0.1:9", seconds=1)
    _send_on_closed_socket(student, closing=True)
    assert student.result.errors == [] and not student.result.disconnected


def test_a_socket_the_server_closed_is_an_error():
    student = Student(0, "http://127.0.0.1:9", seconds=1)
    _send_on_closed_socket(student, closing=False)
    assert student.result.disconnected
    assert student.result.errors == [
        "disconnected by the server: sent 1000 (OK); no close frame received"
    ]
