"""Output views: binary and multi-class decision boundaries, regression surface and 1D curve."""

from __future__ import annotations

import numpy as np

from playground.charts import output_figure
from playground.charts.common import CLASS_COLORS, NEGATIVE, POSITIVE
from tests.playground.test_charts_common import (
    assert_empty_state,
    grid_probs,
    make_dataset,
    make_dataset_1d,
)


def heatmap(fig):
    return [t for t in fig.data if t.type == "heatmap"][0]


def test_binary_heatmap_holds_probabilities_and_points_by_class():
    ds = make_dataset("binary")
    xs, ys, p = grid_probs(ds, 50)
    fig = output_figure(ds, xs, p, ys)
    z = np.asarray(heatmap(fig).z)
    assert z.shape == (50, 50)
    np.testing.assert_allclose(z.ravel(), p[:, 0], atol=1e-6)
    points = [t for t in fig.data if t.type == "scatter"]
    assert {t.name for t in points} == {"train: 0", "train: 1"}
    colors = {t.name: t.marker.color for t in points}
    assert colors == {"train: 0": NEGATIVE, "train: 1": POSITIVE}
    n = sum(len(t.x) for t in points)
    assert n == len(ds.y_train)
    assert fig.layout.uirevision == "output"


def test_test_points_only_on_request_and_discretize_is_hard():
    ds = make_dataset("binary")
    xs, ys, p = grid_probs(ds, 30)
    plain = output_figure(ds, xs, p, ys)
    with_test = output_figure(ds, xs, p, ys, show_test=True, discretize=True)
    assert not any(t.name.startswith("test") for t in plain.data if t.type == "scatter")
    assert any(t.name.startswith("test") for t in with_test.data if t.type == "scatter")
    assert set(np.unique(np.asarray(heatmap(with_test).z))) <= {0.0, 1.0}


def test_multiclass_colour_band_is_argmax_and_strength_is_confidence():
    ds = make_dataset("multiclass", n_classes=3)
    xs, ys, p = grid_probs(ds, 40, n_classes=3)
    hm = heatmap(output_figure(ds, xs, p, ys))
    z = np.asarray(hm.z, dtype=np.float64).ravel()
    np.testing.assert_array_equal(np.floor(z).astype(int), p.argmax(axis=1))
    conf = (p.max(axis=1) - 1 / 3) / (2 / 3)
    np.testing.assert_allclose(z - np.floor(z), np.minimum(conf, 0.999), atol=1e-5)
    assert hm.zmax == 3 and len(hm.colorscale) == 6
    assert CLASS_COLORS[2] in str(output_figure(ds, xs, p, ys).data[-1].marker.color)


def test_regression_surface_shares_colour_axis_with_targets():
    ds = make_dataset("regression")
    xs, ys, X = ds.grid(30)
    pred = (X[:, 0] * 2)[:, None]
    fig = output_figure(ds, xs, pred, ys, show_test=True)
    assert heatmap(fig).coloraxis == "coloraxis"
    pts = [t for t in fig.data if t.type == "scatter"]
    assert [t.name for t in pts] == ["train points", "test points"]
    np.testing.assert_allclose(pts[0].marker.color, ds.y_train, atol=1e-5)
    lo, hi = fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax
    assert lo <= min(ds.y_train.min(), pred.min()) + 1e-6 and hi >= ds.y_train.max() - 1e-6


def test_1d_curve_with_mc_dropout_band():
    ds = make_dataset_1d()
    xs = np.linspace(-6, 6, 100)
    mean, std = np.sin(xs), np.full(100, 0.2)
    fig = output_figure(ds, xs, mean, std=std)
    band = [t for t in fig.data if t.fill == "toself"][0]
    np.testing.assert_allclose(max(band.y), 1 + 0.4, atol=1e-2)
    np.testing.assert_allclose(min(band.y), -1 - 0.4, atol=1e-2)
    line = [t for t in fig.data if t.name == "prediction"][0]
    np.testing.assert_allclose(line.y, mean, atol=1e-6)
    assert not any(t.fill == "toself" for t in output_figure(ds, xs, mean).data)


def test_no_plane_and_no_predictions_give_friendly_figures():
    ds = make_dataset("binary")
    ds.raw_train = ds.raw_test = None
    assert_empty_state(output_figure(ds, None, None))
    assert_empty_state(output_figure(make_dataset("binary"), None, None))


def test_nan_predictions_do_not_crash():
    ds = make_dataset("binary")
    xs, ys, p = grid_probs(ds, 20)
    p[::3] = np.nan
    output_figure(ds, xs, p, ys).to_json()
