"""The datasets and input features the playground offers: one registry entry each.

This is the one home of a dataset's facts (its label, how it is made, its task); the config's
choices, the sidebar, the links and the loaders in `core.data` read them. A generated set also
needs its generator in `core.data.generators` (same name); a test checks that every entry loads.

Kinds:
    2d      generated points in [-6, 6]^2; the inputs are chosen from FEATURES
    1d      a generated function of x in [-3, 3]
    table   a small classic set shipped in assets/data/classic
    images  MNIST, downloaded once into a cache
    csv     the user's own file (task inferred from the target column)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

KINDS = ("2d", "1d", "table", "images", "csv")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    label: str
    kind: str  # one of KINDS
    task: str  # binary, multiclass or regression; "auto" for a CSV (inferred)

    @property
    def generated(self) -> bool:
        return self.kind in ("2d", "1d")

    @property
    def has_plane(self) -> bool:
        """Points on the plane: the input features can be chosen."""
        return self.kind == "2d"


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("circle", "Circle", "2d", "binary"),
        DatasetInfo("xor", "Exclusive or (XOR)", "2d", "binary"),
        DatasetInfo("gaussian", "Two Gaussians", "2d", "binary"),
        DatasetInfo("spiral", "Spiral", "2d", "binary"),
        DatasetInfo("moons", "Two moons", "2d", "binary"),
        DatasetInfo("spiral3", "Three-arm spiral (3 classes)", "2d", "multiclass"),
        DatasetInfo("blobs", "Gaussian blobs (k classes)", "2d", "multiclass"),
        DatasetInfo("plane", "Plane (regression)", "2d", "regression"),
        DatasetInfo("multi_gaussian", "Multi-Gaussian (regression)", "2d", "regression"),
        DatasetInfo("sine", "Sine wave (1D regression)", "1d", "regression"),
        DatasetInfo("abs", "Absolute value (1D regression)", "1d", "regression"),
        DatasetInfo("step", "Step function (1D regression)", "1d", "regression"),
        DatasetInfo("poly", "Polynomial (1D regression)", "1d", "regression"),
        DatasetInfo("digits", "Digits 8x8 (1,797 images)", "table", "multiclass"),
        DatasetInfo("iris", "Iris (3 classes)", "table", "multiclass"),
        DatasetInfo("wine", "Wine (3 classes)", "table", "multiclass"),
        DatasetInfo("breast_cancer", "Breast cancer (binary)", "table", "binary"),
        DatasetInfo("diabetes", "Diabetes (regression)", "table", "regression"),
        DatasetInfo("mnist", "MNIST 28x28 digits", "images", "multiclass"),
        DatasetInfo("csv", "Your CSV file", "csv", "auto"),
    )
}


def dataset_names(*, kind: str | None = None, task: str | None = None) -> tuple[str, ...]:
    """Names in registry order, optionally only those of one kind and/or task."""
    return tuple(
        d.name
        for d in DATASETS.values()
        if (kind is None or d.kind == kind) and (task is None or d.task == task)
    )


Feature = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FeatureInfo:
    """An input computed from a point (x1, x2), as in TensorFlow Playground."""

    name: str
    label: str
    function: Feature


FEATURES: dict[str, FeatureInfo] = {
    f.name: f
    for f in (
        FeatureInfo("x1", "x₁", lambda a, b: a),
        FeatureInfo("x2", "x₂", lambda a, b: b),
        FeatureInfo("x1sq", "x₁²", lambda a, b: a * a),
        FeatureInfo("x2sq", "x₂²", lambda a, b: b * b),
        FeatureInfo("x1x2", "x₁·x₂", lambda a, b: a * b),
        FeatureInfo("sinx1", "sin(x₁)", lambda a, b: np.sin(a)),
        FeatureInfo("sinx2", "sin(x₂)", lambda a, b: np.sin(b)),
    )
}
