"""The training loop: mini-batch steps, evaluation, schedules, regularization and telemetry.

One step: take the next mini-batch of the epoch's shuffled order, forward + data loss, backward,
add the L1/L2 penalty gradient, clip by global norm, optimizer update of the non-frozen blocks,
max-norm. Every step records the batch loss and learning rate; every `stats_every` steps the
per-layer scalars (LayerStats); every `histogram_every` steps histograms of weights, activations
and gradients; every `eval_every` steps (0 = at each epoch end) the loss and accuracy on the
train and test splits.

What "train loss" / "val loss" mean in the history: the mean data loss (and accuracy) in eval
mode on a fixed, seeded subset of each split, taken once per run: at most EVAL_MAX points, fewer
for big nets on small sets (`eval_points`: an evaluation of both splits then costs at most ~10%
of an epoch's training), never fewer than EVAL_MIN. Both subsets go through ONE forward pass.
`evaluate()` without `max_points` uses every point.

Speed (small nets are dominated by Python overhead, big ones by memory passes):
- the network keeps all parameters in one flat buffer (gradients in another, same offsets), so
  the optimizer updates each contiguous run of live parameters (one run unless a middle block is
  frozen) in a few whole-buffer operations, the finiteness check is one dot product g.g over the
  live gradients (its root is the global norm used for clipping), and the rollback checkpoint
  and the stats copies are one flat copy each;
- the epoch order is shuffled once per epoch (small sets are gathered once per epoch so a batch
  is a slice);
- batch losses and learning rates are kept in lists and moved into the history in bulk
  (`Series.extend`) at each epoch end and whenever a public call returns (`flush_telemetry`);
- layer stats are batched over up to MAX_PENDING stats steps (see `_LayerTelemetry`).

Divergence: a non-finite loss (checked before backward) or gradient (checked before the update)
stops training with a reason naming the step, and the update is not applied. If the weights
themselves became non-finite (an overflowing update), all parameters are rolled back to the last
checkpoint, which is taken at every stats step.
"""

from __future__ import annotations

import math
import time

import numpy as np

from core import regularizers
from core.config import ConfigError, PlaygroundConfig
from core.data.dataset import Dataset
from core.early_stopping import EarlyStopping
from core.history import LAYER_SERIES, History
from core.network import Network
from core.optimizers import HYPERPARAMETERS, make_optimizer
from core.schedules import Schedule
from core.serialization import transfer_state
from core.telemetry import (
    HISTOGRAM_BINS,
    DivergenceState,
    Histogram,
    LayerHistograms,
    LayerStats,
    Snapshot,
)

EVAL_MAX = 1_000  # points per split in the periodic evaluation (a fixed seeded subset if more)
EVAL_MIN = 250  # ... never fewer than this (if the split has them); see `eval_points`
EVAL_MACS = 25_000_000  # multiply-adds per split an evaluation may always spend
EVAL_FRACTION = 0.1  # ... or this fraction of an epoch's training points per split
PRESHUFFLE_MAX_BYTES = 32 * 1024 * 1024  # gather the whole epoch at once below this size
SATURATION_MARGIN = 0.025  # sigmoid/tanh outputs within 2.5% of the range of a bound
RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu")
_EVAL_CHUNK = 4096
_NO_LIMIT = 2**62


