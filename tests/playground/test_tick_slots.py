"""The live work's slots (pacing.TickSlots): script runs share a few; fast frames may also
take reserved ones, so they never wait behind a queue of script runs."""

from __future__ import annotations

import threading
import time

from playground.pacing import TickSlots

WAIT = 5.0  # seconds a step of these tests may take at most (they take milliseconds)


class Holder:
    """A thread that takes a slot, reports it, and keeps it until told to let go."""

    def __init__(self, slots: TickSlots, fast: bool) -> None:
        self.holding, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(slots, fast), daemon=True)
        self.thread.start()

    def _run(self, slots: TickSlots, fast: bool) -> None:
        with slots.hold(fast):
            self.holding.set()
            self.release.wait(WAIT)

    def let_go(self) -> None:
        self.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


def waits(holder: Holder) -> bool:
    """Whether the holder is still waiting for a slot a while after it asked."""
    return not holder.holding.wait(0.2)


def test_script_runs_share_their_slots_and_a_fast_frame_still_gets_in():
    slots = TickSlots(shared=2, reserved=1)
    scripts = [Holder(slots, fast=False) for _ in range(2)]
    assert all(s.holding.wait(WAIT) for s in scripts)
    third = Holder(slots, fast=False)
    assert waits(third)  # the shared slots are taken
    frame = Holder(slots, fast=True)
    assert frame.holding.wait(WAIT)  # the reserved one is not
    second_frame = Holder(slots, fast=True)
    assert waits(second_frame)
    frame.let_go()  # the reserved slot goes to the waiting fast frame, not to the script run
    assert second_frame.holding.wait(WAIT) and waits(third)
    scripts[0].let_go()
    assert third.holding.wait(WAIT)
    for holder in (scripts[1], third, second_frame):
        holder.let_go()
    assert slots.free == {"shared": 2, "reserved": 1}


def test_a_fast_frame_takes_a_reserved_slot_first_and_a_shared_one_when_that_is_taken():
    slots = TickSlots(shared=2, reserved=1)
    frames = [Holder(slots, fast=True) for _ in range(3)]
    assert all(f.holding.wait(WAIT) for f in frames)
    assert slots.free == {"shared": 0, "reserved": 0}
    script = Holder(slots, fast=False)
    assert waits(script)
    frames[0].let_go()  # whichever slot it held, a shared one is free now or soon
    frames[1].let_go()
    assert script.holding.wait(WAIT)
    for holder in (frames[2], script):
        holder.let_go()
    assert slots.free == {"shared": 2, "reserved": 1}


def test_a_freed_slot_goes_to_the_longest_waiter():
    slots = TickSlots(shared=1, reserved=0)
    first = Holder(slots, fast=False)
    assert first.holding.wait(WAIT)
    queue = []
    for fast in (False, True, False, True):
        queue.append(Holder(slots, fast=fast))
        assert waits(queue[-1])  # queued in this order
    previous = first
    for holder in queue:
        previous.let_go()
        assert holder.holding.wait(WAIT)
        assert all(waits(later) for later in queue[queue.index(holder) + 1 :])
        previous = holder
    previous.let_go()
    assert slots.free == {"shared": 1, "reserved": 0}


def test_under_contention_the_bounds_hold():
    slots, lock = TickSlots(shared=2, reserved=1), threading.Lock()
    inside = {"all": 0, "scripts": 0}
    peak = {"all": 0, "scripts": 0}

    def work(fast: bool) -> None:
        for _ in range(20):
            with slots.hold(fast):
                with lock:
                    inside["all"] += 1
                    inside["scripts"] += not fast
                    peak.update({k: max(peak[k], inside[k]) for k in peak})
                time.sleep(0.001)
                with lock:
                    inside["all"] -= 1
                    inside["scripts"] -= not fast

    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert peak["all"] <= 3 and peak["scripts"] <= 2
    assert slots.free == {"shared": 2, "reserved": 1}
