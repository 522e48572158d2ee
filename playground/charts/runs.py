"""Runs side by side (issue 11): the curves of every run overlaid on one chart, one colour per
run (`RUN_COLORS`, the page's one palette for runs "A".."D"), each run a legend group named
after it. Train lines are solid, test lines dotted; a run that stopped is marked where it
stopped, and the step the time-travel slider shows is marked on every chart (`marker_step`).

The maps and diagrams sit side by side instead: the panels call the single-run builders once
per run (same axes and colour scale: the runs share the data's plane)."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from core.early_stopping import MONITOR_LABELS
from core.history import History
from playground.charts.common import (
    MUTED,
    axis_id,
    downsample,
    empty_figure,
    f32,
    figure,
    layer_labels,
    on_axes,
    positive_or_nan,
    style,
    subplot_grid,
)
from playground.charts.gradients import HEALTHY_UPDATE_RATIO
from playground.charts.training_curves import leave_room, loss_axis, mark_shown_step, step_note

LOSS_KEYS = ("train_loss", "val_loss")  # the series that make a run's loss curves
RUN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")  # A, B, C, D: blue, red, green, purple
RUN_COLOR_NAMES = ("blue", "red", "green", "violet")  # the same, as Streamlit's Markdown names
LAYER_DASHES = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot")  # first layer solid


def _index(name: str) -> int:
    return (ord(name[:1] or "A") - ord("A")) % len(RUN_COLORS)


def run_color(name: str) -> str:
    """The colour of run `name` ("A".."D") on every chart of the page."""
    return RUN_COLORS[_index(name)]


def run_color_name(name: str) -> str:
    """Run `name`'s colour for Streamlit Markdown (`:blue[A]`), matching `run_color`."""
    return RUN_COLOR_NAMES[_index(name)]


@dataclass(frozen=True)
class RunCurves:
    """What the overlaid charts need of one run: its name, history, layer names and, if it
    stopped, where and why."""

    name: str
    history: History
    layer_names: list[str] | None = None
    stopped_step: int | None = None
    stop_reason: str = ""


def _vline(step: float, color: str, dash: str, name: str, rows: int = 1) -> list[dict]:
    return [
        {
            "type": "line",
            "x0": step,
            "x1": step,
            "y0": 0,
            "y1": 1,
            "xref": f"x{axis_id(n)}",
            "yref": f"y{axis_id(n)} domain",
            "line": {"color": color, "width": 1.5, "dash": dash},
            "name": name,
        }
        for n in range(1, rows + 1)
    ]


def _marks(layout: dict, runs: list[RunCurves], marker_step: int | None, rows: int) -> None:
    """A stopped run's stop (dotted, in its colour) and the step shown (dashed, dark)."""
    shapes, notes = layout.setdefault("shapes", []), layout.setdefault("annotations", [])
    for i, run in enumerate(runs):
        if run.stopped_step is not None:
            color, at = run_color(run.name), run.stopped_step
            shapes += _vline(at, color, "dot", f"stop_{run.name}", rows)
            text = f"{run.name} stopped at step {at}"
            notes.append(step_note(at, text, color, "stop", 0.98 - 0.08 * i))
    mark_shown_step(layout, marker_step, rows, y=0.6)


def _group(name: str) -> dict:
    return {"legendgroup": name, "legendgrouptitle": {"text": name}}


