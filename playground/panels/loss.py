"""The loss curves: train, test and batch loss over the steps, with stop markers."""

from __future__ import annotations

import streamlit as st

from playground import charts
from playground.panels.common import plot
from playground.session import PlaygroundSession


def render(session: PlaygroundSession) -> None:
    log_y = st.toggle("Log-scale loss", key="log_loss")
    snap = session.trainer.snapshot(weights=False)
    fig = charts.loss_curves(snap.history, snap.early_stopping, snap.divergence, log_y=log_y)
    plot(fig, "loss_chart", "loss")
