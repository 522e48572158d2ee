"""How long each live frame trains, adapted to the server's load, and who may train live.

All sessions of one app process share this module. The browser asks for the next frame when it
has drawn the last (playground/liveview), so frames never pile up; what the server decides is
how much training a frame carries. It models the rate it can sustain:

    cost per tick   c = (process CPU seconds in the window) / (ticks in the window)
    sustainable     R = TARGET_CPU / c                  ticks per second, all sessions
    interval        T = clamp(active sessions / R, FAST_INTERVAL, MAX_INTERVAL)

and shrinks the per-frame training budget by FAST_INTERVAL / T (and further when the process is
over its CPU target), which lowers c. The process CPU counts everything a frame causes
(training, figures, Streamlit's own work), so the model needs no guess of where the time goes.

Admission counts live trainers, not recent ticks: a session counts from Play until it pauses
or stops (its `running` turns false), leaves (its Streamlit session disconnects or the
session object is gone), or has not ticked for LIVENESS_TIMEOUT, far above the longest stall
seen under load. A stalled session therefore keeps its place and the cap holds.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import threading
import time
import weakref
from dataclasses import dataclass

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

FAST_INTERVAL = 0.12  # seconds between live redraws when the server is idle
TRAIN_BUDGET = 0.02  # seconds of training per tick when idle
MIN_TRAIN_BUDGET = 0.005
MAX_INTERVAL = 4.0
# Fast frames are paced no slower than this: a redraw a second whatever the load (the process's
# CPU in the window also counts page loads, which would stretch the pace to MAX_INTERVAL in a
# class's first seconds; beyond it, the admission cap protects the process).
MAX_FRAME_INTERVAL = 1.0
WINDOW = 5.0  # seconds of history that define the load
TARGET_CPU = 0.8  # share of one core (the GIL) the process may use before backing off
MAX_LIVE_SESSIONS = 40  # sessions one process lets train live at once (others may still Step)
LIVENESS_TIMEOUT = 60.0  # a trainer silent this long has gone (stalls under load: up to 20 s)
PLAY_GRACE = 2.0  # seconds an admitted session may take to start running

SLOW_FRAME_INTERVAL = 3.0  # with fast frames: seconds between Streamlit frames, when idle
MAX_SLOW_FRAME_INTERVAL = 10.0  # ... and at most, however loaded the process
LOADED_CADENCE = 16  # loaded: a chart that fast frames redraw in one out of n, in one of this
FULL_RATE_TRAINERS = 1  # live trainers a process serves at the full frame rate (one default
# page at 16 frames a second takes about 0.45 core of the TARGET_CPU: tests.benchmarks.app_live)
CONCURRENT_TICKS = 2  # live ticks that may run at once; the rest wait instead of sharing the GIL
FAST_FRAME_SLOTS = 1  # ... and fast frames alone may take this many more

_lock = threading.Lock()
_ticks: collections.deque[tuple[float, int]] = collections.deque(maxlen=20_000)
_cpu: collections.deque[tuple[float, float]] = collections.deque(maxlen=20_000)


@dataclass
class _Trainer:
    """A session admitted to train live (or seen ticking), until it pauses, stops or leaves."""

    session: weakref.ref | None  # the session object (None when only its key was given)
    client: str | None  # its Streamlit session id (None outside a script run)
    admitted: float  # time.monotonic() of Play
    seen: float  # last admission or tick

    def is_live(self, now: float) -> bool:
        if now - self.seen > LIVENESS_TIMEOUT:
            return False
        if self.client is not None and not _connected(self.client):
            return False  # the tab left (or its connection dropped)
        if self.session is None:
            return True
        session = self.session()
        if session is None:
            return False  # the session object was dropped
        return bool(getattr(session, "running", True)) or now - self.admitted < PLAY_GRACE


_trainers: dict[int, _Trainer] = {}


def _key(session) -> int:
    """A session's key: the int itself, or the object's id."""
    return session if isinstance(session, int) else id(session)


def _weak(session) -> weakref.ref | None:
    """A weak reference to the session; for a bare key, to the object of that id in this tab's
    session state (the live panel passes id(session)); None if there is none."""
    if isinstance(session, int):
        session = _in_session_state(session)
    try:
        return weakref.ref(session) if session is not None else None
    except TypeError:
        return None


def _in_session_state(key: int):
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None
    return next((v for v in ctx.session_state.filtered_state.values() if id(v) == key), None)


def _client_id() -> str | None:
    """The Streamlit session this thread runs a script for (None outside a script run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def _connected(client: str) -> bool:
    """True while the Streamlit session has a connected browser (always true without a
    Runtime, e.g. under AppTest)."""
    return not Runtime.exists() or Runtime.instance().is_active_session(client)


@dataclass(eq=False)
class _Waiter:
    fast: bool
    handed: threading.Event
    lane: str = ""  # the slot handed to it


class TickSlots:
    """`shared` slots any live work may take, and `reserved` ones only fast frames may take.
    A fast frame is tens of milliseconds that a student is waiting for; a script run of the
    live panel holds its slot for hundreds (a whole page while a class arrives, or every
    student's Streamlit frame falling due together), and with only shared slots the fast
    frames queued behind them for seconds. A fast frame takes a reserved slot first, so the
    shared ones stay for script runs. A freed slot is handed to the longest waiter that may
    take it (first come, first served: nobody is overtaken for ever)."""

    def __init__(self, shared: int, reserved: int) -> None:
        self._lock = threading.Lock()
        self.free = {"shared": shared, "reserved": reserved}
        self._waiting: collections.deque[_Waiter] = collections.deque()  # in arrival order

    @contextlib.contextmanager
    def hold(self, fast: bool = False):
        with self._lock:
            waiter = _Waiter(fast, threading.Event())
            self._waiting.append(waiter)
            self._hand_over()
        waiter.handed.wait()
        lane = waiter.lane
        try:
            yield
        finally:
            with self._lock:
                self.free[lane] += 1
                self._hand_over()

    def _open_lane(self, fast: bool) -> str:
        """The lane a waiter of this kind may take now ("" if none)."""
        if fast and self.free["reserved"]:
            return "reserved"
        return "shared" if self.free["shared"] else ""

    def _hand_over(self) -> None:
        """Give free slots to the waiters, longest first, each to one it may take."""
        for waiter in list(self._waiting):
            if not any(self.free.values()):
                return
            lane = self._open_lane(waiter.fast)
            if lane:
                self.free[lane] -= 1
                waiter.lane = lane
                self._waiting.remove(waiter)
                waiter.handed.set()


_tick_slots = TickSlots(CONCURRENT_TICKS, FAST_FRAME_SLOTS)


def tick_slot(fast: bool = False):
    """Run a live panel's work (`fast`: a fast frame's) with at most CONCURRENT_TICKS others
    (FAST_FRAME_SLOTS more for fast frames). Thirty sessions' script threads interleaving on the
    GIL make every tick take thirty times its CPU time in wall time; queued, each finishes
    quickly and the throughput is the same."""
    return _tick_slots.hold(fast)


@contextlib.contextmanager
def tick_timer(session=0):
    """Record that a session (the object, or its key) ticked; what the tick cost is read from
    the process CPU clock."""
    try:
        yield
    finally:
        record_tick(session)


def record_tick(session, now: float | None = None, cpu: float | None = None) -> None:
    """A live tick of `session` (the object or its key): it trains, so it is a live trainer
    (also after a reconnect that had dropped it from the count)."""
    now = time.monotonic() if now is None else now
    cpu = time.process_time() if cpu is None else cpu
    key = _key(session)
    with _lock:
        _ticks.append((now, key))
        _cpu.append((now, cpu))
        _trim(now)
        trainer = _trainers.get(key)
        if trainer is not None:
            trainer.seen = now
    if trainer is None:
        _register(session, now)


def _trim(now: float) -> None:
    while _ticks and _ticks[0][0] < now - WINDOW:
        _ticks.popleft()
    while len(_cpu) > 2 and _cpu[0][0] < now - WINDOW:
        _cpu.popleft()


def load(now: float | None = None) -> dict[str, float]:
    """The window's figures: CPU share, cost per tick, active sessions, sustainable rate."""
    now = time.monotonic() if now is None else now
    with _lock:
        _trim(now)
        ticks = len(_ticks)
        sessions = len({key for _, key in _ticks})
        (t0, c0), (t1, c1) = (_cpu[0], _cpu[-1]) if len(_cpu) >= 2 else ((now, 0.0), (now, 0.0))
    span = t1 - t0
    if ticks < 3 or span < 0.5:
        return {"cpu": 0.0, "cost": 0.0, "sessions": sessions, "sustainable": float("inf")}
    cost = max(c1 - c0, 0.0) / max(ticks - 1, 1)
    return {
        "cpu": (c1 - c0) / span,
        "cost": cost,
        "sessions": sessions,
        "sustainable": TARGET_CPU / cost if cost > 0 else float("inf"),
    }


def fast_interval() -> float:
    """The interval for every live session: a stalled one still shares the process."""
    return min(MAX_INTERVAL, max(FAST_INTERVAL, _wanted_interval()))


def frame_interval() -> float:
    """Seconds each live session should leave between its fast frames so that, all of them
    asking, the process stays at TARGET_CPU: 0 while the process has room (the browser's own
    ceiling is the limit), at most MAX_FRAME_INTERVAL. Past the target this leaves the
    process the CPU that page loads and clicks need."""
    return min(MAX_FRAME_INTERVAL, _wanted_interval())


def _wanted_interval() -> float:
    """Sessions / sustainable ticks per second: the interval at which every live session (a
    stalled one counted too) ticking keeps the process at TARGET_CPU."""
    figures = load()
    sessions = max(figures["sessions"], live_trainers())
    return sessions / figures["sustainable"] if figures["sustainable"] else 0.0


def slow_frame_interval() -> float:
    """Seconds between a tab's Streamlit frames while fast frames carry the rest: a Streamlit
    frame costs the server several fast ones, so under load they come as much less often as
    the process's interval is stretched (`fast_interval`), up to MAX_SLOW_FRAME_INTERVAL."""
    stretch = fast_interval() / FAST_INTERVAL
    return min(MAX_SLOW_FRAME_INTERVAL, SLOW_FRAME_INTERVAL * stretch)


def _forget_gone(now: float) -> None:
    for key in [key for key, trainer in _trainers.items() if not trainer.is_live(now)]:
        del _trainers[key]


def live_trainers(now: float | None = None) -> int:
    """Sessions training live now, stalled ones included."""
    now = time.monotonic() if now is None else now
    with _lock:
        _forget_gone(now)
        return len(_trainers)


def admit(session, now: float | None = None) -> bool:
    """May this session (the object, or its key) start training live? Yes if it already is,
    or if fewer than MAX_LIVE_SESSIONS are. It counts at once, so that students pressing Play
    together cannot overshoot, and until it pauses, stops or leaves."""
    now = time.monotonic() if now is None else now
    return _register(session, now, cap=MAX_LIVE_SESSIONS)


def _register(session, now: float, cap: float = float("inf")) -> bool:
    """Count `session` as a live trainer from `now`, if it already is or fewer than `cap` are."""
    trainer = _Trainer(_weak(session), _client_id(), now, now)  # outside the lock: it reads
    key = _key(session)  # the tab's session state
    with _lock:
        _forget_gone(now)
        admitted = key in _trainers or len(_trainers) < cap
        if admitted:
            _trainers[key] = trainer
    return admitted


def loaded() -> bool:
    """Whether the process serves more live trainers than FULL_RATE_TRAINERS (known as soon as
    they press Play, before the load window shows it), is over its CPU target or stretches
    its sessions' interval (then training gets less than its full budget)."""
    return live_trainers() > FULL_RATE_TRAINERS or train_budget() < TRAIN_BUDGET


def cadence(n: int, is_loaded: bool) -> int:
    """A chart redrawn in one fast frame out of `n`: on a loaded process, in one out of
    LOADED_CADENCE at most (the charts cost the server as much as its training)."""
    return max(n, LOADED_CADENCE) if is_loaded and n > 1 else n


def train_budget() -> float:
    """Seconds of training per tick: the full budget on an idle server, less when the process
    is over its CPU target or had to stretch the interval (so redraws, not training, get the
    CPU that is left), never below MIN_TRAIN_BUDGET."""
    cpu = load()["cpu"]
    scale = min(1.0, FAST_INTERVAL / fast_interval())
    if cpu > TARGET_CPU:
        scale = min(scale, TARGET_CPU / cpu)
    return max(MIN_TRAIN_BUDGET, TRAIN_BUDGET * scale)


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
        _cpu.clear()
        _trainers.clear()
