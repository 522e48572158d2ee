"""Each classroom preset demonstrates what its notes promise (a teacher relies on it)."""

import copy

import pytest

from core.config import LayerConfig
from core.data import load_dataset
from core.trainer import Trainer
from playground.presets import load_preset, preset_names
from playground.session import align_task


def train(config, steps):
    dataset = load_dataset(config.data)
    trainer = Trainer(align_task(config, dataset.task), dataset)
    trainer.run(300, max_steps=steps)
    return trainer


def grad_ratio(trainer) -> float:
    """First layer's gradient norm over the output layer's."""
    layers = trainer.snapshot().layers
    return layers[0].grad_norm / layers[-1].grad_norm


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_has_a_title_and_notes(name):
    config = load_preset(name)
    assert config.title and len(config.notes) > 40


def test_vanishing_gradients_and_their_two_fixes():
    sigmoid = train(load_preset("vanishing_gradients"), 3000)
    relu = train(load_preset("vanishing_fixed_by_relu"), 3000)
    batchnorm = train(load_preset("vanishing_fixed_by_batchnorm"), 3000)
    assert grad_ratio(sigmoid) < 1e-5
    assert sigmoid.evaluate()["train_accuracy"] < 0.6
    for fixed in (relu, batchnorm):
        assert grad_ratio(fixed) > 1e3 * grad_ratio(sigmoid)
        assert fixed.evaluate()["train_accuracy"] > 0.9


def test_xor_needs_a_hidden_layer():
    config = load_preset("xor_needs_hidden_layer")
    assert config.network.hidden == []
    assert train(config, 3000).evaluate()["train_accuracy"] < 0.65
    config.network.hidden = [LayerConfig(4, "tanh")]
    assert train(config, 3000).evaluate()["train_accuracy"] > 0.9


def test_dropout_tames_overfitting():
    with_dropout = load_preset("overfitting_dropout")
    without = copy.deepcopy(with_dropout)
    for layer in without.network.hidden:
        layer.dropout = 0.0
    overfit = train(without, 3000).evaluate()
    tamed = train(with_dropout, 3000).evaluate()
    assert overfit["train_loss"] < 0.01 and overfit["val_loss"] > 1.0
    assert tamed["val_loss"] < overfit["val_loss"] / 2


def test_early_stopping_stops_and_restores_the_best_weights():
    trainer = train(load_preset("early_stopping"), 20_000)
    state = trainer.snapshot().early_stopping
    assert state.stopped and state.restored and trainer.step_count < 20_000
    assert trainer.evaluate()["val_loss"] == pytest.approx(state.best_value, rel=1e-3)


def test_momentum_and_adam_beat_sgd_on_the_spiral():
    accuracy = {
        opt: train(load_preset(f"spiral_{opt}"), 6000).evaluate()["train_accuracy"]
        for opt in ("sgd", "momentum", "adam")
    }
    assert accuracy["sgd"] < 0.75
    assert accuracy["momentum"] > 0.9 and accuracy["adam"] > 0.9


def test_universal_approximation_fits_the_sine():
    trainer = train(load_preset("universal_approximation_1d"), 3000)
    assert trainer.evaluate()["val_loss"] < 0.1  # noise variance is 0.01; the sine's is 0.5


def test_digits_reach_high_test_accuracy():
    assert train(load_preset("digits"), 1500).evaluate()["val_accuracy"] > 0.9
