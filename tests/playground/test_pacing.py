"""The live loop hands out intervals the process can sustain, and recovers when load drops."""

import gc
import time

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


def test_fast_frames_are_paced_only_once_the_process_is_past_its_target(monkeypatch):
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    assert pacing.frame_interval() == 0.0  # idle: the browser's ceiling is the limit
    simulate(sessions=2, ticks_per_session_per_s=15, cpu_per_tick=0.01, now=100.0)
    assert pacing.frame_interval() < 0.05  # 0.3 core: room to spare
    # 30 sessions asking 15 fast frames a second at 10 ms each: 4.5 cores' worth, on one
    pacing.reset()
    simulate(sessions=30, ticks_per_session_per_s=15, cpu_per_tick=0.01, now=100.0)
    interval = pacing.frame_interval()
    assert interval == pytest.approx(30 / (pacing.TARGET_CPU / 0.01), rel=0.05)
    assert 30 / interval * 0.01 <= pacing.TARGET_CPU * 1.05  # what they then ask fits
    assert pacing.fast_interval() == max(pacing.FAST_INTERVAL, interval)
    simulate(sessions=200, ticks_per_session_per_s=5, cpu_per_tick=0.5, now=100.0)
    assert pacing.frame_interval() == pacing.MAX_FRAME_INTERVAL < pacing.fast_interval()


def test_streamlit_frames_come_less_often_as_the_process_is_loaded(monkeypatch):
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    assert pacing.slow_frame_interval() == pacing.SLOW_FRAME_INTERVAL  # idle
    simulate(sessions=30, ticks_per_session_per_s=5, cpu_per_tick=0.04, now=100.0)
    stretch = pacing.fast_interval() / pacing.FAST_INTERVAL
    assert stretch > 2
    assert pacing.slow_frame_interval() == pytest.approx(
        min(pacing.MAX_SLOW_FRAME_INTERVAL, pacing.SLOW_FRAME_INTERVAL * stretch)
    )
    simulate(sessions=200, ticks_per_session_per_s=5, cpu_per_tick=0.5, now=100.0)
    assert pacing.slow_frame_interval() == pacing.MAX_SLOW_FRAME_INTERVAL


def test_charts_with_a_cadence_come_less_often_on_a_loaded_process(monkeypatch):
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    simulate(sessions=1, ticks_per_session_per_s=16, cpu_per_tick=0.03, now=100.0)
    assert not pacing.loaded()  # one student at the full rate: 0.48 core
    assert [pacing.cadence(n, pacing.loaded()) for n in (1, 4, 32)] == [1, 4, 32]
    simulate(sessions=2, ticks_per_session_per_s=5, cpu_per_tick=0.02, now=100.0)
    assert pacing.loaded()  # two live trainers: more than one process serves at the full rate
    pacing.reset()
    simulate(sessions=1, ticks_per_session_per_s=16, cpu_per_tick=0.06, now=100.0)
    assert pacing.loaded()  # one, over the CPU target
    every, sparse = pacing.cadence(1, True), pacing.cadence(4, True)
    assert every == 1 and sparse == pacing.LOADED_CADENCE > 4  # the output map still in each
    assert pacing.cadence(32, True) == 32


def test_backoff_is_capped_and_budget_has_a_floor(monkeypatch):
    simulate(sessions=200, ticks_per_session_per_s=5, cpu_per_tick=0.5, now=100.0)
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    assert pacing.fast_interval() == pacing.MAX_INTERVAL
    assert pacing.train_budget() == pacing.MIN_TRAIN_BUDGET


def test_old_ticks_leave_the_window(monkeypatch):
    simulate(sessions=30, ticks_per_session_per_s=5, cpu_per_tick=0.04, now=100.0)
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0 + 2 * pacing.WINDOW)
    assert pacing.fast_interval() == pacing.FAST_INTERVAL


class FakeSession:
    """What pacing reads of a PlaygroundSession: whether it is running."""

    def __init__(self) -> None:
        self.running = False

    def play(self, now: float) -> bool:
        admitted = pacing.admit(self, now=now)
        self.running = admitted
        return admitted


