"""The live loop hands out intervals the process can sustain, and recovers when load drops."""

import pytest

from playground import pacing


@pytest.fixture(autouse=True)
def clean_ticks():
    pacing.reset()
    yield
    pacing.reset()


def simulate(sessions: int, ticks_per_session_per_s: float, cpu_per_tick: float, now: float):
    """Fill the window with ticks from `sessions` sessions, each costing `cpu_per_tick`."""
    rate = sessions * ticks_per_session_per_s
    n = int(rate * pacing.WINDOW)
    cpu = 0.0
    for i in range(n):
        t = now - pacing.WINDOW + (i + 0.5) / rate
        cpu += cpu_per_tick
        pacing.record_tick(i % sessions, now=t, cpu=cpu)


def test_idle_server_uses_the_fast_settings():
    assert pacing.fast_interval() == pacing.FAST_INTERVAL
    assert pacing.train_budget() == pacing.TRAIN_BUDGET
    assert pacing.FAST_INTERVAL < pacing.network_interval() < pacing.inspect_interval()


def test_light_load_keeps_the_fast_interval(monkeypatch):
    simulate(sessions=2, ticks_per_session_per_s=5, cpu_per_tick=0.02, now=100.0)
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    figures = pacing.load(100.0)
    assert figures["sessions"] == 2
    assert figures["cpu"] == pytest.approx(0.2, rel=0.05)
    assert pacing.fast_interval() == pacing.FAST_INTERVAL
    assert pacing.train_budget() == pacing.TRAIN_BUDGET


def test_thirty_students_get_an_interval_the_process_can_serve(monkeypatch):
    # 30 sessions asking 5 ticks/s at 40 ms CPU each: 6 cores' worth, on one
    simulate(sessions=30, ticks_per_session_per_s=5, cpu_per_tick=0.04, now=100.0)
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    interval = pacing.fast_interval()
    # what the process can sustain: 0.8 core / 40 ms = 20 ticks/s shared by 30 students
    assert interval == pytest.approx(30 / (pacing.TARGET_CPU / 0.04), rel=0.05)
    total_cpu = 30 / interval * 0.04
    assert total_cpu <= pacing.TARGET_CPU * 1.05
    assert pacing.train_budget() < pacing.TRAIN_BUDGET


def test_backoff_is_capped_and_budget_has_a_floor(monkeypatch):
    simulate(sessions=200, ticks_per_session_per_s=5, cpu_per_tick=0.5, now=100.0)
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    assert pacing.fast_interval() == pacing.MAX_INTERVAL
    assert pacing.train_budget() == pacing.MIN_TRAIN_BUDGET


def test_old_ticks_leave_the_window(monkeypatch):
    simulate(sessions=30, ticks_per_session_per_s=5, cpu_per_tick=0.04, now=100.0)
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0 + 2 * pacing.WINDOW)
    assert pacing.fast_interval() == pacing.FAST_INTERVAL


def test_repace_only_after_a_while_and_on_a_large_change():
    assert not pacing.should_repace(pacing.FAST_INTERVAL, paced_at=0.0, now=1.0)
    assert not pacing.should_repace(pacing.FAST_INTERVAL, paced_at=0.0, now=10.0)
    assert pacing.should_repace(pacing.FAST_INTERVAL * 3, paced_at=0.0, now=10.0)


def test_admission_stops_at_the_cap_but_never_for_a_session_already_live():
    now = 100.0
    for key in range(pacing.MAX_LIVE_SESSIONS):
        pacing.record_tick(key, now=now, cpu=0.0)
    assert not pacing.admit(10_000, now=now)
    assert pacing.admit(3, now=now)
    assert pacing.admit(10_000, now=now + 2 * pacing.WINDOW)  # they left


def test_admissions_count_at_once():
    now = 100.0
    admitted = [pacing.admit(key, now=now) for key in range(pacing.MAX_LIVE_SESSIONS + 5)]
    assert admitted.count(True) == pacing.MAX_LIVE_SESSIONS
