"""Network diagram: link colour follows weight sign, width grows with |w|, big nets summarised."""

from __future__ import annotations

import numpy as np

from playground.charts import maps_from_outputs, network_diagram
from playground.charts.common import NEGATIVE, POSITIVE
from tests.playground.test_charts_common import annotation_texts, layer_names, make_weights


def link_traces(fig):
    return [t for t in fig.data if t.mode == "lines" and t.meta and "sign" in t.meta]


def segments(trace):
    """(x0, y0, x1, y1) of each link in a line trace with NaN breaks."""
    x, y = np.asarray(trace.x, float), np.asarray(trace.y, float)
    return [(x[i], y[i], x[i + 1], y[i + 1]) for i in range(0, len(x), 3)]


def test_colour_follows_sign_and_width_grows_with_abs_weight():
    W = np.array([[2.0], [-0.5], [0.1]])
    fig = network_diagram([(W, np.zeros(1))], ["output"], ["a", "b", "c"])
    traces = link_traces(fig)
    by_start = {}
    for t in traces:
        for _, y0, _, _ in segments(t):
            by_start[y0] = t
    # inputs at y = 1, 0, -1 (top to bottom)
    strong, weak_neg, tiny = by_start[1.0], by_start[0.0], by_start[-1.0]
    assert strong.line.color == POSITIVE and tiny.line.color == POSITIVE
    assert weak_neg.line.color == NEGATIVE
    assert strong.line.width > weak_neg.line.width > tiny.line.width


def test_link_hover_carries_weight_values():
    W = np.array([[0.3, -0.7]])
    fig = network_diagram([(W, np.array([0.1, -0.2]))], ["output"], ["x1"])
    hover = [t for t in fig.data if t.meta and "links" in t.meta][0]
    np.testing.assert_allclose(sorted(np.asarray(hover.customdata)[:, 0]), [-0.7, 0.3], rtol=1e-6)
    nodes = [t for t in fig.data if t.name and t.name.startswith("output")][0]
    np.testing.assert_allclose(np.asarray(nodes.customdata)[:, 1], [0.1, -0.2], rtol=1e-6)


def test_neuron_maps_become_one_layout_image_per_unit():
    sizes = [2, 8, 8, 1]
    res = 16
    outputs = [
        np.random.default_rng(i).normal(size=(res * res, u)) for i, u in enumerate(sizes[1:])
    ]
    maps = maps_from_outputs(outputs, res)
    assert maps[0].shape == (8, res, res)
    fig = network_diagram(make_weights(sizes), layer_names(3), ["x1", "x2"], maps)
    assert len(fig.layout.images) == 8 + 8 + 1
    assert all(im.source.startswith("data:image/png;base64,") for im in fig.layout.images)
    # placement shared through the template keeps each image small
    assert fig.layout.template.layout.imagedefaults.sizing == "contain"
    xs = sorted({im.x for im in fig.layout.images})
    assert xs == [1, 2, 3]


def test_sixteen_hidden_layers_are_all_drawn():
    sizes = [2] + [8] * 16 + [1]
    fig = network_diagram(make_weights(sizes), layer_names(17))
    node_traces = [
        t for t in fig.data if t.mode == "markers" and not (t.meta and "links" in t.meta)
    ]
    assert len(node_traces) == 18  # inputs + 16 hidden + output
    drawn_pairs = {t.meta["links"] for t in fig.data if t.meta and "links" in t.meta}
    assert drawn_pairs == set(range(17))
    labels = " ".join(annotation_texts(fig))
    assert "hidden 16" in labels and "output" in labels


def test_784_inputs_are_summarised_and_links_capped():
    sizes = [784, 128, 64, 10]
    fig = network_diagram(make_weights(sizes), layer_names(3), max_links=150)
    inputs = [t for t in fig.data if t.name == "inputs"][0]
    assert len(inputs.y) == 8
    texts = " ".join(annotation_texts(fig))
    assert "784 inputs" in texts and "strongest 150 of 100352" in texts
    assert "32 of 128" in texts
    for pair in range(3):
        hover = [t for t in fig.data if t.meta and t.meta.get("links") == pair][0]
        assert len(hover.y) <= 150
    assert len(fig.to_json()) < 120_000


def test_capped_links_are_the_strongest():
    W = np.zeros((4, 4))
    W[2, 3] = 5.0
    W[0, 1] = -4.0
    W[1, 1] = 0.01
    fig = network_diagram([(W, np.zeros(4))], ["output"], max_links=2)
    hover = [t for t in fig.data if t.meta and "links" in t.meta][0]
    assert sorted(np.asarray(hover.customdata)[:, 0]) == [-4.0, 5.0]


def test_nan_weights_and_empty_network_do_not_crash():
    W = np.array([[np.nan, 1.0], [0.5, -1.0]])
    fig = network_diagram([(W, np.array([np.nan, 0.0]))], ["output"])
    fig.to_json()
    empty = network_diagram([])
    assert any("no" in t.lower() for t in annotation_texts(empty))
