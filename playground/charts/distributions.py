"""Distributions per layer: activations now (small multiples, with % saturated and % dead in
each title) and weights over time (per layer a heatmap: time on x, weight value on y)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.history import History
from core.telemetry import Histogram, LayerHistograms, LayerStats
from playground.charts.common import (
    axes,
    colorscale,
    empty_figure,
    f32,
    figure,
    finite,
    layer_labels,
    on_axes,
    sequential_colors,
    style,
    subplot_grid,
)
from playground.charts.training_curves import mark_shown_step

ROW_HEIGHT = 165
WEIGHT_BINS = 30
MAX_CELLS = 24_000  # heatmap cells over all layers of the weights-over-time chart


def _percent(x: float | None) -> str:
    return f"{100 * x:.0f}%" if finite(x) else "n/a"


def activation_title(stats: LayerStats | None, fallback: str) -> str:
    """'hidden 1 (tanh) · saturated 12% · dead n/a'."""
    if stats is None:
        return fallback
    return (
        f"{stats.name} ({stats.activation}) · saturated {_percent(stats.saturated_frac)}"
        f" · dead {_percent(stats.dead_frac)}"
    )


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return -(-n // cols), cols


def _subplots(titles: list[str], cols: int) -> tuple[dict, int, int]:
    """Layout of a grid of small multiples with 11 px titles: (layout, rows, cols)."""
    rows, cols = _grid(len(titles), cols)
    layout = subplot_grid(
        rows,
        cols,
        titles=titles,
        horizontal_spacing=0.06,
        vertical_spacing=min(0.5 / rows, 0.16),
        title_size=11,
    )
    return layout, rows, cols


def _tick_counts(layout: dict, x: int, y: int) -> None:
    """nticks on every x and y axis of the grid (empty cells included)."""
    for ax in axes(layout, "x"):
        ax["nticks"] = x
    for ax in axes(layout, "y"):
        ax["nticks"] = y


def activation_distributions(
    histograms: list[LayerHistograms] | None,
    layers: list[LayerStats] | None = None,
    *,
    cols: int = 3,
    uirevision: str = "activations",
) -> go.Figure:
    """Latest activation histogram of each layer (share of outputs per bin)."""
    if not histograms:
        return empty_figure(
            "No histograms yet: they are taken every few steps once training runs.",
            height=ROW_HEIGHT + 60,
            uirevision=uirevision,
        )
    stats = list(layers or [])
    names = layer_labels([s.name for s in stats], len(histograms))
    titles = [
        activation_title(stats[i] if i < len(stats) else None, names[i])
        for i in range(len(histograms))
    ]
    layout, rows, ncols = _subplots(titles, cols)
    colors = sequential_colors(len(histograms))
    data = []
    for i, lh in enumerate(histograms):
        h: Histogram = lh.activations
        edges = np.asarray(h.edges, dtype=np.float64)
        counts = np.asarray(h.counts, dtype=np.float64)
        total = counts.sum()
        share = counts / total if total > 0 else counts
        bars = {
            "type": "bar",
            "x": f32((edges[:-1] + edges[1:]) / 2),
            "y": f32(share),
            "width": f32(np.diff(edges)),
            "marker": {"color": colors[i], "line": {"width": 0}},
            "name": names[i],
            "hovertemplate": "output %{x:.3g}<br>%{y:.1%} of outputs<extra></extra>",
        }
        data.append(on_axes(bars, i + 1))
    for ax in axes(layout, "y"):
        ax["tickformat"] = ".0%"
    _tick_counts(layout, x=5, y=3)
    style(
        layout,
        height=ROW_HEIGHT * rows + 40,
        uirevision=uirevision,
        legend=False,
        margin={"l": 40, "r": 10, "t": 30, "b": 24},
    )
    return figure(data, layout)


def _shares_on_shared_bins(hists: list[Histogram], bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Shared edges (`bins` equal bins over all the histograms' edges) and z (bins, len(hists)):
    per histogram, each old bin's count moved to the shared bin holding its centre (bins are
    [e_j, e_j+1), the last one closed; centres outside are dropped), divided by the column
    total when that is positive. One segment sum for all histograms."""
    sizes = {len(h.counts) for h in hists}
    if len(sizes) == 1:  # the usual case: same bin count everywhere, one (k, n + 1) array
        old = np.array([h.edges for h in hists], dtype=np.float64)
        centres = ((old[:, :-1] + old[:, 1:]) / 2).ravel()
        counts = np.array([h.counts for h in hists], dtype=np.float64).ravel()
        column = np.repeat(np.arange(len(hists)), sizes.pop())
    else:
        edge_list = [np.asarray(h.edges, dtype=np.float64) for h in hists]
        old = np.concatenate(edge_list)
        centres = np.concatenate([(e[:-1] + e[1:]) / 2 for e in edge_list])
        counts = np.concatenate([np.asarray(h.counts, dtype=np.float64) for h in hists])
        column = np.repeat(np.arange(len(hists)), [len(e) - 1 for e in edge_list])
    edges = _shared_edges(float(old.min()), float(old.max()), bins)
    idx = np.searchsorted(edges, centres, side="right") - 1
    idx[centres == edges[-1]] = bins - 1
    ok = (idx >= 0) & (idx < bins)
    cells = column[ok] * bins + idx[ok]
    z = np.bincount(cells, weights=counts[ok], minlength=len(hists) * bins)
    z = z.reshape(len(hists), bins).T
    total = z.sum(axis=0)
    return edges, np.divide(z, total, out=z, where=total > 0)


