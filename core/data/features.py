"""TF Playground's input features for 2D sets (registry: core.datasets.FEATURES)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.data.dataset import DataError
from core.datasets import FEATURES


def ordered_features(selected: Sequence[str]) -> list[str]:
    """The selected feature keys in the canonical (registry) order (so input order is stable)."""
    unknown = [f for f in selected if f not in FEATURES]
    if unknown:
        raise DataError(f"Unknown input feature {unknown[0]!r}: choose from {list(FEATURES)}.")
    chosen = [f for f in FEATURES if f in selected]
    if not chosen:
        raise DataError("Choose at least one input feature.")
    return chosen


def feature_map(selected: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """Raw points (n, 2) -> (n, len(selected)) columns f(x1, x2), canonical order."""
    funcs = [FEATURES[f].function for f in ordered_features(selected)]

    def features(raw: np.ndarray) -> np.ndarray:
        a, b = raw[:, 0], raw[:, 1]
        return np.column_stack([f(a, b) for f in funcs])

    return features


def feature_labels(selected: Sequence[str]) -> list[str]:
    """Display names of the selected features, canonical order."""
    return [FEATURES[f].label for f in ordered_features(selected)]