def run_curves(
    runs: list[RunCurves],
    *,
    log_y: bool = False,
    show_accuracy: bool = True,
    marker_step: int | None = None,
    height: int = 420,
    uirevision: str = "loss",
    room: bool = False,
) -> go.Figure:
    """Train (solid) and test (dotted) loss, and accuracy below when recorded, of every run
    against step: one colour per run, one legend group per run named after it. `room` (while
    training): the step axis reaches on to `room_end` of the newest step."""
    has = [r for r in runs if any(len(r.history.run[k]) for k in LOSS_KEYS)]
    if not has:
        return empty_figure(title="Loss", height=height, uirevision=uirevision)
    has_acc = show_accuracy and any(
        len(r.history.run[k]) for r in runs for k in ("train_accuracy", "val_accuracy")
    )
    rows = 2 if has_acc else 1
    layout = subplot_grid(
        rows, 1, vertical_spacing=0.06, row_heights=[0.65, 0.35] if has_acc else None
    )
    if has_acc:
        layout["xaxis"] |= {"matches": "x2", "showticklabels": False}
    data = []
    curves = (
        ("train_loss", "train loss", 1),
        ("val_loss", MONITOR_LABELS["val_loss"], 1),
        ("train_accuracy", "train accuracy", 2),
        ("val_accuracy", MONITOR_LABELS["val_accuracy"], 2),
    )
    for run in runs:
        color = run_color(run.name)
        for key, label, row in curves:
            series = run.history.run[key]
            if row > rows or not len(series):
                continue
            x, y = downsample(series.steps, series.values)
            if log_y and row == 1:
                y = positive_or_nan(y)
            line = {"color": color, "width": 2, "dash": "solid" if "train" in key else "dot"}
            hover = f"{run.name} {label}<br>step %{{x:.0f}}: %{{y:.4g}}<extra></extra>"
            trace = {"type": "scatter", "x": f32(x), "y": f32(y), "mode": "lines", "line": line}
            trace |= {"name": f"{run.name} {label}", "hovertemplate": hover} | _group(run.name)
            trace["showlegend"] = row == 1
            data.append(on_axes(trace, row))
    layout["yaxis"] |= loss_axis(log_y)
    if has_acc:
        layout["yaxis2"] |= {"title": {"text": "accuracy"}, "range": [0, 1.02], "tickformat": ".0%"}
    layout[f"xaxis{axis_id(rows)}"]["title"] = {"text": "step"}
    if room:
        leave_room(layout, rows, (r.history.run[k] for r in has for k in LOSS_KEYS))
    _marks(layout, runs, marker_step, rows)
    return figure(data, style(layout, height=height, uirevision=uirevision, legend_side=True))


def run_layer_lines(
    runs: list[RunCurves],
    metric: str = "grad_norm",
    *,
    marker_step: int | None = None,
    height: int = 360,
    uirevision: str | None = None,
) -> go.Figure:
    """One line per run and layer on a log axis: the run's colour, the layer's dash (first
    layer solid). metric "grad_norm" (gradient norm) or "update_ratio" (||ΔW|| / ||W||, with
    the 1e-3 rule of thumb dashed)."""
    ytitle = "gradient norm" if metric == "grad_norm" else "update / weight"
    rev = uirevision or metric
    data, steps = [], []
    for run in runs:
        series = run.history.layers[metric]
        labels = layer_labels(run.layer_names, len(series))
        per_line = max(60, 1200 // max(1, len(series) * len(runs)))
        for i, (label, s) in enumerate(zip(labels, series, strict=True)):
            if not len(s):
                continue
            x, y = downsample(s.steps, s.values, per_line)
            steps += [float(x[0]), float(x[-1])]
            line = {"color": run_color(run.name), "width": 1.8}
            line["dash"] = LAYER_DASHES[i % len(LAYER_DASHES)]
            hover = f"{run.name} {label}<br>step %{{x:.0f}}<br>{ytitle} %{{y:.3g}}<extra></extra>"
            trace = {"type": "scatter", "x": f32(x), "y": f32(positive_or_nan(y))}
            trace |= {"mode": "lines", "line": line, "name": f"{run.name} {label}"}
            data.append(trace | {"hovertemplate": hover} | _group(run.name))
    if not data:
        return empty_figure(height=height, uirevision=rev)
    layout = {
        "yaxis": {"type": "log", "title": {"text": ytitle}, "exponentformat": "power"},
        "xaxis": {"title": {"text": "step"}},
    }
    if metric == "update_ratio":
        data.append(
            {
                "type": "scatter",
                "x": [min(steps), max(steps)],
                "y": [HEALTHY_UPDATE_RATIO, HEALTHY_UPDATE_RATIO],
                "mode": "lines",
                "line": {"color": MUTED, "dash": "dash", "width": 1.5},
                "name": "1e-3 reference",
                "hoverinfo": "skip",
            }
        )
    _marks(layout, runs, marker_step, 1)
    return figure(data, style(layout, height=height, uirevision=rev, legend_side=True))
