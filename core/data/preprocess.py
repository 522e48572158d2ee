"""Shared last steps for every dataset: train/test split, standardization, building `Dataset`.

Randomness: each step draws from its own stream, `np.random.default_rng((seed, stream))`, so
the same seed always gives the same points and changing the train ratio never moves a point.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.data.dataset import DataError, Dataset

STREAM_GENERATE, STREAM_SPLIT, STREAM_SUBSET = 0, 1, 2


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """An independent random stream per (seed, purpose)."""
    return np.random.default_rng((int(seed), stream))


def stratified_take(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of k items whose class shares match y's (largest-remainder rounding), sorted.

    Class c gets floor(k * n_c / n) items, and the leftover items go to the classes with the
    largest fractional parts, so every class keeps its share to within one item.
    """
    classes, counts = np.unique(y, return_counts=True)
    exact = k * counts / len(y)
    quota = np.floor(exact).astype(int)
    leftover = k - quota.sum()
    quota[np.argsort(-(exact - quota), kind="stable")[:leftover]] += 1
    chosen = [
        rng.choice(np.flatnonzero(y == c), size=q, replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def split_indices(
    n: int, train_fraction: float, rng: np.random.Generator, y: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train/test indices, n_train = round(n * train_fraction) clipped to [1, n-1].

    With class labels y the split is stratified: each class keeps its share in both parts.
    """
    if n < 2:
        raise DataError(f"Only {n} usable row(s): at least 2 are needed to split train and test.")
    n_train = int(np.clip(round(n * train_fraction), 1, n - 1))
    if y is None:
        order = rng.permutation(n)
        return order[:n_train], order[n_train:]
    train = stratified_take(y, n_train, rng)
    test = np.setdiff1d(np.arange(n), train, assume_unique=True)
    return rng.permutation(train), rng.permutation(test)


_BLOCK_VALUES = 32_768  # values per block when fitting a scaler: temporaries of 256 KB


class Standardizer:
    """z = (x / s - m) / d, where s = max |x| over the training rows (per column), m and d the
    mean and std of x / s (d = 0 is replaced by 1). This is z = (x - mean) / std with
    mean = s * m and std = s * d, but nothing can overflow: |x / s| <= 1, so sums, squares and
    |x / s - m| <= 2 stay small even for values near the largest float (1.8e308)."""

    def __init__(self, X_train: np.ndarray):
        X_train = np.asarray(X_train)
        largest = np.maximum(np.abs(X_train.min(axis=0)), np.abs(X_train.max(axis=0)))
        self._scale = np.where(largest > 0, largest, 1.0).astype(np.float64)
        self._center = sum(block.sum(axis=0) for block in self._blocks(X_train)) / len(X_train)
        squares = 0.0
        for block in self._blocks(X_train):
            block -= self._center
            block *= block
            squares = squares + block.sum(axis=0)
        spread = np.sqrt(squares / len(X_train))
        self._spread = np.where(spread > 0, spread, 1.0)
        self.mean = self._scale * self._center
        self.std = self._scale * self._spread

    def _blocks(self, X: np.ndarray):
        """x / s in float64, a block of rows at a time (no temporary as large as X)."""
        rows = max(1, _BLOCK_VALUES // max(1, X[0].size))
        for start in range(0, len(X), rows):
            yield X[start : start + rows] / self._scale

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X / self._scale - self._center) / self._spread

    def scale_in_place(self, X: np.ndarray) -> None:
        """X <- z, without a temporary copy (the same operations as __call__, bit for bit)."""
        X /= self._scale
        X -= self._center
        X /= self._spread


def _identity(X: np.ndarray) -> np.ndarray:
    return X


def _compose(
    first: Callable[[np.ndarray], np.ndarray], second: Callable[[np.ndarray], np.ndarray]
) -> Callable[[np.ndarray], np.ndarray]:
    def transform(raw: np.ndarray) -> np.ndarray:
        return second(first(raw))

    return transform


def build_dataset(
    name: str,
    task: str,
    X: np.ndarray | Callable[[np.ndarray], np.ndarray],
    y: np.ndarray,
    *,
    train_fraction: float,
    seed: int,
    standardize: bool,
    feature_names: list[str],
    class_names: list[str] | None = None,
    raw: np.ndarray | None = None,
    feature_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    domain: tuple[float, float] | None = None,
    image_shape: tuple[int, int] | None = None,
    notes: list[str] | None = None,
    x_dtype: type = np.float64,
    scale_target: bool = False,
) -> Dataset:
    """Split (stratified for classification), fit the scaler on train only, build the Dataset.

    `X` are the network inputs before scaling (for 2D/1D sets `feature_fn(raw)`), or a function
    giving the rows of X at given indices, so that a large upload is encoded once, already in
    split order. The inputs are copied once, train rows first (X_train and X_test are views
    of that copy), and scaled in place. The Dataset's `transform_fn` is
    `scaler(feature_fn(raw))`, so heatmap grids get exactly the same mapping. With
    `scale_target` (regression) y is standardized too, with train mean and std, and a note
    records them: value = y * std + mean.
    """
    labels = y if task in ("binary", "multiclass") else None
    train, test = split_indices(len(y), train_fraction, rng_for(seed, STREAM_SPLIT), labels)
    order, n_train = np.concatenate([train, test]), len(train)
    inputs = np.ascontiguousarray(X(order) if callable(X) else X[order], dtype=x_dtype)
    y = y[order]
    scaler = _identity
    if standardize:
        scaler = Standardizer(inputs[:n_train])
        scaler.scale_in_place(inputs)
    notes = list(notes or [])
    if scale_target:
        target = Standardizer(y[:n_train])
        y = target(y)
        notes.append(
            f"Target standardized on the training split: value = y * {float(target.std):.6g}"
            f" + {float(target.mean):.6g}."
        )
    return Dataset(
        name=name,
        task=task,
        X_train=inputs[:n_train],
        y_train=y[:n_train],
        X_test=inputs[n_train:],
        y_test=y[n_train:],
        feature_names=list(feature_names),
        class_names=list(class_names or []),
        raw_train=None if raw is None else raw[train],
        raw_test=None if raw is None else raw[test],
        image_shape=image_shape,
        domain=domain,
        transform_fn=_compose(feature_fn or _identity, scaler),
        notes=notes,
    )
