"""The loss curves: train, test and batch loss over the steps, with stop markers; with several
runs, every run's curves on one chart (one colour per run)."""

from __future__ import annotations

import functools

import streamlit as st

from playground import charts
from playground.panels import runs as run_panel
from playground.panels.common import plot
from playground.session import PlaygroundSession


def render(
    session: PlaygroundSession,
    runs: list[charts.RunCurves] | None = None,
    step: int | None = None,
) -> None:
    """One run's curves, or (`runs`) every run's overlaid; `step`: the step shown, marked."""
    log_y = st.toggle("Log-scale loss", key="log_loss")
    if runs is not None:
        # while training the step axis grows in steps (liveview.js redraws between them)
        fig = charts.run_curves(runs, log_y=log_y, marker_step=step, room=session.running)
        again = lambda: charts.run_curves(  # noqa: E731
            run_panel.curves_now(session), log_y=log_y, room=session.running
        )
        plot(fig, "loss_chart", "run_curves", again=again)
        return
    again = functools.partial(_figure, session, log_y)  # fast frames: the curves then
    plot(_figure(session, log_y, step), "loss_chart", "loss", again=again)


def _figure(session: PlaygroundSession, log_y: bool, step: int | None = None):
    snap = session.trainer.snapshot(weights=False)
    return charts.loss_curves(
        snap.history,
        snap.early_stopping,
        snap.divergence,
        log_y=log_y,
        marker_step=step,
        room=session.running,  # while training: the step axis grows in steps (liveview.js)
    )
