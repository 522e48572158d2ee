"""The load client itself: two simulated students against one real app process."""

from __future__ import annotations

import pytest

from tests.load.classroom import Plan, run_plan


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
