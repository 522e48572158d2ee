"""Early stopping on a validation metric, with the best weights kept to restore at the end.

Each evaluation is an `update`. A value improves on the best when
    val_loss:      value < best - min_delta        (lower is better)
    val_accuracy:  value > best + min_delta        (higher is better)
After `patience` evaluations in a row without improvement, `stopped` becomes True. The caller
stores the network's state with `keep_best` whenever `update` returns True, and restores
`best_state` when stopping (then `mark_restored`).

`reason` says why training stopped, nothing more: where it stopped (`stopped_step`) and whether
the best weights came back (`restored`) are fields of their own, which the app shows beside it.
"""

from __future__ import annotations

import math

import numpy as np

from core.config import EarlyStoppingConfig
from core.telemetry import EarlyStoppingState

# What the student reads for each monitored value: the held-out split is "test" everywhere.
MONITOR_LABELS = {"val_loss": "test loss", "val_accuracy": "test accuracy"}


class EarlyStopping:
    def __init__(self, cfg: EarlyStoppingConfig | None = None):
        self.cfg = cfg if cfg is not None else EarlyStoppingConfig()
        self.best_value: float | None = None
        self.best_step: int | None = None
        self.evals_since_best = 0
        self.stopped = False
        self.stopped_step: int | None = None
        self.reason = ""
        self.restored = False
        self.best_state: dict[str, np.ndarray] | None = None

    @property
    def maximize(self) -> bool:
        return self.cfg.monitor == "val_accuracy"

    def _improves(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        if self.maximize:
            return value > self.best_value + self.cfg.min_delta
        return value < self.best_value - self.cfg.min_delta

    def update(self, step: int, val_loss: float | None, val_accuracy: float | None) -> bool:
        """Record one evaluation; True if the monitored value improved on the best so far."""
        value = val_accuracy if self.maximize else val_loss
        if value is None or self.stopped:
            return False
        if self._improves(value):
            self.best_value, self.best_step = float(value), int(step)
            self.evals_since_best = 0
            return True
        self.evals_since_best += 1
        if self.cfg.enabled and self.evals_since_best >= self.cfg.patience:
            self.stopped, self.stopped_step = True, int(step)
            self.reason = (
                f"{MONITOR_LABELS[self.cfg.monitor]} has not improved "
                f"(by more than min_delta={self.cfg.min_delta:g}) for {self.cfg.patience} "
                f"evaluations; best {self.best_value:.4g} at step {self.best_step}"
            )
        return False

    def keep_best(self, state: dict[str, np.ndarray]) -> None:
        """Store a copy of the network state that achieved the best value."""
        self.best_state = {k: np.array(v, copy=True) for k, v in state.items()}

    def mark_restored(self) -> None:
        self.restored = True

    @property
    def state(self) -> EarlyStoppingState:
        c = self.cfg
        return EarlyStoppingState(
            enabled=c.enabled,
            monitor=c.monitor,
            patience=c.patience,
            min_delta=c.min_delta,
            best_value=self.best_value,
            best_step=self.best_step,
            evals_since_best=self.evals_since_best,
            stopped=self.stopped,
            stopped_step=self.stopped_step,
            reason=self.reason,
            restore_best=c.restore_best,
            restored=self.restored,
        )
