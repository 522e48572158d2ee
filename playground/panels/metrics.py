"""The run in figures: steps, epoch, learning rate, losses and accuracy, and its status."""

from __future__ import annotations

import streamlit as st

from core.telemetry import Snapshot
from playground.panels.common import fmt
from playground.session import PlaygroundSession


def render(session: PlaygroundSession, snap: Snapshot) -> None:
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Steps", f"{snap.step:,}")
    top[1].metric("Epoch", f"{snap.epoch:,}")
    top[2].metric("Learning rate", f"{snap.learning_rate:.3g}")
    bottom[0].metric("Train loss", fmt(snap.train_loss))
    bottom[1].metric("Test loss", fmt(snap.val_loss))
    if snap.val_accuracy is not None:
        bottom[2].metric("Test accuracy", f"{snap.val_accuracy:.1%}")
    else:
        bottom[2].metric("Batch loss", fmt(snap.batch_loss))
    measured = snap.eval_step
    if measured is not None and measured != snap.step:
        st.caption(
            f"Train and test figures measured at step {measured:,} (at each epoch end, and "
            "when you pause or step)."
        )
    if session.running and session.steps_per_second:
        st.caption(f"Training at about {session.steps_per_second:,.0f} steps per second.")


def render_status(snap: Snapshot) -> None:
    """Why training stopped, if it did: divergence or early stopping."""
    if snap.divergence.diverged:
        st.error(f"Training diverged: {snap.divergence.reason}")
    es = snap.early_stopping
    if es.stopped:
        restored = " The best weights were restored." if es.restored else ""
        st.info(f"Early stopping at step {es.stopped_step}: {es.reason}.{restored}")