def fill_the_cap(now: float) -> list[FakeSession]:
    sessions = [FakeSession() for _ in range(pacing.MAX_LIVE_SESSIONS)]
    assert all(s.play(now) for s in sessions)
    return sessions


def test_admission_stops_at_the_cap_but_never_for_a_session_already_live():
    now = 100.0
    sessions = fill_the_cap(now)
    assert not FakeSession().play(now)
    assert pacing.admit(sessions[3], now=now)


def test_admissions_count_at_once():
    now = 100.0
    admitted = [pacing.admit(key, now=now) for key in range(pacing.MAX_LIVE_SESSIONS + 5)]
    assert admitted.count(True) == pacing.MAX_LIVE_SESSIONS


def test_a_stalled_session_keeps_its_place():
    # Under load a session may not tick for 20 s; it is still training, so the cap holds.
    now = 100.0
    sessions = fill_the_cap(now)
    later = now + 20.0
    assert pacing.live_trainers(later) == len(sessions)
    assert not FakeSession().play(later)


def test_a_stalled_key_keeps_its_place():
    # The same for sessions known only by a key (their id), with no tick for 20 s.
    assert all(pacing.admit(key, now=100.0) for key in range(pacing.MAX_LIVE_SESSIONS))
    assert not pacing.admit(10_000, now=120.0)


def test_a_paused_session_frees_its_place_at_once():
    now = 100.0
    sessions = fill_the_cap(now)
    later = now + pacing.PLAY_GRACE + 0.5
    sessions[0].running = False  # Pause, Step, early stopping or divergence
    assert pacing.live_trainers(later) == pacing.MAX_LIVE_SESSIONS - 1
    assert FakeSession().play(later)


def test_a_session_that_is_gone_frees_its_place_at_once():
    now = 100.0
    sessions = fill_the_cap(now)
    del sessions[0]  # the tab left and Streamlit dropped its state
    gc.collect()
    assert FakeSession().play(now + 0.1)


def test_a_session_whose_browser_disconnected_frees_its_place(monkeypatch):
    connected = {"tab-0": True}
    monkeypatch.setattr(pacing, "_connected", lambda client: connected[client])
    monkeypatch.setattr(pacing, "_client_id", lambda: "tab-0")
    session = FakeSession()
    assert session.play(now=100.0)
    assert pacing.live_trainers(100.0) == 1
    connected["tab-0"] = False
    assert pacing.live_trainers(100.0) == 0


def test_a_silent_key_leaves_after_the_liveness_timeout():
    pacing.admit(7, now=100.0)
    assert pacing.live_trainers(100.0 + pacing.LIVENESS_TIMEOUT - 1) == 1
    assert pacing.live_trainers(100.0 + pacing.LIVENESS_TIMEOUT + 1) == 0


def test_a_session_that_ticks_counts_even_if_not_admitted_here():
    # e.g. a tab that reconnected after a network blip and trains on
    session = FakeSession()
    session.running = True
    pacing.record_tick(session, now=100.0, cpu=0.0)
    assert pacing.live_trainers(100.0) == 1


def test_the_interval_is_shared_by_stalled_sessions_too(monkeypatch):
    # 30 sessions ticked at 40 ms CPU each; 5 more are live but stalled: all share the process
    simulate(sessions=30, ticks_per_session_per_s=5, cpu_per_tick=0.04, now=100.0)
    for k in range(5):
        pacing.admit(1000 + k, now=100.0)
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 100.0)
    assert pacing.fast_interval() == pytest.approx(35 / (pacing.TARGET_CPU / 0.04), rel=0.05)


def test_the_app_counts_a_player_until_it_pauses():
    # The live panel passes id(session): pacing finds the session object in the tab's state.
    from tests.playground.apptest_helpers import click, open_app, session

    at = click(open_app(), "Play")
    assert session(at).running and pacing.live_trainers() == 1
    click(at, "Pause")
    assert pacing.live_trainers(time.monotonic() + pacing.PLAY_GRACE) == 0
