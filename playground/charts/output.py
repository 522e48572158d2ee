"""What the network computes over the input plane: decision boundaries (binary, multi-class with
confidence), the fitted regression surface, or for 1D data the fitted curve (with an optional
MC-dropout band). The values come from `core.predictions.output_map`: over the plane, shape
(len(ys) * len(xs), k), rows y-major; a classifier's as class probabilities and its head's class.

With the backprop microscope open, its training point is ringed on the plane ("microscope point",
an extra marker with its own legend entry). Each training point is tagged with its index in the
training set (`pick_tags`): a click on it picks it for the microscope.
"""

from __future__ import annotations

import functools

import numpy as np
import plotly.graph_objects as go

from core.data.dataset import Dataset
from playground.charts.common import (
    CLASS_COLORS,
    DIVERGING,
    NEGATIVE,
    POSITIVE,
    TEXT,
    blend_with_white,
    colorscale_palette,
    empty_figure,
    f32,
    figure,
    note,
    plane_image,
    png_indexed,
    png_uri,
    scale_index,
    style,
)
from playground.charts.pick_tags import POINT, pick_meta

MICROSCOPE_POINT = "microscope point"  # the marker's name (and legend entry)
MICROSCOPE_COLOR = "#1f1f1f"  # near black, as on the network diagram
MAX_DRAWN_POINTS = 1500  # per split; a random subset beyond that keeps the payload small
BACKGROUND_STRENGTH = 0.6  # how far the background moves from white towards a class colour


def _rgb(color: str, amount: float) -> str:
    r, g, b = blend_with_white(color, amount)
    return f"rgb({r},{g},{b})"


def _grid(pred, xs, ys) -> np.ndarray:
    """Predictions as (ny, nx, k)."""
    p = np.asarray(pred, dtype=np.float64)
    return p.reshape(len(ys), len(xs), -1)


def _subset(n: int, cap: int = MAX_DRAWN_POINTS) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, cap, replace=False))


def _splits(dataset: Dataset, show_test: bool):
    """(label, raw points, targets, their indices) for train, and test when asked; subsampled."""
    out = []
    pairs = [("train", dataset.raw_train, dataset.y_train)]
    if show_test:
        pairs.append(("test", dataset.raw_test, dataset.y_test))
    for label, raw, y in pairs:
        if raw is None or y is None or len(raw) == 0:
            continue
        idx = _subset(len(raw))
        out.append((label, np.asarray(raw)[idx], np.asarray(y)[idx], idx))
    return out


def _point_tags(split: str, indices: np.ndarray) -> dict:
    """A points trace's pick tags: each training point's index in the training set (test points
    are not trained on: they pick nothing)."""
    if split != "train":
        return {}
    return {"customdata": indices.astype(np.int32), "meta": pick_meta(POINT, {"index": 0})}


def _point_marker(split: str, color) -> dict:
    """Train points: white outline; test points: dark outline, slightly larger."""
    outline = {"color": "white", "width": 1} if split == "train" else {"color": TEXT, "width": 1.5}
    return {"color": color, "size": 6 if split == "train" else 7, "line": outline}


def _axes(layout: dict, xs, ys=None) -> None:
    """Raw-coordinate axes over the grid; 2D plots keep a square aspect (x shrinks to fit)."""
    x = {"title": {"text": "x1"}, "range": [float(xs[0]), float(xs[-1])], "showgrid": False}
    layout["xaxis"] = x
    if ys is not None:
        x |= {"constrain": "domain", "zeroline": False}
        layout["yaxis"] = {
            "title": {"text": "x2"},
            "range": [float(ys[0]), float(ys[-1])],
            "showgrid": False,
            "zeroline": False,
            "scaleanchor": "x",
            "constrain": "domain",
        }


def _points(x, y, marker: dict, name: str, hover: str, **extra) -> dict:
    """A markers trace of data points."""
    trace = {"type": "scatter", "x": f32(x), "y": f32(y), "mode": "markers", "marker": marker}
    return trace | {"name": name, "hovertemplate": hover} | extra


def _microscope_point(dataset: Dataset, index: int | None) -> list[dict]:
    """The microscope's training point `index` as a ring on the plane (none without a plane or
    a valid index); drawn whatever the subset of points shown."""
    raw = dataset.raw_train
    if index is None or raw is None or np.shape(raw)[1] != 2 or not 0 <= index < len(raw):
        return []
    x, y = (float(v) for v in np.asarray(raw)[index])
    marker = {
        "symbol": "circle-open",
        "size": 17,
        "color": MICROSCOPE_COLOR,
        "line": {"color": MICROSCOPE_COLOR, "width": 3},
    }
    hover = f"microscope: training point {int(index)}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"
    return [_points([x], [y], marker, MICROSCOPE_POINT, hover)]


