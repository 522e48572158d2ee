"""The training loop: mini-batch steps, evaluation, schedules, regularization and telemetry.

One step: take the next mini-batch of the epoch's shuffled order, forward + data loss, backward,
add the L1/L2 penalty gradient, clip by global norm, optimizer update of the non-frozen blocks,
max-norm. Every step records the batch loss and learning rate; every `stats_every` steps the
per-layer scalars (LayerStats); every `histogram_every` steps histograms of weights, activations
and gradients; every `eval_every` steps (0 = at each epoch end) the loss and accuracy on the
train and test splits (each capped at EVAL_MAX fixed, seeded points, so that evaluating a
large set each epoch does not cost more than the epoch; `evaluate()` uses every point).

The step path is kept lean for small nets, where Python overhead dominates: the epoch order is
shuffled once per epoch (small sets are gathered once per epoch so a batch is a slice), and the
update-to-weight ratio only copies weights on stats steps.

Divergence: a non-finite loss (checked before backward) or gradient (checked before the update)
stops training with a reason naming the step, and the update is not applied. If the weights
themselves became non-finite (an overflowing update), they are rolled back to the last
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
from core.optimizers import make_optimizer
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
PRESHUFFLE_MAX_BYTES = 32 * 1024 * 1024  # gather the whole epoch at once below this size
SATURATION_MARGIN = 0.025  # sigmoid/tanh outputs within 2.5% of the range of a bound
RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu")
_EVAL_CHUNK = 4096
_NO_LIMIT = 2**62


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


def _offset(view: np.ndarray, base: np.ndarray) -> int | None:
    """Element offset of a C-contiguous view inside a C-contiguous base, or None."""
    if not view.flags.c_contiguous or view.dtype != base.dtype:
        return None
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    if start % view.itemsize or not 0 <= start <= base.nbytes - view.nbytes:
        return None
    return start // view.itemsize


def _packed_groups(params: dict, grads: dict, keys) -> list[tuple[str, list[tuple]]]:
    """Group parameter keys whose arrays exactly tile one contiguous array, as Dense packs
    [W; b]; the gradients must tile their own array the same way. Returns (update key,
    [(member key, flat offset, shape), ...]); a lone key is its own group."""
    groups, done = [], set()
    for key in keys:
        if key in done:
            continue
        p, g = params[key], grads[key]
        base, gbase = p.base, g.base
        members = [key]
        if base is not None and gbase is not None and base.flags.c_contiguous:
            members = [k for k in keys if k not in done and params[k].base is base]
        layout = []
        for k in members:
            off, goff = _offset(params[k], base), _offset(grads[k], gbase)
            if off is None or off != goff or grads[k].shape != params[k].shape:
                layout = []
                break
            layout.append((k, off, params[k].shape))
        spans = sorted((off, off + math.prod(shape)) for _, off, shape in layout)
        tiled = bool(spans) and spans[0][0] == 0 and spans[-1][1] == base.size
        tiled = tiled and all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        if len(layout) > 1 and tiled and gbase.shape == base.shape and gbase.flags.c_contiguous:
            groups.append(("+".join(k for k, _, _ in layout), layout))
            done.update(k for k, _, _ in layout)
        else:
            groups.append((key, [(key, 0, p.shape)]))
            done.add(key)
    return groups


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

    On a stats step only copies are taken (W|b of every block before and after the update, the
    gradients, the blocks' outputs side by side); `flush` then computes every metric for all
    pending steps and all blocks in a fixed number of array passes (segment sums with
    `np.add.reduceat`), so the cost per stats step barely grows with depth and the Python
    overhead of small nets is shared by up to MAX_PENDING steps. Big nets flush every step.
    """

    MAX_PENDING = 32
    PENDING_BYTES = 4 * 1024 * 1024

    def __init__(self, network: Network):
        self.network = net = network
        blocks = net.blocks
        keys = [k for b in blocks for k in (b.weight_key, b.bias_key)]
        self.p_views = [net.params[k].reshape(-1) for k in keys]
        self.g_views = [net.grads[k].reshape(-1) for k in keys]
        sizes = [v.size for v in self.p_views]
        P = sum(sizes)
        self.offsets = np.cumsum([0] + sizes[:-1])
        self.w_sizes = np.array(sizes[0::2], dtype=np.float64)
        self.slots = int(max(1, min(self.MAX_PENDING, self.PENDING_BYTES // (4 * P * 8))))
        self.before = np.empty((self.slots, P), dtype=net.dtype)
        self.data = np.empty((3, self.slots, P), dtype=net.dtype)  # W|b after, grads, update
        self.last_slot = 0  # slot holding the newest "before" copy (the rollback checkpoint)
        np.concatenate(self.p_views, out=self.before[0])
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
        self.mid = np.array(mids, dtype=net.dtype)
        self.edge = np.array(edges, dtype=net.dtype)
        self.unit_offsets = np.array(unit_offsets, dtype=np.intp)
        self.block_units = np.array([b.units for b in blocks], dtype=np.float64)
        self.block_mids = self.mid[self.unit_offsets].astype(np.float64)
        saturating = [_saturating(b.activation) for b in blocks]
        relu = [b.activation in RELU_FAMILY for b in blocks]
        self.defined = {name: [True] * len(blocks) for name in LAYER_SERIES}
        self.defined["saturated_frac"], self.defined["dead_frac"] = saturating, relu
        self.rows = 4 if any(relu) else 3
        self.acts: np.ndarray | None = None  # (rows, capacity, n, units)
        self.capacity = self.slots
        self.latest: dict[str, list] | None = None

    # --- on a stats step -----------------------------------------------------------------------

    def before_update(self) -> None:
        """Copy W|b before the optimizer step (also the divergence rollback checkpoint)."""
        k = len(self.pending)
        np.concatenate(self.p_views, out=self.before[k])
        self.last_slot = k

    def after_update(self, step: int, history: History) -> None:
        """Copy W|b after the step, the gradients and the outputs; flush when the slots are full."""
        k = len(self.pending)
        np.concatenate(self.p_views, out=self.data[0, k])
        np.concatenate(self.g_views, out=self.data[1, k])
        outputs = [b.last_output for b in self.network.blocks]
        n = outputs[0].shape[0]
        if self.acts is None or self.acts.shape[2] != n:
            if self.pending:
                self._flush_moved(k, history)  # the batch size changed: flush what waits first
                k = 0
            row_bytes = self.rows * n * self.mid.size * 8
            self.capacity = int(max(1, min(self.slots, self.PENDING_BYTES // row_bytes)))
            self.acts = np.empty((self.rows, self.capacity, n, self.mid.size), self.network.dtype)
        np.concatenate(outputs, axis=1, out=self.acts[0, k])
        self.pending.append(step)
        if len(self.pending) >= self.capacity:
            self.flush(history)

    def _flush_moved(self, k: int, history: History) -> None:
        """Flush slots 0..k-1, then move slot k's fresh copies to slot 0."""
        self.flush(history)
        self.before[0] = self.before[k]
        self.data[:, 0] = self.data[:, k]
        self.last_slot = 0

    def restore_checkpoint(self) -> None:
        ckpt = self.before[self.last_slot]
        for view, a in zip(self.p_views, self.offsets, strict=True):
            view[...] = ckpt[a : a + view.size]

    # --- computing -----------------------------------------------------------------------------

    def flush(self, history: History) -> None:
        """Compute the metrics of every pending step and append them to history.layers."""
        k = len(self.pending)
        if k == 0:
            return
        data = self.data[:, :k]
        np.subtract(data[0], self.before[:k], out=data[2])  # the update
        sums = np.add.reduceat(data * data, self.offsets, axis=2)[:, :, 0::2]  # (3, k, L)
        gabs = np.add.reduceat(np.abs(data[1]), self.offsets, axis=1)[:, 0::2]
        norms = np.sqrt(sums.astype(np.float64))  # weight, gradient, update norms
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
        layers, steps = history.layers, self.pending
        latest = {}
        for name, values in metrics.items():
            defined = self.defined[name]
            rows = values.T.tolist()  # per block, over the pending steps
            for series, row, ok in zip(layers[name], rows, defined, strict=True):
                if ok:
                    for step, value in zip(steps, row, strict=True):
                        series.append(step, value)
            latest[name] = [row[-1] if ok else None for row, ok in zip(rows, defined, strict=True)]
        self.latest = latest
        self.pending = []
        if self.last_slot:  # keep the newest rollback point in slot 0, where copies restart
            np.copyto(self.before[0], self.before[self.last_slot])
            self.last_slot = 0

    def _activation_sums(self, k: int) -> tuple[np.ndarray, int]:
        """(4, k, L) per pending step and block: sum of c = a - centre, sum of c^2, outputs
        within the saturation margin, units that never fired (zeros if not measured); and n."""
        T = self.acts[:, :k]
        n = T.shape[2]
        if self.rows == 4:
            np.greater(T[0], 0, out=T[3])  # the unit fired on this example
        np.subtract(T[0], self.mid, out=T[0])
        np.multiply(T[0], T[0], out=T[1])
        np.abs(T[0], out=T[2])
        np.greater_equal(T[2], self.edge, out=T[2])
        per_unit = np.zeros((4, k, self.mid.size))
        T.sum(axis=2, dtype=np.float64, out=per_unit[: self.rows])
        if self.rows == 4:
            np.equal(per_unit[3], 0, out=per_unit[3])  # dead: never fired in the batch
        return np.add.reduceat(per_unit, self.unit_offsets, axis=2), n


class Trainer:
    """Trains a Network on a Dataset as the config says; everything it saw is in `history`."""

    def __init__(self, config: PlaygroundConfig, dataset: Dataset, init_state: dict | None = None):
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
        self.lr = self.schedule.lr(self.base_lr, 0)
        reg = tr.regularization
        self.l1, self.l2, self.max_norm, self.grad_clip = (
            reg.l1,
            reg.l2,
            reg.max_norm,
            reg.grad_clip,
        )

        self.step_count = 0
        self.epoch = 0
        self.stopped = False
        self.stop_reason = ""
        self.divergence = DivergenceState()
        self.last_batch_loss: float | None = None
        self.last_eval: dict = {}
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
        self._series_batch_loss = self.history.run["batch_loss"]
        self._series_lr = self.history.run["learning_rate"]
        self._record_eval()  # where training starts from (step 0)

    # --- setup -----------------------------------------------------------------------------

    def _set_keys(self) -> None:
        """What the optimizer updates: the non-frozen blocks' parameters, packed as the network
        stores them ([W; b] of a dense layer is one array: one update instead of two)."""
        net, frozen = self.network, set(self.config.network.frozen)
        for i, block in enumerate(net.blocks):
            block.frozen = i in frozen or block.frozen
        live = [b for b in net.blocks if not b.frozen]
        keys = [k for b in live for k in b.param_keys]
        self._weight_keys = [b.weight_key for b in live]
        self._upd_params, self._upd_grads = {}, {}
        for key, layout in _packed_groups(net.params, net.grads, keys):
            if len(layout) == 1:
                self._upd_params[key], self._upd_grads[key] = net.params[key], net.grads[key]
            else:
                self._upd_params[key] = net.params[layout[0][0]].base
                self._upd_grads[key] = net.grads[layout[0][0]].base
                self.optimizer.pack(key, {k: (off, shape) for k, off, shape in layout})
        self._upd_keys = tuple(self._upd_params)
        self._upd_grad_list = list(self._upd_grads.values())
        # parameters outside the W|b telemetry rows (batch norm, pReLU): checkpointed apart
        wb = {k for b in net.blocks for k in (b.weight_key, b.bias_key)}
        self._other_checkpoint = {k: v.copy() for k, v in net.params.items() if k not in wb}

    def _prepare_data(self, batch_size: int, seed: int) -> None:
        ds, dtype = self.dataset, self.network.dtype
        self._X = np.ascontiguousarray(ds.X_train, dtype=dtype)
        self._y = self._targets(ds.y_train)
        n = len(self._X)
        if n == 0:
            raise ConfigError("data", ds.name, "a dataset with at least one training point")
        self._n = n
        self._batch = min(batch_size, n)
        self._batches_per_epoch = -(-n // self._batch)
        self._preshuffle = self._X.nbytes <= PRESHUFFLE_MAX_BYTES
        self._rng = np.random.default_rng([seed, 1])  # shuffling only: its own stream
        self._pos = 0  # index of the next batch within the epoch
        self._new_epoch_order()
        eval_rng = np.random.default_rng([seed, 2])
        X_test = np.ascontiguousarray(ds.X_test, dtype=dtype)
        self._full_sets = {"train": (self._X, self._y), "val": (X_test, self._targets(ds.y_test))}
        self._eval_sets = {k: self._eval_subset(*v, eval_rng) for k, v in self._full_sets.items()}

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if self.dataset.task == "regression":
            return np.ascontiguousarray(y, dtype=self.network.dtype)
        return np.ascontiguousarray(y, dtype=np.intp)

    @staticmethod
    def _eval_subset(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        if len(X) > EVAL_MAX:
            idx = np.sort(rng.choice(len(X), EVAL_MAX, replace=False))
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
        if self.grad_clip:
            norm = regularizers.clip_global_norm(self._upd_grads, self.grad_clip)
            if not math.isfinite(norm):
                return self._diverge(f"the gradient norm became {norm}")
        elif not self._grads_finite():
            return self._diverge("a gradient became NaN or infinite")
        stats_due = self.step_count % self._stats_every == 0
        if stats_due:
            self._telemetry.before_update()
            if self._other_checkpoint:
                self._take_checkpoint()
        self.optimizer.step(self._upd_params, self._upd_grads, self.lr, self._upd_keys)
        if self.max_norm:
            regularizers.apply_max_norm(net.params, self._weight_keys, self.max_norm)

        self.step_count += 1
        step = self.step_count
        self.last_batch_loss = loss
        self._series_batch_loss.append(step, loss)
        self._series_lr.append(step, self.lr)
        if stats_due:
            self._telemetry.after_update(step, self.history)
        if (step - 1) % self._hist_every == 0:
            self._record_histograms()
        self._pos += 1
        if self._pos == self._batches_per_epoch:
            self._pos = 0
            self.epoch += 1
            self._new_epoch_order()
            if self._eval_every == 0:
                self._evaluate_step()
        if self._eval_every and step % self._eval_every == 0:
            self._evaluate_step()
        if self._lr_per_step:
            self.lr = self.schedule.lr(self.base_lr, step)
        return not self.stopped

    def _grads_finite(self) -> bool:
        """Every gradient the optimizer is about to use is finite (sum of squares check)."""
        total = 0.0
        for g in self._upd_grad_list:
            total += np.vdot(g, g)
        return math.isfinite(total)

    def _take_checkpoint(self) -> None:
        """Batch-norm and pReLU parameters (W|b are copied by the telemetry)."""
        for k, v in self._other_checkpoint.items():
            np.copyto(v, self.network.params[k])

    def _params_finite(self) -> bool:
        return all(np.isfinite(v).all() for v in self.network.params.values())

    def _diverge(self, what: str) -> bool:
        """Stop with a reason; keep the current weights if finite, else the last checkpoint."""
        step = self.step_count + 1
        if not self._params_finite():
            self._telemetry.restore_checkpoint()
            for k, v in self._other_checkpoint.items():
                np.copyto(self.network.params[k], v)
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

    def _metrics(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        """Mean data loss and accuracy (None for regression), in eval mode, in chunks.

        One forward pass per chunk: the loss comes from the head on the logits z, and the
        predicted class is argmax z (multiclass) or z > 0 (binary: sigmoid(z) > 0.5, tanh z > 0).
        """
        net, task = self.network, self.dataset.task
        logits = getattr(net, "_logits", None)
        loss_sum, correct = 0.0, 0
        for a in range(0, len(X), _EVAL_CHUNK):
            xc, yc = X[a : a + _EVAL_CHUNK], y[a : a + _EVAL_CHUNK]
            if logits is None:  # a network without the logits hook: two passes
                loss_sum += net.loss(xc, yc, False) * len(xc)
                Z = None
            else:
                Z = logits(xc, False)
                loss_sum += net.head.forward(Z, yc, False) * len(xc)
            if task == "regression":
                continue
            if Z is None:
                out = net.predict(xc)
                pred = out.argmax(axis=1) if task == "multiclass" else out[:, 0] > self._threshold
            else:
                pred = Z.argmax(axis=0) if task == "multiclass" else Z[0] > 0
            correct += int(np.count_nonzero(pred == yc))
        n = max(len(X), 1)
        return loss_sum / n, (None if task == "regression" else correct / n)

    @property
    def _threshold(self) -> float:
        return 0.0 if self.config.network.head == "tanh_mse" else 0.5

    def evaluate(self, max_points: int | None = None) -> dict:
        """Loss and accuracy on the train and test splits now (no side effects). All points, or
        a fixed seeded subset of at most `max_points` per split."""
        sets = self._eval_sets if max_points is not None else self._full_sets
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            tl, ta = self._metrics(*sets["train"])
            vl, va = self._metrics(*sets["val"])
        return {"train_loss": tl, "train_accuracy": ta, "val_loss": vl, "val_accuracy": va}

    def _record_eval(self) -> dict:
        """The periodic evaluation (on at most EVAL_MAX points per split) into the history."""
        ev = self.evaluate(EVAL_MAX)
        self.last_eval = ev
        for name, value in ev.items():
            if value is not None and math.isfinite(value):
                self.history.run[name].append(self.step_count, value)
        return ev

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
            self.stop_reason = es.reason
            self.history.record_event(step, "early_stop", es.reason)
        if self.schedule.on_eval(ev["val_loss"]):
            self.lr = self.schedule.lr(self.base_lr, step)
            self.history.record_event(
                step, "lr_plateau", f"validation loss plateaued: learning rate -> {self.lr:.3g}"
            )

    # --- telemetry -------------------------------------------------------------------------

    def flush_telemetry(self) -> None:
        """Bring history.layers up to date (layer stats are computed in batches)."""
        self._telemetry.flush(self.history)

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
        if not (isinstance(lr, int | float) and 1e-6 <= lr <= 10.0):
            raise ConfigError("training.optimizer.learning_rate", lr, "a number from 1e-06 to 10")
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
            extras={"stop_reason": self.stop_reason, "epoch_progress": self.epoch_progress},
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
