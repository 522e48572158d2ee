"""Loss and accuracy of a network on the train and test splits, in eval mode.

`Evaluator.evaluate()` measures every point (in chunks); `evaluate(max_points)` measures a fixed
seeded subset of each split, the one the trainer's periodic evaluation uses: at most
`eval_points(n_parameters, n_train)` points per split (EVAL_MIN..EVAL_MAX, fewer for big nets on
small sets, so an evaluation of both splits costs at most ~10% of an epoch's training), and at most
`max_points`. The subsets are nested: the first m points of one seeded random draw per split, so a
smaller `max_points` measures a uniform random part of the periodic subset. The periodic subsets
of both splits sit side by side in one feature-major array: ONE forward pass evaluates both.
"""

from __future__ import annotations

import numpy as np

from core.network import Network

EVAL_MAX = 1_000  # points per split in the periodic evaluation (a fixed seeded subset if more)
EVAL_MIN = 250  # ... never fewer than this (if the split has them); see `eval_points`
EVAL_MACS = 25_000_000  # multiply-adds per split an evaluation may always spend
EVAL_FRACTION = 0.1  # ... or this fraction of an epoch's training points per split
_EVAL_CHUNK = 4096  # points per forward pass when measuring a whole split


def eval_points(n_parameters: int, n_train: int) -> int:
    """Points per split in the periodic evaluation, between EVAL_MIN and EVAL_MAX.

    A forward pass costs about n_parameters multiply-adds per point and a training epoch about
    2 * n_parameters * n_train, so big nets on small sets get fewer points: as many as
    EVAL_MACS allows, or EVAL_FRACTION of the training points (then one evaluation of both
    splits costs at most ~10% of the epoch's training), whichever is more.
    """
    points = max(EVAL_MACS // max(n_parameters, 1), int(EVAL_FRACTION * n_train))
    return int(min(EVAL_MAX, max(EVAL_MIN, points)))


def _named(tl: float, ta: float | None, vl: float, va: float | None) -> dict[str, float | None]:
    """The figures by the names of the history's run series."""
    return {"train_loss": tl, "train_accuracy": ta, "val_loss": vl, "val_accuracy": va}


class Evaluator:
    """Measures `network` on the two splits `sets` = ((X_train, y_train), (X_test, y_test)).

    X arrays in the network's dtype, y as the head expects (int labels or float targets);
    `regression`: no accuracy. `seed` fixes the subsets of the periodic evaluation.
    """

    def __init__(self, network: Network, sets, regression: bool, seed: int):
        self.network, self.sets, self.regression = network, tuple(sets), regression
        cap = eval_points(network.n_parameters(), len(self.sets[0][0]))
        rng = np.random.default_rng([seed, 2])
        order_rng = np.random.default_rng([seed, 3])  # the order of splits that fit whole
        self._draws = [self._draw(len(X), cap, rng, order_rng) for X, _ in self.sets]
        subsets = [self._subset(i, len(draw)) for i, draw in enumerate(self._draws)]
        (X_tr, y_tr), (X_val, y_val) = subsets
        self._XT = np.ascontiguousarray(np.concatenate([X_tr, X_val]).T)
        self._split = len(X_tr)
        self._y = (y_tr, y_val)
        self.subset_size = max(len(X_tr), len(X_val))  # points per split, periodic evaluation

    @staticmethod
    def _draw(n: int, cap: int, rng: np.random.Generator, order_rng: np.random.Generator):
        """A seeded random order of at most `cap` of the n points."""
        if n > cap:
            return rng.choice(n, cap, replace=False)
        return order_rng.permutation(n)

    def _subset(self, split: int, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The first m points of the split's draw, in data order."""
        X, y = self.sets[split]
        idx = self._draws[split]
        if m >= len(X):
            return X, y
        idx = np.sort(idx[:m])
        return X[idx], y[idx]

    def evaluate(self, max_points: int | None = None) -> dict[str, float | None]:
        """Every point (max_points None), else the first min(max_points, subset) points of each
        split's seeded draw."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            if max_points is None:
                return _named(*self._whole(0), *self._whole(1))
            if max_points < 1:
                raise ValueError(f"max_points must be at least 1, got {max_points}")
            if max_points >= self.subset_size:  # X: a transposed view, no copy into the net
                X, split, (y_tr, y_val) = self._XT.T, self._split, self._y
            else:
                (X_tr, y_tr), (X_val, y_val) = (self._subset(i, max_points) for i in (0, 1))
                X, split = np.concatenate([X_tr, X_val]), len(X_tr)
            Z = self.network.logits(X, False)
            train = self._summary(*self._score(Z[:, :split], y_tr), split)
            val = self._summary(*self._score(Z[:, split:], y_val), Z.shape[1] - split)
        return _named(*train, *val)

    def _score(self, Z: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """Summed data loss and number correct of the eval-mode logits Z (k, n) against y.

        The predicted class is the head's `predict_class` of its output (one home for the
        threshold), so one forward pass gives both.
        """
        n, head = Z.shape[1], self.network.head
        if n == 0:
            return 0.0, 0
        loss_sum = head.forward(Z, y, False) * n
        if not head.classifies:
            return loss_sum, 0
        pred = head.predict_class(head.output(Z).T)
        return loss_sum, int(np.count_nonzero(pred == y))

    def _summary(self, loss_sum: float, correct: int, n: int) -> tuple[float, float | None]:
        n = max(n, 1)
        return loss_sum / n, (None if self.regression else correct / n)

    def _whole(self, split: int) -> tuple[float, float | None]:
        """Mean data loss and accuracy on every point of the split, in chunks."""
        X, y = self.sets[split]
        logits, loss_sum, correct = self.network.logits, 0.0, 0
        for a in range(0, len(X), _EVAL_CHUNK):
            chunk_loss, chunk_correct = self._score(
                logits(X[a : a + _EVAL_CHUNK], False), y[a : a + _EVAL_CHUNK]
            )
            loss_sum += chunk_loss
            correct += chunk_correct
        return self._summary(loss_sum, correct, len(X))
