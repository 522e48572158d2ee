"""TF Playground's input features for 2D sets: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.config import FEATURES_2D
from core.data.dataset import DataError

FEATURE_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1sq": lambda a, b: a * a,
    "x2sq": lambda a, b: b * b,
    "x1x2": lambda a, b: a * b,
    "sinx1": lambda a, b: np.sin(a),
    "sinx2": lambda a, b: np.sin(b),
}
FEATURE_LABELS = {
    "x1": "x1",
    "x2": "x2",
    "x1sq": "x1^2",
    "x2sq": "x2^2",
    "x1x2": "x1*x2",
    "sinx1": "sin(x1)",
    "sinx2": "sin(x2)",
}


def ordered_features(selected: Sequence[str]) -> list[str]:
    """The selected feature keys in the canonical FEATURES_2D order (so input order is stable)."""
    unknown = [f for f in selected if f not in FEATURE_FUNCTIONS]
    if unknown:
        raise DataError(f"Unknown input feature {unknown[0]!r}: choose from {list(FEATURES_2D)}.")
    chosen = [f for f in FEATURES_2D if f in selected]
    if not chosen:
        raise DataError("Choose at least one input feature.")
    return chosen


def feature_map(selected: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """Raw points (n, 2) -> (n, len(selected)) columns f(x1, x2), canonical order."""
    funcs = [FEATURE_FUNCTIONS[f] for f in ordered_features(selected)]

    def features(raw: np.ndarray) -> np.ndarray:
        a, b = raw[:, 0], raw[:, 1]
        return np.column_stack([f(a, b) for f in funcs])

    return features


def feature_labels(selected: Sequence[str]) -> list[str]:
    """Display names of the selected features, canonical order."""
    return [FEATURE_LABELS[f] for f in ordered_features(selected)]
