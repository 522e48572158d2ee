"""Output views: binary and multi-class decision boundaries, regression surface and 1D curve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.config import (
    OUTPUT_HEADS,
    DataConfig,
    LayerConfig,
    NetworkConfig,
    PlaygroundConfig,
    TrainingConfig,
)
from core.data import load_dataset
from core.losses import make_head
from core.predictions import output_map
from core.trainer import Trainer
from playground.charts import output_figure
from playground.charts.common import CLASS_COLORS, NEGATIVE, POSITIVE
from playground.charts.output import BACKGROUND_STRENGTH, MICROSCOPE_POINT
from tests.playground.test_charts_common import (
    assert_empty_state,
    grid_probs,
    make_dataset,
    make_dataset_1d,
)


def heatmap(fig):
    return [t for t in fig.data if t.type == "heatmap"][0]


def shown_classes(fig) -> np.ndarray:
    """The class the map shows at each grid cell: the band floor(z) its colour comes from."""
    return np.floor(np.asarray(heatmap(fig).z, dtype=np.float64)).astype(int).ravel()


def test_binary_map_shows_the_class_with_its_confidence_and_points_by_class():
    ds = make_dataset("binary")
    xs, ys, p = grid_probs(ds, 50)
    fig = output_figure(ds, xs, p, ys)
    hm = heatmap(fig)
    z = np.asarray(hm.z, dtype=np.float64)
    assert z.shape == (50, 50) and hm.zmax == 2
    np.testing.assert_array_equal(shown_classes(fig), p[:, 0] > 0.5)
    strength = (z - np.floor(z)).ravel()
    np.testing.assert_allclose(strength, np.minimum(abs(2 * p[:, 0] - 1), 0.999), atol=1e-5)
    np.testing.assert_allclose(np.asarray(hm.customdata).ravel(), p[:, 0], atol=1e-6)
    assert "P(class 1)" in hm.hovertemplate
    points = [t for t in fig.data if t.type == "scatter"]
    assert {t.name for t in points} == {"train: 0", "train: 1"}
    colors = {t.name: t.marker.color for t in points}
    assert colors == {"train: 0": NEGATIVE, "train: 1": POSITIVE}
    n = sum(len(t.x) for t in points)
    assert n == len(ds.y_train)
    assert fig.layout.uirevision == "output"


def test_tanh_output_is_mapped_to_a_probability_not_clipped():
    """tanh v in [-1, 1] is P(class 1) = (v + 1)/2: v = -0.6 is class 0 with confidence 0.6."""
    ds = make_dataset("binary")
    xs, ys, p = grid_probs(ds, 20)
    v = 2 * p - 1
    head = make_head("tanh_mse")
    fig = output_figure(ds, xs, head.probabilities(v), ys, classes=head.predict_class(v))
    np.testing.assert_array_equal(shown_classes(fig), v[:, 0] > 0)
    hm = heatmap(fig)
    np.testing.assert_allclose(np.asarray(hm.customdata).ravel(), p[:, 0], atol=1e-6)
    z = np.asarray(hm.z, dtype=np.float64).ravel()
    np.testing.assert_allclose(z - np.floor(z), np.minimum(abs(v[:, 0]), 0.999), atol=1e-6)


def test_test_points_only_on_request_and_discretize_is_hard():
    ds = make_dataset("binary")
    xs, ys, p = grid_probs(ds, 30)
    plain = output_figure(ds, xs, p, ys)
    with_test = output_figure(ds, xs, p, ys, show_test=True, discretize=True)
    assert not any(t.name.startswith("test") for t in plain.data if t.type == "scatter")
    assert any(t.name.startswith("test") for t in with_test.data if t.type == "scatter")
    z = np.asarray(heatmap(with_test).z, dtype=np.float64)
    np.testing.assert_allclose(z - np.floor(z), 0.85, atol=1e-6)  # one strength: hard regions
    np.testing.assert_array_equal(shown_classes(with_test), shown_classes(plain))


CLASSIFYING_HEADS = OUTPUT_HEADS["binary"] + OUTPUT_HEADS["multiclass"]


def _trained(head: str, seed: int) -> Trainer:
    """A small network trained a little (a boundary, not a perfect fit) with this head."""
    dataset = "spiral3" if head == "softmax_ce" else "circle"
    task = "multiclass" if head == "softmax_ce" else "binary"
    config = PlaygroundConfig(
        data=DataConfig(dataset=dataset, seed=seed, noise=10.0),
        network=NetworkConfig([LayerConfig(6, "tanh"), LayerConfig(4, "tanh")], task, head),
        training=TrainingConfig(seed=seed),
    )
    trainer = Trainer(config, load_dataset(config.data))
    for _ in range(300):
        trainer.step()
    return trainer


@pytest.mark.parametrize("head", CLASSIFYING_HEADS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("discretize", [False, True])
def test_map_shows_each_class_on_the_share_of_the_plane_the_model_predicts(head, seed, discretize):
    """For every output head: the map shows class c exactly where the model predicts c, so
    the share of the plane per class is the model's own; the trainer's accuracy against the
    map's classes is exactly 1."""
    trainer = _trained(head, seed)
    network, ds = trainer.network, trainer.dataset
    xs, ys, grid = ds.grid(50)
    out = network.predict(grid)
    drawn = output_map(network, ds, resolution=50)
    fig = output_figure(ds, xs, drawn.values, ys, classes=drawn.classes, discretize=discretize)
    shown = shown_classes(fig)
    predicted = network.head.predict_class(out)
    n = len(ds.class_names)
    np.testing.assert_array_equal(
        np.bincount(shown, minlength=n), np.bincount(predicted, minlength=n)
    )
    if head == "tanh_mse":  # the tanh head's class is the sign of its output
        assert shown.mean() == np.mean(out[:, 0] > 0)
    assert len(np.unique(shown)) > 1  # the boundary crosses the plane
    ds_map = dataclasses.replace(ds, X_train=grid, y_train=shown, X_test=grid, y_test=shown)
    ev = Trainer(trainer.config, ds_map, init_state=network.state_dict()).evaluate()
    assert ev["train_accuracy"] == 1.0 and ev["val_accuracy"] == 1.0


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


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_microscope_point_is_ringed_where_the_training_point_lies(task):
    ds = make_dataset(task, n=4000)  # 2000 training points: more than are drawn
    xs, ys, X = ds.grid(20)
    pred = grid_probs(ds, 20)[2] if task != "regression" else X[:, :1]
    plain = output_figure(ds, xs, pred, ys)
    assert MICROSCOPE_POINT not in {t.name for t in plain.data}
    point = 1999  # the last training point
    fig = output_figure(ds, xs, pred, ys, microscope_point=point)
    ringed = [t for t in fig.data if t.name == MICROSCOPE_POINT]
    assert len(ringed) == 1 and len(fig.data) == len(plain.data) + 1
    np.testing.assert_allclose([ringed[0].x[0], ringed[0].y[0]], ds.raw_train[point], rtol=1e-6)
    assert ringed[0].marker.symbol == "circle-open" and ringed[0].showlegend is not False
    assert f"training point {point}" in ringed[0].hovertemplate


