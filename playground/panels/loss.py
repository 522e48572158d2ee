"""The loss curves: train, test and batch loss over the steps, with stop markers; with several
runs, every run's curves on one chart (one colour per run)."""

from __future__ import annotations

import streamlit as st

from playground import charts
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
        fig = charts.run_curves(runs, log_y=log_y, marker_step=step)
        plot(fig, "loss_chart", "run_curves")
        return
    snap = session.trainer.snapshot(weights=False)
    fig = charts.loss_curves(
        snap.history, snap.early_stopping, snap.divergence, log_y=log_y, marker_step=step
    )
    plot(fig, "loss_chart", "loss")
