"""Shared pieces of every chart: colours, downsampling, PNG encoding (Pillow), layout defaults.

Payload rules (each redraw resends the whole figure): numeric arrays go out as float32 numpy
arrays (plotly serialises them as base64, 4 bytes a number), curves are downsampled to
`MAX_POINTS`, and the template is a lean copy of plotly_white's 2D settings (the full
template alone is ~6.5 KB of JSON per figure).
"""

from __future__ import annotations

import base64
import functools
import io
import math

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go
from PIL import Image

# --- colours (TensorFlow Playground) ------------------------------------------------------------
POSITIVE = "#0877bd"  # blue: positive weight / class 1
NEGATIVE = "#f59322"  # orange: negative weight / class 0
NEUTRAL = "#e8eaeb"  # near-white middle of the diverging scale
DIVERGING = [[0.0, NEGATIVE], [0.5, NEUTRAL], [1.0, POSITIVE]]
CLASS_COLORS = (
    "#f59322",
    "#0877bd",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
TEXT = "#2a3f5f"
GRID = "#EBF0F8"
MUTED = "#9aa5b1"
BEST = "#2ca02c"
STOP = "#d62728"

MAX_POINTS = 500
TOP_LEGEND = {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"}
SIDE_LEGEND = {
    "orientation": "v",
    "y": 1,
    "yanchor": "top",
    "x": 1.02,
    "xanchor": "left",
    "font": {"size": 10},
}
FONT_SIZE = 12

# plotly_white, reduced to what 2D cartesian charts use
LEAN_WHITE = go.layout.Template(
    layout={
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3"],
        "font": {"color": TEXT, "size": FONT_SIZE},
        "hovermode": "closest",
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "ticks": ""},
        "yaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "ticks": ""},
        "annotationdefaults": {"arrowcolor": TEXT, "arrowhead": 0, "arrowwidth": 1},
    }
)


# --- numbers ------------------------------------------------------------------------------------
def f32(values) -> np.ndarray:
    """Float32 array (None -> NaN): the compact wire format for numeric arrays."""
    if isinstance(values, list | tuple):
        values = [np.nan if v is None else v for v in values]
    return np.asarray(values, dtype=np.float32)


def finite(x: float | None) -> bool:
    """True for a real, finite number."""
    return x is not None and isinstance(x, int | float | np.floating) and math.isfinite(x)


def downsample(
    steps: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS, how: str = "pick"
) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` (step, value) pairs.

    how="pick": evenly spaced samples, first and last kept. how="mean": mean of each of
    `max_points` consecutive buckets (a smoothed view for noisy batch losses; NaNs ignored).
    """
    steps = np.asarray(steps)
    values = np.asarray(values, dtype=np.float64)
    n = len(steps)
    if n <= max_points:
        return steps, values
    if how == "mean":  # n > max_points: every bucket holds at least one pair
        bounds = np.linspace(0, n, max_points + 1).astype(int)
        starts, sizes = bounds[:-1], np.diff(bounds)
        x = np.add.reduceat(steps, starts) / sizes
        ok = np.isfinite(values)
        total = np.add.reduceat(np.where(ok, values, 0.0), starts)
        count = np.add.reduceat(ok.astype(np.int64), starts)
        y = np.full(len(starts), np.nan)
        np.divide(total, count, out=y, where=count > 0)
        return x, y
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return steps[idx], values[idx]


def positive_or_nan(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: non-positive and non-finite entries become NaN (gaps)."""
    v = np.asarray(values, dtype=np.float64).copy()
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


# --- colour maps --------------------------------------------------------------------------------
def _hex_rgb(color: str) -> np.ndarray:
    color = color.lstrip("#")
    return np.array([int(color[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def diverging_rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Map values to uint8 RGB: -scale -> orange, 0 -> near-white, +scale -> blue.

    scale defaults to max |value| (a zero array maps to the neutral colour).
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    s = float(np.max(np.abs(v))) if scale is None else float(scale)
    t = np.clip(v / s, -1.0, 1.0) if s > 0 else np.zeros_like(v)
    mid, pos, neg = _hex_rgb(NEUTRAL), _hex_rgb(POSITIVE), _hex_rgb(NEGATIVE)
    a = np.abs(t)[..., None]
    end = np.where((t >= 0)[..., None], pos, neg)
    return np.round(mid + (end - mid) * a).astype(np.uint8)


def blend_with_white(color: str, amount: np.ndarray) -> np.ndarray:
    """RGB uint8 of `color` mixed with white: amount 0 -> white, 1 -> the full colour."""
    a = np.clip(np.asarray(amount, dtype=np.float64), 0.0, 1.0)[..., None]
    white = np.full(3, 255.0)
    return np.round(white + (_hex_rgb(color) - white) * a).astype(np.uint8)


def sequential_colors(n: int, scale: str = "Viridis") -> list[str]:
    """n colours along a sequential scale, first layer dark, last layer bright."""
    if n <= 0:
        return []
    if n == 1:
        return pcolors.sample_colorscale(scale, [0.0])
    return pcolors.sample_colorscale(scale, [0.9 * i / (n - 1) for i in range(n)])


# --- PNG ------------------------------------------------------------------------------------------
def _encode(image: Image.Image) -> bytes:
    """PNG bytes of a Pillow image (zlib level 6: as small as level 9 on our maps, 2x faster)."""
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (h, w) gray or (h, w, 3|4) uint8 image as PNG."""
    img = np.asarray(rgb)
    if img.dtype != np.uint8:
        raise ValueError("png_bytes expects uint8 pixels")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    return _encode(Image.fromarray(np.ascontiguousarray(img)))


def png_indexed(index: np.ndarray, palette: np.ndarray) -> bytes:
    """Encode (h, w) uint8 palette indices with a (k, 3) uint8 palette (k <= 256) as PNG.

    One byte a pixel compresses far better than RGB for smooth maps."""
    image = Image.fromarray(np.ascontiguousarray(index, dtype=np.uint8), mode="P")
    image.putpalette(np.asarray(palette, dtype=np.uint8).reshape(-1).tobytes())
    return _encode(image)


DIVERGING_LEVELS = 33


def diverging_index(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """uint8 indices into `diverging_palette()` for values on a symmetric scale (default
    max |v|): 0 = most negative (orange), DIVERGING_LEVELS // 2 = zero, top = most positive."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    s = float(np.max(np.abs(v))) if scale is None else float(scale)
    t = np.clip(v / s, -1.0, 1.0) if s > 0 else np.zeros_like(v)
    return _levels(t)


def diverging_index_each(maps: np.ndarray) -> np.ndarray:
    """`diverging_index` of each map along the first axis, each on its own scale max |v|."""
    v = np.nan_to_num(np.asarray(maps, dtype=np.float64))
    s = np.abs(v).reshape(len(v), -1).max(axis=1, initial=0.0)
    s = s.reshape((-1,) + (1,) * (v.ndim - 1))
    t = np.clip(np.divide(v, s, out=np.zeros_like(v), where=s > 0), -1.0, 1.0)
    return _levels(t)


def _levels(t: np.ndarray) -> np.ndarray:
    """t in [-1, 1] -> palette index round((t + 1) / 2 * (levels - 1))."""
    return np.round((t + 1) / 2 * (DIVERGING_LEVELS - 1)).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def _diverging_palette() -> np.ndarray:
    palette = diverging_rgb(np.linspace(-1.0, 1.0, DIVERGING_LEVELS))
    palette.flags.writeable = False
    return palette


def diverging_palette() -> np.ndarray:
    """(DIVERGING_LEVELS, 3) uint8 colours from orange through near-white to blue."""
    return _diverging_palette().copy()


def diverging_png_uri(values: np.ndarray, scale: float | None = None) -> str:
    """A map on the orange-white-blue scale as a compact palette PNG data URI."""
    return diverging_index_uri(diverging_index(values, scale))


def diverging_index_uri(index: np.ndarray) -> str:
    """Palette indices from `diverging_index` as a palette PNG data URI."""
    return png_uri(png_indexed(index, _diverging_palette()))


def png_uri(data: bytes) -> str:
    """PNG bytes as a data: URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def png_data_uri(rgb: np.ndarray) -> str:
    """A data: URI for a layout image or go.Image source."""
    return png_uri(png_bytes(rgb))


SCALE_LEVELS = 256  # colours of a continuous colour scale drawn as a palette PNG


def colorscale_palette(scale: list, levels: int = SCALE_LEVELS) -> np.ndarray:
    """(levels, 3) uint8 colours evenly along a plotly colour scale ([[position, colour], ...]),
    interpolated in RGB as plotly.js colours a heatmap (a position given twice starts a band)."""
    return colorscale_rgb(scale, np.linspace(0.0, 1.0, levels)).round().astype(np.uint8)


def colorscale_rgb(scale: list, t: np.ndarray) -> np.ndarray:
    """RGB floats of a colour scale at positions `t` (clipped to [0, 1]): linear between the
    neighbouring stops."""
    positions = np.array([float(pos) for pos, _ in scale])
    colors = np.array([_color_rgb(color) for _, color in scale], dtype=np.float64)
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    hi = np.clip(np.searchsorted(positions, t, side="right"), 1, len(positions) - 1)
    lo = hi - 1
    span = positions[hi] - positions[lo]
    w = np.divide(t - positions[lo], span, out=np.zeros_like(t), where=span > 0)[..., None]
    return colors[lo] + (colors[hi] - colors[lo]) * np.clip(w, 0.0, 1.0)


def _color_rgb(color: str) -> tuple[float, float, float]:
    """A '#rrggbb' or 'rgb(r, g, b)' colour as floats."""
    if color.startswith("#"):
        return tuple(float(v) for v in _hex_rgb(color))
    return tuple(float(v) for v in pcolors.unlabel_rgb(color))[:3]


def scale_index(values: np.ndarray, low: float, high: float, levels: int = SCALE_LEVELS):
    """uint8 palette indices of `values` on [low, high] (clipped; NaN at the middle)."""
    v = np.asarray(values, dtype=np.float64)
    t = (v - low) / (high - low) if high > low else np.zeros_like(v)
    t = np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)
    return np.round(t * (levels - 1)).astype(np.uint8)


def plane_image(xs: np.ndarray, ys: np.ndarray, source: str, opacity: float = 1.0) -> dict:
    """A layout image that covers the cells of a heatmap over grid centres `xs`, `ys` (rows of
    the image top first: y descending), under the traces. Redrawn alone when it changes, where a
    heatmap trace would replot every trace of its chart."""
    dx = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0
    dy = float(ys[1] - ys[0]) if len(ys) > 1 else 1.0
    return {
        "source": source,
        "xref": "x",
        "yref": "y",
        "x": float(xs[0]) - dx / 2,
        "y": float(ys[-1]) + dy / 2,
        "sizex": dx * len(xs),
        "sizey": dy * len(ys),
        "sizing": "stretch",
        "xanchor": "left",
        "yanchor": "top",
        "layer": "below",
        "opacity": opacity,
        "name": PLANE_IMAGE,
    }


PLANE_IMAGE = "plane"  # the name of a heatmap drawn as an image (the browser draws it crisp)


# --- figures from plain dicts ---------------------------------------------------------------------
# Figures are built as plain dicts ({"data": [trace dicts], "layout": {...}}) and wrapped without
# Plotly's per-property validation, which costs ~1 ms per trace or layout update and ~90 ms per
# make_subplots call. The dicts hold exactly what the validated API produced (named colour
# scales are expanded, see `colorscale`): tests/playground/test_charts_validity.py checks that.
TEMPLATE = LEAN_WHITE.to_plotly_json()


def top_down(labels: list[str]) -> dict:
    """A category axis (y) that lists `labels` from the top down. An order of categories, not
    autorange="reversed": a chart first drawn empty keeps its axis's autorange as UI state
    (uirevision), and the reversal would be lost once the data came."""
    return {"type": "category", "categoryorder": "array", "categoryarray": list(labels)[::-1]}


def figure(data: list[dict], layout: dict) -> go.Figure:
    """A go.Figure over trace and layout dicts, skipping property validation."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


@functools.lru_cache(maxsize=16)
def _colorscale(name: str) -> tuple:
    scale = go.layout.Coloraxis(colorscale=name).to_plotly_json()["colorscale"]
    return tuple((float(pos), color) for pos, color in scale)


def colorscale(name: str) -> list[list]:
    """A named Plotly colour scale as the [[position, colour], ...] list validation gives."""
    return [list(stop) for stop in _colorscale(name)]


def axis_id(n: int) -> str:
    """Subplot n's axis suffix: '' for the first, then '2', '3', ..."""
    return "" if n == 1 else str(n)


def subplot_grid(
    rows: int,
    cols: int,
    *,
    horizontal_spacing: float = 0.2,
    vertical_spacing: float = 0.3,
    row_heights: list[float] | None = None,
    titles: list[str] | None = None,
    title_size: int = 16,
) -> dict:
    """Layout dict of a make_subplots grid (top-left start): per cell, numbered row by row,
    xaxis{n} / yaxis{n} anchored to each other with their domains, and one annotation per
    non-empty title centred above its cell. Same arithmetic as plotly.subplots.make_subplots:
    width = (1 - hs (cols - 1)) / cols, height_r = (1 - vs (rows - 1)) h_r / sum h."""
    widths = [(1.0 - horizontal_spacing * (cols - 1)) / cols] * cols
    if row_heights is None:
        heights = [(1.0 - vertical_spacing * (rows - 1)) / rows] * rows
    else:
        total = float(sum(row_heights))
        heights = [(1.0 - vertical_spacing * (rows - 1)) * (h / total) for h in row_heights]
        heights = heights[::-1]  # bottom row first, as the domains below count up from 0
    layout: dict = {}
    annotations = []
    titles = list(titles or [])
    for r in range(rows):
        up = rows - 1 - r  # rows below this one
        y0 = sum(heights[:up]) + up * vertical_spacing
        y_domain = [_clamp_unit(y0), _clamp_unit(y0 + heights[-1 - r])]
        for c in range(cols):
            x0 = sum(widths[:c]) + c * horizontal_spacing
            n = r * cols + c + 1
            x_domain = [x0, x0 + widths[c]]
            layout[f"xaxis{axis_id(n)}"] = {"anchor": f"y{axis_id(n)}", "domain": x_domain}
            layout[f"yaxis{axis_id(n)}"] = {"anchor": f"x{axis_id(n)}", "domain": y_domain}
            title = titles[n - 1] if n <= len(titles) else ""
            if title:
                annotations.append(
                    {
                        "y": y_domain[1],
                        "xref": "paper",
                        "x": sum(x_domain) / 2.0,
                        "yref": "paper",
                        "text": title,
                        "showarrow": False,
                        "font": {"size": title_size},
                        "xanchor": "center",
                        "yanchor": "bottom",
                    }
                )
    if annotations:
        layout["annotations"] = annotations
    return layout


def _clamp_unit(v: float) -> float:
    """make_subplots' rounding: domain ends a hair outside [0, 1] snap onto it."""
    return 0.0 if -0.01 < v < 0.0 else 1.0 if 1.0 < v < 1.01 else v


def on_axes(trace: dict, n: int) -> dict:
    """The trace placed on subplot n (as add_trace(row=, col=) does)."""
    trace["xaxis"] = f"x{axis_id(n)}"
    trace["yaxis"] = f"y{axis_id(n)}"
    return trace


def axes(layout: dict, letter: str) -> list[dict]:
    """All x or y axis dicts of a layout (what update_xaxes / update_yaxes would touch)."""
    prefix = f"{letter}axis"
    return [v for k, v in layout.items() if k == prefix or k.removeprefix(prefix).isdigit()]


def style(
    layout: dict | None = None,
    *,
    title: str | None = None,
    height: int = 320,
    uirevision: str = "chart",
    legend: bool = True,
    legend_side: bool = False,
    margin: dict | None = None,
) -> dict:
    """The shared layout defaults added to `layout` (in place, returned): lean white template,
    fixed height, small margins, uirevision (so zoom and legend clicks survive redraws),
    legend on top or at the right (legend_side)."""
    layout = {} if layout is None else layout
    top = 34 if title else 24
    layout["template"] = TEMPLATE
    layout["height"] = height
    layout["margin"] = margin or {"l": 50, "r": 12, "t": top, "b": 36}
    layout["uirevision"] = uirevision
    layout["showlegend"] = legend
    layout["legend"] = SIDE_LEGEND if legend_side else TOP_LEGEND
    if title:
        layout["title"] = {"text": title, "x": 0.01, "y": 0.98, "font": {"size": 14}}
    return layout


def empty_figure(
    message: str = "No data yet: press Play or Step to start training.",
    *,
    title: str | None = None,
    height: int = 320,
    uirevision: str = "chart",
) -> go.Figure:
    """A valid figure with a friendly centred note instead of data."""
    text = {
        "text": message,
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "showarrow": False,
        "font": {"size": 13, "color": MUTED},
    }
    layout = {"annotations": [text], "xaxis": {"visible": False}, "yaxis": {"visible": False}}
    style(layout, title=title, height=height, uirevision=uirevision, legend=False)
    return figure([], layout)


def note(layout: dict, text: str, *, y: float = -0.02) -> None:
    """A small grey footnote under the plot area (e.g. 'strongest 200 links drawn')."""
    layout.setdefault("annotations", []).append(
        {
            "text": text,
            "x": 0,
            "y": y,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "left",
            "yanchor": "top",
            "showarrow": False,
            "font": {"size": 10, "color": MUTED},
        }
    )


def layer_labels(names: list[str] | None, n: int) -> list[str]:
    """Given layer names or None, n display names ('layer 1', ...)."""
    names = list(names or [])
    return [names[i] if i < len(names) else f"layer {i + 1}" for i in range(n)]