def test_no_microscope_point_off_the_plane_or_out_of_range():
    ds = make_dataset("binary")
    xs, ys, p = grid_probs(ds, 20)
    for bad in (-1, len(ds.y_train)):
        fig = output_figure(ds, xs, p, ys, microscope_point=bad)
        assert MICROSCOPE_POINT not in {t.name for t in fig.data}
    line = make_dataset_1d()
    xs1 = np.linspace(-6, 6, 50)
    fig = output_figure(line, xs1, np.sin(xs1), microscope_point=0)
    assert MICROSCOPE_POINT not in {t.name for t in fig.data}


def _image_pixels(fig) -> np.ndarray:
    """The RGB pixels of the map's background image (rows top first)."""
    import base64
    import io

    from PIL import Image

    (image,) = fig.layout.images
    data = base64.b64decode(image.source.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_while_training_the_map_is_an_image_of_the_heatmaps_colours(kind):
    """image=True: no heatmap trace (a new one would make the browser redraw every point), the
    background as a layout image over the same cells, each pixel the heatmap's colour of its cell
    (its colour scale at z, to a step of the palette), the points as before."""
    ds = make_dataset(kind)
    xs, ys, p = grid_probs(ds, 40)
    trace_map = output_figure(ds, xs, p, ys)
    image_map = output_figure(ds, xs, p, ys, image=True)
    assert [t.type for t in image_map.data] == [t.type for t in trace_map.data][1:]
    assert [t.name for t in image_map.data] == [t.name for t in trace_map.data][1:]
    pixels = _image_pixels(image_map)
    assert pixels.shape == (len(ys), len(xs), 3)
    hm = heatmap(trace_map)
    z = np.asarray(hm.z, dtype=np.float64)[::-1]  # image rows top first: y descending
    cls, strength = np.floor(z).astype(int), z - np.floor(z)
    full = np.array([_rgb_of(CLASS_COLORS[c]) for c in cls.ravel()]).reshape(*z.shape, 3)
    amount = (0.08 + (BACKGROUND_STRENGTH - 0.08) * strength)[..., None]  # the band's ramp
    expected = 255 + (full - 255) * amount
    step = 255 * (BACKGROUND_STRENGTH - 0.08) / (255 / hm.zmax)  # one palette step, at most
    assert np.abs(pixels.astype(float) - expected).max() <= step + 1.5
    (image,) = image_map.layout.images
    dx = float(xs[1] - xs[0])
    assert image.x == pytest.approx(float(xs[0]) - dx / 2)
    assert image.sizex == pytest.approx(dx * len(xs))
    assert image.layer == "below"


def _rgb_of(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
