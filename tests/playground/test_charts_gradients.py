"""Gradient norms per layer (lines, heatmap) and update-to-weight ratios."""

from __future__ import annotations

import numpy as np

from core.history import History
from playground.charts import gradient_heatmap, gradient_norms, update_ratios
from tests.playground.test_charts_common import annotation_texts, assert_empty_state, make_history

NAMES = [f"hidden {i + 1}" for i in range(7)] + ["output"]


def test_gradient_lines_log_axis_one_line_per_layer_dark_to_bright():
    h = make_history(8, 1000, vanishing=0.7)
    fig = gradient_norms(h, NAMES)
    assert fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == NAMES
    colors = [t.line.color for t in fig.data]
    assert len(set(colors)) == 8
    first, last = fig.data[0], fig.data[-1]
    assert np.nanmedian(last.y) / np.nanmedian(first.y) > 1e4  # vanishing shows plainly


def test_deep_sigmoid_like_vanishing_shows_in_heatmap_rows():
    h = make_history(8, 1000, vanishing=0.7)
    fig = gradient_heatmap(h, NAMES)
    hm = fig.data[0]
    z = np.asarray(hm.z, dtype=float)
    assert z.shape[0] == 8 and z.shape[1] <= 200
    row_means = np.nanmean(z, axis=1)
    assert np.all(np.diff(row_means) > 0.5)  # log10 norm grows toward the output
    assert list(hm.y) == NAMES  # first layer on top:
    assert (
        list(fig.layout.yaxis.categoryarray) == NAMES[::-1] and fig.layout.yaxis.autorange is None
    )


def test_heatmap_interpolates_layers_on_a_shared_grid():
    h = History(2)
    for s in range(0, 1001, 10):
        h.layers["grad_norm"][0].append(s, 1e-3)
    for s in range(500, 1001, 50):
        h.layers["grad_norm"][1].append(s, 1e-1)
    z = np.asarray(gradient_heatmap(h).data[0].z, dtype=float)
    x = np.asarray(gradient_heatmap(h).data[0].x, dtype=float)
    np.testing.assert_allclose(z[0], -3, atol=1e-5)
    assert np.isnan(z[1][x < 500]).all() and np.allclose(z[1][x >= 500], -1, atol=1e-5)


def test_update_ratio_reference_line_at_1e3():
    fig = update_ratios(make_history(3, 500), NAMES[:3])
    assert fig.layout.yaxis.type == "log"
    ref = [t for t in fig.data if t.name == "1e-3 reference"][0]
    assert list(ref.y) == [1e-3, 1e-3]
    assert any("1e-3" in t for t in annotation_texts(fig))


