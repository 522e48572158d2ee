"""Distributions per layer: activations now (small multiples, with % saturated and % dead in
each title) and weights over time (per layer a heatmap: time on x, weight value on y)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.history import History
from core.telemetry import Histogram, LayerHistograms, LayerStats
from playground.charts.common import (
    empty_figure,
    f32,
    finite,
    layer_labels,
    sequential_colors,
    style,
)

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


def _subplots(titles: list[str], cols: int, **kw) -> tuple[go.Figure, int, int]:
    rows, cols = _grid(len(titles), cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.06,
        vertical_spacing=min(0.5 / rows, 0.16),
        **kw,
    )
    fig.update_annotations(font={"size": 11})
    return fig, rows, cols


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
    fig, rows, ncols = _subplots(titles, cols)
    colors = sequential_colors(len(histograms))
    for i, lh in enumerate(histograms):
        h: Histogram = lh.activations
        edges = np.asarray(h.edges, dtype=np.float64)
        counts = np.asarray(h.counts, dtype=np.float64)
        total = counts.sum()
        share = counts / total if total > 0 else counts
        fig.add_trace(
            go.Bar(
                x=f32((edges[:-1] + edges[1:]) / 2),
                y=f32(share),
                width=f32(np.diff(edges)),
                marker={"color": colors[i], "line": {"width": 0}},
                name=names[i],
                hovertemplate="output %{x:.3g}<br>%{y:.1%} of outputs<extra></extra>",
            ),
            row=i // ncols + 1,
            col=i % ncols + 1,
        )
    fig.update_yaxes(tickformat=".0%", nticks=3)
    fig.update_xaxes(nticks=5)
    return style(
        fig,
        height=ROW_HEIGHT * rows + 40,
        uirevision=uirevision,
        legend=False,
        margin={"l": 40, "r": 10, "t": 30, "b": 24},
    )


def _rebin(h: Histogram, edges: np.ndarray) -> np.ndarray:
    """Move counts onto shared bin edges (each old bin's count goes to its centre's new bin)."""
    e = np.asarray(h.edges, dtype=np.float64)
    c = np.asarray(h.counts, dtype=np.float64)
    counts, _ = np.histogram((e[:-1] + e[1:]) / 2, bins=edges, weights=c)
    total = counts.sum()
    return counts / total if total > 0 else counts


def _shared_edges(hists: list[Histogram], bins: int) -> np.ndarray:
    lo = min(float(np.min(h.edges)) for h in hists)
    hi = max(float(np.max(h.edges)) for h in hists)
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
) -> go.Figure:
    """Per layer: share of weights per value bin (y) at each histogram step (x), as a heatmap.

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
    fig, rows, ncols = _subplots([f"{n}: weights" for n in names], cols)
    n_cols = max(8, min(len(snaps), MAX_CELLS // max(1, n_layers * bins)))
    pick = np.unique(np.linspace(0, len(snaps) - 1, n_cols).round().astype(int))
    steps = np.asarray(snaps.steps)[pick]
    for i in range(n_layers):
        hists = [snaps.items[k][i].weights for k in pick if i < len(snaps.items[k])]
        if len(hists) != len(pick):
            continue
        edges = _shared_edges(hists, bins)
        z = np.stack([_rebin(h, edges) for h in hists], axis=1)
        fig.add_trace(
            go.Heatmap(
                x=f32(steps),
                y=f32((edges[:-1] + edges[1:]) / 2),
                z=np.round(255 * np.sqrt(z)).astype(np.uint8),  # 1 byte a cell
                coloraxis="coloraxis",
                name=names[i],
                hovertemplate="step %{x:.0f}<br>w ≈ %{y:.3g}<extra></extra>",
            ),
            row=i // ncols + 1,
            col=i % ncols + 1,
        )
    fig.update_layout(
        coloraxis={"colorscale": "Blues", "showscale": False, "cmin": 0, "cmax": 255},
    )
    fig.update_yaxes(nticks=4)
    fig.update_xaxes(nticks=4)
    return style(
        fig,
        height=ROW_HEIGHT * rows + 40,
        uirevision=uirevision,
        legend=False,
        margin={"l": 44, "r": 10, "t": 30, "b": 24},
    )
