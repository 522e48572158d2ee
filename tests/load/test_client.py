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
        assert not student["disconnected"]
        # Play switched the live fragment on: the server asked for timed reruns ...
        assert 0 < min(student["intervals"].values()) <= 1.0, student["intervals"]
        # ... which the client answered, and each answer redrew the Steps metric ...
        assert student["redraws"] >= 3, student
        assert student["fragment_runs"] >= student["redraws"] - 1
        # ... that counts training steps.
        assert student["steps_end"] > student["steps_start"] >= 0
        assert student["steps_per_second"] > 0
        assert 9.5 <= student["trained_seconds"] <= 12.0
    server = rep["server"]
    assert server["rss_one_tab_mb"] > server["rss_idle_mb"] > 0
    assert server["cpu_percent_training"] > 10  # the server really trained
