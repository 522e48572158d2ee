"""Activation histograms (small multiples) and weight distributions over time."""

from __future__ import annotations

import numpy as np

from core.history import History
from playground.charts import activation_distributions, weight_distributions
from tests.playground.test_charts_common import (
    assert_empty_state,
    hist,
    make_history,
    make_snapshot,
    make_stats,
)


def test_activation_subplot_titles_show_saturated_and_dead_percentages():
    snap = make_snapshot([2, 4, 4, 1])
    fig = activation_distributions(snap.histograms, snap.layers)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0] == "hidden 1 (tanh) · saturated 12% · dead n/a"
    assert "saturated 38%" in titles[2]
    relu = make_stats(["hidden 1", "output"], activation="relu")
    titles = [
        a.text for a in activation_distributions(snap.histograms[:2], relu).layout.annotations
    ]
    assert "dead 25%" in titles[0] and "saturated n/a" in titles[0]


def test_activation_bars_are_shares_of_the_histogram():
    snap = make_snapshot([2, 4, 4, 1])
    fig = activation_distributions(snap.histograms, snap.layers)
    assert len(fig.data) == 3
    bars = fig.data[0]
    counts = np.asarray(snap.histograms[0].activations.counts, float)
    np.testing.assert_allclose(bars.y, counts / counts.sum(), rtol=1e-5)
    assert abs(float(np.sum(bars.y)) - 1) < 1e-5


def test_weight_distributions_one_heatmap_per_layer_with_time_on_x():
    h = make_history(3, 2000, hist_every=100)
    fig = weight_distributions(h, ["hidden 1", "hidden 2", "output"])
    assert len(fig.data) == 3 and all(t.type == "heatmap" for t in fig.data)
    hm = fig.data[0]
    assert list(hm.x) == h.histograms.steps
    z = (np.asarray(hm.z, float) / 255) ** 2  # drawn as uint8 of 255 * sqrt(share)
    np.testing.assert_allclose(z.sum(axis=0), 1.0, atol=0.05)
    # the fixture's weights spread out over time: later columns occupy more bins
    assert (z[:, -1] > 1e-3).sum() > (z[:, 0] > 1e-3).sum()


def test_weight_heatmap_cells_are_bounded():
    h = make_history(17, 400, hist_every=1)
    fig = weight_distributions(h)
    cells = sum(np.asarray(t.z).size for t in fig.data)
    assert cells <= 24_000 + 17 * 30 * 8


def test_distribution_empty_states_and_degenerate_histograms():
    assert_empty_state(activation_distributions(None))
    assert_empty_state(weight_distributions(None))
    assert_empty_state(weight_distributions(History(2)))
    h = History(1)
    const = hist(np.zeros(10))
    from core.telemetry import LayerHistograms

    h.histograms.append(5, [LayerHistograms(const, const, const)])
    weight_distributions(h).to_json()
    activation_distributions([LayerHistograms(const, const, const)]).to_json()
