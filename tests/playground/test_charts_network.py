"""Network diagram: link colour follows weight sign, width grows with |w|, big nets summarised."""

from __future__ import annotations

import numpy as np
import pytest

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
    assert "h16" in labels and "out" in labels
    assert {"hidden 16: 8", "output: 1"} <= {t.name for t in node_traces}  # full names on hover


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


PHONE, LAPTOP = 358, 440  # px: the diagram's measured width at 390 x 844 and at 1280 x 800
CHAR_EM = 0.6  # a character of the title font is at most this many font sizes wide (Open Sans)


def column_titles(fig) -> list:
    return [a for a in fig.layout.annotations if a.yref == "paper" and a.y == 1]


def crowded_title_pairs(fig, width: int) -> list[tuple[str, str, float]]:
    """Neighbouring titles on the same row whose text boxes, at `width` px, are closer than a
    third of their font size: (left, right, gap in px)."""
    plot = width - fig.layout.margin.l - fig.layout.margin.r
    x0, x1 = fig.layout.xaxis.range
    px = plot / (x1 - x0)
    rows: dict[float, list] = {}
    for a in column_titles(fig):
        rows.setdefault(a.yshift or 0, []).append(a)
    crowded = []
    for titles in rows.values():
        titles.sort(key=lambda a: a.x)
        for a, b in zip(titles, titles[1:], strict=False):
            half = [max(map(len, t.text.split("<br>"))) * CHAR_EM * t.font.size / 2 for t in (a, b)]
            gap = (b.x - a.x) * px - sum(half)
            if gap < max(a.font.size, b.font.size) / 3:
                crowded.append((a.text, b.text, round(gap, 1)))
    return crowded


@pytest.mark.parametrize("depth", [1, 2, 6, 10, 16])
def test_column_titles_stay_apart_at_phone_and_laptop_width(depth):
    sizes = [2] + [8] * depth + [1]
    acts = ["sigmoid"] * depth + ["sigmoid_bce"]
    fig = network_diagram(make_weights(sizes), layer_names(depth + 1), activations=acts)
    for width in (PHONE, LAPTOP):
        assert crowded_title_pairs(fig, width) == [], (depth, width)
    titles = " ".join(a.text for a in column_titles(fig))
    for k in range(1, depth + 1):  # every layer keeps a title, long or short
        assert f"hidden {k}<br>" in titles or f"h{k}" in titles.split(), (k, titles)
    # what each layer holds is said once, in its title or in the footnote
    assert "8 sigmoid" in " ".join(annotation_texts(fig))


def test_a_small_net_keeps_its_full_titles():
    fig = network_diagram(make_weights([2, 4, 4, 1]), layer_names(3), activations=["tanh"] * 3)
    titles = [a.text for a in column_titles(fig)]
    assert titles == ["inputs", "hidden 1<br>4 tanh", "hidden 2<br>4 tanh", "output<br>1 tanh"]


def test_mixed_layers_are_summarised_in_runs_when_titles_are_short():
    sizes = [2] + [8] * 6 + [16] * 6 + [1]
    acts = ["sigmoid"] * 6 + ["relu"] * 6 + ["sigmoid_bce"]
    fig = network_diagram(make_weights(sizes), layer_names(13), activations=acts)
    notes = " ".join(annotation_texts(fig))
    assert "h1–h6: 8 sigmoid" in notes and "h7–h12: 16 relu" in notes, notes
    assert "out: 1 sigmoid_bce" in notes


def test_even_a_very_narrow_drawing_has_no_overlapping_titles():
    sizes = [2] + [8] * 16 + [1]
    fig = network_diagram(make_weights(sizes), layer_names(17), min_width=160)
    assert crowded_title_pairs(fig, 160) == []
    assert 2 <= len(column_titles(fig)) < 18  # some titles make room for the others


def test_a_frozen_layer_is_marked_and_its_links_are_dashed():
    sizes = [2, 4, 3, 1]
    acts = ["tanh", "tanh", "sigmoid_bce"]
    fig = network_diagram(make_weights(sizes), layer_names(3), activations=acts, frozen=[0, 2])
    by_pair: dict[int, set] = {}
    for t in link_traces(fig):
        for x0, *_ in segments(t):  # a link into block i starts at column x = i
            by_pair.setdefault(int(x0), set()).add(t.line.dash)
    assert by_pair == {0: {"dash"}, 1: {None}, 2: {"dash"}}
    assert all(t.meta.get("frozen") for t in link_traces(fig) if t.line.dash)
    labels = [a for a in fig.layout.annotations if a.text == "frozen"]
    bands = [s for s in fig.layout.shapes if s.name == "frozen"]
    assert sorted(a.x for a in labels) == [1, 3]  # under hidden 1 and the output
    assert sorted((s.x0 + s.x1) / 2 for s in bands) == pytest.approx([1, 3])
    y0 = fig.layout.yaxis.range[0]
    assert all(a.y >= y0 for a in labels) and all(s.y0 >= y0 for s in bands)  # inside the plot
    plain = network_diagram(make_weights(sizes), layer_names(3), activations=acts)
    assert [a.text for a in column_titles(fig)] == [a.text for a in column_titles(plain)]
    notes = " ".join(annotation_texts(fig))
    assert "Frozen (not trained): hidden 1 · output" in notes
    for width in (PHONE, LAPTOP):
        assert crowded_title_pairs(fig, width) == []


def test_nothing_is_frozen_unless_asked():
    fig = network_diagram(make_weights([2, 4, 1]), layer_names(2), frozen=[7])  # no such block
    assert all(t.line.dash is None for t in link_traces(fig))
    assert "rozen" not in " ".join(annotation_texts(fig)) and not fig.layout.shapes
