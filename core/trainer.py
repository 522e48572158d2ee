"""The training loop: mini-batch steps, evaluation, schedules, regularization and telemetry.

One step: take the next mini-batch of the epoch's shuffled order, forward + data loss, backward,
add the L1/L2 penalty gradient, clip by global norm, optimizer update of the non-frozen blocks,
max-norm. Every step records the batch loss and learning rate; every `stats_every` steps the
per-layer scalars (LayerStats); every `histogram_every` steps histograms of weights, activations
and gradients; every `eval_every` steps (0 = at each epoch end) the loss and accuracy on the
train and test splits.

What "train loss" / "val loss" mean in the history: the mean data loss (and accuracy) in eval
mode on a fixed, seeded subset of each split (`core.evaluation`). The layer scalars and the
histograms are collected by `core.collector`, into the records of `core.telemetry`.

Speed (small nets are dominated by Python overhead, big ones by memory passes):
- the network keeps all parameters in one flat buffer (gradients in another, same offsets), so
  the optimizer updates each contiguous run of live parameters (one run unless a middle block is
  frozen) in a few whole-buffer operations, the finiteness check is one dot product g.g over the
  live gradients (its root is the global norm used for clipping), and the rollback checkpoint
  and the stats copies are one flat copy each;
- the epoch order is shuffled once per epoch; small batches are slices of the epoch's points
  gathered once per epoch, big ones (BATCH_GATHER_BYTES) are gathered per step into one reused
  buffer (no whole-epoch copy, and the batch is in cache when the first layer reads it);
- batch losses and learning rates are kept in lists and moved into the history in bulk
  (`Series.extend`) at each epoch end and whenever a public call returns (`flush_telemetry`);
- layer stats are batched over several stats steps (`core.collector.LayerTelemetry`).

Divergence: a non-finite loss (checked before backward) or gradient (checked before the update)
stops training with a reason naming the step, and the update is not applied. If the weights
themselves became non-finite (an overflowing update), all parameters are rolled back to the last
checkpoint, which is taken at every stats step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from core import regularizers
from core.collector import HistogramTaker, LayerTelemetry, unit_facts
from core.config import ConfigError, PlaygroundConfig, limits, to_dict
from core.data.dataset import Dataset
from core.early_stopping import EarlyStopping
from core.evaluation import EVAL_MAX, Evaluator
from core.history import History
from core.network import Network
from core.optimizers import make_optimizer
from core.schedules import Schedule
from core.serialization import transfer_state
from core.telemetry import DivergenceState, LayerHistograms, LayerStats, Snapshot

PRESHUFFLE_MAX_BYTES = 32 * 1024 * 1024  # gather the whole epoch at once below this size ...
BATCH_GATHER_BYTES = 64 * 1024  # ... unless a batch is this big: then gather each batch
_NO_LIMIT = 2**62


def _live_runs(slices: dict[str, slice], keys) -> list[tuple[int, int, list[str]]]:
    """Merge the flat-buffer slices of `keys` into maximal contiguous runs (start, stop, keys)."""
    runs: list[tuple[int, int, list[str]]] = []
    for start, stop, key in sorted((slices[k].start, slices[k].stop, k) for k in keys):
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], stop, runs[-1][2] + [key])
        else:
            runs.append((start, stop, [key]))
    return runs


def _allowed(path: str, value: float) -> float:
    """`value` as a float if the config allows it at `path` (its field's range), else ConfigError
    naming the field and the range: the limits live in the config's field metadata only."""
    lo, hi = limits(path)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and lo <= value <= hi):
        raise ConfigError(path, value, f"a number from {lo} to {hi}")
    return float(value)


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy."""
    copy = np.array(array, copy=True)
    copy.flags.writeable = False
    return copy


@dataclass(frozen=True)
class TrainerState:
    """Everything a trainer needs to go on from `step` exactly as it would have (read-only
    copies): parameters and buffers, the divergence rollback point, the optimizer's slots and
    update counts, both random streams (mini-batch order, dropout), the epoch's order and
    position, the live settings (base learning rate, regularization), the schedule's and early
    stopping's state, the stop flags and what the snapshot shows (last evaluation, layer stats,
    histograms with their bins). The history is not in it (see `Trainer.restore_state`)."""

    step: int
    epoch: int
    params: np.ndarray  # the flat parameter buffer
    buffers: dict[str, np.ndarray]  # batch-norm running statistics
    rollback: np.ndarray | None  # the divergence rollback point; None: equal to params
    optimizer: str
    slots: dict[str, dict[str, np.ndarray]]  # per update key, per slot name
    ticks: dict[str, int]
    shuffle_rng: dict
    dropout_rng: dict
    order: np.ndarray  # this epoch's order of the training points
    pos: int  # next batch within the epoch
    batch: int
    settings: dict[str, float]  # base_lr, l1, l2, max_norm, grad_clip
    lr: float
    schedule: dict
    early_stopping: dict
    stopped: bool
    stop_reason: str
    divergence: DivergenceState
    last_batch_loss: float | None
    last_eval: dict
    last_eval_step: int
    layer_stats: dict | None
    histograms: tuple | None
    histogram_step: int | None
    histogram_bins: tuple = field(repr=False)

    def nbytes(self) -> int:
        """Bytes of the arrays this state owns (the early-stopping best weights are shared
        with the trainer and counted once there)."""
        arrays = [self.params, self.order, *self.buffers.values()]
        arrays += [] if self.rollback is None else [self.rollback]
        arrays += [a for slot in self.slots.values() for a in slot.values()]
        return sum(a.nbytes for a in arrays)


_LIVE_SETTINGS = {  # trainer attribute -> its config path (changed mid-run by the controls)
    "base_lr": ("optimizer", "learning_rate"),
    "l1": ("regularization", "l1"),
    "l2": ("regularization", "l2"),
    "max_norm": ("regularization", "max_norm"),
    "grad_clip": ("regularization", "grad_clip"),
}
_SCHEDULE_STATE = ("origin", "reductions", "best", "evals_since_best")
_STOPPING_STATE = (
    "best_value",
    "best_step",
    "evals_since_best",
    "stopped",
    "stopped_step",
    "reason",
    "restored",
    "best_state",
)


def _history_until(history: History, step: int) -> History:
    """A new history holding the points of `history` at steps <= `step`."""
    capacity = history.run[next(iter(history.run))].capacity
    new = History(history.n_layers, capacity)
    pairs = [(history.run[n], new.run[n]) for n in history.run]
    pairs += [
        (old, fresh)
        for metric in history.layers
        for old, fresh in zip(history.layers[metric], new.layers[metric], strict=True)
    ]
    for old, fresh in pairs:
        steps = old.steps
        keep = steps <= step
        fresh.extend(steps[keep], old.values[keep])
    new.histograms.capacity = history.histograms.capacity
    for at, item in zip(history.histograms.steps, history.histograms.items, strict=True):
        if at <= step:
            new.histograms.append(at, item)
    new.events = [dict(e) for e in history.events if e["step"] <= step]
    return new


class Trainer:
    """Trains a Network on a Dataset as the config says; everything it saw is in `history`."""

    def __init__(
        self,
        config: PlaygroundConfig,
        dataset: Dataset,
        init_state: dict | None = None,
        start_step: int = 0,
        start_epoch: int = 0,
        *,
        init_params: Mapping[str, np.ndarray] | None = None,
    ):
        """`init_state`: saved weights to start from; `start_step`/`start_epoch`: how far they
        had trained (the step and epoch counts continue from there). `init_params`: initial
        values for some parameters instead of the seed's draw (same keys and shapes; no transfer
        report, no event: a compared run's shared initial weights, `core.experiment`)."""
        net_cfg, tr = config.network, config.training
        if dataset.task != net_cfg.task:
            raise ConfigError(
                "network.task", net_cfg.task, f"the dataset's task ({dataset.task!r})"
            )
        self.config, self.dataset = config, dataset
        self.network = net = Network(net_cfg, dataset.n_inputs, dataset.n_outputs, seed=tr.seed)
        for key, value in (init_params or {}).items():
            net.params[key] = value  # copies into the flat buffer; a shape mismatch raises
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
        facts = unit_facts(net)
        self._telemetry = LayerTelemetry(net, facts)
        self._histogram_taker = HistogramTaker(net, facts)
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
        batch_bytes = self._batch * self._X[:1].nbytes
        self._preshuffle = (
            self._X.nbytes <= PRESHUFFLE_MAX_BYTES and batch_bytes < BATCH_GATHER_BYTES
        )
        self._xb = None if self._preshuffle else np.empty((self._batch,) + self._X.shape[1:], dtype)
        self._rng = np.random.default_rng([seed, 1])  # shuffling only: its own stream
        self._pos = 0  # index of the next batch within the epoch
        self._new_epoch_order()
        X_test = np.ascontiguousarray(ds.X_test, dtype=dtype)
        sets = ((self._X, self._y), (X_test, self._targets(ds.y_test)))
        self._evaluator = Evaluator(self.network, sets, ds.task == "regression", seed)

    @staticmethod
    def _batches_in_epoch(n: int, batch: int, min_batch: int) -> int:
        """Batches per epoch: ceil(n / batch), less a last partial batch smaller than the net can
        learn from (one point under batch norm: like PyTorch's drop_last, but only for that
        batch). That point sits out this epoch only: the next epoch reshuffles."""
        full, rest = divmod(n, batch)
        return full + (rest >= min_batch)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if self.dataset.task == "regression":
            return np.ascontiguousarray(y, dtype=self.network.dtype)
        return np.ascontiguousarray(y, dtype=np.intp)

    def _new_epoch_order(self) -> None:
        self._order = self._rng.permutation(self._n)
        if self._preshuffle:
            self._Xs = self._X[self._order]
            self._ys = self._y[self._order]

    def _next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The next batch: a slice of the epoch's shuffled copy (small batches), else its points
        gathered into one reused buffer (the network copies its input, never keeps it): no
        whole-epoch copy per epoch, and the batch is still in cache when the first layer reads it.
        """
        a = self._pos * self._batch
        b = a + self._batch
        if self._preshuffle:
            return self._Xs[a:b], self._ys[a:b]
        idx = self._order[a:b]
        xb = self._xb[: len(idx)]
        np.take(self._X, idx, axis=0, out=xb, mode="clip")  # "clip": no buffering; idx is valid
        return xb, self._y[idx]

    # --- the step --------------------------------------------------------------------------

    def step(self) -> bool:
        """One mini-batch step (nothing if stopped); False once training has stopped. `snapshot()`
        shows what it did."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            going = self._step()
            self.flush_telemetry()
        return going

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

    def evaluate(self, max_points: int | None = None) -> dict[str, float | None]:
        """Loss and accuracy on the train and test splits now (no side effects): every point, or
        at most `max_points` per split from the periodic evaluation's fixed seeded subsets
        (`core.evaluation`; `max_points` >= EVAL_MAX gives the periodic evaluation itself)."""
        return self._evaluator.evaluate(max_points)

    def _record_eval(self) -> dict:
        """The periodic evaluation (on the fixed subsets) into the history."""
        ev = self._evaluator.evaluate(EVAL_MAX)
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
        hists = self._histogram_taker.take()
        self.histograms, self.histogram_step = hists, self.step_count
        self.history.histograms.append(self.step_count, hists)

    # --- controls and views ----------------------------------------------------------------

    def set_learning_rate(self, lr: float) -> None:
        """New base learning rate from now on; weights, optimizer state and step count stay."""
        self.base_lr = _allowed("training.optimizer.learning_rate", lr)
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
        """Change regularization strengths mid-run (None = keep); recorded as an event. Nothing
        changes if any value is outside its config field's range."""
        asked = {"l1": l1, "l2": l2, "max_norm": max_norm, "grad_clip": grad_clip}
        new = {
            name: _allowed(f"training.regularization.{name}", value)
            for name, value in asked.items()
            if value is not None
        }
        reg = self.config.training.regularization
        for name, value in new.items():
            setattr(self, name, value)
            setattr(reg, name, value)
        if new:
            text = ", ".join(f"{name} -> {value:g}" for name, value in new.items())
            self.history.record_event(self.step_count, "regularization", text)

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of every block's (W, b)."""
        net = self.network
        return [
            (net.params[b.weight_key].copy(), net.params[b.bias_key].copy()) for b in net.blocks
        ]

    def snapshot(self, weights: bool = True) -> Snapshot:
        """What the UI draws, as of now: latest scalars, layer stats, histograms, a frozen copy of
        the history and (`weights`) copies of the weights (skip them where none is drawn)."""
        ev = self.last_eval
        return Snapshot(
            step=self.step_count,
            epoch=self.epoch,
            learning_rate=self.lr,
            batch_loss=self.last_batch_loss,
            train_loss=ev.get("train_loss"),
            val_loss=ev.get("val_loss"),
            train_accuracy=ev.get("train_accuracy"),
            val_accuracy=ev.get("val_accuracy"),
            layers=tuple(self.layer_stats),
            early_stopping=self.early_stopping.state,
            divergence=self.divergence,
            weights=self.weights() if weights else None,
            history=self.history.frozen_copy(),
            histograms=None if self.histograms is None else tuple(self.histograms),
            histogram_step=self.histogram_step,
            stop_reason=self.stop_reason,
            epoch_progress=self.epoch_progress,
            eval_step=self.last_eval_step,
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

    # --- state: checkpoints and time travel --------------------------------------------------

    @property
    def steps_left_in_epoch(self) -> int:
        """Steps until the end of the current epoch (a whole epoch at its start)."""
        return self._batches_per_epoch - self._pos

    def capture_state(self) -> TrainerState:
        """Everything needed to continue exactly from here (`restore_state`), as read-only
        copies."""
        self.flush_telemetry()
        net, tel, opt = self.network, self._telemetry, self.optimizer
        rollback = tel.before[tel.last_slot]
        same = np.array_equal(rollback, net.flat_params, equal_nan=True)
        es, sched = self.early_stopping, self.schedule
        return TrainerState(
            step=self.step_count,
            epoch=self.epoch,
            params=_frozen(net.flat_params),
            buffers={k: _frozen(v) for k, v in net.buffers.items()},
            rollback=None if same else _frozen(rollback),
            optimizer=self.config.training.optimizer.name,
            slots={k: {n: _frozen(a) for n, a in st.items()} for k, st in opt._store.items()},
            ticks=dict(opt.t),
            shuffle_rng=self._rng.bit_generator.state,
            dropout_rng=net.dropout_rng.bit_generator.state,
            order=_frozen(self._order.astype(np.int32 if self._n < 2**31 else np.int64)),
            pos=self._pos,
            batch=self._batch,
            settings={name: getattr(self, name) for name in _LIVE_SETTINGS},
            lr=self.lr,
            schedule={
                "settings": to_dict(sched.cfg),
                **{k: getattr(sched, k) for k in _SCHEDULE_STATE},
            },
            early_stopping={
                "settings": to_dict(es.cfg),
                **{k: getattr(es, k) for k in _STOPPING_STATE},
            },
            stopped=self.stopped,
            stop_reason=self.stop_reason,
            divergence=self.divergence,
            last_batch_loss=self.last_batch_loss,
            last_eval=dict(self.last_eval),
            last_eval_step=self.last_eval_step,
            layer_stats=None if tel.latest is None else {k: list(v) for k, v in tel.latest.items()},
            histograms=None if self.histograms is None else tuple(self.histograms),
            histogram_step=self.histogram_step,
            histogram_bins=tuple(
                (b.lo, b.hi, b.edges) for bins in self._histogram_taker.bins for b in bins
            ),
        )

    def restore_state(
        self, state: TrainerState, history: History | None = None, keep_stop: bool = True
    ) -> list[str]:
        """Continue from `state` (from `capture_state`): training on is bit-identical to the
        captured trainer training on, given the same config. The history becomes `history`'s
        points up to the state's step (default: this trainer's own).

        The config may differ where the state still fits: the same parameter keys and shapes,
        the same batch size and number of training points (else ValueError). Then the
        optimizer's slots carry over only to the same optimizer, the schedule's and early
        stopping's state only under the same settings; the live settings (base learning rate,
        regularization) are the state's (change them afterwards with `set_learning_rate`,
        `set_regularization`). keep_stop=False: the run goes on even if it had stopped.
        Returns what started fresh, one line each."""
        net, tel = self.network, self._telemetry
        if state.params.shape != net.flat_params.shape or set(state.buffers) != set(net.buffers):
            raise ValueError(
                "the checkpoint does not fit this network: its parameters have other shapes"
            )
        if state.batch != self._batch or len(state.order) != self._n:
            raise ValueError(
                f"the checkpoint does not fit this data: {len(state.order)} training points in "
                f"batches of {state.batch}, here {self._n} in batches of {self._batch}"
            )
        fresh: list[str] = []
        np.copyto(net.flat_params, state.params, casting="same_kind")
        net.buffers.update(state.buffers)
        self.optimizer = make_optimizer(self.config.training.optimizer)
        self._set_keys()
        if state.optimizer == self.config.training.optimizer.name:
            for key, slots in state.slots.items():
                p = self._upd_params.get(key)
                if p is None or any(a.shape != p.shape for a in slots.values()):
                    fresh.append(f"optimizer state of {key} (the frozen layers changed)")
                    continue
                for target, value in zip(self.optimizer._slots(key, p, tuple(slots)),
                                         slots.values(), strict=True):  # fmt: skip
                    np.copyto(target, value, casting="same_kind")
                if key in state.ticks:
                    self.optimizer.t[key] = state.ticks[key]
        elif state.slots or state.ticks:
            fresh.append(f"optimizer state ({state.optimizer} before)")
        self._rng.bit_generator.state = state.shuffle_rng
        net.dropout_rng.bit_generator.state = state.dropout_rng
        self._order = state.order.astype(np.intp)
        if self._preshuffle:
            self._Xs, self._ys = self._X[self._order], self._y[self._order]
        self._pos, self.step_count, self.epoch = state.pos, state.step, state.epoch
        tr = self.config.training
        for name, (section, leaf) in _LIVE_SETTINGS.items():
            setattr(self, name, state.settings[name])
            setattr(getattr(tr, section), leaf, state.settings[name])
        self.schedule = Schedule(tr.schedule)
        self._lr_per_step = self.schedule.per_step
        if state.schedule["settings"] == to_dict(tr.schedule):
            for k in _SCHEDULE_STATE:
                setattr(self.schedule, k, state.schedule[k])
            self.lr = state.lr
        else:
            self.schedule.restart(state.step)
            self.lr = self.schedule.lr(self.base_lr, state.step)
            fresh.append("learning-rate schedule (its settings changed)")
        self.early_stopping = EarlyStopping(tr.early_stopping)
        if keep_stop and state.early_stopping["settings"] == to_dict(tr.early_stopping):
            for k in _STOPPING_STATE:
                setattr(self.early_stopping, k, state.early_stopping[k])
        elif state.early_stopping["best_step"] is not None:
            fresh.append("early stopping's record of the best evaluation")
        keep = keep_stop
        self.stopped = state.stopped and keep
        self.stop_reason = state.stop_reason if keep else ""
        self.divergence = state.divergence if keep else DivergenceState()
        self.last_batch_loss, self.last_eval_step = state.last_batch_loss, state.last_eval_step
        self.last_eval = dict(state.last_eval)
        self.histograms = None if state.histograms is None else list(state.histograms)
        self.histogram_step = state.histogram_step
        bins = [b for triple in self._histogram_taker.bins for b in triple]
        for b, (lo, hi, edges) in zip(bins, state.histogram_bins, strict=True):
            b.lo, b.hi, b.edges = lo, hi, edges
        self._losses.clear()
        self._lrs.clear()
        tel.pending, tel.outputs, tel.measured = [], [], []
        tel.last_slot = 0
        np.copyto(tel.before[0], state.params if state.rollback is None else state.rollback)
        tel.latest = None if state.layer_stats is None else dict(state.layer_stats)
        self.history = _history_until(self.history if history is None else history, state.step)
        return fresh