def _class_colorscale(n: int) -> list:
    """Stacked bands: z in [c, c+1) runs from white-ish to the colour of class c."""
    scale = []
    for c in range(n):
        color = CLASS_COLORS[c % len(CLASS_COLORS)]
        scale += [[c / n, _rgb(color, 0.08)], [(c + 1) / n, _rgb(color, BACKGROUND_STRENGTH)]]
    return scale


def _class_probabilities(pred: np.ndarray) -> np.ndarray:
    """(n, C) class probabilities; one column (n, 1) is P(class 1) of a binary classifier."""
    p = np.asarray(pred, dtype=np.float64)
    p = p.reshape(len(p), -1)
    return np.column_stack([1.0 - p[:, 0], p[:, 0]]) if p.shape[1] == 1 else p


def _class_background(p: np.ndarray, cls: np.ndarray, discretize: bool) -> dict:
    """Stacked bands: z = class + strength, so floor(z) is exactly the predicted class.

    p (ny, nx, C) class probabilities; strength = confidence (max p − 1/C) / (1 − 1/C),
    or a fixed 0.85 when discretized.
    """
    n = p.shape[2]
    conf = np.clip((p.max(axis=2) - 1 / n) / (1 - 1 / n), 0.0, 0.999)
    z = cls + (0.85 if discretize else conf)
    if n == 2:
        shown, hover = p[..., 1], "P(class 1) = %{customdata:.3f}"
    else:
        shown, hover = p.max(axis=2), "max p = %{customdata:.3f}"
    return {
        "z": f32(z),
        "zmax": n,
        "colorscale": _class_colorscale(n),
        "customdata": f32(shown),
        "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>" + hover + "<extra></extra>",
    }


def _background_image(z: np.ndarray, n: int, xs, ys) -> dict:
    """The class background `z` as a layout image: the heatmap's colours (its colour scale over
    [0, n] in SCALE_LEVELS steps), rows top first."""
    index = scale_index(z, 0.0, float(n))[::-1]
    return plane_image(xs, ys, png_uri(png_indexed(index, _class_palette(n))))


@functools.lru_cache(maxsize=8)
def _class_palette(n: int) -> np.ndarray:
    """`_class_colorscale(n)` as palette colours (the same for every frame; read only)."""
    palette = colorscale_palette(_class_colorscale(n))
    palette.flags.writeable = False
    return palette


def decision_boundary(
    dataset: Dataset,
    xs: np.ndarray,
    ys: np.ndarray,
    pred: np.ndarray,
    *,
    classes: np.ndarray | None = None,
    show_test: bool = False,
    discretize: bool = False,
    microscope_point: int | None = None,
    height: int = 420,
    uirevision: str = "output",
    image: bool = False,
) -> go.Figure:
    """Classifier output over the plane with the data points on top.

    `pred`: class probabilities (n, C), or (n, 1) = P(class 1); `classes`: the class (n,) the
    model predicts (its head's, see `core.predictions.output_map`), by default the most probable.
    Colour = class (orange 0, blue 1, ...), strength = confidence. discretize: hard regions only.
    microscope_point: a training point's index, ringed (the backprop microscope's).
    `image`: the background as a layout image, not a heatmap trace (while training: the browser
    then redraws the image alone, not every point; the heatmap's hover values are left out).
    """
    probabilities = _class_probabilities(pred)
    p = _grid(probabilities, xs, ys)
    cls = probabilities.argmax(axis=1) if classes is None else np.asarray(classes)
    cls = cls.reshape(len(ys), len(xs))
    n = p.shape[2]
    names = dataset.class_names or [str(c) for c in range(n)]
    background = {"type": "heatmap", "x": f32(xs), "y": f32(ys), "zmin": 0, "showscale": False}
    background |= _class_background(p, cls, discretize) | {"name": "output"}
    data = [] if image else [background]
    colors = [CLASS_COLORS[c % len(CLASS_COLORS)] for c in range(n)]
    for split, raw, y, idx in _splits(dataset, show_test):
        labels = np.asarray(y).astype(int)
        for c, color in enumerate(colors):
            sel = labels == c
            if not sel.any():
                continue
            label = names[c] if c < len(names) else str(c)
            marker = _point_marker(split, color)
            name = f"{split}: {label}"
            hover_xy = "(%{x:.2f}, %{y:.2f})"
            data.append(
                _points(
                    raw[sel, 0],
                    raw[sel, 1],
                    marker,
                    name,
                    hover_xy,
                    legendgroup=split,
                    **_point_tags(split, idx[sel]),
                )
            )
    data += _microscope_point(dataset, microscope_point)
    layout = {"images": [_background_image(background["z"], n, xs, ys)]} if image else {}
    _axes(layout, xs, ys)
    return figure(data, style(layout, height=height, uirevision=uirevision, legend_side=True))


