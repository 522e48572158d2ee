"""Model outputs where the charts look (core.predictions): the plane, the line, neuron maps."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import DataConfig, LayerConfig, NetworkConfig
from core.data import load_dataset
from core.network import Network
from core.predictions import (
    MC_PASSES,
    neuron_maps,
    output_map,
    predicted_classes,
    predictions,
)

FEATURES = ["x1", "x2", "x1sq", "x1x2", "sinx1"]


def _net(dataset, head: str, dropout: float = 0.0, dtype: str = "float64", seed: int = 0):
    hidden = [LayerConfig(5, "tanh", dropout=dropout), LayerConfig(3, "relu")]
    cfg = NetworkConfig(hidden, dataset.task, head, dtype=dtype)
    return Network(cfg, dataset.n_inputs, dataset.n_outputs, seed=seed)


def _data(name: str, features=("x1", "x2")):
    return load_dataset(DataConfig(dataset=name, features=list(features), noise=10.0))


@pytest.mark.parametrize(
    ("dataset", "head"),
    [("circle", "sigmoid_bce"), ("circle", "tanh_mse"), ("spiral3", "softmax_ce")],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_plane_map_holds_the_heads_probabilities_and_classes(dataset, head, dtype):
    ds = _data(dataset, FEATURES)
    net = _net(ds, head, dtype=dtype)
    out = output_map(net, ds, resolution=23)
    xs, ys, X = ds.grid(23)
    np.testing.assert_array_equal(out.xs, xs)
    np.testing.assert_array_equal(out.ys, ys)
    raw = net.predict(X.astype(net.dtype))
    np.testing.assert_allclose(out.values, net.head.probabilities(raw), rtol=1e-6)
    np.testing.assert_array_equal(out.classes, net.head.predict_class(raw))
    assert out.values.shape == (23 * 23, len(ds.class_names)) and out.std is None
    np.testing.assert_allclose(out.values.sum(axis=1), 1.0, rtol=1e-5)


def test_a_tanh_output_is_a_probability_and_its_class_is_its_sign():
    """tanh v in [-1, 1]: P(class 1) = (v + 1)/2 and the class is 1 exactly where v > 0."""
    ds = _data("circle")
    net = _net(ds, "tanh_mse", seed=3)
    out = output_map(net, ds, resolution=30)
    v = net.predict(ds.grid(30)[2])[:, 0]
    np.testing.assert_allclose(out.values[:, 1], (v + 1) / 2)
    np.testing.assert_array_equal(out.classes, v > 0)


def test_a_regression_plane_holds_the_output_and_no_classes():
    ds = _data("plane")
    net = _net(ds, "linear_mse")
    out = output_map(net, ds, resolution=11)
    np.testing.assert_allclose(out.values, net.predict(ds.grid(11)[2]))
    assert out.classes is None and out.std is None


def test_a_line_without_dropout_has_no_band():
    ds = _data("sine")
    net = _net(ds, "linear_mse")
    out = output_map(net, ds, curve_points=40)
    np.testing.assert_array_equal(out.xs, np.linspace(*ds.domain, 40))
    assert out.ys is None and out.std is None
    np.testing.assert_allclose(out.values, net.predict(ds.transform(out.xs[:, None])))


def test_a_line_with_dropout_has_the_monte_carlo_band_of_its_passes():
    ds = _data("sine")
    net = _net(ds, "linear_mse", dropout=0.5)
    out = output_map(net, ds, curve_points=40, mc_passes=MC_PASSES)
    mean, std = net.predict_mc_dropout(ds.transform(out.xs[:, None]), MC_PASSES, seed=0)
    np.testing.assert_allclose(out.values, mean)
    np.testing.assert_allclose(out.std, std)
    assert (out.std > 0).any()
    again = output_map(net, ds, curve_points=40)
    np.testing.assert_array_equal(again.std, out.std)  # the same passes at each redraw


def test_data_without_a_plane_or_line_has_no_map():
    ds = _data("iris")
    net = _net(ds, "softmax_ce")
    assert output_map(net, ds) is None
    assert neuron_maps(net, ds) is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_neuron_maps_are_each_units_output_over_the_grid(dtype):
    """Unit u of a layer at grid cell (row r, column c) is its output at (xs[c], ys[r])."""
    ds = _data("circle", FEATURES)
    net = _net(ds, "sigmoid_bce", dtype=dtype)
    res = 9
    maps = neuron_maps(net, ds, res)
    assert [m.shape for m in maps.neurons] == [(5, res, res), (3, res, res), (1, res, res)]
    assert maps.inputs.shape == (len(FEATURES), res, res)
    xs, ys, _ = ds.grid(res)
    r, c = 2, 7
    point = ds.transform(np.array([[xs[c], ys[r]]]))
    np.testing.assert_allclose(maps.inputs[:, r, c], point[0])
    outputs = net.neuron_outputs(point.astype(net.dtype))
    for layer_map, out in zip(maps.neurons, outputs, strict=True):
        np.testing.assert_allclose(layer_map[:, r, c], out[0], rtol=1e-5, atol=1e-6)


def test_predicted_classes_are_the_heads_classes_of_its_outputs():
    ds = _data("spiral3")
    net = _net(ds, "softmax_ce")
    out = predictions(net, ds.X_test)
    np.testing.assert_array_equal(predicted_classes(net, ds.X_test), out.argmax(axis=1))
    with pytest.raises(TypeError):
        predicted_classes(_net(_data("plane"), "linear_mse"), _data("plane").X_test)


def test_a_diverged_network_gives_nan_not_warnings():
    ds = _data("circle")
    net = _net(ds, "sigmoid_bce")
    net.params[net.blocks[0].weight_key][...] = np.inf
    with np.errstate(all="raise"):
        out = output_map(net, ds, resolution=5)
        maps = neuron_maps(net, ds, 5)
    assert out.values.shape == (25, 2) and maps.neurons[0].shape == (5, 5, 5)


def test_predictions_use_the_networks_dtype():
    ds = _data("circle")
    net = _net(ds, "sigmoid_bce", dtype="float32")
    assert predictions(net, ds.X_test).dtype == np.float32
