"""Per-layer training signals over time: gradient norms (lines and a layers-by-time heatmap of
log10 ||g||, the vanishing-gradient view) and the update-to-weight ratio ||dW|| / ||W||.

A log axis cannot show 0, yet an exact 0 is news (no gradient reaches the layer: its units are
dead, or nothing upstream of it fires). The line charts draw exact zeros as markers on a floor a
decade below the smallest positive value, labelled "0"."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.history import History
from playground.charts.common import (
    MUTED,
    colorscale,
    downsample,
    empty_figure,
    f32,
    figure,
    layer_labels,
    positive_or_nan,
    sequential_colors,
    style,
    top_down,
)
from playground.charts.training_curves import mark_shown_step

HEALTHY_UPDATE_RATIO = 1e-3
MAX_COLUMNS = 200
POINTS_PER_FIGURE = 2400  # shared by all layer lines: deep nets get fewer points a line
ZERO_BELOW = 10.0  # exact zeros sit this factor below the smallest positive value drawn
ZERO_FLOOR = 1e-8  # where they sit when no value is positive


def _has_data(history: History | None, metric: str) -> bool:
    return history is not None and any(len(s) for s in history.layers[metric])


def _layer_lines(
    history: History,
    metric: str,
    names: list[str] | None,
    ytitle: str,
    height: int,
    rev: str,
    also: tuple[float, ...] = (),
) -> tuple[list[dict], dict]:
    """One line per layer on a log y axis, coloured dark (first layer) to bright (last):
    the trace dicts and the layout dict (`also`: values the y range must show besides the
    data, where it is set)."""
    series = history.layers[metric]
    labels = layer_labels(names, len(series))
    colors = sequential_colors(len(series))
    data, zeros = [], []
    per_line = max(100, min(500, POINTS_PER_FIGURE // max(1, len(series))))
    extent = _positive_extent(series)
    floor = ZERO_FLOOR if extent is None else extent[0] / ZERO_BELOW
    for label, color, s in zip(labels, colors, series, strict=True):
        if not len(s):
            continue
        x, y = downsample(s.steps, s.values, per_line)
        if (y == 0).any():
            zeros.append(_zero_markers(label, color, x[y == 0], floor, ytitle))
        data.append(
            {
                "type": "scatter",
                "x": f32(x),
                "y": f32(positive_or_nan(y)),
                "mode": "lines",
                "line": {"color": color, "width": 1.8},
                "name": label,
                "hovertemplate": "step %{x:.0f}<br>" + ytitle + " %{y:.3g}",
            }
        )
    layout = {
        "yaxis": {"type": "log", "title": {"text": ytitle}, "exponentformat": "power"},
        "xaxis": {"title": {"text": "step"}},
    }
    if zeros:
        layout["annotations"] = [_zero_label(floor)]
        top = max((extent[1] if extent else floor, *also))
        layout["yaxis"]["range"] = _zero_floor_range(floor, top)
    return data + zeros, style(layout, height=height, uirevision=rev, legend_side=True)


def _zero_floor_range(floor: float, top: float) -> list[float]:
    """A log y range (log10 units) from half a decade below the zeros' floor to a little above
    `top` (the largest value, or a reference line above it), at least two decades tall:
    autorange around markers that all sit on the floor gives a sliver of an axis whose tick
    labels read 994e-8, 996e-8, ... and hide the "0"."""
    low = float(np.log10(floor))
    return [low - 0.5, max(low + 2.0, float(np.log10(top)) + 0.3)]


def _positive_extent(series) -> tuple[float, float] | None:
    """(smallest, largest) positive finite value of any series; None if there is none. Exact
    zeros are drawn ZERO_BELOW times below the smallest (at ZERO_FLOOR if there is none)."""
    positive = [v[np.isfinite(v) & (v > 0)] for v in (s.values for s in series if len(s))]
    positive = [v for v in positive if len(v)]
    if not positive:
        return None
    return min(float(v.min()) for v in positive), max(float(v.max()) for v in positive)


def _zero_markers(label: str, color: str, x: np.ndarray, floor: float, ytitle: str) -> dict:
    """A layer's exact zeros as markers on the floor (hover: the value is exactly 0)."""
    return {
        "type": "scatter",
        "x": f32(x),
        "y": f32(np.full(len(x), floor)),
        "mode": "markers",
        "marker": {"color": color, "symbol": "x-thin-open", "size": 8, "line": {"width": 2}},
        "name": f"{label}: 0",
        "showlegend": False,
        "hovertemplate": f"step %{{x:.0f}}<br>{label}: {ytitle} = 0 exactly<extra></extra>",
    }


def _zero_label(floor: float) -> dict:
    """The floor's label "0", just inside the plot above the markers, clear of the axis's tick
    labels (annotation y on a log axis is log10)."""
    return {
        "xref": "paper",
        "x": 0.005,
        "xanchor": "left",
        "yanchor": "bottom",
        "yshift": 4,
        "y": float(np.log10(floor)),
        "text": "0",
        "showarrow": False,
        "bgcolor": "rgba(255,255,255,0.8)",
        "font": {"size": 12, "color": MUTED},
    }


def gradient_norms(
    history: History | None,
    layer_names: list[str] | None = None,
    *,
    metric: str = "grad_norm",
    height: int = 340,
    uirevision: str = "gradients",
    marker_step: int | None = None,
) -> go.Figure:
    """||dL/dW|| per layer over time (log y). Lines far apart = gradients vanish or explode.
    `marker_step`: the step the time-travel slider shows, marked by a dashed line."""
    if not _has_data(history, metric):
        return empty_figure(height=height, uirevision=uirevision)
    data, layout = _layer_lines(history, metric, layer_names, "gradient norm", height, uirevision)
    mark_shown_step(layout, marker_step)
    return figure(data, layout)


