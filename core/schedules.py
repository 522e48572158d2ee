"""Learning-rate schedules: lr = base_lr * factor(steps since the schedule's origin).

The factor never touches the optimizer state, so the base rate can change mid-run: `restart`
moves the origin to the current step (the rate a user sets is the rate used from now on, and the
decay continues from there). Decaying schedules never go below `min_lr` (nor above base_lr).

    constant:     factor = 1
    step:         factor = gamma ^ floor(s / step_size)
    exponential:  factor = gamma ^ (s / step_size)        (smooth; x gamma every step_size steps)
    plateau:      factor = plateau_factor ^ k, k = reductions so far; one more reduction when the
                  monitored value (lower is better) has not improved for plateau_patience evals
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import ScheduleConfig

# a value counts as better than the best only if it beats it by this relative margin
PLATEAU_REL_THRESHOLD = 1e-4


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule: its label and formula, the config settings it reads (with their labels),
    whether the rate can change at any step, and its factor(cfg, s, reductions)."""

    name: str
    label: str
    formula: str
    settings: dict[str, str]  # ScheduleConfig field -> label
    per_step: bool
    factor: Callable[[ScheduleConfig, int, int], float]


_DECAY = {"min_lr": "Lowest rate"}
SCHEDULES: dict[str, ScheduleInfo] = {
    s.name: s
    for s in (
        ScheduleInfo("constant", "Constant", "lr", {}, False, lambda c, s, k: 1.0),
        ScheduleInfo(
            "step", "Step decay", "lr * gamma^floor(s / step_size)",
            {"step_size": "Every (steps)", "gamma": "Factor", **_DECAY}, True,
            lambda c, s, k: c.gamma ** (s // c.step_size),
        ),
        ScheduleInfo(
            "exponential", "Exponential decay", "lr * gamma^(s / step_size)",
            {"step_size": "Over (steps)", "gamma": "Factor", **_DECAY}, True,
            lambda c, s, k: c.gamma ** (s / c.step_size),
        ),
        ScheduleInfo(
            "plateau", "Cut on plateau", "lr * plateau_factor^cuts",
            {"plateau_patience": "Patience (evaluations)", "plateau_factor": "Factor", **_DECAY},
            False, lambda c, s, k: c.plateau_factor**k,
        ),
    )
}  # fmt: skip


class Schedule:
    def __init__(self, cfg: ScheduleConfig | None = None):
        if cfg is None:
            from core.config import ScheduleConfig  # the config reads this module's registry

            cfg = ScheduleConfig()
        self.cfg = cfg
        self.name = cfg.name
        self.info = SCHEDULES[cfg.name]
        self.origin = 0  # step from which the decay is counted
        self.reductions = 0  # plateau: how many times the rate was cut
        self.best: float | None = None  # plateau: best monitored value since the last cut
        self.evals_since_best = 0

    @property
    def per_step(self) -> bool:
        """True if the rate may change at any step (else only at `on_eval` or `restart`)."""
        return self.info.per_step

    def factor(self, step: int) -> float:
        return self.info.factor(self.cfg, max(0, step - self.origin), self.reductions)

    def lr(self, base_lr: float, step: int) -> float:
        """The learning rate to use at `step`, floored at min_lr for decaying schedules."""
        f = self.factor(step)
        if f == 1.0:
            return base_lr
        return min(base_lr, max(self.cfg.min_lr, base_lr * f))

    def on_eval(self, value: float) -> bool:
        """Feed one evaluation of the monitored value (lower is better). True = rate was cut."""
        if self.name != "plateau" or not math.isfinite(value):
            return False
        if self.best is None or value < self.best - PLATEAU_REL_THRESHOLD * abs(self.best):
            self.best, self.evals_since_best = value, 0
            return False
        self.evals_since_best += 1
        if self.evals_since_best < self.cfg.plateau_patience:
            return False
        self.reductions += 1
        self.evals_since_best = 0
        return True

    def restart(self, step: int) -> None:
        """Count the decay from `step` again (after the user sets a new base rate)."""
        self.origin = step
        self.reductions = 0
        self.evals_since_best = 0
