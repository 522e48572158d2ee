"""Network diagram: link colour follows weight sign, width grows with |w|, big nets summarised."""

from __future__ import annotations

import numpy as np
import pytest

from playground.charts import maps_from_outputs, network_diagram
from playground.charts.common import NEGATIVE, POSITIVE
from playground.charts.network_diagram import MICROSCOPE, Highlight
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


# --- the backprop microscope's weight -------------------------------------------------------------


def marked(fig, part: str):
    return [t for t in fig.data if t.meta and t.meta.get(MICROSCOPE) == part]


def rings(fig) -> dict[str, set[tuple[float, float]]]:
    """The ringed nodes' centres (x, y), solid (the weight's ends) and dotted (the path on)."""
    out: dict[str, set] = {"solid": set(), "dot": set()}
    for s in fig.layout.shapes or ():
        if s.name == f"{MICROSCOPE} ring":
            out[s.line.dash].add(((s.x0 + s.x1) / 2, round((s.y0 + s.y1) / 2, 6)))
    return out


def test_the_microscope_weight_is_outlined_its_neurons_ringed_and_its_path_dotted():
    sizes = [2, 4, 2, 1]  # the default net: x₂ -> hidden 1 #3 is W0[1, 2]
    weights = make_weights(sizes)
    label = "x₂ → hidden 1 #3"
    fig = network_diagram(
        weights, layer_names(3), ["x₁", "x₂"], highlight=Highlight(0, 1, 2, label)
    )
    outline, link = marked(fig, "outline"), marked(fig, "weight")
    assert len(outline) == len(link) == 1
    # inputs at y = 0.5, -0.5; hidden 1 at 1.5, 0.5, -0.5, -1.5: x₂ (y -0.5) -> #3 (y -0.5)
    assert list(link[0].x) == [0, 1] and list(link[0].y) == [-0.5, -0.5]
    assert link[0].name == f"{MICROSCOPE}: {label}"
    assert link[0].line.color == (POSITIVE if weights[0][0][1, 2] >= 0 else NEGATIVE)
    widest = max(t.line.width for t in link_traces(fig))
    assert link[0].line.width > widest and outline[0].line.width > link[0].line.width
    assert rings(fig)["solid"] == {(0, -0.5), (1, -0.5)}
    assert rings(fig)["dot"] == {(2, 0.5), (2, -0.5), (3, 0.0)}  # hidden 2, then the output
    path = segments(marked(fig, "path")[0])
    assert sorted(path) == sorted(
        [(1, -0.5, 2, 0.5), (1, -0.5, 2, -0.5), (2, 0.5, 3, 0.0), (2, -0.5, 3, 0.0)]
    )
    named = [a for a in fig.layout.annotations if a.name == MICROSCOPE]
    assert len(named) == 1 and named[0].text == f"<b>{MICROSCOPE}:</b> {label}"
    plain = network_diagram(weights, layer_names(3), ["x₁", "x₂"])
    assert fig.layout.margin.b == plain.layout.margin.b + 14  # room for the line
    assert not marked(plain, "weight") and not plain.layout.shapes
    assert MICROSCOPE not in " ".join(annotation_texts(plain))


def test_a_bias_rings_its_neuron_and_an_output_weight_has_no_path_on():
    weights = make_weights([2, 4, 2, 1])
    bias = network_diagram(weights, layer_names(3), highlight=Highlight(1, 4, 1, "bias → h2 #2"))
    assert not marked(bias, "weight") and not marked(bias, "outline")  # a bias has no link
    assert rings(bias)["solid"] == {(2, -0.5)}
    assert rings(bias)["dot"] == {(3, 0.0)}
    last = network_diagram(weights, layer_names(3), highlight=Highlight(2, 0, 0, "h2 #1 → out"))
    assert list(marked(last, "weight")[0].x) == [2, 3]
    assert not marked(last, "path") and not rings(last)["dot"]


def test_a_summarised_input_is_marked_through_its_group_and_a_hidden_unit_left_out_is_not():
    sizes = [784, 64, 10]
    weights = make_weights(sizes)
    norms = np.linalg.norm(np.asarray(weights[0][0]), axis=0)
    strongest, weakest = int(np.argmax(norms)), int(np.argmin(norms))
    mark = Highlight(0, 700, strongest, "px → h1")
    fig = network_diagram(weights, layer_names(2), highlight=mark, max_links=50)
    link = marked(fig, "weight")[0]
    inputs = [t for t in fig.data if t.name == "inputs"][0]
    assert link.y[0] == pytest.approx(inputs.y[7])  # 784 inputs in 8 groups: 700 is in the last
    assert len(marked(fig, "path")[0].x) == 3 * 10  # on to each of the 10 outputs
    # hidden 1 shows its 32 strongest of 64 units: a weight into one left out has no link
    hidden = network_diagram(weights, layer_names(2), highlight=Highlight(0, 5, weakest, "w"))
    assert not marked(hidden, "weight") and not marked(hidden, "path")
    assert {x for x, _ in rings(hidden)["solid"]} == {0} and not rings(hidden)["dot"]
    assert any(a.name == MICROSCOPE for a in hidden.layout.annotations)  # still named


def test_a_maxout_piece_marks_its_unit_and_a_wrong_weight_marks_nothing():
    W = np.random.default_rng(0).normal(size=(2, 6))  # 3 units of 2 pieces
    weights = [(W, np.zeros(6)), (np.ones((3, 1)), np.zeros(1))]
    fig = network_diagram(weights, layer_names(2), highlight=Highlight(0, 0, 5, "x₁ → #3 p2"))
    assert list(marked(fig, "weight")[0].y) == [0.5, -1.0]  # unit 3 of 3 sits at y = -1
    for wrong in (Highlight(5, 0, 0, "w"), Highlight(0, 3, 0, "w"), Highlight(0, 0, 9, "w")):
        fig = network_diagram(weights, layer_names(2), highlight=wrong)
        assert not fig.layout.shapes and not any(t.meta and MICROSCOPE in t.meta for t in fig.data)


def test_a_label_is_shown_as_text():
    fig = network_diagram(
        make_weights([2, 1]), ["output"], highlight=Highlight(0, 0, 0, "<b>x</b> → output #1")
    )
    named = next(a for a in fig.layout.annotations if a.name == MICROSCOPE)
    assert "&lt;b&gt;x&lt;/b&gt;" in named.text


def test_link_traces_keep_their_places_while_the_weights_change():
    """Every (sign, width level) has its trace, empty or not, so frames of a training run list
    the same link traces in the same order and style (a live frame redraws only their points),
    and each link is drawn once."""
    sizes = [2, 4, 2, 1]
    styles = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        weights = [
            (rng.normal(size=(n, m)) ** (seed + 1), np.zeros(m))
            for n, m in zip(sizes, sizes[1:], strict=False)
        ]
        traces = link_traces(network_diagram(weights, layer_names(3), ["x1", "x2"]))
        styles.append([(t.name, t.line.color, t.line.width, t.line.dash) for t in traces])
        assert sum(len(segments(t)) for t in traces if len(t.x)) == 8 + 8 + 2
        assert any(len(t.x) == 0 for t in traces)  # a level no link has: kept, empty
    assert styles[0] == styles[1] == styles[2]
    assert len(styles[0]) == 2 * 6  # sign x width level
