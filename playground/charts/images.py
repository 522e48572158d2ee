"""Charts for image datasets (digits, MNIST): sample predictions, the confusion matrix, and the
first layer's weights seen as images. Tiles are packed into one mosaic PNG (one small image
trace) instead of one trace per tile.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from playground.charts.common import (
    DIVERGING_LEVELS,
    MUTED,
    STOP,
    TEXT,
    colorscale,
    diverging_index,
    diverging_palette,
    empty_figure,
    f32,
    figure,
    png_data_uri,
    png_indexed,
    png_uri,
    style,
    top_down,
)

PAD = 2  # pixels of frame around each tile (coloured red for wrong predictions)
LABEL_ROWS = 0.45  # label band above each tile, as a fraction of the tile height


def _gray(img: np.ndarray) -> np.ndarray:
    """One image min-max scaled to uint8 RGB, dark ink on white."""
    v = np.nan_to_num(np.asarray(img, dtype=np.float64))
    lo, hi = float(v.min()), float(v.max())
    t = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    g = np.round(255 * (1 - t)).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def _mosaic(tiles: list[np.ndarray], cols: int, frames: list, background=255):
    """Pack (h, w, 3) RGB or (h, w) palette-index tiles in rows of `cols`, a label band above
    each and an optional frame colour around each; returns the image, each tile's top-left
    (x, y) pixel and (h, w, band)."""
    h, w = tiles[0].shape[:2]
    band = max(1, int(round(LABEL_ROWS * h)))
    cell_h, cell_w = h + 2 * PAD + band, w + 2 * PAD
    rows = -(-len(tiles) // cols)
    out = np.full((rows * cell_h, cols * cell_w) + tiles[0].shape[2:], background, dtype=np.uint8)
    origins = []
    for k, (tile, frame) in enumerate(zip(tiles, frames, strict=True)):
        y0, x0 = (k // cols) * cell_h + band, (k % cols) * cell_w
        if frame is not None:
            out[y0 : y0 + h + 2 * PAD, x0 : x0 + w + 2 * PAD] = frame
        out[y0 + PAD : y0 + PAD + h, x0 + PAD : x0 + PAD + w] = tile
        origins.append((x0, y0))
    return out, origins, (h, w, band)


def _image_figure(
    source: str, shape: tuple, height: int, uirevision: str, title: str | None, labels: list
) -> go.Figure:
    """The mosaic as one image trace, pixel axes (y down), and the tile labels."""
    layout = {
        "xaxis": {"visible": False, "range": [-0.5, shape[1] - 0.5]},
        "yaxis": {"visible": False, "range": [shape[0] - 0.5, -0.5], "scaleanchor": "x"},
    }
    style(
        layout,
        title=title,
        height=height,
        uirevision=uirevision,
        legend=False,
        margin={"l": 4, "r": 4, "t": 30 if title else 4, "b": 4},
    )
    if labels:
        layout["annotations"] = labels
    tiles = {"type": "image", "source": source, "hoverinfo": "skip", "name": "tiles"}
    return figure([tiles], layout)


def _label(x: float, y: float, text: str, color: str, size: int = 10) -> dict:
    """A tile label annotation: centred above (x, y) in pixel coordinates."""
    font = {"size": size, "color": color}
    return {"x": x, "y": y, "text": text, "showarrow": False, "yanchor": "bottom", "font": font}


def sample_grid(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    image_shape: tuple[int, int],
    class_names: list[str] | None = None,
    *,
    n: int = 24,
    cols: int = 8,
    height: int = 360,
    uirevision: str = "samples",
) -> go.Figure:
    """The first `n` images with 'predicted (true)' labels; wrong ones framed and labelled red.

    images: (m, h*w) pixel values on any scale (each image is min-max scaled for display).
    """
    m = min(n, len(images))
    if m == 0:
        return empty_figure("No images to show.", height=height, uirevision=uirevision)
    names = class_names or []

    def name(c: int) -> str:
        return names[c] if 0 <= c < len(names) else str(c)

    true = np.asarray(y_true).astype(int)[:m]
    pred = np.asarray(y_pred).astype(int)[:m]
    wrong = true != pred
    tiles = [_gray(np.asarray(images[k]).reshape(image_shape)) for k in range(m)]
    frames = [(214, 39, 40) if bad else None for bad in wrong]
    mosaic, origins, (h, w, _) = _mosaic(tiles, min(cols, m), frames)
    title = f"Sample predictions: {int(wrong.sum())} of {m} wrong (red)"
    labels = [
        _label(
            x0 + PAD + w / 2 - 0.5,
            y0 - 0.5,
            f"{name(p)} (true {name(t)})" if bad else name(p),
            STOP if bad else TEXT,
        )
        for (x0, y0), t, p, bad in zip(origins, true, pred, wrong, strict=True)
    ]
    return _image_figure(png_data_uri(mosaic), mosaic.shape, height, uirevision, title, labels)


def confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: list[str] | None = None,
    *,
    height: int = 380,
    uirevision: str = "confusion",
) -> go.Figure:
    """Counts of (true, predicted) pairs; colour = share of the true class's row."""
    true = np.asarray(y_true).astype(int).ravel()
    pred = np.asarray(y_pred).astype(int).ravel()
    if true.size == 0:
        return empty_figure("No predictions yet.", height=height, uirevision=uirevision)
    n = max(len(class_names or []), int(true.max()) + 1, int(pred.max()) + 1)
    counts = np.bincount(true * n + pred, minlength=n * n).reshape(n, n)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    given = [str(c) for c in (class_names or [])]
    labels = given + [str(c) for c in range(len(given), n)]
    heatmap = {
        "type": "heatmap",
        "z": f32(share),
        "x": labels,
        "y": labels,
        "text": counts.tolist(),
        "texttemplate": "%{text}",
        "textfont": {"size": 10 if n > 6 else 12},
        "colorscale": colorscale("Blues"),
        "zmin": 0,
        "zmax": 1,
        "showscale": False,
        "hovertemplate": "true %{y}, predicted %{x}<br>%{text} (%{z:.0%} of true %{y})"
        "<extra></extra>",
        "name": "confusion",
    }
    acc = np.trace(counts) / max(counts.sum(), 1)
    layout = {
        "xaxis": {"title": {"text": "predicted"}, "type": "category", "side": "bottom"},
        "yaxis": {"title": {"text": "true"}} | top_down(labels),
    }
    style(
        layout,
        title=f"Confusion matrix (accuracy {acc:.1%})",
        height=height,
        uirevision=uirevision,
        legend=False,
    )
    return figure([heatmap], layout)


