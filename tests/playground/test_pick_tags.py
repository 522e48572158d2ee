"""Pick tags: a click on a link, a neuron or a training point names the very weight, bias or
point the chart shows there (the hover's value is that weight of the weights passed in); what
cannot be one weight (a summed input group) or a training point (a test point) names nothing."""

from __future__ import annotations

import numpy as np
import pytest

from playground.charts import network_diagram, output_figure
from playground.charts.pick_tags import BIAS, POINT, WEIGHT, tags
from tests.playground.test_charts_common import (
    grid_probs,
    layer_names,
    make_dataset,
    make_dataset_1d,
    make_weights,
)


def link_markers(fig) -> list:
    return [t for t in fig.data if t.meta and "links" in t.meta]


def neuron_markers(fig) -> list:
    return [t for t in fig.data if t.mode == "markers" and not (t.meta and "links" in t.meta)]


def check_links(fig, weights) -> int:
    """Every tagged link's tag names the weight its hover shows (and the units it names);
    returns how many links were checked."""
    checked = 0
    for trace in link_markers(fig):
        shown = np.asarray(trace.customdata, dtype=np.float64)
        if not tags(trace):
            continue
        for row, tag in zip(shown, tags(trace), strict=True):
            assert tag["kind"] == WEIGHT and tag["layer"] == trace.meta["links"]
            W = weights[tag["layer"]][0]
            assert row[0] == pytest.approx(W[tag["from"], tag["to"]], rel=1e-6)  # f32 on the wire
            assert row[1] == tag["from"] + 1  # "from 2": the same source
            checked += 1
    return checked


def test_a_links_tag_names_the_weight_its_hover_shows():
    weights = make_weights([2, 4, 3, 1])
    fig = network_diagram(weights, layer_names(3), ["x1", "x2"])
    assert check_links(fig, weights) == 2 * 4 + 4 * 3 + 3 * 1
    for trace in link_markers(fig):
        shown = np.asarray(trace.customdata, dtype=np.float64)
        assert [row[2] for row in shown] == [t["to"] + 1 for t in tags(trace)]  # "to unit 3"


def test_thinned_links_and_units_keep_their_real_indices():
    weights = make_weights([3, 40, 5, 2], seed=1)  # 40 units: the 32 strongest are drawn
    fig = network_diagram(weights, layer_names(3), max_links=25, max_units=32)
    assert check_links(fig, weights) == 25 + 25 + 5 * 2
    into_hidden_2 = {t["from"] for tr in link_markers(fig) for t in tags(tr) if t["layer"] == 1}
    assert max(into_hidden_2) > 31  # a unit past the 32nd, by its own index


def test_summed_input_groups_pick_nothing():
    weights = make_weights([784, 16, 10], seed=2)
    fig = network_diagram(weights, layer_names(2))
    first, second = link_markers(fig)
    assert tags(first) == []  # a group's link is the sum of its inputs' weights
    assert check_links(fig, weights) == len(second.y)
    assert {t["layer"] for t in tags(second)} == {1}


def test_a_maxout_link_picks_the_piece_it_draws_and_a_neuron_its_first_piece():
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(2, 6)), rng.normal(size=6)  # 3 units of 2 pieces
    weights = [(W, b), (rng.normal(size=(3, 1)), rng.normal(size=1))]
    fig = network_diagram(weights, layer_names(2))
    assert check_links(fig, weights) == 2 * 3 + 3
    into_hidden = link_markers(fig)[0]
    units = [t["to"] // 2 + 1 for t in tags(into_hidden)]  # unit·2 + piece: its unit
    assert units == list(np.asarray(into_hidden.customdata)[:, 2])
    hidden = neuron_markers(fig)[1]
    assert [t["to"] for t in tags(hidden)] == [0, 2, 4]
    np.testing.assert_allclose(np.asarray(hidden.customdata)[:, 1], b[[0, 2, 4]], rtol=1e-6)


def test_a_neurons_tag_names_the_bias_its_hover_shows():
    weights = make_weights([2, 40, 1], seed=4)
    fig = network_diagram(weights, layer_names(2), ["x1", "x2"], max_units=32)
    inputs, hidden, output = neuron_markers(fig)
    assert tags(inputs) == []  # an input has no bias
    for trace, block in ((hidden, 0), (output, 1)):
        shown = np.asarray(trace.customdata, dtype=np.float64)
        found = tags(trace)
        assert len(found) == len(trace.y) and {t["kind"] for t in found} == {BIAS}
        assert {t["layer"] for t in found} == {block}
        b = weights[block][1]
        np.testing.assert_allclose(shown[:, 1], [b[t["to"]] for t in found], rtol=1e-6)
        assert [row[0] for row in shown] == [t["to"] + 1 for t in found]  # "unit 7"


def point_tags(fig) -> list[tuple[dict, float, float]]:
    return [
        (tag, x, y)
        for trace in fig.data
        if trace.type == "scatter"
        for tag, x, y in zip(tags(trace), trace.x, trace.y, strict=False)
    ]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_training_points_tag_is_its_index_in_the_training_set(task):
    ds = make_dataset(task, n=4000)  # 2,000 training points: 1,500 of them drawn
    xs, ys, p = grid_probs(ds, 20, 1 if task != "multiclass" else 3)
    fig = output_figure(ds, xs, p, ys, show_test=True, microscope_point=5)
    found = point_tags(fig)
    assert len(found) == 1500 and {tag["kind"] for tag, _, _ in found} == {POINT}
    indices = [tag["index"] for tag, _, _ in found]
    assert len(set(indices)) == len(indices)
    drawn = np.array([(x, y) for _, x, y in found], dtype=np.float64)
    np.testing.assert_allclose(drawn, ds.raw_train[indices], rtol=1e-6)
    tested = [t for t in fig.data if t.name.startswith("test")]
    assert tested and all(tags(t) == [] for t in tested)  # test points are not trained on


def test_a_1d_training_point_is_tagged_too():
    ds = make_dataset_1d()
    xs = np.linspace(-6, 6, 50)
    fig = output_figure(ds, xs, np.sin(xs)[:, None])
    found = point_tags(fig)
    assert len(found) == len(ds.y_train)
    np.testing.assert_allclose(
        [x for _, x, _ in found], ds.raw_train[[t["index"] for t, _, _ in found], 0], rtol=1e-6
    )