def test_long_histories_are_downsampled_per_line():
    h = make_history(17, 4000, stats_every=1, eval_every=1000, hist_every=4000)
    fig = gradient_norms(h)
    assert all(len(t.x) <= 2400 // 17 + 1 for t in fig.data)


def test_empty_and_nonpositive_values():
    for build in (gradient_norms, gradient_heatmap, update_ratios):
        assert_empty_state(build(None))
        assert_empty_state(build(History(3)))
    h = History(2)
    h.layers["grad_norm"][0].append(1, 0.0)
    h.layers["grad_norm"][0].append(2, float("nan"))
    h.layers["update_ratio"][1].append(1, -1.0)
    for build in (gradient_norms, gradient_heatmap, update_ratios):
        build(h).to_json()


def dead_history(zero_from: int, steps: int = 100) -> History:
    """Two layers whose gradient norms are 0.1 then exactly 0 from step `zero_from` (dead)."""
    h = History(2)
    for s in range(1, steps + 1):
        for i in range(2):
            h.layers["grad_norm"][i].append(s, 0.0 if s >= zero_from else 0.1 * (i + 1))
    return h


def zero_markers(fig) -> list:
    return [t for t in fig.data if t.mode == "markers"]


def test_exact_zero_gradients_are_drawn_on_a_floor_labelled_0():
    """The issue's dead net: every norm is exactly 0, and the chart must not be blank."""
    fig = gradient_norms(dead_history(zero_from=1), ["hidden 1", "output"])
    markers = zero_markers(fig)
    assert [len(t.x) for t in markers] == [100, 100]
    floors = {float(y) for t in markers for y in t.y}
    assert len(floors) == 1 and next(iter(floors)) > 0  # one floor, drawable on a log axis
    assert "0" in annotation_texts(fig)
    assert all("= 0 exactly" in t.hovertemplate for t in markers)


def test_zero_floor_sits_a_decade_below_the_smallest_positive_norm():
    fig = gradient_norms(dead_history(zero_from=51), ["hidden 1", "output"])
    markers = zero_markers(fig)
    assert [len(t.x) for t in markers] == [50, 50] and min(markers[0].x) == 51
    np.testing.assert_allclose(markers[0].y, 0.01, rtol=1e-6)  # 0.1 / 10
    lines = [t for t in fig.data if t.mode == "lines"]
    assert np.isnan(np.asarray(lines[0].y, dtype=float)[50:]).all()  # no fake values on lines


def test_no_zero_markers_or_label_without_zeros():
    fig = gradient_norms(make_history(3, 200), NAMES[:3])
    assert not zero_markers(fig) and "0" not in annotation_texts(fig)


def test_zero_update_ratios_are_drawn_too_beside_the_reference():
    h = History(1)
    for s in range(1, 11):
        h.layers["update_ratio"][0].append(s, 0.0)
    fig = update_ratios(h, ["output"])
    assert len(zero_markers(fig)) == 1
    texts = annotation_texts(fig)
    assert "0" in texts and any("1e-3" in t for t in texts)


def test_a_dead_net_gets_a_y_axis_that_shows_its_zeros_and_their_label():
    """All norms exactly 0 (the circle's ReLUs at learning rate 10): two decades around the floor,
    not a sliver autoranged around markers on one value."""
    for fig in (
        gradient_norms(dead_history(zero_from=1), ["hidden 1", "output"]),
        gradient_norms(dead_history(zero_from=51), ["hidden 1", "output"]),
    ):
        low, high = fig.layout.yaxis.range
        floor = float(np.log10(zero_markers(fig)[0].y[0]))
        assert low < floor < high and high - low >= 2.0
        label = next(a for a in fig.layout.annotations if a.text == "0")
        assert label.y == floor and label.xanchor == "left"  # inside the plot, clear of ticks
    h = History(1)
    for s in range(1, 11):
        h.layers["update_ratio"][0].append(s, 0.0)
    low, high = update_ratios(h, ["output"]).layout.yaxis.range
    assert low < -3 < high  # the 1e-3 reference line stays in view
    assert gradient_norms(make_history(3, 200), NAMES[:3]).layout.yaxis.range is None


def test_exact_zeros_are_black_cells_in_the_heatmap():
    """log10(0) has no colour: a dead layer's row would be blank. Its zero cells are black,
    with a note saying so; cells where the gradient was positive keep their colour."""
    fig = gradient_heatmap(dead_history(zero_from=51), ["hidden 1", "output"])
    colours, zeros = fig.data
    assert zeros.hovertemplate.count("0 exactly") == 1
    z = np.asarray(zeros.z, dtype=float)
    shown = np.asarray(colours.z, dtype=float)
    x = np.asarray(zeros.x, dtype=float)
    assert (z[:, x >= 51] == 0).all() and np.isnan(z[:, x < 50]).all()
    assert np.isnan(shown[:, x >= 51]).all() and np.isfinite(shown[:, x < 50]).all()
    assert "black: exactly 0" in annotation_texts(fig)
    dead = gradient_heatmap(dead_history(zero_from=1), ["hidden 1", "output"])
    assert (np.asarray(dead.data[1].z, dtype=float) == 0).all()
    assert len(gradient_heatmap(make_history(3, 200), NAMES[:3]).data) == 1
