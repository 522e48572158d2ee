"""JSON size budgets: each redraw resends the whole figure over the websocket."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from playground import charts as C
from tests.playground.test_charts_common import (
    grid_probs,
    layer_names,
    make_dataset,
    make_history,
    make_snapshot,
    make_weights,
)

KB = 1000


@pytest.fixture(scope="module")
def long_history():
    """A 100k-step run with 17 layers (16 hidden + output)."""
    return make_history(17, 100_000, stats_every=5, eval_every=250, hist_every=200)


def size(fig) -> int:
    return len(fig.to_json())


def test_network_diagram_with_maps_2_8_8_1():
    res = 16
    sizes = [2, 8, 8, 1]
    rng = np.random.default_rng(0)
    maps = [np.tanh(rng.normal(size=(u, res, res)).cumsum(axis=1) / 4) for u in sizes[1:]]
    inputs = rng.normal(size=(2, res, res))
    fig = C.network_diagram(
        make_weights(sizes), layer_names(3), ["x1", "x2"], maps, input_maps=inputs
    )
    assert len(fig.layout.images) == 19
    assert size(fig) < 150 * KB


def test_network_diagram_16_layers_with_maps():
    res = 16
    sizes = [2] + [8] * 16 + [1]
    rng = np.random.default_rng(0)
    maps = [np.tanh(rng.normal(size=(u, res, res)).cumsum(axis=2) / 4) for u in sizes[1:]]
    assert size(C.network_diagram(make_weights(sizes), layer_names(17), None, maps)) < 250 * KB


def test_network_diagram_mnist():
    assert size(C.network_diagram(make_weights([784, 128, 64, 10]), layer_names(3))) < 80 * KB


@pytest.mark.parametrize("task,k", [("binary", 1), ("multiclass", 4)])
def test_output_heatmap(task, k):
    ds = make_dataset(task, n=1000, n_classes=max(k, 3))
    xs, ys, p = grid_probs(ds, 50, n_classes=k)
    assert size(C.output_figure(ds, xs, p, ys, show_test=True)) < 60 * KB


def test_loss_curves_after_100k_steps(long_history):
    snap_es = make_snapshot(
        [2, 4, 1], long_history, enabled=True, best_step=90_000, best_value=0.1, evals_since_best=3
    )
    assert size(C.loss_curves(long_history, snap_es.early_stopping, log_y=True)) < 60 * KB


def test_layer_charts_after_100k_steps(long_history):
    names = layer_names(17)
    assert size(C.gradient_norms(long_history, names)) < 60 * KB
    assert size(C.gradient_heatmap(long_history, names)) < 40 * KB
    assert size(C.update_ratios(long_history, names)) < 60 * KB
    assert size(C.weight_distributions(long_history, names)) < 130 * KB
    last = long_history.histograms.items[-1]
    assert size(C.activation_distributions(last)) < 40 * KB


def test_image_charts():
    d = load_digits()
    pred = (d.target + (np.arange(len(d.target)) % 7 == 0)) % 10
    assert size(C.sample_grid(d.data, d.target, pred, (8, 8), n=32)) < 30 * KB
    assert size(C.confusion_matrix(d.target, pred, [str(i) for i in range(10)])) < 20 * KB
    W = np.random.default_rng(0).normal(size=(784, 128))
    assert size(C.first_layer_weights(W, (28, 28))) < 60 * KB
