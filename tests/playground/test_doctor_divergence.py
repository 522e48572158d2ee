"""Divergence in the real app (AppTest): on a NaN or infinite loss the run stops with finite
weights (the last finite ones) and the training doctor names the likely cause, the learning rate,
with its evidence."""

from __future__ import annotations

import numpy as np

from tests.playground.apptest_helpers import click, open_app, session
from tests.playground.test_doctor_panel import doctor_text

PLANE_AT_LR_10 = {
    "data.dataset": "plane",
    "training.optimizer.learning_rate": "10",
    "network.hidden": "8:relu,8:relu",
}


def test_a_diverged_run_keeps_finite_weights_and_the_doctor_blames_the_learning_rate():
    at = open_app(PLANE_AT_LR_10)
    for _ in range(3):
        click(at, "Step epoch")
    trainer = session(at).trainer
    assert trainer.divergence.diverged, trainer.stop_reason
    assert np.isfinite(trainer.network.flat_params).all()
    said = doctor_text(at)
    assert f"Training diverged at step {trainer.divergence.step:,}" in said
    assert "the learning rate (10) is too high" in said
    assert "kept the last finite weights" in said
    assert "Evidence:" in said and "Fix:" in said and "Lower the learning rate" in said
