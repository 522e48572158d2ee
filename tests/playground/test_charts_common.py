"""Hand-built fixtures for the chart tests (History, Snapshot, Dataset from numpy) and tests of
the shared helpers in playground.charts.common."""

from __future__ import annotations

import io

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go
import pytest
from PIL import Image

from core.data.dataset import Dataset
from core.history import History
from core.telemetry import (
    DivergenceState,
    EarlyStoppingState,
    Histogram,
    LayerHistograms,
    LayerStats,
    Snapshot,
)
from playground.charts import CAPTIONS
from playground.charts.common import (
    blend_with_white,
    diverging_rgb,
    downsample,
    empty_figure,
    f32,
    png_bytes,
    png_data_uri,
    png_indexed,
    sequential_colors,
)

# --- fixture builders (imported by the other test_charts_* modules) -----------------------------


def hist(values: np.ndarray, bins: int = 30) -> Histogram:
    counts, edges = np.histogram(values, bins=bins)
    return Histogram(edges=edges, counts=counts)


def make_weights(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) per block for layer sizes [n_in, h1, ..., n_out]."""
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(0, 1 / np.sqrt(a), (a, b)), rng.normal(0, 0.1, b))
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def layer_names(n_blocks: int) -> list[str]:
    return [f"hidden {i + 1}" for i in range(n_blocks - 1)] + ["output"]


def make_history(
    n_layers: int = 3,
    steps: int = 2000,
    *,
    stats_every: int = 5,
    eval_every: int = 50,
    hist_every: int = 100,
    vanishing: float = 0.0,
    seed: int = 0,
) -> History:
    """A plausible run: decreasing losses, rising accuracy, per-layer scalars, histograms.

    vanishing > 0 makes layer i's gradient norm 10**(-vanishing * (n_layers - 1 - i)).
    """
    rng = np.random.default_rng(seed)
    h = History(n_layers)
    for step in range(1, steps + 1):
        base = 0.7 * np.exp(-step / (steps / 3)) + 0.05
        h.run["batch_loss"].append(step, base * (1 + 0.4 * rng.standard_normal()) ** 2)
        h.run["learning_rate"].append(step, 0.03)
        if step % eval_every == 0:
            h.run["train_loss"].append(step, base)
            h.run["val_loss"].append(step, base * 1.1 + 0.02 * step / steps)
            h.run["train_accuracy"].append(step, 1 - base / 1.5)
            h.run["val_accuracy"].append(step, 1 - base / 1.4)
        if step % stats_every == 0:
            for i in range(n_layers):
                g = 10 ** (-vanishing * (n_layers - 1 - i)) * (0.5 + 0.1 * rng.random())
                h.layers["grad_norm"][i].append(step, g)
                h.layers["update_ratio"][i].append(step, 1e-3 * 10 ** rng.normal(0, 0.2))
                h.layers["weight_norm"][i].append(step, 1.0 + step / steps)
        if step % hist_every == 0:
            spread = 0.3 + step / steps
            h.histograms.append(
                step,
                [
                    LayerHistograms(
                        weights=hist(rng.normal(0, spread, 200)),
                        activations=hist(np.tanh(rng.normal(0, 1 + i, 500))),
                        gradients=hist(rng.normal(0, 1e-3, 200)),
                    )
                    for i in range(n_layers)
                ],
            )
    return h


def make_stats(names: list[str], activation: str = "tanh") -> list[LayerStats]:
    return [
        LayerStats(
            name=n,
            activation=activation if n != "output" else "sigmoid",
            units=4,
            weight_norm=1.0,
            grad_norm=0.1,
            grad_mean_abs=0.01,
            update_ratio=1e-3,
            act_mean=0.0,
            act_std=1.0,
            saturated_frac=0.125 * (i + 1) if activation in ("tanh", "sigmoid") else None,
            dead_frac=0.25 if activation == "relu" else None,
        )
        for i, n in enumerate(names)
    ]


def make_snapshot(sizes: list[int], history: History | None = None, **es) -> Snapshot:
    weights = make_weights(sizes)
    names = layer_names(len(weights))
    history = history if history is not None else make_history(len(weights))
    hists = history.histograms.items[-1] if len(history.histograms) else None
    return Snapshot(
        step=2000,
        epoch=10,
        learning_rate=0.03,
        batch_loss=0.1,
        train_loss=0.1,
        val_loss=0.12,
        train_accuracy=0.9,
        val_accuracy=0.88,
        layers=make_stats(names),
        early_stopping=EarlyStoppingState(**es),
        divergence=DivergenceState(),
        weights=weights,
        history=history,
        histograms=hists,
        histogram_step=history.histograms.steps[-1] if hists else None,
    )


def make_dataset(task: str = "binary", n: int = 400, n_classes: int = 3, seed: int = 0) -> Dataset:
    """A 2D dataset (domain -6..6) with the identity transform."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(-5, 5, (n, 2))
    if task == "binary":
        y = (np.hypot(raw[:, 0], raw[:, 1]) < 3).astype(int)
        classes = ["0", "1"]
    elif task == "multiclass":
        y = (np.floor((np.arctan2(raw[:, 1], raw[:, 0]) + np.pi) / (2 * np.pi) * n_classes)).astype(
            int
        ) % n_classes
        classes = [f"class {c}" for c in range(n_classes)]
    else:
        y = np.sin(raw[:, 0]) + 0.5 * raw[:, 1] / 5
        classes = []
    half = n // 2
    return Dataset(
        name=f"test-{task}",
        task=task,
        X_train=raw[:half] / 5,
        y_train=y[:half],
        X_test=raw[half:] / 5,
        y_test=y[half:],
        feature_names=["x1", "x2"],
        class_names=classes,
        raw_train=raw[:half],
        raw_test=raw[half:],
        domain=(-6.0, 6.0),
        transform_fn=lambda r: r / 5,
    )


