"""Bounded time series: a run left going for an hour must not grow without limit.

A `Series` keeps at most `capacity` points: the newest half at full resolution, and before
them an archive of the whole run at an even resolution. Each point has a sequence number (the
count of points appended before it); the archive keeps the points whose number is a multiple
of its stride, a power of two that doubles when the archive needs the room. So every stretch
of a long run keeps points (the archive's step spacing is at most about 8 x steps / capacity),
the first point stays, and memory stays O(capacity). (Dropping every other point of the
older half at each thinning, as before, halved the oldest points again and again: after a
few capacities of steps, the first half of a run kept a single point.) Its largest finite
value ever appended (`peak`) is kept apart, so thinning never loses it.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

DEFAULT_CAPACITY = 2_000


def thinned(seq: np.ndarray, capacity: int, stride: int) -> tuple[np.ndarray, int]:
    """(indices kept, new stride) of a full buffer of points numbered `seq`: the newest half,
    and of the older points those whose number is a multiple of the stride, doubled until they
    fill at most half of their part (so thinning frees room for a quarter of the capacity)."""
    recent = capacity // 2
    older = seq[: capacity - recent]
    while np.count_nonzero(older % stride == 0) > len(older) // 2:
        stride *= 2
    kept = np.r_[np.flatnonzero(older % stride == 0), np.arange(len(older), capacity)]
    return kept, stride


class Series:
    """(step, value) pairs with a hard cap on their number."""

    __slots__ = (
        "capacity",
        "_steps",
        "_values",
        "_seq",
        "_n",
        "_count",
        "_stride",
        "_frozen",
        "_shared",
        "_peak",
    )

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 4:
            raise ValueError("capacity must be at least 4")
        self.capacity = capacity
        self._steps = np.empty(capacity, dtype=np.int64)
        self._values = np.empty(capacity, dtype=np.float64)
        self._seq = np.empty(capacity, dtype=np.int64)  # each point's sequence number
        self._n = 0
        self._count = 0  # points ever appended
        self._stride = 1  # the archive's: it keeps the sequence numbers divisible by it
        self._frozen = False  # a frozen copy: never changes
        self._shared = False  # frozen copies share the filled part of the buffers
        self._peak: tuple[float, int] | None = None  # largest finite value ever, and its step

    def __len__(self) -> int:
        return self._n

    def append(self, step: int, value: float) -> None:
        if self._n == self.capacity:
            self._thin()
        self._steps[self._n] = step
        self._values[self._n] = value
        self._seq[self._n] = self._count
        self._n += 1
        self._count += 1
        if math.isfinite(value) and (self._peak is None or value > self._peak[0]):
            self._peak = (float(value), int(step))  # one point: no arrays (a hot path)

    def extend(self, steps, values) -> None:
        """Append many points at once (sequences of equal length, e.g. arrays or lists); the same
        result as appending them one by one."""
        total = len(steps)
        if len(values) != total:
            raise ValueError(f"{total} steps but {len(values)} values")
        i = 0
        while i < total:
            if self._n == self.capacity:
                self._thin()
            n = self._n
            take = min(self.capacity - n, total - i)
            self._steps[n : n + take] = steps[i : i + take]
            self._values[n : n + take] = values[i : i + take]
            self._seq[n : n + take] = np.arange(self._count, self._count + take)
            self._n = n + take
            self._count += take
            i += take
        self._note_peak(steps, values)

    def _note_peak(self, steps, values) -> None:
        values = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.any():
            return
        j = int(np.argmax(np.where(finite, values, -np.inf)))
        if self._peak is None or values[j] > self._peak[0]:
            self._peak = (float(values[j]), int(steps[j]))

    def peak(self) -> tuple[float, int] | None:
        """The largest finite value ever appended and its step (None before any), even if
        thinning has dropped that point since."""
        return self._peak

    def frozen_copy(self) -> Series:
        """The points so far, as they are now: appending to this series never changes them (copy
        on write: the copy shares the filled part of the buffers, which appends never touch,
        and the series copies its buffers before it first thins or clears them in place).
        Appending to the copy raises."""
        copy = Series.__new__(Series)
        n = copy._n = self._n
        copy.capacity, copy._frozen, copy._shared = self.capacity, True, True
        copy._peak, copy._count, copy._stride = self._peak, self._count, self._stride
        copy._steps, copy._values, copy._seq = self._steps[:n], self._values[:n], self._seq[:n]
        self._shared = True
        return copy

    def _own_buffers(self) -> None:
        """Before changing points in place: stop sharing them with frozen copies."""
        if self._shared:
            self._steps, self._values = self._steps.copy(), self._values.copy()
            self._seq = self._seq.copy()
            self._shared = False

    def _thin(self) -> None:
        if self._frozen:
            raise ValueError("a frozen copy of a series cannot change")
        self._own_buffers()
        kept, self._stride = thinned(self._seq, self.capacity, self._stride)
        m = len(kept)
        for buffer in (self._steps, self._values, self._seq):
            buffer[:m] = buffer[kept]
        self._n = m

    @property
    def steps(self) -> np.ndarray:
        return self._steps[: self._n].copy()

    @property
    def values(self) -> np.ndarray:
        return self._values[: self._n].copy()

    def last(self) -> float | None:
        return float(self._values[self._n - 1]) if self._n else None

    def at(self, step: int) -> float | None:
        """The value recorded last at or before `step`; None if none was."""
        i = int(np.searchsorted(self._steps[: self._n], step, side="right")) - 1
        return float(self._values[i]) if i >= 0 else None

    def clear(self) -> None:
        if self._frozen:
            raise ValueError("a frozen copy of a series cannot change")
        self._own_buffers()
        self._n = self._count = 0
        self._stride = 1
        self._peak = None


class SnapshotsOverTime:
    """A bounded list of (step, item) pairs, thinned the same way as `Series`."""

    def __init__(self, capacity: int = 200):
        self.capacity = capacity
        self.steps: list[int] = []
        self.items: list = []
        self._seq: list[int] = []
        self._stride = 1

    def append(self, step: int, item) -> None:
        if len(self.steps) == self.capacity:
            keep, self._stride = thinned(np.asarray(self._seq), self.capacity, self._stride)
            self.steps = [self.steps[i] for i in keep]
            self.items = [self.items[i] for i in keep]
            self._seq = [self._seq[i] for i in keep]
        self._seq.append(self._seq[-1] + 1 if self._seq else 0)
        self.steps.append(step)
        self.items.append(item)

    def __len__(self) -> int:
        return len(self.steps)

    def at(self, step: int) -> tuple[int, object] | None:
        """(recorded step, item) of the latest record at or before `step`; None if none."""
        i = bisect.bisect_right(self.steps, step) - 1
        return (self.steps[i], self.items[i]) if i >= 0 else None

    def frozen_copy(self) -> SnapshotsOverTime:
        """The pairs so far in new tuples (the items are shared: records nobody modifies)."""
        copy = SnapshotsOverTime(self.capacity)
        copy.steps, copy.items = tuple(self.steps), tuple(self.items)
        return copy


RUN_SERIES = (
    "batch_loss",
    "train_loss",
    "val_loss",
    "train_accuracy",
    "val_accuracy",
    "learning_rate",
)
LAYER_SERIES = (
    "weight_norm",
    "grad_norm",
    "grad_mean_abs",
    "update_ratio",
    "act_mean",
    "act_std",
    "saturated_frac",
    "dead_frac",
)


class History:
    """Every bounded history of a run, by name.

    run series: `history.run[name]` for name in RUN_SERIES;
    per layer: `history.layers[metric][layer_index]` for metric in LAYER_SERIES;
    histograms over time: `history.histograms` holds (step, list[LayerHistograms]).
    """

    def __init__(self, n_layers: int, capacity: int = DEFAULT_CAPACITY):
        self.n_layers = n_layers
        self.run = {name: Series(capacity) for name in RUN_SERIES}
        self.layers = {m: [Series(capacity) for _ in range(n_layers)] for m in LAYER_SERIES}
        self.histograms = SnapshotsOverTime()
        self.events: list[dict] = []  # e.g. {"step": 120, "kind": "lr_change", "text": "..."}

    def record_event(self, step: int, kind: str, text: str) -> None:
        self.events.append({"step": int(step), "kind": kind, "text": text})
        if len(self.events) > 200:
            del self.events[:100]

    def frozen_copy(self) -> History:
        """The history as of now, in copies that later steps never change (appending raises)."""
        copy = History.__new__(History)
        copy.n_layers = self.n_layers
        copy.run = {name: s.frozen_copy() for name, s in self.run.items()}
        copy.layers = {m: [s.frozen_copy() for s in per] for m, per in self.layers.items()}
        copy.histograms = self.histograms.frozen_copy()
        copy.events = tuple(dict(e) for e in self.events)
        return copy

    def nbytes(self) -> int:
        """Approximate memory held by the series (for the memory benchmark)."""
        total = sum(s._steps.nbytes + s._values.nbytes for s in self.run.values())
        for per_layer in self.layers.values():
            total += sum(s._steps.nbytes + s._values.nbytes for s in per_layer)
        for layer_hists in self.histograms.items:
            for h in layer_hists:
                total += h.nbytes()
        return total
