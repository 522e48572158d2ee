"""Real learning, end to end through the Trainer: XOR and the two-spiral problem.

Training is chaotic (another BLAS or float width gives another trajectory), so each problem is
learned from SEEDS seeds (initial weights and, for the spirals, the data), in float32 and float64,
and the claim is about how many steps a seed needs to reach its target accuracy (checked every
CHECK_EVERY steps): the median over seeds, and at least MIN_AGREEING seeds, must get there with a
margin of MARGIN below the step budget.
"""

import statistics

import numpy as np
import pytest

from core.config import LayerConfig, NetworkConfig, OptimizerConfig, PlaygroundConfig
from core.data.dataset import Dataset
from core.trainer import Trainer

SEEDS = (0, 1, 2, 3, 4)
MIN_AGREEING = 4
MARGIN = 1.5  # the steps a seed needs, times this, must stay within the budget
CHECK_EVERY = 25
XOR_STEPS = 500
SPIRAL_STEPS = 1_000
DTYPES = ("float32", "float64")


def config(hidden, activation, opt, lr, batch, seed, dtype) -> PlaygroundConfig:
    cfg = PlaygroundConfig()
    cfg.network = NetworkConfig(
        hidden=[LayerConfig(units=u, activation=activation) for u in hidden], dtype=dtype
    )
    cfg.training.batch_size = batch
    cfg.training.seed = seed
    cfg.training.optimizer = OptimizerConfig(name=opt, learning_rate=lr)
    cfg.training.eval_every = 500
    return cfg


def steps_to_reach(trainer: Trainer, target: float, max_steps: int) -> float:
    """Steps until the train accuracy first reaches `target` (checked every CHECK_EVERY steps);
    inf if it does not within `max_steps`."""
    while trainer.step_count < max_steps and not trainer.stopped:
        trainer.run(seconds=600, max_steps=CHECK_EVERY)
        if trainer.evaluate()["train_accuracy"] >= target:
            return trainer.step_count
    return np.inf


def assert_learned_in_time(steps: list[float], budget: int, what: str) -> None:
    """The median seed, and MIN_AGREEING seeds, reach the target within budget / MARGIN."""
    in_time = sum(s * MARGIN <= budget for s in steps)
    assert statistics.median(steps) * MARGIN <= budget and in_time >= MIN_AGREEING, (
        f"{what}: steps to reach the target per seed {steps} (budget {budget} / {MARGIN})"
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_xor_reaches_full_train_accuracy(dtype):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]) * 2 - 1
    y = np.array([0, 1, 1, 0])
    ds = Dataset("xor4", "binary", X, y, X, y, ["x1", "x2"], ["0", "1"])
    steps = [
        steps_to_reach(Trainer(config([4], "tanh", "sgd", 0.3, 4, seed, dtype), ds), 1.0, XOR_STEPS)
        for seed in SEEDS
    ]
    assert_learned_in_time(steps, XOR_STEPS, "XOR to 100%")


def two_spirals(n_per_arm: int = 150, seed: int = 0) -> Dataset:
    """Lang & Witbrock's two interleaved spirals: 1.5 turns each, no noise."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.random(n_per_arm)) * 3 * np.pi + 0.5
    arm = np.column_stack([t * np.cos(t), t * np.sin(t)])
    X = np.vstack([arm, -arm])
    X /= X.std(axis=0)  # standardised, as the playground feeds its inputs
    y = np.r_[np.zeros(n_per_arm, int), np.ones(n_per_arm, int)]
    return Dataset("two spirals", "binary", X, y, X, y, ["x1", "x2"], ["0", "1"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_two_spirals_reach_95_percent_train_accuracy(dtype):
    steps = [
        steps_to_reach(
            Trainer(
                config([32, 32], "relu", "adam", 0.01, 16, seed, dtype), two_spirals(seed=seed)
            ),
            0.95,
            SPIRAL_STEPS,
        )
        for seed in SEEDS
    ]
    assert_learned_in_time(steps, SPIRAL_STEPS, "two spirals to 95%")
