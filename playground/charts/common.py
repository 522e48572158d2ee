"""Shared pieces of every chart: colours, downsampling, a tiny PNG encoder, layout defaults.

Payload rules (each redraw resends the whole figure): numeric arrays go out as float32 numpy
arrays (plotly serialises them as base64, 4 bytes a number), curves are downsampled to
`MAX_POINTS`, and the template is a lean copy of plotly_white's 2D settings (the full
template alone is ~6.5 KB of JSON per figure).
"""

from __future__ import annotations

import base64
import math
import struct
import zlib

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go

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
    if how == "mean":
        bounds = np.linspace(0, n, max_points + 1).astype(int)
        x = np.array([steps[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
        y = np.array([_nanmean(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
        return x, y
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return steps[idx], values[idx]


def _nanmean(a: np.ndarray) -> float:
    ok = np.isfinite(a)
    return float(a[ok].mean()) if ok.any() else np.nan


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
def _png(width: int, height: int, color_type: int, rows: np.ndarray, extra: bytes = b"") -> bytes:
    """PNG file from uint8 scanlines (h, w * channels), filter 0, one IDAT."""
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (h, w) gray or (h, w, 3|4) uint8 image as PNG (zlib + struct, no PIL)."""
    img = np.asarray(rgb)
    if img.dtype != np.uint8:
        raise ValueError("png_bytes expects uint8 pixels")
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    return _png(w, h, {1: 0, 3: 2, 4: 6}[c], img.reshape(h, w * c))


def png_indexed(index: np.ndarray, palette: np.ndarray) -> bytes:
    """Encode (h, w) uint8 palette indices with a (k, 3) uint8 palette (k <= 256) as PNG.

    One byte a pixel compresses far better than RGB for smooth maps."""
    idx = np.asarray(index, dtype=np.uint8)
    pal = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    plte = pal.tobytes()
    body = b"PLTE" + plte
    chunk = struct.pack(">I", len(plte)) + body + struct.pack(">I", zlib.crc32(body))
    return _png(idx.shape[1], idx.shape[0], 3, idx, extra=chunk)


DIVERGING_LEVELS = 33


def diverging_index(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """uint8 indices into `diverging_palette()` for values on a symmetric scale (default
    max |v|): 0 = most negative (orange), DIVERGING_LEVELS // 2 = zero, top = most positive."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    s = float(np.max(np.abs(v))) if scale is None else float(scale)
    t = np.clip(v / s, -1.0, 1.0) if s > 0 else np.zeros_like(v)
    return np.round((t + 1) / 2 * (DIVERGING_LEVELS - 1)).astype(np.uint8)


def diverging_palette() -> np.ndarray:
    """(DIVERGING_LEVELS, 3) uint8 colours from orange through near-white to blue."""
    return diverging_rgb(np.linspace(-1.0, 1.0, DIVERGING_LEVELS))


def diverging_png_uri(values: np.ndarray, scale: float | None = None) -> str:
    """A map on the orange-white-blue scale as a compact palette PNG data URI."""
    return png_uri(png_indexed(diverging_index(values, scale), diverging_palette()))


def png_uri(data: bytes) -> str:
    """PNG bytes as a data: URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def png_data_uri(rgb: np.ndarray) -> str:
    """A data: URI for a layout image or go.Image source."""
    return png_uri(png_bytes(rgb))


# --- layout ---------------------------------------------------------------------------------------
def style(
    fig: go.Figure,
    *,
    title: str | None = None,
    height: int = 320,
    uirevision: str = "chart",
    legend: bool = True,
    legend_side: bool = False,
    margin: dict | None = None,
) -> go.Figure:
    """Apply the shared defaults: lean white template, fixed height, small margins, uirevision
    (so zoom and legend clicks survive redraws). Legend on top, or at the right (legend_side)."""
    top = 34 if title else 24
    fig.update_layout(
        template=LEAN_WHITE,
        height=height,
        margin=margin or {"l": 50, "r": 12, "t": top, "b": 36},
        uirevision=uirevision,
        showlegend=legend,
        legend=SIDE_LEGEND if legend_side else TOP_LEGEND,
    )
    if title:
        fig.update_layout(title={"text": title, "x": 0.01, "y": 0.98, "font": {"size": 14}})
    return fig


def empty_figure(
    message: str = "No data yet: press Play or Step to start training.",
    *,
    title: str | None = None,
    height: int = 320,
    uirevision: str = "chart",
) -> go.Figure:
    """A valid figure with a friendly centred note instead of data."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 13, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, title=title, height=height, uirevision=uirevision, legend=False)


def note(fig: go.Figure, text: str, *, y: float = -0.02) -> None:
    """A small grey footnote under the plot area (e.g. 'strongest 200 links drawn')."""
    fig.add_annotation(
        text=text,
        x=0,
        y=y,
        xref="paper",
        yref="paper",
        xanchor="left",
        yanchor="top",
        showarrow=False,
        font={"size": 10, "color": MUTED},
    )


def layer_labels(names: list[str] | None, n: int) -> list[str]:
    """Given layer names or None, n display names ('layer 1', ...)."""
    names = list(names or [])
    return [names[i] if i < len(names) else f"layer {i + 1}" for i in range(n)]
