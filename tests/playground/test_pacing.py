"""The live loop backs off when the process is saturated and recovers when it is not."""

import time

import pytest

from playground import pacing


@pytest.fixture(autouse=True)
def clean_ticks():
    pacing.reset()
    yield
    pacing.reset()


def test_idle_server_uses_the_fast_settings():
    assert pacing.busy_fraction() == 0
    assert pacing.fast_interval() == pacing.FAST_INTERVAL
    assert pacing.train_budget() == pacing.TRAIN_BUDGET
    assert pacing.network_interval() > pacing.fast_interval()
    assert pacing.inspect_interval() > pacing.network_interval()


def test_saturated_server_ticks_less_often_and_trains_less_per_tick():
    now = time.perf_counter()
    # 3 seconds' window filled with 6 seconds of tick work: twice what one core can do
    for i in range(60):
        pacing.record_tick(now - 2.9 + i * 0.048, 0.1)
    assert pacing.busy_fraction(now) == pytest.approx(2.0, rel=0.01)
    factor = 2.0 / pacing.TARGET_BUSY
    assert pacing.fast_interval() == pytest.approx(pacing.FAST_INTERVAL * factor, rel=0.05)
    assert pacing.train_budget() == pytest.approx(pacing.TRAIN_BUDGET / factor, rel=0.05)


def test_backoff_is_capped_and_budget_has_a_floor():
    now = time.perf_counter()
    for i in range(1000):
        pacing.record_tick(now - 2.9 + i * 0.002, 1.0)
    assert pacing.fast_interval() == pacing.MAX_INTERVAL
    assert pacing.train_budget() == pacing.MIN_TRAIN_BUDGET


def test_old_ticks_leave_the_window():
    pacing.record_tick(time.perf_counter() - 10, 5.0)
    assert pacing.busy_fraction() == 0


def test_repace_only_after_a_while_and_on_a_large_change():
    now = time.monotonic()
    assert not pacing.should_repace(pacing.FAST_INTERVAL, paced_at=now, now=now + 1)
    assert not pacing.should_repace(pacing.FAST_INTERVAL, paced_at=now, now=now + 10)
    assert pacing.should_repace(pacing.FAST_INTERVAL * 3, paced_at=now, now=now + 10)
