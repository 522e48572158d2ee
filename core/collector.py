"""Per-layer telemetry collection: the scalars of every block batched over several stats steps
(`LayerTelemetry`) and histograms on fixed bins (`HistogramBins`, `HistogramTaker`).

What a unit can do comes from the registries, never from its name: a hidden unit's bounds,
family (saturating units can saturate, ReLU-like units can die) from `core.activations.REGISTRY`,
the output layer's from its head (`core.losses`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.activations import REGISTRY
from core.history import LAYER_SERIES, History
from core.network import Network
from core.telemetry import HISTOGRAM_BINS, Histogram, LayerHistograms

SATURATION_MARGIN = 0.025  # saturating outputs within 2.5% of the range of a bound


@dataclass(frozen=True)
class UnitFacts:
    """What the diagnostics need to know about a block's units."""

    bounds: tuple[float, float] | None  # finite output range (fixed histogram bins), else None
    saturates: bool  # counted in saturated_frac (outputs near a bound)
    can_die: bool  # counted in dead_frac (never fired in a batch)
    nonneg: bool = False  # outputs never below 0 (unbounded histograms start at 0)


def unit_facts(network: Network) -> list[UnitFacts]:
    """Per block: hidden units from the activation registry, the output layer from its head."""
    facts = []
    for block in network.blocks[:-1]:
        a = REGISTRY[block.activation]
        facts.append(UnitFacts(a.finite_bounds, a.saturates, a.can_die, a.bounds[0] >= 0.0))
    head = network.head
    facts.append(UnitFacts(head.bounds, head.saturates, False))
    return facts


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= x (histogram ranges that stay put)."""
    if not x > 0 or not math.isfinite(x):
        return 1.0
    p = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * p >= x * (1 - 1e-12):
            return m * p
    return 10.0 * p


class HistogramBins:
    """Fixed histogram edges for one (layer, kind): set on first sight, only ever widened."""

    __slots__ = ("lo", "hi", "nonneg", "fixed", "edges")

    def __init__(self, bounds: tuple[float, float] | None = None, nonneg: bool = False):
        self.fixed = bounds is not None
        self.nonneg = nonneg
        self.lo, self.hi = bounds if bounds else (0.0, 0.0)
        self.edges: np.ndarray | None = None

    def histogram(self, x: np.ndarray) -> Histogram:
        """Counts of x in HISTOGRAM_BINS equal bins; values outside go to the end bins."""
        x = x.ravel()
        if not self.fixed:
            top = float(max(x.max(), -x.min())) if x.size else 0.0
            if self.edges is None or top > self.hi:
                self.hi = _nice_ceil(top) if top > 0 else max(self.hi, 1e-3)
                self.lo = 0.0 if self.nonneg else -self.hi
                self.edges = None
        if self.edges is None:
            self.edges = np.linspace(self.lo, self.hi, HISTOGRAM_BINS + 1)
        idx = (x - self.lo) * (HISTOGRAM_BINS / (self.hi - self.lo))
        np.minimum(np.maximum(idx, 0, out=idx), HISTOGRAM_BINS - 1, out=idx)
        counts = np.bincount(idx.astype(np.intp), minlength=HISTOGRAM_BINS)
        return Histogram(edges=self.edges, counts=counts)


class LayerTelemetry:
    """Per-layer scalars for all blocks at once, batched over several stats steps.

    On a stats step only flat copies are taken (the network's whole `flat_params` before and after
    the update, and `flat_grads`) and references kept to the blocks' outputs (fresh arrays every
    forward pass, never modified in place; the head's output is computed from its logits at flush
    time, for all pending steps at once); `flush` then computes every
    metric for all pending steps and all blocks in a fixed number of array passes (segment sums
    over each block's W slice of the flat buffer), so the cost per stats step barely grows with
    depth and the Python overhead is shared by up to MAX_PENDING steps. Big nets (one slot) skip
    the after/gradient copies: their weight metrics are measured from the live buffers at once,
    the rest (activations, recording) still waits for the flush.
    The "before" copy is also the divergence rollback checkpoint (all parameters).
    """

    MAX_PENDING = 256
    PENDING_BYTES = 4 * 1024 * 1024

    def __init__(self, network: Network, facts: list[UnitFacts]):
        self.network = net = network
        blocks = net.blocks
        self.flat_p, self.flat_g = net.flat_params, net.flat_grads
        w = [net.slices[b.weight_key] for b in blocks]
        self.w_slices = [(s.start, s.stop) for s in w]
        self.bounds = np.array([i for s in w for i in (s.start, s.stop)], dtype=np.intp)
        self.w_sizes = np.array([s.stop - s.start for s in w], dtype=np.float64)
        self._ones_p = np.ones(max(s.stop - s.start for s in w), net.dtype)
        P = self.flat_p.size
        self.slots = int(max(1, min(self.MAX_PENDING, self.PENDING_BYTES // (4 * P * 8))))
        self.before = np.empty((self.slots, P), dtype=net.dtype)
        self.data = np.empty((3, self.slots, P), dtype=net.dtype)  # params after, grads, update
        self.last_slot = 0  # slot holding the newest "before" copy (the rollback checkpoint)
        np.copyto(self.before[0], self.flat_p)
        self.pending: list[int] = []  # steps whose copies wait in slots 0..len-1
        # per unit: centre and saturation edge of its activation (inf: never counted)
        mids, edges, unit_offsets = [], [], []
        for b, fact in zip(blocks, facts, strict=True):
            bounds = fact.bounds if fact.saturates else None
            lo, hi = bounds if bounds else (0.0, 0.0)
            edge = (hi - lo) / 2 * (1 - 2 * SATURATION_MARGIN) if bounds else np.inf
            unit_offsets.append(len(mids))
            mids += [(lo + hi) / 2] * b.units
            edges += [edge] * b.units
        self.mid = np.array(mids, dtype=net.dtype)[:, None]  # (units, 1)
        self.edge = np.array(edges, dtype=net.dtype)[:, None]
        self.unit_offsets = np.array(unit_offsets, dtype=np.intp)
        self.block_units = np.array([b.units for b in blocks], dtype=np.float64)
        self.block_mids = self.mid[self.unit_offsets, 0].astype(np.float64)
        saturating = [fact.saturates for fact in facts]
        relu = [fact.can_die for fact in facts]
        self.defined = {name: [True] * len(blocks) for name in LAYER_SERIES}
        self.defined["saturated_frac"], self.defined["dead_frac"] = saturating, relu
        # work rows of the activation sums: c = a - centre, c^2, then only where measured:
        # outputs within the saturation margin, and outputs > 0 (a ReLU-family unit fired)
        self.sat_row = 2 if any(saturating) else None
        self.fired_row = (3 if any(saturating) else 2) if any(relu) else None
        self.rows = 2 + any(saturating) + any(relu)
        self.sum_rows = [(0, 0), (1, 1)]  # (work row, row of the per-unit sums)
        self.sum_rows += [(self.sat_row, 2)] if self.sat_row is not None else []
        self.sum_rows += [(self.fired_row, 3)] if self.fired_row is not None else []
        self._ones: np.ndarray | None = None  # (n,) ones: sums over the batch as a matmul
        self.acts: np.ndarray | None = None  # work buffer (rows, capacity, units, n)
        self.outputs: list[np.ndarray] = []  # per pending step: hidden outputs, head logits
        self.measured: list[list[np.ndarray]] = []  # one slot: each pending step's weight metrics
        self.capacity = self.slots
        self.latest: dict[str, list] | None = None

    # --- on a stats step -----------------------------------------------------------------------

    def before_update(self) -> None:
        """Copy all parameters before the optimizer step (also the divergence rollback point)
        into the next free slot (slot 0 when there is one: it is measured at once)."""
        k = len(self.pending) if self.slots > 1 else 0
        np.copyto(self.before[k], self.flat_p)
        self.last_slot = k

    def after_update(self, step: int, history: History) -> None:
        """Keep the outputs; copy the parameters after the step and the gradients (several slots)
        or measure the weight metrics from the live buffers at once (one slot); flush when as
        many steps wait as fit."""
        k = len(self.pending)
        net = self.network
        n = net.head.Z.shape[1]
        if self.acts is None or self.acts.shape[3] != n:
            if self.pending:  # the batch size changed: flush what waits first (this step's
                self.flush(history)  # "before" copy moves to slot 0)
                k = 0
            row_bytes = self.rows * n * self.mid.size * 8
            steps = self.slots if self.slots > 1 else self.MAX_PENDING
            self.capacity = int(max(1, min(steps, self.PENDING_BYTES // row_bytes)))
            self.acts = np.empty((self.rows, self.capacity, self.mid.size, n), net.dtype)
        self.outputs += [b.last_output.T for b in net.blocks[:-1]]  # (units, n) each
        self.outputs.append(net.head.Z)
        self.pending.append(step)
        if self.slots == 1:
            self.measured.append(self._weight_metrics(self.flat_p[None], self.flat_g[None]))
        else:
            np.copyto(self.data[0, k], self.flat_p)
            np.copyto(self.data[1, k], self.flat_g)
        if len(self.pending) >= self.capacity:
            self.flush(history)

    def restore_checkpoint(self) -> None:
        """All parameters back to the last "before" copy."""
        np.copyto(self.flat_p, self.before[self.last_slot])

    # --- computing -----------------------------------------------------------------------------

    def _w_sums(self, x: np.ndarray, square: bool) -> np.ndarray:
        """(k, L): per row of x (k, P) and block, the sum over its W slice of x^2 (square) or x
        (x must then be the scratch |g|). Big nets (one slot, one row) take one BLAS dot per
        block; the choice depends on the net only, so values never depend on when we flush."""
        if self.slots == 1:
            row = x[0]
            if square:
                return np.array([[float(np.dot(row[a:b], row[a:b])) for a, b in self.w_slices]])
            ones = self._ones_p  # sum |g| as a BLAS dot with ones
            return np.array([[float(np.dot(row[a:b], ones[: b - a])) for a, b in self.w_slices]])
        if square:
            x = x * x
        return np.add.reduceat(x, self.bounds, axis=1).astype(np.float64)[:, 0::2]

    def _weight_metrics(self, after: np.ndarray, grads: np.ndarray) -> list[np.ndarray]:
        """Four (k, L) arrays, per step and block: ||W||, ||dL/dW||, mean |dL/dW| and
        ||ΔW|| / ||W||, from k rows of parameters after the update and of gradients (and the
        "before" slots 0..k-1)."""
        k = len(after)
        update = np.subtract(after, self.before[:k], out=self.data[2, :k])
        norms = np.sqrt([self._w_sums(x, True) for x in (after, grads, update)])
        gabs = self._w_sums(np.abs(grads, out=self.data[2, :k]), False)
        ratio = norms[2] / np.maximum(norms[0], 1e-12)
        return [norms[0], norms[1], gabs / self.w_sizes, ratio]

    def flush(self, history: History) -> None:
        """Compute the metrics of every pending step and append them to history.layers."""
        k = len(self.pending)
        if k == 0:
            return
        if self.slots == 1:  # measured step by step
            w = [np.concatenate(rows) for rows in zip(*self.measured, strict=True)]
            self.measured = []
        else:
            w = self._weight_metrics(self.data[0, :k], self.data[1, :k])
        a, n = self._activation_sums(k)  # (4, k, L): sum c, sum c^2, saturated, dead
        count = self.block_units * n
        mean_c = a[0] / count
        metrics = {
            "weight_norm": w[0],
            "grad_norm": w[1],
            "grad_mean_abs": w[2],
            "update_ratio": w[3],
            "act_mean": self.block_mids + mean_c,
            "act_std": np.sqrt(np.maximum(a[1] / count - mean_c * mean_c, 0.0)),
            "saturated_frac": a[2] / count,
            "dead_frac": a[3] / self.block_units,
        }
        self.latest = self._record(history, metrics)
        self.pending = []
        self.outputs = []
        if self.last_slot:  # keep the newest rollback point in slot 0, where copies restart
            np.copyto(self.before[0], self.before[self.last_slot])
            self.last_slot = 0

    def _record(self, history: History, metrics: dict[str, np.ndarray]) -> dict[str, list]:
        """Append each (k, L) metric to its per-block series; returns the newest values."""
        values = np.stack(list(metrics.values()))  # (metrics, k, L)
        newest = values[:, -1].tolist()
        per_block = values.transpose(0, 2, 1)  # (metrics, L, k)
        steps = self.pending
        single = per_block[..., 0].tolist() if len(steps) == 1 else None
        if single is None:
            steps = np.array(steps)
        latest = {}
        for m, name in enumerate(metrics):
            defined = self.defined[name]
            for j, series in enumerate(history.layers[name]):
                if not defined[j]:
                    continue
                if single is None:
                    series.extend(steps, per_block[m, j])
                else:
                    series.append(steps[0], single[m][j])
            latest[name] = [v if ok else None for v, ok in zip(newest[m], defined, strict=True)]
        return latest

    def _gather_outputs(self, out: np.ndarray) -> None:
        """out (k, units, n), C-contiguous: each pending step's outputs, the head's last."""
        k, _, n = out.shape
        np.concatenate(self.outputs, axis=0, out=out.reshape(-1, n))  # a view: out is contiguous
        c = self.network.n_outputs
        head = out[:, -c:]  # (k, c, n): the logits so far
        probs = self.network.head.output(head.transpose(1, 0, 2).reshape(c, k * n))
        head[...] = probs.reshape(c, k, n).transpose(1, 0, 2)

    def _activation_sums(self, k: int) -> tuple[np.ndarray, int]:
        """(4, k, L) per pending step and block: sum of c = a - centre, sum of c^2, outputs
        within the saturation margin, units that never fired (zeros if not measured); and n."""
        T = self.acts[:, :k]
        n = T.shape[3]
        self._gather_outputs(T[0])
        if self.fired_row is not None:
            np.greater(T[0], 0, out=T[self.fired_row])  # the unit fired on this example
        np.subtract(T[0], self.mid, out=T[0])
        np.multiply(T[0], T[0], out=T[1])
        if self.sat_row is not None:
            np.abs(T[0], out=T[self.sat_row])
            np.greater_equal(T[self.sat_row], self.edge, out=T[self.sat_row])
        if self._ones is None or self._ones.size != n:
            self._ones = np.ones(n, T.dtype)
        per_unit = np.zeros((4, k, self.mid.size))
        for row, target in self.sum_rows:  # sums over the batch: one BLAS product per row
            per_unit[target] = np.dot(T[row].reshape(-1, n), self._ones).reshape(k, -1)
        if self.fired_row is not None:
            np.equal(per_unit[3], 0, out=per_unit[3])  # dead: never fired in the batch
        return np.add.reduceat(per_unit, self.unit_offsets, axis=2), n


class HistogramTaker:
    """Histograms of every block's weights, activations and gradients on fixed bins (activation
    bins span the unit's output range where it is finite)."""

    def __init__(self, network: Network, facts: list[UnitFacts]):
        self.network = network
        self.bins = [
            (HistogramBins(), HistogramBins(f.bounds, nonneg=f.nonneg), HistogramBins())
            for f in facts
        ]

    def take(self) -> list[LayerHistograms]:
        """One LayerHistograms per block, from the last training step."""
        net, hists = self.network, []
        for block, (wb, ab, gb) in zip(net.blocks, self.bins, strict=True):
            a = block.last_output
            hists.append(
                LayerHistograms(
                    weights=wb.histogram(net.params[block.weight_key]),
                    activations=ab.histogram(a if a is not None else np.zeros(1)),
                    gradients=gb.histogram(net.grads[block.weight_key]),
                )
            )
        return hists
