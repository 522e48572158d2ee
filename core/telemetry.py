"""What each step reports: a `Snapshot` the UI draws from without reaching into the network.

Layer index i runs over the network's blocks: hidden layers 0..L-1, then the output layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.history import History

HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class Histogram:
    """Counts over fixed bin edges (len(edges) == len(counts) + 1)."""

    edges: np.ndarray
    counts: np.ndarray

    def nbytes(self) -> int:
        return self.edges.nbytes + self.counts.nbytes


@dataclass(frozen=True)
class LayerHistograms:
    weights: Histogram
    activations: Histogram
    gradients: Histogram

    def nbytes(self) -> int:
        return self.weights.nbytes() + self.activations.nbytes() + self.gradients.nbytes()


@dataclass(frozen=True)
class LayerStats:
    """Scalars for one layer at one step.

    update_ratio = ||dW|| / ||W|| of the last optimizer step (healthy ~ 1e-3).
    saturated_frac: fraction of sigmoid/tanh outputs within 2.5% of their bounds (None otherwise).
    dead_frac: fraction of ReLU-family units with output <= 0 over the whole batch (else None).
    """

    name: str
    activation: str
    units: int
    weight_norm: float
    grad_norm: float
    grad_mean_abs: float
    update_ratio: float
    act_mean: float
    act_std: float
    saturated_frac: float | None = None
    dead_frac: float | None = None


@dataclass(frozen=True)
class EarlyStoppingState:
    enabled: bool = False
    monitor: str = "val_loss"
    patience: int = 10
    min_delta: float = 0.0
    best_value: float | None = None
    best_step: int | None = None
    evals_since_best: int = 0
    stopped: bool = False
    stopped_step: int | None = None
    reason: str = ""
    restore_best: bool = True
    restored: bool = False


@dataclass(frozen=True)
class DivergenceState:
    diverged: bool = False
    step: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Snapshot:
    """The run as of one step, by value: nothing in it changes when training goes on (the
    history is a frozen copy, the weights are copies)."""

    step: int
    epoch: int
    learning_rate: float
    batch_loss: float | None
    train_loss: float | None
    val_loss: float | None
    train_accuracy: float | None
    val_accuracy: float | None
    layers: Sequence[LayerStats]
    early_stopping: EarlyStoppingState
    divergence: DivergenceState
    weights: list[tuple[np.ndarray, np.ndarray]] | None  # (W, b) per layer, copies (if asked)
    history: History  # frozen copy (History.frozen_copy)
    histograms: Sequence[LayerHistograms] | None = None  # latest taken
    histogram_step: int | None = None
    stop_reason: str = ""  # why training stopped ("" while it runs)
    epoch_progress: float = 0.0  # fraction of the current epoch done
    eval_step: int | None = None  # step at which train/val loss and accuracy were measured
