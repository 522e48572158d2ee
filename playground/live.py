"""The live loop: buttons outside, fragments that advance the trainer and redraw inside.

While running, the fast fragment reruns every `pacing.fast_interval()` seconds: it
trains for a short time budget and redraws the light charts. Heavy charts sit in
a slower fragment. Buttons use on_click callbacks, so a click is handled before
the rerun that redraws the page.
"""

from __future__ import annotations

import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from playground import pacing, views
from playground.session import PlaygroundSession

FOCUS_KEY = "focus_shown"  # the config focus whose view was last selected


def render_buttons(session: PlaygroundSession) -> None:
    cols = st.columns([1, 1, 1.3, 1, 5])
    play_or_pause = session.pause if session.running else (lambda: _on_play(session))
    actions = [
        ("Pause" if session.running else "Play", "play", play_or_pause),
        ("Step", "step", session.step),
        ("Step epoch", "step_epoch", session.step_epoch),
        ("Reset", "reset", session.reset),
    ]
    for col, (label, key, action) in zip(cols, actions, strict=False):
        col.button(
            label,
            key=key,
            type="primary" if key == "play" else "secondary",
            on_click=_once(action),
            width="stretch",
        )
    with cols[4]:
        views.render_title(session)


def _once(action):
    """A button callback that ignores Streamlit's replay of the click into a fragment run.

    A click while the live fragment is queued can reach the server twice: in the full rerun
    it causes, and replayed with the queued fragment run. Buttons here live outside every
    fragment, so a call during a fragment run is always such a replay.
    """

    def callback() -> None:
        ctx = get_script_run_ctx()
        if ctx is None or not ctx.fragment_ids_this_run:
            action()

    return callback


def _on_play(session: PlaygroundSession) -> None:
    """Play, unless the server is full: it then says so (Step still works)."""
    if not pacing.admit(id(session)):
        session.notify(
            "warning",
            "The server is busy: too many students are training live right now. "
            "Try Play again in a minute, or use Step and Step epoch meanwhile.",
            "training",
        )
        return
    session.play()


def render_panels(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    """Fragments by redraw cost: every chart redraw is a full Plotly.newPlot in the browser
    (Streamlit remounts a chart whose spec changed), so only the metrics and the output map
    redraw at the fast rate."""
    running = session.running
    session.tick_interval, session.paced_at = pacing.fast_interval(), time.monotonic()

    def every(interval) -> float | None:
        return interval() if running else None

    inspect = st.fragment(run_every=every(pacing.inspect_interval))(_inspect_panel)
    focus = "charts" not in hidden and _show_focus(session.config.focus)
    if focus:  # the lesson's key chart first: in view without scrolling
        inspect(session)
    left, right = st.columns([5, 4], gap="medium")
    with right:
        st.fragment(run_every=every(pacing.fast_interval))(_fast_panel)(session)
        st.fragment(run_every=every(pacing.curve_interval))(_curve_panel)(session)
    with left:
        st.fragment(run_every=every(pacing.network_interval))(_network_panel)(session)
    if "charts" not in hidden and not focus:
        inspect(session)


def _show_focus(focus: str) -> bool:
    """True if the config names a focus chart (an inspection view, e.g. "update_ratio" for
    "Update ratio"). When the focus changes (a lesson is loaded), that view is selected once;
    the student may pick another view afterwards."""
    if st.session_state.get(FOCUS_KEY) != focus:
        st.session_state[FOCUS_KEY] = focus
        if focus:
            st.session_state[views.INSPECT_VIEW_KEY] = focus.replace("_", " ").capitalize()
    return bool(focus)


def _fast_panel(session: PlaygroundSession) -> None:
    with pacing.tick_slot(), session.lock:
        _fast_panel_locked(session)


def _fast_panel_locked(session: PlaygroundSession) -> None:
    if session.running:
        with pacing.tick_timer(id(session)):
            session.tick(pacing.train_budget())
        if not session.running:  # early stopping or divergence ended the run
            st.rerun()
        if pacing.should_repace(session.tick_interval, session.paced_at):
            st.rerun()  # a full rerun hands the browser a new run_every
    snap = session.trainer.snapshot(weights=False)  # metrics and status draw no weights
    views.render_metrics(session, snap)
    views.render_run_status(snap)
    views.render_output(session)


def _curve_panel(session: PlaygroundSession) -> None:
    with pacing.tick_slot(), session.lock:
        views.render_loss(session)


def _network_panel(session: PlaygroundSession) -> None:
    with pacing.tick_slot(), session.lock:
        views.render_network(session)


def _inspect_panel(session: PlaygroundSession) -> None:
    with pacing.tick_slot(), session.lock:
        views.render_inspect(session)
