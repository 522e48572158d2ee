"""The closed loop's server side: which frame was sent, which ack was taken, whether to train.

The browser draws frame n, then acks n; only an ack starts the next training tick. Frames are
numbered in the order they are rendered (by any run: an ack's fragment run or a full rerun),
and each frame names the latest ack the server has taken (`answers`), so the browser knows
when its ack was answered. An ack is taken once:

    taken  iff  acked < n <= sent        (a duplicate or stale ack trains nothing)

No Streamlit here: the component wrapper feeds acks in and asks for frames.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Ack:
    """What the browser reports after drawing a frame."""

    frame: int
    ok: bool = True  # False: a chart failed to draw; the next frame is sent whole

    @classmethod
    def parse(cls, value) -> Ack | None:
        """An ack from the component's trigger value ({"frame": n, "ok": bool}); None if the
        value is missing or malformed."""
        if not isinstance(value, dict):
            return None
        frame = value.get("frame")
        if isinstance(frame, bool) or not isinstance(frame, int):
            return None
        return cls(frame, bool(value.get("ok", True)))


@dataclass
class Signal:
    """A report raised by one thread (a callback, a fast frame) and taken once by another."""

    _raised: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def raise_(self) -> None:
        with self._lock:
            self._raised = True

    def take(self) -> bool:
        """Whether it was raised since the last take."""
        with self._lock:
            raised, self._raised = self._raised, False
            return raised


@dataclass
class LiveLoop:
    """One browser view's frame counter. Thread-safe: acks arrive in widget callbacks."""

    sent: int = 0  # id of the latest frame rendered
    acked: int = 0  # id of the latest ack taken
    pending: bool = False  # an ack was taken and its training tick has not run yet
    full: bool = True  # the next frame must carry everything (first frame, or a failed draw)
    ticked_at: float | None = None  # time.monotonic() of the previous tick taken
    # Names this server session to the browser: a page that trained under another name and
    # now meets this one lost its session (the server restarted, or the session expired).
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    # The browser reported such a page: the user is told once.
    rejoined: Signal = field(default_factory=Signal, compare=False)
    # A fast frame ended the run: the next frame reruns the page.
    page_rerun: Signal = field(default_factory=Signal, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def receive(self, ack: Ack | None) -> bool:
        """Take an ack if it is new: acked < frame <= sent. Returns True if taken."""
        if ack is None:
            return False
        with self._lock:
            if not ack.ok:
                self.full = True
            if not self.acked < ack.frame <= self.sent:
                return False
            self.acked, self.pending = ack.frame, True
            return True

    def take_tick(self, now: float | None = None) -> float | None:
        """Once per taken ack, the seconds since the previous tick taken (0.0 for the first):
        the caller trains one tick, then renders. None when there is no ack to answer."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if not self.pending:
                return None
            gap = 0.0 if self.ticked_at is None else now - self.ticked_at
            self.pending, self.ticked_at = False, now
            return gap

    def next_frame(self) -> tuple[int, int, bool]:
        """Number a frame about to be rendered: (id, the ack it answers, whether it is whole)."""
        with self._lock:
            self.sent += 1
            full, self.full = self.full, False
            return self.sent, self.acked, full

    def restart(self) -> None:
        """After a reload the browser has drawn nothing: the next frame is whole."""
        with self._lock:
            self.full = True
