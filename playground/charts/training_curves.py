"""Loss and accuracy over training steps, with the early-stopping story drawn on top: best step,
the patience window (shaded), where and why training stopped, and whether the best weights
were restored."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

from core.early_stopping import MONITOR_LABELS
from core.history import History, Series
from core.telemetry import DivergenceState, EarlyStoppingState
from playground.charts.common import (
    BEST,
    MUTED,
    NEGATIVE,
    POSITIVE,
    STOP,
    TEXT,
    axis_id,
    downsample,
    empty_figure,
    f32,
    figure,
    finite,
    on_axes,
    positive_or_nan,
    style,
    subplot_grid,
)

CURVES = (
    # series name, label, colour, row
    ("train_loss", "train loss", POSITIVE, 1),
    ("val_loss", MONITOR_LABELS["val_loss"], NEGATIVE, 1),
    ("train_accuracy", "train accuracy", POSITIVE, 2),
    ("val_accuracy", MONITOR_LABELS["val_accuracy"], NEGATIVE, 2),
)


def _xy(series: Series, how: str = "pick", log: bool = False):
    x, y = downsample(series.steps, series.values, how=how)
    return x, (positive_or_nan(y) if log else y)


def _vline(layout: dict, step: float, color: str, dash: str, name: str) -> None:
    layout.setdefault("shapes", []).append(
        {
            "type": "line",
            "x0": step,
            "x1": step,
            "y0": 0,
            "y1": 1,
            "xref": "x",
            "yref": "paper",
            "line": {"color": color, "width": 1.5, "dash": dash},
            "name": name,
        }
    )


def _vrect(layout: dict, x0: float, x1: float, rows: int, name: str) -> None:
    """A shaded step window over every subplot (one rect per row, as add_vrect draws it)."""
    layout.setdefault("shapes", []).extend(
        {
            "type": "rect",
            "x0": x0,
            "x1": x1,
            "y0": 0,
            "y1": 1,
            "xref": f"x{axis_id(n)}",
            "yref": f"y{axis_id(n)} domain",
            "fillcolor": "rgba(245,147,34,0.10)",
            "line": {"width": 0},
            "layer": "below",
            "name": name,
        }
        for n in range(1, rows + 1)
    )


def step_note(step: float, text: str, color: str, name: str, y: float) -> dict:
    """A small label at `step` on the x axis, `y` up the plot (paper units), right-aligned."""
    return {
        "x": step,
        "y": y,
        "xref": "x",
        "yref": "paper",
        "text": text,
        "showarrow": False,
        "xanchor": "right",
        "yanchor": "top",
        "align": "right",
        "font": {"size": 10, "color": color},
        "bgcolor": "rgba(255,255,255,0.8)",
        "name": name,
    }


def mark_shown_step(
    layout: dict, step: int | None, panels: int = 1, y: float = 0.5, label: bool = True
) -> None:
    """The step the time-travel slider shows: a dashed line on each of the first `panels`
    subplots (axes x/y, x2/y2, ...) and (`label`) "shown: step N" `y` up the figure."""
    if step is None:
        return
    layout.setdefault("shapes", []).extend(
        {
            "type": "line",
            "x0": step,
            "x1": step,
            "y0": 0,
            "y1": 1,
            "xref": f"x{axis_id(n)}",
            "yref": f"y{axis_id(n)} domain",
            "line": {"color": TEXT, "width": 1.5, "dash": "dash"},
            "name": "shown_step",
        }
        for n in range(1, panels + 1)
    )
    if label:
        _mark(layout, step, f"shown: step {step}", TEXT, "shown_step", y)


def _mark(layout: dict, step: float, text: str, color: str, name: str, y: float) -> None:
    layout.setdefault("annotations", []).append(step_note(step, text, color, name, y))


def _patience_end(history: History, es: EarlyStoppingState) -> int | None:
    """Step where the patience window ends: the stop, or the latest evaluation so far."""
    if es.stopped and es.stopped_step is not None:
        return es.stopped_step
    steps = history.run[es.monitor].steps
    return int(steps[-1]) if len(steps) else None


def _early_stopping_marks(
    layout: dict, history: History, es: EarlyStoppingState, rows: int
) -> None:
    if not es.enabled or es.best_step is None:
        return
    best = f"{es.best_value:.4g}" if finite(es.best_value) else "?"
    _vline(layout, es.best_step, BEST, "dash", "es_best")
    text = f"best {MONITOR_LABELS.get(es.monitor, es.monitor)} {best}<br>step {es.best_step}"
    _mark(layout, es.best_step, text, BEST, "es_best", 1)
    end = _patience_end(history, es)
    if end is not None and end > es.best_step:
        _vrect(layout, es.best_step, end, rows, "es_patience")
        waited = f"{es.evals_since_best}/{es.patience} evals without improvement"
        _mark(layout, end, waited, MUTED, "es_patience", 0.70 if es.stopped else 0.86)
    if es.stopped and es.stopped_step is not None:
        _vline(layout, es.stopped_step, STOP, "solid", "es_stop")
        reason = es.reason or "early stopping"
        restored = (
            f"best weights (step {es.best_step}) restored"
            if es.restored
            else "last weights kept (not restored)"
        )
        stopped = f"stopped at step {es.stopped_step}: {reason}"
        _mark(layout, es.stopped_step, stopped, STOP, "es_stop", 0.86)
        _mark(layout, es.stopped_step, restored, STOP, "es_restored", 0.78)


ROOM_ENDS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0)  # x 10^k
ROOM = 1.1  # the step axis reaches at least this far past the newest step


def room_end(step: float) -> float:
    """The first of 1, 1.5, 2, 3, 5, 7 (x 10^k) at or past ROOM x `step`: where a growing step
    axis ends. It moves about six times a decade of steps, not with every step, so that
    between its moves the live view redraws the curves without Plotly (liveview.js)."""
    want = max(ROOM * float(step), 1.0)
    decade = 10.0 ** np.floor(np.log10(want))
    return next(end * decade for end in ROOM_ENDS if end * decade >= want * (1 - 1e-9))


def loss_axis(log_y: bool) -> dict:
    """The loss axis: log, or linear from 0 (a loss is never below it, and a falling loss
    then stays inside the axis: the live view redraws it without Plotly, liveview.js)."""
    if log_y:
        return {"title": {"text": "loss"}, "type": "log"}
    return {"title": {"text": "loss"}, "type": "linear", "rangemode": "tozero"}


def leave_room(layout: dict, rows: int, series: Iterable[Series]) -> None:
    """The step axes of `rows` stacked subplots autorange over the data and the room_end of
    the newest step of `series`."""
    end = room_end(max(s.steps[-1] for s in series if len(s)))
    for n in range(1, rows + 1):
        layout[f"xaxis{axis_id(n)}"]["autorangeoptions"] = {"include": [end]}


def _line(x, y, line: dict, name: str, hover: str, row: int, **extra) -> dict:
    trace = {"type": "scatter", "x": f32(x), "y": f32(y), "mode": "lines", "line": line}
    return on_axes(trace | {"name": name, "hovertemplate": hover} | extra, row)


def loss_curves(
    history: History | None,
    early_stopping: EarlyStoppingState | None = None,
    divergence: DivergenceState | None = None,
    *,
    log_y: bool = False,
    show_batch: bool = True,
    show_accuracy: bool = True,
    height: int = 420,
    uirevision: str = "loss",
    marker_step: int | None = None,
    room: bool = False,
) -> go.Figure:
    """Train/test loss (top) and accuracy (bottom, when recorded) against step.

    Batch loss is drawn light under the evaluation curves as bucket means (<= 500 points).
    `marker_step`: the step the time-travel slider shows, marked by a dashed line.
    `room` (while training): the step axis reaches on to `room_end` of the newest step.
    """
    run = history.run if history is not None else {}
    names = ["batch_loss", "train_loss", "val_loss"]
    if history is None or not any(len(run[n]) for n in names):
        return empty_figure(title="Loss", height=height, uirevision=uirevision)
    has_acc = show_accuracy and any(len(run[n]) for n in ("train_accuracy", "val_accuracy"))
    rows = 2 if has_acc else 1
    layout = subplot_grid(
        rows, 1, vertical_spacing=0.06, row_heights=[0.65, 0.35] if has_acc else None
    )
    if has_acc:  # shared x: the top axis follows the bottom one and hides its tick labels
        layout["xaxis"] |= {"matches": "x2", "showticklabels": False}
    data = []
    if show_batch and len(run["batch_loss"]):
        x, y = _xy(run["batch_loss"], how="mean", log=log_y)
        line = {"color": "rgba(120,130,140,0.35)", "width": 1}
        hover = "step %{x:.0f}<br>batch loss %{y:.4g}"
        data.append(_line(x, y, line, "batch loss (mean)", hover, 1))
    for key, label, color, row in CURVES:
        if row > rows or not len(run[key]):
            continue
        x, y = _xy(run[key], log=log_y and row == 1)
        line = {"color": color, "width": 2, "dash": "solid" if "train" in key else "dot"}
        hover = "step %{x:.0f}<br>" + label + " %{y:.4g}<extra></extra>"
        data.append(_line(x, y, line, label, hover, row, legendgroup=key.split("_")[0]))
    layout["yaxis"] |= loss_axis(log_y)
    if has_acc:
        layout["yaxis2"] |= {"title": {"text": "accuracy"}, "range": [0, 1.02], "tickformat": ".0%"}
    layout[f"xaxis{axis_id(rows)}"]["title"] = {"text": "step"}
    if room:
        leave_room(layout, rows, (run[n] for n in names))
    if early_stopping is not None:
        _early_stopping_marks(layout, history, early_stopping, rows)
    if divergence is not None and divergence.diverged and divergence.step is not None:
        _vline(layout, divergence.step, STOP, "dot", "diverged")
        text = f"diverged at step {divergence.step}: {divergence.reason}"
        _mark(layout, divergence.step, text, STOP, "diverged", 0.62)
    mark_shown_step(layout, marker_step, rows)
    return figure(data, style(layout, height=height, uirevision=uirevision))
