"""Two app processes behind nginx (scripts/serve_classroom.sh); one dies mid-lesson.

Students of the surviving process must go on training without a hitch, students whose
process died see their connection drop, and students who arrive afterwards reach the
survivor. The run takes about 40 s.
"""

from __future__ import annotations

import pytest

from tests.load.classroom import Plan, balanced_routes, run_plan

STUDENTS = 6
SECONDS = 20.0
KILL_AFTER = 9.0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_dead_process_does_not_stop_the_other_students(classroom):
    url, (first, second) = classroom
    routes = balanced_routes(url, per_upstream=STUDENTS)
    plan = Plan(
        url,
        students=STUDENTS,
        seconds=SECONDS,
        ramp=2.0,
        app_ports=(first, second),
        linger=1.0,
        kill_port=second,
        kill_after=KILL_AFTER,
        late=2,
        late_seconds=8.0,
        routes=routes,
    )
    rep = run_plan(plan)

    students = rep["per_student"][:STUDENTS]
    late = rep["per_student"][STUDENTS:]
    killed = f"127.0.0.1:{second}"
    survivor = f"127.0.0.1:{first}"
    victims = [s for s in students if s["upstream"] == killed]
    survivors = [s for s in students if s["upstream"] == survivor]
    # Sticky routing: the students were spread over both processes, half each.
    assert len(victims) == len(survivors) == STUDENTS // 2, [s["upstream"] for s in students]

    # The fault really happened: the dead process's students lost their connection.
    assert rep["events"]["killed_pid"] > 0
    assert all(s["disconnected"] and s["errors"] for s in victims), victims

    # The survivor's students trained on without an error or a stall.
    for s in survivors:
        assert s["errors"] == [] and not s["disconnected"], s
        assert s["played"] and s["steps_end"] > s["steps_start"]
        # Not a speed target (that is the benchmark's job): a stalled survivor would wait out
        # the rest of the run, so the bounds are wide enough for a busy or slow machine.
        assert s["redraws"] >= 5, s
        assert s["max_gap"] < SECONDS - KILL_AFTER, s

    # Newcomers after the crash were routed to the survivor and trained.
    assert len(late) == 2
    for s in late:
        assert s["upstream"] == survivor, s
        assert s["errors"] == [] and s["played"] and s["redraws"] > 0, s

    # Memory per session stays bounded (measured before the kill).
    assert 0 < rep["server"]["rss_per_session_mb"] <= 30, rep["server"]