def make_dataset_1d(n: int = 200, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-6, 6, (n, 1))
    y = np.sin(x[:, 0]) + 0.1 * rng.standard_normal(n)
    half = n // 2
    return Dataset(
        name="test-sine",
        task="regression",
        X_train=x[:half] / 6,
        y_train=y[:half],
        X_test=x[half:] / 6,
        y_test=y[half:],
        feature_names=["x"],
        raw_train=x[:half],
        raw_test=x[half:],
        domain=(-6.0, 6.0),
    )


def grid_probs(dataset: Dataset, resolution: int = 50, n_classes: int = 1):
    """A smooth fake prediction over the dataset grid: (res*res, k) probabilities."""
    xs, ys, X = dataset.grid(resolution)
    r = np.hypot(X[:, 0], X[:, 1])
    if n_classes == 1:
        return xs, ys, (1 / (1 + np.exp(8 * (r - 0.6))))[:, None]
    ang = np.arctan2(X[:, 1], X[:, 0])
    logits = np.stack([np.cos(ang - 2 * np.pi * c / n_classes) * 3 * r for c in range(n_classes)])
    e = np.exp(logits.T - logits.T.max(axis=1, keepdims=True))
    return xs, ys, e / e.sum(axis=1, keepdims=True)


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text or "" for a in fig.layout.annotations]


def assert_empty_state(fig: go.Figure) -> None:
    assert isinstance(fig, go.Figure)
    assert any("no" in t.lower() for t in annotation_texts(fig)), annotation_texts(fig)
    fig.to_json()


# --- tests of the shared helpers -----------------------------------------------------------------


def _decode(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_png_roundtrip_decodes_to_the_same_pixels(channels):
    shape = (5, 7) if channels is None else (5, 7, channels)
    rgb = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)
    image = _decode(png_bytes(rgb))
    assert image.size == (7, 5)
    np.testing.assert_array_equal(np.asarray(image).reshape(shape), rgb)
    assert png_data_uri(rgb).startswith("data:image/png;base64,")


def test_palette_png_decodes_to_its_indices_and_colours():
    index = np.random.default_rng(2).integers(0, 4, (6, 9)).astype(np.uint8)
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]], np.uint8)
    image = _decode(png_indexed(index, palette))
    assert image.mode == "P"
    np.testing.assert_array_equal(np.asarray(image), index)
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), palette[index])


