"""Telemetry reads what a unit can do from the registries: an activation added to
`core.activations.REGISTRY` is measured as its family says, with no other edit."""

import numpy as np
import pytest

from core import activations
from core.activations import ActivationInfo
from core.collector import SATURATION_MARGIN, unit_facts
from core.losses import HEADS
from core.trainer import Trainer
from tests.core.test_trainer import blobs, config


def _scaled_tanh(c):
    """y = 2 tanh x;  dy/dx = 2 − y²/2."""
    two = c.one + c.one
    return (lambda x: two * np.tanh(x)), (lambda x, y: two - c.half * y * y)


def _relu6(c):
    """y = min(max(x, 0), 6);  dy/dx = [0 < x < 6]."""
    six = c.three + c.three
    return (lambda x: np.clip(x, c.zero, six)), (lambda x, y: (x > c.zero) & (x < six))


NEW = {
    "scaled_tanh": ActivationInfo(
        "scaled_tanh", "2 tanh x", "2 - y^2/2", "saturating", (-2.0, 2.0), "xavier_uniform",
        _scaled_tanh,
    ),
    "relu6": ActivationInfo(
        "relu6", "min(max(x, 0), 6)", "[0 < x < 6]", "relu_like", (0.0, 6.0), "he_normal", _relu6
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", NEW)
def test_a_new_activation_is_measured_as_its_registry_entry_says(monkeypatch, name):
    monkeypatch.setitem(activations.REGISTRY, name, NEW[name])
    entry = NEW[name]
    tr = Trainer(config(hidden=(8,), activation=name, stats_every=1, histogram_every=1), blobs())
    tr.run(seconds=60, max_steps=3)
    stats = tr.snapshot().layers[0]
    a = tr.network.blocks[0].last_output
    lo, hi = entry.bounds
    if entry.saturates:
        edge = (hi - lo) / 2 * (1 - 2 * SATURATION_MARGIN)
        expected = np.mean(np.abs(a - (lo + hi) / 2) >= edge)
        assert stats.saturated_frac == pytest.approx(expected) and stats.dead_frac is None
    else:
        assert stats.dead_frac == pytest.approx(np.mean(np.all(a <= 0, axis=0)))
        assert stats.saturated_frac is None
    edges = tr.histograms[0].activations.edges
    assert (edges[0], edges[-1]) == (lo, hi)  # bins over the registry's output range


@pytest.mark.parametrize("head", HEADS)
def test_the_output_layer_is_described_by_its_head(head):
    task = HEADS[head].task
    tr = Trainer(config(task=task, head=head), blobs(task=task))
    facts = unit_facts(tr.network)[-1]
    assert facts.bounds == tr.network.head.bounds and not facts.can_die
    assert facts.saturates == (tr.network.head.activation in ("sigmoid", "tanh"))
