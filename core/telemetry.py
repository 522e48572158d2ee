"""What each step reports: a `Snapshot` the UI draws from without reaching into the network.

Layer index i runs over the network's blocks: hidden layers 0..L-1, then the output layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.history import History

HISTOGRAM_BINS = 30


@dataclass
class Histogram:
    """Counts over fixed bin edges (len(edges) == len(counts) + 1)."""

    edges: np.ndarray
    counts: np.ndarray

    def nbytes(self) -> int:
        return self.edges.nbytes + self.counts.nbytes


@dataclass
class LayerHistograms:
    weights: Histogram
    activations: Histogram
    gradients: Histogram

    def nbytes(self) -> int:
        return self.weights.nbytes() + self.activations.nbytes() + self.gradients.nbytes()


@dataclass
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


@dataclass
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


@dataclass
class DivergenceState:
    diverged: bool = False
    step: int | None = None
    reason: str = ""


@dataclass
class Snapshot:
    step: int
    epoch: int
    learning_rate: float
    batch_loss: float | None
    train_loss: float | None
    val_loss: float | None
    train_accuracy: float | None
    val_accuracy: float | None
    layers: list[LayerStats]
    early_stopping: EarlyStoppingState
    divergence: DivergenceState
    weights: list[tuple[np.ndarray, np.ndarray]]  # (W, b) per layer, copies
    history: History
    histograms: list[LayerHistograms] | None = None  # latest taken
    histogram_step: int | None = None
    extras: dict = field(default_factory=dict)