def test_png_rejects_float_pixels():
    with pytest.raises(ValueError):
        png_bytes(np.zeros((2, 2, 3)))


def test_downsample_caps_points_and_keeps_ends():
    steps = np.arange(100_000)
    values = np.sin(steps / 1000.0)
    x, y = downsample(steps, values, 500)
    assert len(x) <= 500 and x[0] == 0 and x[-1] == 99_999
    np.testing.assert_allclose(y, np.sin(x / 1000.0))
    xm, ym = downsample(steps, np.ones(100_000), 500, how="mean")
    assert len(xm) == 500 and np.allclose(ym, 1.0)
    short = downsample(steps[:10], values[:10], 500)
    assert len(short[0]) == 10


def test_downsample_mean_ignores_nan_buckets():
    v = np.ones(1000)
    v[:100] = np.nan
    _, y = downsample(np.arange(1000), v, 10, how="mean")
    assert np.isnan(y[0]) and np.allclose(y[1:], 1.0)


def test_diverging_colours_follow_sign():
    rgb = diverging_rgb(np.array([-1.0, 0.0, 1.0]))
    neg, mid, pos = rgb.astype(int)
    assert pos[2] > pos[0]  # blue end
    assert neg[0] > neg[2]  # orange end
    assert mid.min() > 220  # near white
    assert diverging_rgb(np.zeros(3)).shape == (3, 3)


def test_blend_and_sequential_colours():
    assert tuple(blend_with_white("#0877bd", 0.0)) == (255, 255, 255)
    assert tuple(blend_with_white("#0877bd", 1.0)) == (8, 119, 189)
    assert len(sequential_colors(5)) == 5 and len(set(sequential_colors(5))) == 5
    assert sequential_colors(0) == []


def test_f32_turns_none_into_nan():
    a = f32([1.0, None, 3.0])
    assert a.dtype == np.float32 and np.isnan(a[1])


def test_empty_figure_has_friendly_note_and_lean_template():
    fig = empty_figure()
    assert_empty_state(fig)
    assert fig.layout.template.layout.plot_bgcolor == "white"
    assert len(fig.to_json()) < 2_000


def test_every_chart_has_a_one_line_caption():
    ids = [
        "network",
        "output",
        "loss",
        "gradients",
        "gradient_heatmap",
        "activations",
        "weights",
        "update_ratio",
        "samples",
        "confusion",
        "first_layer",
    ]
    for key in ids:
        assert key in CAPTIONS, key
        text = CAPTIONS[key]
        assert 30 < len(text) < 240 and "\n" not in text


def test_a_colour_scale_palette_matches_plotly_at_its_stops_and_between():
    from playground.charts.common import DIVERGING, colorscale_palette, scale_index

    palette = colorscale_palette(DIVERGING)
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    for row, (_, color) in ((0, DIVERGING[0]), (-1, DIVERGING[-1])):
        assert tuple(palette[row]) == pcolors.hex_to_rgb(color)
    mid = pcolors.unlabel_rgb(pcolors.sample_colorscale(DIVERGING, [128 / 255])[0])
    assert np.abs(palette[128].astype(float) - mid).max() <= 0.5
    index = scale_index(np.array([-2.0, 0.0, 1.0, 5.0, np.nan]), 0.0, 1.0)
    assert index.tolist() == [0, 0, 255, 255, 128]


def test_a_plane_image_covers_the_heatmap_cells():
    from playground.charts.common import plane_image

    xs, ys = np.linspace(-1, 1, 5), np.linspace(-2, 2, 9)
    image = plane_image(xs, ys, "data:image/png;base64,", opacity=0.85)
    assert image["x"] == -1.25 and image["sizex"] == 2.5  # half a cell beyond each centre
    assert image["y"] == 2.25 and image["sizey"] == 4.5  # from the top row down
    assert (image["xanchor"], image["yanchor"], image["layer"]) == ("left", "top", "below")
    assert image["opacity"] == 0.85
