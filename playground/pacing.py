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
import gc
import threading
import time

FAST_INTERVAL = 0.2  # seconds between live redraws when the server is idle
NETWORK_FACTOR = 5  # the network diagram redraws this many times less often
INSPECT_FACTOR = 10  # the inspection charts even less often
TRAIN_BUDGET = 0.03  # seconds of training per tick when idle
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


def network_interval() -> float:
    return fast_interval() * NETWORK_FACTOR


def inspect_interval() -> float:
    return fast_interval() * INSPECT_FACTOR


def train_budget() -> float:
    return max(MIN_TRAIN_BUDGET, TRAIN_BUDGET / load_factor())


REPACE_AFTER = 5.0  # seconds between re-pacing a running session (a full rerun)


def should_repace(interval_in_effect: float, paced_at: float, now: float | None = None) -> bool:
    """True when the load moved the right interval far from the one the browser timer uses."""
    now = time.monotonic() if now is None else now
    if now - paced_at < REPACE_AFTER or interval_in_effect <= 0:
        return False
    ratio = fast_interval() / interval_in_effect
    return ratio > 1.5 or ratio < 1 / 1.5


_frozen = False


def freeze_startup_objects() -> None:
    """Once per process: move the objects that exist after start-up (modules, Streamlit,
    Plotly) out of the garbage collector's view, so its automatic collections stay short."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def reset() -> None:
    with _lock:
        _ticks.clear()