def gradient_heatmap(
    history: History | None,
    layer_names: list[str] | None = None,
    *,
    metric: str = "grad_norm",
    max_columns: int = MAX_COLUMNS,
    height: int = 300,
    uirevision: str = "gradient_heatmap",
    marker_step: int | None = None,
) -> go.Figure:
    """Layers (rows, first on top) by time (columns): colour = log10 of the gradient norm;
    `marker_step` dashed.

    Each layer's log10 values are interpolated onto one shared step grid of <= max_columns.
    """
    if not _has_data(history, metric):
        return empty_figure(height=height, uirevision=uirevision)
    series = history.layers[metric]
    labels = layer_labels(layer_names, len(series))
    all_steps = np.concatenate([s.steps for s in series if len(s)])
    lo, hi = int(all_steps.min()), int(all_steps.max())
    grid = np.unique(np.linspace(lo, hi, min(max_columns, len(np.unique(all_steps)))).round())
    z = np.full((len(series), len(grid)), np.nan)
    zero = np.zeros(z.shape, dtype=bool)
    for i, s in enumerate(series):
        if not len(s):
            continue
        zero[i] = _nearest(s.steps, s.values, grid) == 0
        logv = np.log10(positive_or_nan(s.values))
        ok = np.isfinite(logv)
        if ok.sum() == 0:
            continue
        st = s.steps[ok]
        row = np.interp(grid, st, logv[ok])
        row[(grid < st[0]) | (grid > st[-1]) | zero[i]] = np.nan
        z[i] = row
    heatmap = {
        "type": "heatmap",
        "x": f32(grid),
        "y": labels,
        "z": f32(z),
        "colorscale": colorscale("Viridis"),
        "colorbar": {"title": {"text": "log10 ‖g‖"}, "thickness": 10},
        "hovertemplate": "%{y}<br>step %{x:.0f}<br>log10 ‖g‖ = %{z:.2f}<extra></extra>",
        "name": "log10 gradient norm",
    }
    layout = {
        "yaxis": top_down(labels),
        "xaxis": {"title": {"text": "step"}},
    }
    data = [heatmap]
    if zero.any():
        data.append(_zero_cells(grid, labels, zero))
        layout["annotations"] = [ZERO_CELLS_NOTE]
    mark_shown_step(layout, marker_step)
    return figure(data, style(layout, height=height, uirevision=uirevision, legend=False))


ZERO_CELL_COLOR = "#000000"  # darker than the colour scale's darkest: no gradient at all
ZERO_CELLS_NOTE = {
    "xref": "paper",
    "yref": "paper",
    "x": 1,
    "y": 1,
    "xanchor": "right",
    "yanchor": "bottom",
    "text": "black: exactly 0",
    "showarrow": False,
    "font": {"size": 11, "color": MUTED},
}


def _nearest(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The recorded value nearest in step to each grid column (NaN outside the record)."""
    right = np.clip(np.searchsorted(steps, grid), 0, len(steps) - 1)
    left = np.clip(right - 1, 0, None)
    index = np.where(np.abs(grid - steps[left]) <= np.abs(steps[right] - grid), left, right)
    out = np.asarray(values, dtype=np.float64)[index]
    out[(grid < steps[0]) | (grid > steps[-1])] = np.nan
    return out


def _zero_cells(grid: np.ndarray, labels: list[str], zero: np.ndarray) -> dict:
    """The cells where the layer's gradient norm was exactly 0, in black over the heatmap (log10
    of 0 has no colour on its scale, and a dead layer's row would otherwise be blank)."""
    return {
        "type": "heatmap",
        "x": f32(grid),
        "y": labels,
        "z": f32(np.where(zero, 0.0, np.nan)),
        "colorscale": [[0, ZERO_CELL_COLOR], [1, ZERO_CELL_COLOR]],
        "showscale": False,
        "hovertemplate": "%{y}<br>step %{x:.0f}<br>‖g‖ = 0 exactly<extra></extra>",
        "name": "exactly 0",
    }


def update_ratios(
    history: History | None,
    layer_names: list[str] | None = None,
    *,
    height: int = 340,
    uirevision: str = "update_ratio",
    marker_step: int | None = None,
) -> go.Figure:
    """||ΔW|| / ||W|| per layer (log y) with the rule-of-thumb reference 1e-3; `marker_step`
    dashed."""
    if not _has_data(history, "update_ratio"):
        return empty_figure(height=height, uirevision=uirevision)
    data, layout = _layer_lines(
        history,
        "update_ratio",
        layer_names,
        "update / weight",
        height,
        uirevision,
        also=(HEALTHY_UPDATE_RATIO,),
    )
    steps = np.concatenate([s.steps for s in history.layers["update_ratio"] if len(s)])
    x0, x1 = float(steps.min()), float(steps.max())
    data.append(
        {
            "type": "scatter",
            "x": [x0, x1],
            "y": [HEALTHY_UPDATE_RATIO, HEALTHY_UPDATE_RATIO],
            "mode": "lines",
            "line": {"color": MUTED, "dash": "dash", "width": 1.5},
            "name": "1e-3 reference",
            "hoverinfo": "skip",
        }
    )
    layout["annotations"] = layout.get("annotations", []) + [  # y: log10 on a log axis
        {
            "x": x0,
            "y": float(np.log10(HEALTHY_UPDATE_RATIO)),
            "xanchor": "left",
            "yanchor": "bottom",
            "text": "1e-3: typical healthy ratio",
            "showarrow": False,
            "font": {"size": 10, "color": MUTED},
        }
    ]
    mark_shown_step(layout, marker_step)
    return figure(data, layout)
