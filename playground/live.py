"""The live loop: buttons outside, one fragment inside that trains and draws a frame.

The fragment draws every live chart through the closed-loop live view (playground.liveview):
the browser asks for the next frame only when it has drawn the last one (its ack reruns this
fragment alone), so the rate adapts to the server and the network and no run is started that
would be thrown away. Each ack trains for the load-adaptive budget (`pacing.train_budget`).
Buttons use on_click callbacks, so a click is handled before the rerun that redraws the page.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from playground import liveview, pacing, views
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


LIVE_VIEW = "live_view"  # the live view's key (its driver element and its loop)


def render_panels(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    """One fragment draws every live chart; the browser's acks rerun it (no timer)."""
    st.fragment(_live_panel)(session, hidden)


def _live_panel(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    with pacing.tick_slot(), session.lock:
        if liveview.loop_for(LIVE_VIEW).take_tick() and session.running:
            with pacing.tick_timer(id(session)):
                session.tick(pacing.train_budget())
            if not session.running:  # early stopping or divergence ended the run
                st.rerun()
        with liveview.frame(LIVE_VIEW, running=session.running, uirevision=_revision(session)):
            _draw_panels(session, hidden)


def _revision(session: PlaygroundSession) -> str:
    """Zoom and pan survive redraws until the network is replaced (reset, new settings)."""
    return str(id(session.trainer))


def _draw_panels(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    focus = "charts" not in hidden and _show_focus(session.config.focus)
    if focus:  # the lesson's key chart first: in view without scrolling
        views.render_inspect(session)
    left, right = st.columns([5, 4], gap="medium")
    with right:
        snap = session.trainer.snapshot(weights=False)  # metrics and status draw no weights
        views.render_metrics(session, snap)
        views.render_run_status(snap)
        views.render_output(session)
        views.render_loss(session)
    with left:
        views.render_network(session)
    if "charts" not in hidden and not focus:
        views.render_inspect(session)


def _show_focus(focus: str) -> bool:
    """True if the config names a focus chart (an inspection view, e.g. "update_ratio" for
    "Update ratio"). When the focus changes (a lesson is loaded), that view is selected once;
    the student may pick another view afterwards."""
    if st.session_state.get(FOCUS_KEY) != focus:
        st.session_state[FOCUS_KEY] = focus
        if focus:
            st.session_state[views.INSPECT_VIEW_KEY] = focus.replace("_", " ").capitalize()
    return bool(focus)
