"""How often the live view ticks and how long each tick trains, adapted to the server's load.

All sessions of one app process share this module. Each tick records how long it
took; the recent ticks across all sessions give the process's busy fraction
(busy seconds per wall-clock second, of one core: the GIL serialises them). When
the process is saturated the tick interval grows and the training budget shrinks,
so every student keeps getting updates instead of the process collapsing.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time

FAST_INTERVAL = 0.2  # seconds between live redraws when the server is idle
SLOW_FACTOR = 5  # heavy charts redraw this many times less often
TRAIN_BUDGET = 0.06  # seconds of training per tick when idle
MIN_TRAIN_BUDGET = 0.01
MAX_INTERVAL = 3.0
WINDOW = 3.0  # seconds of tick history that define the load
TARGET_BUSY = 0.75  # fraction of one core the ticks may use before backing off

_lock = threading.Lock()
_ticks: collections.deque[tuple[float, float]] = collections.deque(maxlen=5000)


@contextlib.contextmanager
def tick_timer():
    """Record the duration of one tick (training and drawing)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        record_tick(start, time.perf_counter() - start)


def record_tick(start: float, duration: float) -> None:
    with _lock:
        _ticks.append((start, duration))


def busy_fraction(now: float | None = None) -> float:
    """Seconds spent in ticks over the last WINDOW seconds, divided by WINDOW."""
    now = time.perf_counter() if now is None else now
    with _lock:
        while _ticks and _ticks[0][0] < now - WINDOW:
            _ticks.popleft()
        busy = sum(d for _, d in _ticks)
    return busy / WINDOW


def load_factor() -> float:
    """>= 1: how far over the target load the process runs (1 when under it)."""
    return max(1.0, busy_fraction() / TARGET_BUSY)


def fast_interval() -> float:
    return min(MAX_INTERVAL, FAST_INTERVAL * load_factor())


def slow_interval() -> float:
    return min(MAX_INTERVAL * SLOW_FACTOR, fast_interval() * SLOW_FACTOR)


def train_budget() -> float:
    return max(MIN_TRAIN_BUDGET, TRAIN_BUDGET / load_factor())


def reset() -> None:
    with _lock:
        _ticks.clear()