def first_layer_weights(
    W: np.ndarray,
    image_shape: tuple[int, int],
    *,
    max_units: int = 32,
    cols: int = 8,
    height: int = 360,
    uirevision: str = "first_layer",
) -> go.Figure:
    """Each first-layer unit's incoming weights as an image (blue +, orange -, per-unit scale)."""
    W = np.asarray(W, dtype=np.float64)
    h, w = image_shape
    if W.ndim != 2 or W.shape[0] != h * w or W.shape[1] == 0:
        return empty_figure(
            "No first-layer images: they are drawn for image datasets only.",
            height=height,
            uirevision=uirevision,
        )
    k = min(max_units, W.shape[1])
    tiles = [diverging_index(W[:, j].reshape(h, w)) for j in range(k)]
    white = DIVERGING_LEVELS  # one palette entry past the diverging scale
    mosaic, origins, _ = _mosaic(tiles, min(cols, k), [None] * k, background=white)
    palette = np.vstack([diverging_palette(), [[255, 255, 255]]])
    source = png_uri(png_indexed(mosaic, palette))
    more = f" (first {k} of {W.shape[1]})" if k < W.shape[1] else ""
    labels = [
        _label(x0 + PAD + w / 2 - 0.5, y0 - 0.5, f"unit {j + 1}", MUTED, size=9)
        for j, (x0, y0) in enumerate(origins)
    ]
    title = f"Layer 1 weights per unit{more}"
    return _image_figure(source, mosaic.shape, height, uirevision, title, labels)
