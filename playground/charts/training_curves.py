"""Loss and accuracy over training steps, with the early-stopping story drawn on top: best step,
the patience window (shaded), where and why training stopped, and whether the best weights
were restored."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.history import History, Series
from core.telemetry import DivergenceState, EarlyStoppingState
from playground.charts.common import (
    BEST,
    MUTED,
    NEGATIVE,
    POSITIVE,
    STOP,
    downsample,
    empty_figure,
    f32,
    finite,
    positive_or_nan,
    style,
)

CURVES = (
    # series name, label, colour, row
    ("train_loss", "train loss", POSITIVE, 1),
    ("val_loss", "validation loss", NEGATIVE, 1),
    ("train_accuracy", "train accuracy", POSITIVE, 2),
    ("val_accuracy", "validation accuracy", NEGATIVE, 2),
)


def _xy(series: Series, how: str = "pick", log: bool = False):
    x, y = downsample(series.steps, series.values, how=how)
    return x, (positive_or_nan(y) if log else y)


def _vline(fig: go.Figure, step: float, color: str, dash: str, name: str) -> None:
    fig.add_shape(
        type="line",
        x0=step,
        x1=step,
        y0=0,
        y1=1,
        xref="x",
        yref="paper",
        line={"color": color, "width": 1.5, "dash": dash},
        name=name,
    )


def _mark(fig: go.Figure, step: float, text: str, color: str, name: str, y: float) -> None:
    fig.add_annotation(
        x=step,
        y=y,
        xref="x",
        yref="paper",
        text=text,
        showarrow=False,
        xanchor="right",
        yanchor="top",
        align="right",
        font={"size": 10, "color": color},
        bgcolor="rgba(255,255,255,0.8)",
        name=name,
    )


def _patience_end(history: History, es: EarlyStoppingState) -> int | None:
    """Step where the patience window ends: the stop, or the latest evaluation so far."""
    if es.stopped and es.stopped_step is not None:
        return es.stopped_step
    steps = history.run[es.monitor].steps
    return int(steps[-1]) if len(steps) else None


def _early_stopping_marks(fig: go.Figure, history: History, es: EarlyStoppingState) -> None:
    if not es.enabled or es.best_step is None:
        return
    best = f"{es.best_value:.4g}" if finite(es.best_value) else "?"
    _vline(fig, es.best_step, BEST, "dash", "es_best")
    _mark(fig, es.best_step, f"best {es.monitor} {best}<br>step {es.best_step}", BEST, "es_best", 1)
    end = _patience_end(history, es)
    if end is not None and end > es.best_step:
        fig.add_vrect(
            x0=es.best_step,
            x1=end,
            fillcolor="rgba(245,147,34,0.10)",
            line_width=0,
            layer="below",
            name="es_patience",
        )
        waited = f"{es.evals_since_best}/{es.patience} evals without improvement"
        _mark(fig, end, waited, MUTED, "es_patience", 0.70 if es.stopped else 0.86)
    if es.stopped and es.stopped_step is not None:
        _vline(fig, es.stopped_step, STOP, "solid", "es_stop")
        reason = es.reason or "early stopping"
        restored = (
            f"best weights (step {es.best_step}) restored"
            if es.restored
            else "last weights kept (not restored)"
        )
        _mark(
            fig,
            es.stopped_step,
            f"stopped at step {es.stopped_step}: {reason}",
            STOP,
            "es_stop",
            0.86,
        )
        _mark(fig, es.stopped_step, restored, STOP, "es_restored", 0.78)


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
) -> go.Figure:
    """Train/validation loss (top) and accuracy (bottom, when recorded) against step.

    Batch loss is drawn light under the evaluation curves as bucket means (<= 500 points).
    """
    run = history.run if history is not None else {}
    names = ["batch_loss", "train_loss", "val_loss"]
    if history is None or not any(len(run[n]) for n in names):
        return empty_figure(title="Loss", height=height, uirevision=uirevision)
    has_acc = show_accuracy and any(len(run[n]) for n in ("train_accuracy", "val_accuracy"))
    rows = 2 if has_acc else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[0.65, 0.35] if has_acc else None,
    )
    if show_batch and len(run["batch_loss"]):
        x, y = _xy(run["batch_loss"], how="mean", log=log_y)
        fig.add_trace(
            go.Scatter(
                x=f32(x),
                y=f32(y),
                mode="lines",
                line={"color": "rgba(120,130,140,0.35)", "width": 1},
                name="batch loss (mean)",
                hovertemplate="step %{x:.0f}<br>batch loss %{y:.4g}",
            ),
            row=1,
            col=1,
        )
    for key, label, color, row in CURVES:
        if row > rows or not len(run[key]):
            continue
        x, y = _xy(run[key], log=log_y and row == 1)
        fig.add_trace(
            go.Scatter(
                x=f32(x),
                y=f32(y),
                mode="lines",
                line={"color": color, "width": 2, "dash": "solid" if "train" in key else "dot"},
                name=label,
                legendgroup=key.split("_")[0],
                hovertemplate="step %{x:.0f}<br>" + label + " %{y:.4g}<extra></extra>",
            ),
            row=row,
            col=1,
        )
    fig.update_yaxes(title_text="loss", type="log" if log_y else "linear", row=1, col=1)
    if has_acc:
        fig.update_yaxes(title_text="accuracy", range=[0, 1.02], tickformat=".0%", row=2, col=1)
    fig.update_xaxes(title_text="step", row=rows, col=1)
    if early_stopping is not None:
        _early_stopping_marks(fig, history, early_stopping)
    if divergence is not None and divergence.diverged and divergence.step is not None:
        _vline(fig, divergence.step, STOP, "dot", "diverged")
        _mark(
            fig,
            divergence.step,
            f"diverged at step {divergence.step}: {divergence.reason}",
            STOP,
            "diverged",
            0.62,
        )
    return style(fig, height=height, uirevision=uirevision)