def eval_points(n_parameters: int, n_train: int) -> int:
    """Points per split in the periodic evaluation, between EVAL_MIN and EVAL_MAX.

    A forward pass costs about n_parameters multiply-adds per point and a training epoch about
    2 * n_parameters * n_train, so big nets on small sets get fewer points: as many as
    EVAL_MACS allows, or EVAL_FRACTION of the training points (then one evaluation of both
    splits costs at most ~10% of the epoch's training), whichever is more.
    """
    points = max(EVAL_MACS // max(n_parameters, 1), int(EVAL_FRACTION * n_train))
    return int(min(EVAL_MAX, max(EVAL_MIN, points)))


def _bounds(activation: str) -> tuple[float, float] | None:
    """The output range of a bounded activation (or output head), else None."""
    if activation.startswith(("sigmoid", "softmax")):
        return (0.0, 1.0)
    if activation.startswith("tanh"):
        return (-1.0, 1.0)
    return None


def _saturating(activation: str) -> bool:
    """Sigmoid and tanh units (hidden or head) can saturate; softmax is not counted."""
    return activation.startswith(("sigmoid", "tanh"))


def _live_runs(slices: dict[str, slice], keys) -> list[tuple[int, int, list[str]]]:
    """Merge the flat-buffer slices of `keys` into maximal contiguous runs (start, stop, keys)."""
    runs: list[tuple[int, int, list[str]]] = []
    for start, stop, key in sorted((slices[k].start, slices[k].stop, k) for k in keys):
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], stop, runs[-1][2] + [key])
        else:
            runs.append((start, stop, [key]))
    return runs


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= x (histogram ranges that stay put)."""
    if not x > 0 or not math.isfinite(x):
        return 1.0
    p = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * p >= x * (1 - 1e-12):
            return m * p
    return 10.0 * p


class _Bins:
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


class _LayerTelemetry:
    """Per-layer scalars for all blocks at once, batched over several stats steps.

    On a stats step only flat copies are taken (the network's whole `flat_params` before and after
    the update, and `flat_grads`) and references kept to the blocks' outputs (fresh arrays every
    forward pass, never modified in place; the head's output is computed from its logits at flush
    time, for all pending steps at once); `flush` then computes every
    metric for all pending steps and all blocks in a fixed number of array passes (segment sums
    over each block's W slice of the flat buffer), so the cost per stats step barely grows with
    depth and the Python overhead of small nets is shared by up to MAX_PENDING steps. Big nets
    (one slot) skip the after/gradient copies and measure the live buffers directly.
    The "before" copy is also the divergence rollback checkpoint (all parameters).
    """

    MAX_PENDING = 256
    PENDING_BYTES = 4 * 1024 * 1024

    def __init__(self, network: Network):
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
        for b in blocks:
            bounds = _bounds(b.activation) if _saturating(b.activation) else None
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
        saturating = [_saturating(b.activation) for b in blocks]
        relu = [b.activation in RELU_FAMILY for b in blocks]
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
        self.capacity = self.slots
        self.latest: dict[str, list] | None = None

    # --- on a stats step -----------------------------------------------------------------------

    def before_update(self) -> None:
        """Copy all parameters before the optimizer step (also the divergence rollback point)."""
        k = len(self.pending)
        np.copyto(self.before[k], self.flat_p)
        self.last_slot = k

    def after_update(self, step: int, history: History) -> None:
        """Copy the parameters after the step and the gradients, keep the outputs; flush when the
        slots are full (at once, from the live buffers, when there is only one slot)."""
        k = len(self.pending)
        net = self.network
        n = net.head.Z.shape[1]
        if self.acts is None or self.acts.shape[3] != n:
            if self.pending:
                self._flush_moved(k, history)  # the batch size changed: flush what waits first
                k = 0
            row_bytes = self.rows * n * self.mid.size * 8
            self.capacity = int(max(1, min(self.slots, self.PENDING_BYTES // row_bytes)))
            self.acts = np.empty((self.rows, self.capacity, self.mid.size, n), net.dtype)
        self.outputs += [b.last_output.T for b in net.blocks[:-1]]  # (units, n) each
        self.outputs.append(net.head.Z)
        self.pending.append(step)
        if self.slots == 1:
            self.flush(history, live=True)
            return
        np.copyto(self.data[0, k], self.flat_p)
        np.copyto(self.data[1, k], self.flat_g)
        if len(self.pending) >= self.capacity:
            self.flush(history)

    def _flush_moved(self, k: int, history: History) -> None:
        """Flush slots 0..k-1, then move slot k's fresh "before" copy to slot 0."""
        self.flush(history)
        self.before[0] = self.before[k]
        self.last_slot = 0

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

    def flush(self, history: History, live: bool = False) -> None:
        """Compute the metrics of every pending step and append them to history.layers
        (`live`: the one pending step's after-values are the live buffers, not copies)."""
        k = len(self.pending)
        if k == 0:
            return
        if live:
            after, grads = self.flat_p[None], self.flat_g[None]
        else:
            after, grads = self.data[0, :k], self.data[1, :k]
        update = np.subtract(after, self.before[:k], out=self.data[2, :k])
        norms = np.sqrt([self._w_sums(x, True) for x in (after, grads, update)])
        gabs = self._w_sums(np.abs(grads, out=self.data[2, :k]), False)
        a, n = self._activation_sums(k)  # (4, k, L): sum c, sum c^2, saturated, dead
        count = self.block_units * n
        mean_c = a[0] / count
        metrics = {
            "weight_norm": norms[0],
            "grad_norm": norms[1],
            "grad_mean_abs": gabs / self.w_sizes,
            "update_ratio": norms[2] / np.maximum(norms[0], 1e-12),
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


class Trainer:
    """Trains a Network on a Dataset as the config says; everything it saw is in `history`."""

    def __init__(
        self,
        config: PlaygroundConfig,
        dataset: Dataset,
        init_state: dict | None = None,
        start_step: int = 0,
        start_epoch: int = 0,
    ):
        """`init_state`: saved weights to start from; `start_step`/`start_epoch`: how far they
        had trained (the step and epoch counts continue from there)."""
        net_cfg, tr = config.network, config.training
        if dataset.task != net_cfg.task:
            raise ConfigError(
                "network.task", net_cfg.task, f"the dataset's task ({dataset.task!r})"
            )
        self.config, self.dataset = config, dataset
        self.network = net = Network(net_cfg, dataset.n_inputs, dataset.n_outputs, seed=tr.seed)
        self.history = History(len(net.blocks))
        self.transfer_report: dict | None = None
        if init_state is not None:
            self.transfer_report = transfer_state(init_state, net)
            self.history.record_event(
                0, "init_state", f"started from saved weights: {self.transfer_report}"
            )
        self.optimizer = make_optimizer(tr.optimizer)
        self.schedule = Schedule(tr.schedule)
        self._lr_per_step = self.schedule.per_step
        self.early_stopping = EarlyStopping(tr.early_stopping)
        self.base_lr = tr.optimizer.learning_rate
        self.lr = self.schedule.lr(self.base_lr, start_step)
        reg = tr.regularization
        self.l1, self.l2, self.max_norm, self.grad_clip = (
            reg.l1,
            reg.l2,
            reg.max_norm,
            reg.grad_clip,
        )

        self.step_count = start_step
        self.epoch = start_epoch
        self.stopped = False
        self.stop_reason = ""
        self.divergence = DivergenceState()
        self.last_batch_loss: float | None = None
        self.last_eval: dict = {}
        self.last_eval_step = start_step  # when last_eval was measured
        self.histograms: list[LayerHistograms] | None = None
        self.histogram_step: int | None = None

        self._set_keys()
        self._prepare_data(tr.batch_size, tr.seed)
        self._stats_every, self._hist_every = tr.stats_every, tr.histogram_every
        self._eval_every = tr.eval_every
        self._telemetry = _LayerTelemetry(net)
        self._bins = [
            (
                _Bins(),
                _Bins(_bounds(b.activation), nonneg=b.activation in ("relu", "softplus")),
                _Bins(),
            )
            for b in net.blocks
        ]
        self._losses: list[float] = []  # batch loss and learning rate of the steps not yet in
        self._lrs: list[float] = []  # the history (moved there in bulk by flush_telemetry)
        self._record_eval()  # where training starts from (step 0)

    # --- setup -----------------------------------------------------------------------------

    def _set_keys(self) -> None:
        """What the optimizer updates: the non-frozen blocks' parameters, as contiguous runs of
        the network's flat buffer (one run, one update, when nothing is frozen)."""
        net, frozen = self.network, set(self.config.network.frozen)
        for i, block in enumerate(net.blocks):
            block.frozen = i in frozen or block.frozen
        live = [b for b in net.blocks if not b.frozen]
        self._weight_keys = [b.weight_key for b in live]
        self._upd_params, self._upd_grads = {}, {}
        for start, stop, keys in _live_runs(net.slices, [k for b in live for k in b.param_keys]):
            if len(keys) == 1:
                key = keys[0]
                self._upd_params[key], self._upd_grads[key] = net.params[key], net.grads[key]
                continue
            key = "+".join(keys)
            self._upd_params[key] = net.flat_params[start:stop]
            self._upd_grads[key] = net.flat_grads[start:stop]
            layout = {k: (net.slices[k].start - start, net.params[k].shape) for k in keys}
            self.optimizer.pack(key, layout)
        self._upd_keys = tuple(self._upd_params)
        self._live_grads = [g.reshape(-1) for g in self._upd_grads.values()]  # flat views
        self._live_grad = self._live_grads[0] if len(self._live_grads) == 1 else None

    def _prepare_data(self, batch_size: int, seed: int) -> None:
        ds, dtype = self.dataset, self.network.dtype
        self._X = np.ascontiguousarray(ds.X_train, dtype=dtype)
        self._y = self._targets(ds.y_train)
        n = len(self._X)
        if n == 0:
            raise ConfigError("data", ds.name, "a dataset with at least one training point")
        self._n = n
        self._batch = min(batch_size, n)
        self._batches_per_epoch = self._batches_in_epoch(n, self._batch, self.network.min_batch)
        self._preshuffle = self._X.nbytes <= PRESHUFFLE_MAX_BYTES
        self._rng = np.random.default_rng([seed, 1])  # shuffling only: its own stream
        self._pos = 0  # index of the next batch within the epoch
        self._new_epoch_order()
        X_test = np.ascontiguousarray(ds.X_test, dtype=dtype)
        self._full_sets = {"train": (self._X, self._y), "val": (X_test, self._targets(ds.y_test))}
        self._prepare_eval_subsets(seed)

    @staticmethod
    def _batches_in_epoch(n: int, batch: int, min_batch: int) -> int:
        """Batches per epoch: ceil(n / batch), less a last partial batch smaller than the net can
        learn from (one point under batch norm: like PyTorch's drop_last, but only for that
        batch). That point sits out this epoch only: the next epoch reshuffles."""
        full, rest = divmod(n, batch)
        return full + (rest >= min_batch)

    def _prepare_eval_subsets(self, seed: int) -> None:
        """The fixed seeded subsets of the periodic evaluation, both splits side by side in one
        feature-major array: one forward pass (no transposing copy) evaluates both."""
        rng = np.random.default_rng([seed, 2])
        cap = eval_points(self.network.n_parameters(), self._n)
        subsets = [self._eval_subset(X, y, cap, rng) for X, y in self._full_sets.values()]
        (X_tr, y_tr), (X_val, y_val) = subsets
        self._eval_XT = np.ascontiguousarray(np.concatenate([X_tr, X_val]).T)
        self._eval_split = len(X_tr)
        self._eval_y = (y_tr, y_val)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if self.dataset.task == "regression":
            return np.ascontiguousarray(y, dtype=self.network.dtype)
        return np.ascontiguousarray(y, dtype=np.intp)

    @staticmethod
    def _eval_subset(X: np.ndarray, y: np.ndarray, cap: int, rng: np.random.Generator):
        if len(X) > cap:
            idx = np.sort(rng.choice(len(X), cap, replace=False))
            return X[idx], y[idx]
        return X, y

    def _new_epoch_order(self) -> None:
        self._order = self._rng.permutation(self._n)
        if self._preshuffle:
            self._Xs = self._X[self._order]
            self._ys = self._y[self._order]

    def _next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        a = self._pos * self._batch
        b = a + self._batch
        if self._preshuffle:
            return self._Xs[a:b], self._ys[a:b]
        idx = self._order[a:b]
        return self._X[idx], self._y[idx]

    # --- the step --------------------------------------------------------------------------

    def step(self) -> Snapshot | None:
        """One mini-batch step (nothing if stopped). Returns None: use `snapshot()` to look."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            self._step()
            self.flush_telemetry()
        return None

    def _step(self) -> bool:
        """One step without the floating-point error context; False if training has stopped."""
        if self.stopped:
            return False
        net = self.network
        if self._preshuffle:  # the common case, inlined: a batch is two slices
            a = self._pos * self._batch
            xb, yb = self._Xs[a : a + self._batch], self._ys[a : a + self._batch]
        else:
            xb, yb = self._next_batch()
        loss = net.loss(xb, yb, True)
        if not math.isfinite(loss):
            return self._diverge(f"loss became {loss}")
        net.backward()
        if self.l1 or self.l2:
            regularizers.add_penalty_grad(
                net.grads, net.params, self._weight_keys, self.l1, self.l2
            )
        g = self._live_grad  # the one run of live gradients (None: several runs)
        sq = float(np.dot(g, g)) if g is not None else self._grad_sum_squares()
        if not math.isfinite(sq):
            if self.grad_clip:
                return self._diverge(f"the gradient norm became {math.sqrt(sq)}")
            return self._diverge("a gradient became NaN or infinite")
        if self.grad_clip:
            self._clip_gradients(math.sqrt(sq))
        stats_due = self.step_count % self._stats_every == 0
        if stats_due:
            self._telemetry.before_update()
        self.optimizer.step(self._upd_params, self._upd_grads, self.lr, self._upd_keys)
        if self.max_norm:
            regularizers.apply_max_norm(net.params, self._weight_keys, self.max_norm)

        self.step_count += 1
        step = self.step_count
        self.last_batch_loss = loss
        self._losses.append(loss)
        self._lrs.append(self.lr)
        if stats_due:
            self._telemetry.after_update(step, self.history)
        if (step - 1) % self._hist_every == 0:
            self._record_histograms()
        self._pos += 1
        if self._pos == self._batches_per_epoch:
            self._pos = 0
            self.epoch += 1
            self._new_epoch_order()
            self._flush_run_series()
            if self._eval_every == 0:
                self._evaluate_step()
        if self._eval_every and step % self._eval_every == 0:
            self._evaluate_step()
        if self._lr_per_step:
            self.lr = self.schedule.lr(self.base_lr, step)
        return not self.stopped

    def _grad_sum_squares(self) -> float:
        """Σ g² over every gradient the optimizer is about to use: one dot product per flat run
        of live parameters (non-finite iff some gradient is; its root is the global norm)."""
        return sum(float(np.dot(g, g)) for g in self._live_grads)

    def _clip_gradients(self, norm: float) -> None:
        """Scale the live gradients so their global L2 norm is at most grad_clip."""
        if norm > self.grad_clip:
            scale = self.grad_clip / norm
            for g in self._live_grads:
                g *= scale

    def _diverge(self, what: str) -> bool:
        """Stop with a reason; keep the current weights if finite, else the last checkpoint."""
        step = self.step_count + 1
        if not np.isfinite(self.network.flat_params).all():
            self._telemetry.restore_checkpoint()
            what += " (weights rolled back to the last finite checkpoint)"
        self.stopped = True
        self.stop_reason = f"diverged at step {step}: {what} — try a smaller learning rate"
        self.divergence = DivergenceState(diverged=True, step=step, reason=self.stop_reason)
        self.history.record_event(step, "diverged", self.stop_reason)
        return False

    # --- loops -----------------------------------------------------------------------------

    def epoch_step(self) -> None:
        """Steps until the end of the current epoch (a whole epoch if at its start)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            while self._step() and self._pos != 0:
                pass
            self.flush_telemetry()

    def run(self, seconds: float, max_steps: int | None = None) -> int:
        """Train for about `seconds` (and at most `max_steps` steps); returns steps taken."""
        limit = _NO_LIMIT if max_steps is None else max_steps
        deadline = time.perf_counter() + seconds
        start = self.step_count
        clock = time.perf_counter
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            while self.step_count - start < limit and self._step():
                if clock() >= deadline:
                    break
            self.flush_telemetry()
        return self.step_count - start

    # --- evaluation ------------------------------------------------------------------------

    def _score(self, Z: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """Summed data loss and number correct of the eval-mode logits Z (k, n) against y.

        The predicted class is the head's `predict_class` of its output (one home for the
        threshold), so one forward pass gives both.
        """
        n, head = Z.shape[1], self.network.head
        if n == 0:
            return 0.0, 0
        loss_sum = head.forward(Z, y, False) * n
        if not head.classifies:
            return loss_sum, 0
        pred = head.predict_class(head.output(Z).T)
        return loss_sum, int(np.count_nonzero(pred == y))

    def _summary(self, loss_sum: float, correct: int, n: int) -> tuple[float, float | None]:
        n = max(n, 1)
        return loss_sum / n, (None if self.dataset.task == "regression" else correct / n)

    def _metrics(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        """Mean data loss and accuracy (None for regression) on all of X, eval mode, in chunks."""
        logits, loss_sum, correct = self.network.logits, 0.0, 0
        for a in range(0, len(X), _EVAL_CHUNK):
            yc = y[a : a + _EVAL_CHUNK]
            chunk_loss, chunk_correct = self._score(logits(X[a : a + _EVAL_CHUNK], False), yc)
            loss_sum += chunk_loss
            correct += chunk_correct
        return self._summary(loss_sum, correct, len(X))

    def _subset_metrics(self) -> dict:
        """Loss and accuracy on the periodic-evaluation subsets: one pass over both splits."""
        Z = self.network.logits(self._eval_XT.T, False)
        k = self._eval_split
        tl, ta = self._summary(*self._score(Z[:, :k], self._eval_y[0]), k)
        vl, va = self._summary(*self._score(Z[:, k:], self._eval_y[1]), Z.shape[1] - k)
        return {"train_loss": tl, "train_accuracy": ta, "val_loss": vl, "val_accuracy": va}

    def evaluate(self, max_points: int | None = None) -> dict:
        """Loss and accuracy on the train and test splits now (no side effects): every point, or
        (max_points given) the periodic evaluation's fixed seeded subsets of each split, at most
        `eval_points(n_parameters, n_train)` <= EVAL_MAX points each."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            if max_points is not None:
                return self._subset_metrics()
            tl, ta = self._metrics(*self._full_sets["train"])
            vl, va = self._metrics(*self._full_sets["val"])
        return {"train_loss": tl, "train_accuracy": ta, "val_loss": vl, "val_accuracy": va}

    def _record_eval(self) -> dict:
        """The periodic evaluation (on the fixed subsets) into the history."""
        ev = self.evaluate(EVAL_MAX)
        self.last_eval, self.last_eval_step = ev, self.step_count
        for name, value in ev.items():
            if value is not None and math.isfinite(value):
                self.history.run[name].append(self.step_count, value)
        return ev

    def measure(self) -> None:
        """The periodic evaluation now, unless it already ran at this step (e.g. at Pause, so the
        loss and accuracy shown are those of the weights shown and saved)."""
        if self.last_eval_step != self.step_count:
            self._record_eval()

    def _evaluate_step(self) -> None:
        """Evaluate, then feed early stopping and the plateau schedule."""
        ev = self._record_eval()
        step = self.step_count
        es = self.early_stopping
        improved = es.update(step, ev["val_loss"], ev["val_accuracy"])
        if improved and es.cfg.enabled and es.cfg.restore_best:
            es.keep_best(self.network.state_dict())
        if es.stopped and not self.stopped:
            if es.cfg.restore_best and es.best_state is not None:
                self.network.load_state_dict(es.best_state)
                es.mark_restored()
            self.stopped = True
            self.stop_reason = f"early stopping at step {step}: {es.reason}"
            self.history.record_event(step, "early_stop", es.reason)
        if self.schedule.on_eval(ev["val_loss"]):
            self.lr = self.schedule.lr(self.base_lr, step)
            self.history.record_event(
                step, "lr_plateau", f"validation loss plateaued: learning rate -> {self.lr:.3g}"
            )

    # --- telemetry -------------------------------------------------------------------------

    def flush_telemetry(self) -> None:
        """Bring the history up to date (batch losses and layer stats are recorded in bulk)."""
        self._flush_run_series()
        self._telemetry.flush(self.history)

    def _flush_run_series(self) -> None:
        """Move the pending batch losses and learning rates into the history."""
        k = len(self._losses)
        if k:
            steps = np.arange(self.step_count - k + 1, self.step_count + 1)
            self.history.run["batch_loss"].extend(steps, self._losses)
            self.history.run["learning_rate"].extend(steps, self._lrs)
            self._losses.clear()
            self._lrs.clear()

    @property
    def layer_stats(self) -> list[LayerStats]:
        """LayerStats per block from the last stats step (built on demand)."""
        self.flush_telemetry()
        stats = self._telemetry.latest
        if stats is None:
            return []
        return [
            LayerStats(
                name=b.name,
                activation=b.activation,
                units=b.units,
                **{metric: values[i] for metric, values in stats.items()},
            )
            for i, b in enumerate(self.network.blocks)
        ]

    def _record_histograms(self) -> None:
        net, hists = self.network, []
        for block, (wb, ab, gb) in zip(net.blocks, self._bins, strict=True):
            a = block.last_output
            hists.append(
                LayerHistograms(
                    weights=wb.histogram(net.params[block.weight_key]),
                    activations=ab.histogram(a if a is not None else np.zeros(1)),
                    gradients=gb.histogram(net.grads[block.weight_key]),
                )
            )
        self.histograms, self.histogram_step = hists, self.step_count
        self.history.histograms.append(self.step_count, hists)

    # --- controls and views ----------------------------------------------------------------

    def set_learning_rate(self, lr: float) -> None:
        """New base learning rate from now on; weights, optimizer state and step count stay."""
        rate = HYPERPARAMETERS["learning_rate"]
        if not (isinstance(lr, int | float) and rate.low <= lr <= rate.high):
            raise ConfigError(
                "training.optimizer.learning_rate", lr, f"a number from {rate.low} to {rate.high}"
            )
        self.base_lr = float(lr)
        self.schedule.restart(self.step_count)
        self.lr = self.schedule.lr(self.base_lr, self.step_count)
        self.config.training.optimizer.learning_rate = self.base_lr
        self.history.record_event(self.step_count, "lr_change", f"learning rate -> {lr:g}")

    def set_regularization(
        self,
        l1: float | None = None,
        l2: float | None = None,
        max_norm: float | None = None,
        grad_clip: float | None = None,
    ) -> None:
        """Change regularization strengths mid-run (None = keep); recorded as an event."""
        reg = self.config.training.regularization
        changes = []
        limits = {"l1": 10.0, "l2": 10.0, "max_norm": 100.0, "grad_clip": 1e4}
        for name, value in (
            ("l1", l1),
            ("l2", l2),
            ("max_norm", max_norm),
            ("grad_clip", grad_clip),
        ):
            if value is None:
                continue
            if not (isinstance(value, int | float) and 0.0 <= value <= limits[name]):
                raise ConfigError(
                    f"training.regularization.{name}", value, f"a number from 0 to {limits[name]}"
                )
            setattr(self, name, float(value))
            setattr(reg, name, float(value))
            changes.append(f"{name} -> {value:g}")
        if changes:
            self.history.record_event(self.step_count, "regularization", ", ".join(changes))

    def snapshot(self) -> Snapshot:
        """What the UI draws: latest scalars, layer stats, histograms and copies of the weights."""
        net, ev = self.network, self.last_eval
        weights = [
            (net.params[b.weight_key].copy(), net.params[b.bias_key].copy()) for b in net.blocks
        ]
        return Snapshot(
            step=self.step_count,
            epoch=self.epoch,
            learning_rate=self.lr,
            batch_loss=self.last_batch_loss,
            train_loss=ev.get("train_loss"),
            val_loss=ev.get("val_loss"),
            train_accuracy=ev.get("train_accuracy"),
            val_accuracy=ev.get("val_accuracy"),
            layers=list(self.layer_stats),
            early_stopping=self.early_stopping.state,
            divergence=self.divergence,
            weights=weights,
            history=self.history,
            histograms=self.histograms,
            histogram_step=self.histogram_step,
            extras={
                "stop_reason": self.stop_reason,
                "epoch_progress": self.epoch_progress,
                "eval_step": self.last_eval_step,
            },
        )

    @property
    def epoch_progress(self) -> float:
        """Fraction of the current epoch done."""
        return self._pos / self._batches_per_epoch

    def neuron_outputs(self, raw_grid_points: np.ndarray) -> list[np.ndarray]:
        """Per hidden block (then the head) its outputs at raw input points (e.g. a grid)."""
        X = np.ascontiguousarray(self.dataset.transform(raw_grid_points), dtype=self.network.dtype)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return self.network.neuron_outputs(X)