def regression_surface(
    dataset: Dataset,
    xs: np.ndarray,
    ys: np.ndarray,
    pred: np.ndarray,
    *,
    show_test: bool = False,
    microscope_point: int | None = None,
    height: int = 420,
    uirevision: str = "output",
) -> go.Figure:
    """Predicted value over the plane; points coloured by their target on the same scale (and
    the microscope's training point ringed, as in `decision_boundary`)."""
    p = _grid(pred, xs, ys)[..., 0]
    y_all = np.asarray(dataset.y_train, dtype=np.float64).reshape(len(dataset.y_train), -1)[:, 0]
    vals = np.concatenate([p.ravel(), y_all])
    vals = vals[np.isfinite(vals)]
    lo, hi = (float(vals.min()), float(vals.max())) if len(vals) else (-1.0, 1.0)
    data = [
        {
            "type": "heatmap",
            "x": f32(xs),
            "y": f32(ys),
            "z": f32(p),
            "coloraxis": "coloraxis",
            "opacity": 0.85,
            "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>prediction %{z:.3f}<extra></extra>",
            "name": "prediction",
        }
    ]
    for split, raw, y, idx in _splits(dataset, show_test):
        target = np.asarray(y, dtype=np.float64).reshape(len(y), -1)[:, 0]
        marker = _point_marker(split, f32(target))
        marker["coloraxis"] = "coloraxis"
        marker["line"] = {"color": "#555", "width": 0.8 if split == "train" else 2}
        hover = "(%{x:.2f}, %{y:.2f})<br>target %{marker.color:.3f}"
        data.append(
            _points(
                raw[:, 0], raw[:, 1], marker, f"{split} points", hover, **_point_tags(split, idx)
            )
        )
    data += _microscope_point(dataset, microscope_point)
    layout = {
        "coloraxis": {
            "colorscale": DIVERGING,
            "cmin": lo,
            "cmax": hi,
            "colorbar": {
                "thickness": 10,
                "len": 0.7,
                "y": 0,
                "yanchor": "bottom",
                "title": {"text": "value"},
            },
        }
    }
    _axes(layout, xs, ys)
    if np.ndim(dataset.y_train) == 2 and np.shape(dataset.y_train)[1] > 1:
        note(layout, "Multi-output regression: the first output is shown.", y=-0.12)
    return figure(data, style(layout, height=height, uirevision=uirevision, legend_side=True))


def regression_curve(
    dataset: Dataset,
    xs: np.ndarray,
    pred: np.ndarray,
    *,
    std: np.ndarray | None = None,
    show_test: bool = False,
    height: int = 380,
    uirevision: str = "output",
) -> go.Figure:
    """1D data: the fitted curve over the points; with `std` (MC dropout) a mean ± 2 std band."""
    xs = np.asarray(xs, dtype=np.float64).ravel()
    mean = np.asarray(pred, dtype=np.float64).reshape(len(xs), -1)[:, 0]
    data = []
    if std is not None:
        s = np.asarray(std, dtype=np.float64).reshape(len(xs), -1)[:, 0]
        band_x = np.r_[xs, xs[::-1]]
        band_y = np.r_[mean + 2 * s, (mean - 2 * s)[::-1]]
        data.append(
            {
                "type": "scatter",
                "x": f32(band_x),
                "y": f32(band_y),
                "fill": "toself",
                "fillcolor": "rgba(8,119,189,0.18)",
                "line": {"width": 0},
                "hoverinfo": "skip",
                "name": "mean ± 2 std (MC dropout)",
            }
        )
    for split, raw, y, idx in _splits(dataset, show_test):
        target = np.asarray(y, dtype=np.float64).reshape(len(y), -1)[:, 0]
        color = NEGATIVE if split == "train" else "rgba(0,0,0,0)"
        marker = _point_marker(split, color) | {"size": 5}
        hover = "x %{x:.3f}<br>y %{y:.3f}<extra></extra>"
        data.append(
            _points(raw[:, 0], target, marker, f"{split} points", hover, **_point_tags(split, idx))
        )
    data.append(
        {
            "type": "scatter",
            "x": f32(xs),
            "y": f32(mean),
            "mode": "lines",
            "line": {"color": POSITIVE, "width": 2.5},
            "name": "prediction",
            "hovertemplate": "x %{x:.3f}<br>ŷ %{y:.3f}<extra></extra>",
        }
    )
    layout = {
        "xaxis": {"title": {"text": "x"}, "range": [float(xs[0]), float(xs[-1])]},
        "yaxis": {"title": {"text": "y"}},
    }
    return figure(data, style(layout, height=height, uirevision=uirevision, legend_side=True))