def _shared_edges(lo: float, hi: float, bins: int) -> np.ndarray:
    if not np.isfinite([lo, hi]).all() or hi <= lo:
        lo, hi = (lo - 0.5, lo + 0.5) if np.isfinite(lo) else (-1.0, 1.0)
    return np.linspace(lo, hi, bins + 1)


def weight_distributions(
    history: History | None,
    layer_names: list[str] | None = None,
    *,
    cols: int = 3,
    bins: int = WEIGHT_BINS,
    uirevision: str = "weights",
    marker_step: int | None = None,
) -> go.Figure:
    """Per layer: share of weights per value bin (y) at each histogram step (x), as a heatmap;
    `marker_step` (the step the time-travel slider shows) dashed on every layer's panel.

    Colour = round(255 * sqrt(share)) (uint8; sqrt lifts the thin tails into view)."""
    snaps = history.histograms if history is not None else None
    if snaps is None or not len(snaps):
        return empty_figure(
            "No weight histograms yet: they are taken every few steps once training runs.",
            height=ROW_HEIGHT + 60,
            uirevision=uirevision,
        )
    n_layers = len(snaps.items[-1])
    names = layer_labels(layer_names, n_layers)
    layout, rows, ncols = _subplots([f"{n}: weights" for n in names], cols)
    n_cols = max(8, min(len(snaps), MAX_CELLS // max(1, n_layers * bins)))
    pick = np.unique(np.linspace(0, len(snaps) - 1, n_cols).round().astype(int))
    steps = np.asarray(snaps.steps)[pick]
    data = []
    for i in range(n_layers):
        hists = [snaps.items[k][i].weights for k in pick if i < len(snaps.items[k])]
        if len(hists) != len(pick):
            continue
        edges, z = _shares_on_shared_bins(hists, bins)
        heatmap = {
            "type": "heatmap",
            "x": f32(steps),
            "y": f32((edges[:-1] + edges[1:]) / 2),
            "z": np.round(255 * np.sqrt(z)).astype(np.uint8),  # 1 byte a cell
            "coloraxis": "coloraxis",
            "name": names[i],
            "hovertemplate": "step %{x:.0f}<br>w ≈ %{y:.3g}<extra></extra>",
        }
        data.append(on_axes(heatmap, i + 1))
    layout["coloraxis"] = {
        "colorscale": colorscale("Blues"),
        "showscale": False,
        "cmin": 0,
        "cmax": 255,
    }
    _tick_counts(layout, x=4, y=4)
    mark_shown_step(layout, marker_step, panels=n_layers, label=False)
    style(
        layout,
        height=ROW_HEIGHT * rows + 40,
        uirevision=uirevision,
        legend=False,
        margin={"l": 44, "r": 10, "t": 30, "b": 24},
    )
    return figure(data, layout)
