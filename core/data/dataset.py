"""The `Dataset` the trainer consumes: arrays with a train/test split and how to map raw inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class DataError(ValueError):
    """A problem with the data a user chose or supplied, phrased for the user."""


@dataclass
class Dataset:
    """Train/test arrays ready for the network.

    X_* are float64 (n, d) after the feature transform and scaling; y_* are int {0,1} (binary),
    int 0..C-1 (multiclass) or float (regression). raw_* keep the plotting coordinates of 2D/1D
    sets; `transform` maps raw coordinates to network inputs with the scaler fitted on train only.
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    class_names: list[str] = field(default_factory=list)
    raw_train: np.ndarray | None = None
    raw_test: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    domain: tuple[float, float] | None = None
    transform_fn: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def n_outputs(self) -> int:
        if self.task == "multiclass":
            return len(self.class_names)
        if self.task == "regression" and self.y_train.ndim == 2:
            return self.y_train.shape[1]
        return 1

    @property
    def n_inputs(self) -> int:
        return self.X_train.shape[1]

    @property
    def raw_dim(self) -> int | None:
        return None if self.raw_train is None else self.raw_train.shape[1]

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Raw plotting coordinates -> network inputs (feature crosses, then scaling)."""
        if self.transform_fn is None:
            return np.asarray(raw, dtype=np.float64)
        return self.transform_fn(np.asarray(raw, dtype=np.float64))

    def grid(self, resolution: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Axes (xs, ys) over `domain` and the transformed grid points, row-major (ys outer)."""
        if self.raw_dim != 2 or self.domain is None:
            raise DataError(f"{self.name} is not a 2D dataset: no input-plane grid")
        lo, hi = self.domain
        xs = np.linspace(lo, hi, resolution)
        ys = np.linspace(lo, hi, resolution)
        gx, gy = np.meshgrid(xs, ys)
        raw = np.column_stack([gx.ravel(), gy.ravel()])
        return xs, ys, self.transform(raw)