def output_figure(
    dataset: Dataset,
    xs: np.ndarray | None,
    pred: np.ndarray | None,
    ys: np.ndarray | None = None,
    *,
    classes: np.ndarray | None = None,
    std: np.ndarray | None = None,
    show_test: bool = False,
    discretize: bool = False,
    microscope_point: int | None = None,
    height: int = 420,
    uirevision: str = "output",
    image: bool = False,
) -> go.Figure:
    """Pick the right output view for the dataset (2D classifier, 2D regression, 1D curve);
    for a classifier `pred` holds class probabilities and `classes` the predicted class (see
    `decision_boundary`, also for `image`); `microscope_point` (a training index) is ringed on
    a plane."""
    if dataset.raw_dim not in (1, 2):
        return empty_figure(
            "No input plane for this dataset: see the sample predictions and confusion matrix.",
            height=height,
            uirevision=uirevision,
        )
    if xs is None or pred is None or np.size(pred) == 0:
        return empty_figure("No predictions yet.", height=height, uirevision=uirevision)
    if dataset.raw_dim == 1:
        return regression_curve(
            dataset, xs, pred, std=std, show_test=show_test, height=height, uirevision=uirevision
        )
    if dataset.task == "regression":
        return regression_surface(
            dataset,
            xs,
            ys,
            pred,
            show_test=show_test,
            microscope_point=microscope_point,
            height=height,
            uirevision=uirevision,
        )
    return decision_boundary(
        dataset,
        xs,
        ys,
        pred,
        classes=classes,
        show_test=show_test,
        discretize=discretize,
        microscope_point=microscope_point,
        height=height,
        uirevision=uirevision,
        image=image,
    )


def predicted_vs_actual(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    max_points: int = 1500,
    height: int = 420,
    uirevision: str = "output",
) -> go.Figure:
    """Tabular regression: each test example at (true value, prediction); the diagonal is a
    perfect fit, and R^2 = 1 - sum (y - p)^2 / sum (y - mean y)^2 is in the title."""
    true = np.asarray(y_true, dtype=float).ravel()
    pred = np.asarray(y_pred, dtype=float).ravel()
    if true.size == 0 or true.size != pred.size:
        return empty_figure("No predictions yet.", height=height, uirevision=uirevision)
    spread = float(np.sum((true - true.mean()) ** 2))
    r2 = 1.0 - float(np.sum((true - pred) ** 2)) / spread if spread > 0 else float("nan")
    shown = slice(None, max_points)
    lo = float(np.nanmin([true.min(), np.nanmin(pred)]))
    hi = float(np.nanmax([true.max(), np.nanmax(pred)]))
    points = {
        "type": "scatter",
        "mode": "markers",
        "x": f32(true[shown]),
        "y": f32(pred[shown]),
        "marker": {"size": 6, "color": POSITIVE, "opacity": 0.7},
        "name": "test examples",
        "hovertemplate": "true %{x:.3g}<br>predicted %{y:.3g}<extra></extra>",
    }
    diagonal = {
        "type": "scatter",
        "mode": "lines",
        "x": [lo, hi],
        "y": [lo, hi],
        "line": {"color": "#888", "dash": "dash", "width": 1},
        "name": "perfect fit",
        "hoverinfo": "skip",
    }
    layout = {
        "xaxis": {"title": {"text": "true value"}},
        "yaxis": {"title": {"text": "prediction"}},
    }
    r2_text = f"R² = {r2:.3f}" if np.isfinite(r2) else "R² undefined"
    style(layout, title=f"Predicted vs true ({r2_text})", height=height, uirevision=uirevision)
    return figure([points, diagonal], layout)
