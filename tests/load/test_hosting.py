"""Two app processes behind nginx (scripts/serve_classroom.sh).

nginx serves the page's static files itself, so they never reach (or wait for) an app
process. One process dies mid-lesson: students of the surviving process go on training
without a hitch, students whose process died reconnect to the survivor, students who arrive
afterwards reach the survivor, and once the dead process is back the students who failed
over stay with the survivor that holds their session. The fault run takes about a minute.
"""

from __future__ import annotations

import os
import signal
import urllib.request
from contextlib import contextmanager

import pytest

from playground.liveview.component import plotly_url
from tests.load import server as S
from tests.load.classroom import Plan, balanced_routes, run_plan
from tests.load.student import Behaviour

STUDENTS = 6
SECONDS = 36.0
KILL_AFTER = 9.0
RESTART_AFTER = 1.0  # after the kill
BLIP_AT = 28.0  # after Play: past the restart and nginx's 10 s fail_timeout
# What a page load asks the app: health and host config. Everything else, the plotly.js of the
# live view's component route included, comes from nginx.
FROM_THE_APP = {"/_stcore/health", "/_stcore/host-config"}


def get(url: str, timeout: float = 5.0):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(url), timeout=timeout) as response:
        return response.status, response.headers, response.read()


@contextmanager
def stopped(pids: list[int]):
    """The app processes frozen (SIGSTOP): anything that needs them waits."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_nginx_serves_the_static_files_and_the_page_works(classroom):
    url, ports = classroom
    status, headers, body = get(url + "/")
    script = next(part.split('"')[0] for part in body.decode().split('src="./')[1:])
    # With every app process frozen, the page and its hashed files still come at once.
    with stopped([S.listener_pid(port) for port in ports]):
        status, headers, _ = get(url + "/")
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        assert "X-Upstream" not in headers
        status, headers, _ = get(f"{url}/{script}")
        assert status == 200 and "immutable" in headers["Cache-Control"]
        assert "X-Upstream" not in headers
        status, headers, plotly_js = get(url + plotly_url())
        assert status == 200 and headers["X-Served-By"] == "nginx" and len(plotly_js) > 10**6
        assert "X-Upstream" not in headers

    # Students load the page as a browser does, then open a session and train.
    rep = run_plan(Plan(url, students=2, seconds=6, ramp=1.0, app_ports=tuple(ports), linger=0))
    assert rep["errors"] == []
    for s in rep["per_student"]:
        assert s["played"] and s["redraws"] > 0 and s["steps_end"] > s["steps_start"], s
        # Every file but those asked of the app came from nginx: the page, its scripts,
        # styles and fonts, and the element chunks.
        assert s["page_files"] > 50 and s["plotly_seconds"] is not None, s
        assert s["page_by_proxy"] == s["page_files"] - len(FROM_THE_APP), s


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_dead_process_does_not_stop_the_other_students(classroom):
    url, (first, second) = classroom
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
        restart_after=RESTART_AFTER,
        routes=balanced_routes(url),
        behaviour=Behaviour(reconnect=True, blip_at=BLIP_AT, upload_after_blip=True),
    )
    rep = run_plan(plan)

    students = rep["per_student"][:STUDENTS]
    late = rep["per_student"][STUDENTS:]
    killed = f"127.0.0.1:{second}"
    survivor = f"127.0.0.1:{first}"
    victims = [s for s in students if s["upstreams"][0] == killed]
    survivors = [s for s in students if s["upstreams"][0] == survivor]
    # Sticky routing: the students were spread over both processes, half each.
    assert len(victims) == len(survivors) == STUDENTS // 2, [s["upstreams"] for s in students]

    # The fault really happened and the process came back.
    assert rep["events"]["killed_pid"] > 0
    assert rep["events"]["restarted_at"] > rep["events"]["killed_at"]

    # The dead process's students lost their connection, reconnected to the survivor (a
    # fresh session there) and trained on.
    for s in victims:
        assert s["lost_connection"] and len(s["session_ids"]) >= 2, s
        assert s["upstreams"][1] == survivor, s
        assert all("disconnected by the server" in e for e in s["errors"]), s
        assert s["steps_end"] > 0, s

    # The survivor's students trained on without an error or a stall.
    for s in survivors:
        assert s["errors"] == [] and not s["lost_connection"], s
        assert s["played"] and s["steps_end"] > s["steps_start"]
        # Not a speed target (that is the benchmark's job): a stalled survivor would wait out
        # the rest of the run, so the bounds are wide enough for a busy or slow machine.
        assert s["redraws"] >= 5, s
        assert s["max_gap"] < SECONDS - KILL_AFTER, s

    # After the dead process came back, a network blip of every student: each reconnects to
    # the process that holds its session, resumes it, and its upload reaches it (no 400
    # "Invalid session_id"). The failed-over students stay with the survivor.
    for s in victims + survivors:
        assert s["upstreams"][-1] == survivor, s
        assert s["resumed_after_blip"] is True, s
        assert s["upload_status"] == 204, s

    # Newcomers after the crash were routed to the survivor and trained.
    assert len(late) == 2
    for s in late:
        assert s["upstream"] == survivor, s
        assert s["errors"] == [] and s["played"] and s["redraws"] > 0, s

    # Memory per session stays bounded (measured before the kill).
    assert 0 < rep["server"]["rss_per_session_mb"] <= 30, rep["server"]
