"""The live loop: buttons outside, fragments that advance the trainer and redraw inside.

While running, the fast fragment reruns every `pacing.fast_interval()` seconds: it
trains for a short time budget and redraws the light charts. Heavy charts sit in
a slower fragment. Buttons use on_click callbacks, so a click is handled before
the rerun that redraws the page.
"""

from __future__ import annotations

import time

import streamlit as st

from playground import pacing, views
from playground.session import PlaygroundSession


def render_buttons(session: PlaygroundSession) -> None:
    cols = st.columns([1, 1, 1.3, 1, 5])
    cols[0].button(
        "Pause" if session.running else "Play",
        key="play",
        type="primary",
        on_click=session.toggle,
        width="stretch",
    )
    cols[1].button("Step", key="step", on_click=session.step, width="stretch")
    cols[2].button("Step epoch", key="step_epoch", on_click=session.step_epoch, width="stretch")
    cols[3].button("Reset", key="reset", on_click=session.reset, width="stretch")
    with cols[4]:
        views.render_title(session)


def render_panels(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    running = session.running
    session.tick_interval, session.paced_at = pacing.fast_interval(), time.monotonic()
    left, right = st.columns([5, 4], gap="medium")
    with right:
        st.fragment(run_every=pacing.fast_interval() if running else None)(_fast_panel)(session)
    with left:
        interval = pacing.network_interval() if running else None
        st.fragment(run_every=interval)(_network_panel)(session)
    if "charts" not in hidden:
        interval = pacing.inspect_interval() if running else None
        st.fragment(run_every=interval)(_inspect_panel)(session)


def _fast_panel(session: PlaygroundSession) -> None:
    if session.running:
        with pacing.tick_timer(id(session)):
            session.tick(pacing.train_budget())
        if not session.running:  # early stopping or divergence ended the run
            st.rerun()
        if pacing.should_repace(session.tick_interval, session.paced_at):
            st.rerun()  # a full rerun hands the browser a new run_every
    views.render_metrics(session)
    views.render_run_status(session)
    views.render_output(session)
    views.render_loss(session)


def _network_panel(session: PlaygroundSession) -> None:
    views.render_network(session)


def _inspect_panel(session: PlaygroundSession) -> None:
    views.render_inspect(session)
