"""Real learning, end to end through the Trainer: XOR and the two-spiral problem."""

import numpy as np

from core.config import LayerConfig, NetworkConfig, OptimizerConfig, PlaygroundConfig
from core.data.dataset import Dataset
from core.trainer import Trainer

XOR_STEPS = 2_000
SPIRAL_STEPS = 2_000


def config(hidden, activation, opt, lr, batch) -> PlaygroundConfig:
    cfg = PlaygroundConfig()
    cfg.network = NetworkConfig(
        hidden=[LayerConfig(units=u, activation=activation) for u in hidden], dtype="float64"
    )
    cfg.training.batch_size = batch
    cfg.training.optimizer = OptimizerConfig(name=opt, learning_rate=lr)
    cfg.training.eval_every = 500
    return cfg


def train_accuracy_within(trainer: Trainer, max_steps: int, target: float) -> tuple[float, int]:
    """Train until train accuracy >= target (checked every 100 steps); (accuracy, steps)."""
    acc = trainer.evaluate()["train_accuracy"]
    while acc < target and trainer.step_count < max_steps and not trainer.stopped:
        trainer.run(seconds=600, max_steps=100)
        acc = trainer.evaluate()["train_accuracy"]
    return acc, trainer.step_count


def test_xor_reaches_full_train_accuracy():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]) * 2 - 1
    y = np.array([0, 1, 1, 0])
    ds = Dataset("xor4", "binary", X, y, X, y, ["x1", "x2"], ["0", "1"])
    tr = Trainer(config([4], "tanh", "sgd", 0.3, 4), ds)
    acc, steps = train_accuracy_within(tr, XOR_STEPS, 1.0)
    assert acc == 1.0, f"XOR train accuracy {acc} after {steps} steps"


def two_spirals(n_per_arm: int = 150, seed: int = 0) -> Dataset:
    """Lang & Witbrock's two interleaved spirals: 1.5 turns each, no noise."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.random(n_per_arm)) * 3 * np.pi + 0.5
    arm = np.column_stack([t * np.cos(t), t * np.sin(t)])
    X = np.vstack([arm, -arm])
    X /= X.std(axis=0)  # standardised, as the playground feeds its inputs
    y = np.r_[np.zeros(n_per_arm, int), np.ones(n_per_arm, int)]
    return Dataset("two spirals", "binary", X, y, X, y, ["x1", "x2"], ["0", "1"])


def test_two_spirals_reach_95_percent_train_accuracy():
    tr = Trainer(config([32, 32], "relu", "adam", 0.01, 16), two_spirals())
    acc, steps = train_accuracy_within(tr, SPIRAL_STEPS, 0.95)
    assert acc >= 0.95, f"two-spiral train accuracy {acc} after {steps} steps"
