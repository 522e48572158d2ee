"""The run in figures: steps, epoch, learning rate, losses and accuracy, and its status."""

from __future__ import annotations

import streamlit as st

from core.telemetry import Snapshot
from playground import liveview
from playground.panels.common import fmt
from playground.session import PlaygroundSession


def values(snap: Snapshot) -> dict[str, str]:
    """The six figures, label -> text, in the order they show (two rows of three)."""
    shown = {
        "Steps": f"{snap.step:,}",
        "Epoch": f"{snap.epoch:,}",
        "Learning rate": f"{snap.learning_rate:.3g}",
        "Train loss": fmt(snap.train_loss),
        "Test loss": fmt(snap.val_loss),
    }
    if snap.val_accuracy is not None:
        shown["Test accuracy"] = f"{snap.val_accuracy:.1%}"
    else:
        shown["Batch loss"] = fmt(snap.batch_loss)
    return shown


def render(session: PlaygroundSession, snap: Snapshot) -> None:
    columns = [*st.columns(3), *st.columns(3)]
    for column, (label, text) in zip(columns, values(snap).items(), strict=True):
        column.metric(label, text)
    liveview.texts(lambda: values(session.trainer.snapshot(weights=False)))  # fast frames
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
