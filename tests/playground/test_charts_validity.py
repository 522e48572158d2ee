"""Figures are built as plain dicts without Plotly's validation: check they are exactly what the
validated API gives (valid properties, expanded colour scales, make_subplots' axis domains)."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots
from sklearn.datasets import load_digits

from core.telemetry import DivergenceState, EarlyStoppingState
from playground import charts as C
from playground.charts.common import subplot_grid
from tests.playground.test_charts_common import (
    grid_probs,
    layer_names,
    make_dataset,
    make_dataset_1d,
    make_history,
    make_snapshot,
    make_weights,
)


def canonical(fig_or_dict) -> str:
    d = fig_or_dict.to_dict() if isinstance(fig_or_dict, go.Figure) else fig_or_dict
    return json.dumps(json.loads(pio.to_json(d, validate=False)), sort_keys=True)


def figures():
    h = make_history(5, 1500)
    snap = make_snapshot([2, 4, 4, 1], h)
    es = dict(enabled=True, patience=5, best_value=0.2, best_step=800, evals_since_best=5)
    es |= {"stopped": True, "stopped_step": 1200, "reason": "patience", "restored": True}
    names = layer_names(5)
    ds, ds3, ds1 = make_dataset("binary"), make_dataset("multiclass"), make_dataset_1d()
    xs, ys, p = grid_probs(ds, 20)
    xs3, ys3, p3 = grid_probs(ds3, 20, n_classes=3)
    x1 = np.linspace(-6, 6, 50)
    res = 8
    maps = [np.random.default_rng(0).normal(size=(u, res, res)) for u in (4, 4, 1)]
    d = load_digits()
    return {
        "loss": C.loss_curves(h, EarlyStoppingState(**es), DivergenceState(True, 300, "NaN")),
        "loss_one_row": C.loss_curves(h, EarlyStoppingState(**es), show_accuracy=False),
        "gradients": C.gradient_norms(h, names),
        "gradient_heatmap": C.gradient_heatmap(h, names),
        "update_ratio": C.update_ratios(h, names),
        "activations": C.activation_distributions(snap.histograms, snap.layers, cols=2),
        "weights": C.weight_distributions(h, names, cols=2),
        "network": C.network_diagram(
            make_weights([2, 4, 4, 1]), layer_names(3), ["x1", "x2"], maps, input_maps=maps[0][:2]
        ),
        "network_big": C.network_diagram(make_weights([40, 40, 3]), layer_names(2), max_inputs=8),
        "binary": C.output_figure(ds, xs, p, ys, show_test=True),
        "multiclass": C.output_figure(ds3, xs3, p3, ys3, discretize=True),
        "regression": C.output_figure(make_dataset("regression"), xs, p, ys),
        "curve": C.output_figure(ds1, x1, np.sin(x1), std=np.full(50, 0.1), show_test=True),
        "samples": C.sample_grid(d.data, d.target, (d.target + 1) % 10, (8, 8), n=10),
        "confusion": C.confusion_matrix(d.target, d.target % 3),
        "first_layer": C.first_layer_weights(np.ones((64, 5)), (8, 8)),
        "empty": C.loss_curves(None),
    }


def test_every_figure_is_unchanged_by_plotly_validation():
    for name, fig in figures().items():
        validated = go.Figure(fig.to_dict())  # raises on any invalid property or value
        assert canonical(validated) == canonical(fig), name


@pytest.mark.parametrize(
    "rows,cols,kw",
    [
        (1, 1, {}),
        (2, 1, {"vertical_spacing": 0.06, "row_heights": [0.65, 0.35]}),
        (3, 4, {"horizontal_spacing": 0.06, "vertical_spacing": 0.5 / 3}),
        (5, 3, {"horizontal_spacing": 0.06, "vertical_spacing": 0.1}),
    ],
)
def test_subplot_grid_matches_make_subplots(rows, cols, kw):
    titles = [f"t{i}" for i in range(rows * cols - 1)]  # one empty cell, as in a ragged grid
    ref = make_subplots(rows=rows, cols=cols, subplot_titles=titles, **kw).layout.to_plotly_json()
    ref.pop("template")  # the default template make_subplots brings along; ours comes later
    ours = subplot_grid(rows, cols, titles=titles, **kw)
    assert canonical({"data": [], "layout": ours}) == canonical({"data": [], "layout": ref})
