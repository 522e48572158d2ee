"""Evaluation on the splits: every point, or the periodic evaluation's seeded subsets."""

import numpy as np
import pytest

from core.evaluation import EVAL_MAX
from core.trainer import Trainer
from tests.core.test_trainer import blobs, config


def points_seen(trainer: Trainer, max_points: int | None) -> tuple[dict, list[int]]:
    """The evaluation and the number of points of each forward pass it made."""
    seen, logits = [], trainer.network.logits

    def counting(X, training):
        seen.append(np.asarray(X).shape[0])
        return logits(X, training)

    trainer.network.logits = counting
    try:
        return trainer.evaluate(max_points), seen
    finally:
        trainer.network.logits = logits


@pytest.mark.parametrize("max_points", [1, 7, 60])
def test_max_points_bounds_the_points_of_each_split(max_points):
    tr = Trainer(config(), blobs(n_train=300, n_test=200))
    tr.run(seconds=60, max_steps=20)
    ev, seen = points_seen(tr, max_points)
    assert seen == [2 * max_points]  # both splits in one pass
    for split in ("train", "val"):
        acc = ev[f"{split}_accuracy"] * max_points
        assert acc == pytest.approx(round(acc))  # a count of correct points over max_points


def test_the_small_subset_is_a_seeded_sample_of_the_points():
    ds = blobs(n_train=300, n_test=200)
    tr = Trainer(config(), ds)
    tr.run(seconds=60, max_steps=20)
    assert tr.evaluate(40) == tr.evaluate(40)  # fixed subset
    again = Trainer(config(), ds)
    again.run(seconds=60, max_steps=20)
    assert again.evaluate(40) == tr.evaluate(40)  # the same for the same seed
    other = Trainer(config(seed=1), ds)
    other.network.load_state_dict(tr.network.state_dict())
    assert other.evaluate() == tr.evaluate()  # same weights ...
    assert other.evaluate(40) != tr.evaluate(40)  # ... other seed, other subset


def test_enough_points_give_the_periodic_evaluation():
    tr = Trainer(config(), blobs(n_train=300, n_test=200))
    tr.run(seconds=60, max_steps=30)
    tr.measure()
    periodic = {k: tr.history.run[k].last() for k in ("train_loss", "val_loss")}
    for m in (300, EVAL_MAX, 10**6):
        ev, seen = points_seen(tr, m)
        assert seen == [500]
        assert {k: ev[k] for k in periodic} == pytest.approx(periodic, rel=1e-12)
    with pytest.raises(ValueError):
        tr.evaluate(0)
