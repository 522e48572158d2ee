"""The run buttons (Play / Pause, Step, Step epoch, Reset: for every run at once; Compare adds a
run) with the lesson's title beside them.

Buttons use on_click callbacks, so a click is handled before the rerun that redraws the page.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from playground import pacing
from playground.panels import runs
from playground.panels.messages import render_title
from playground.session import PlaygroundSession


def render(session: PlaygroundSession) -> None:
    cols = st.columns([1, 1, 1.6, 1.1, 1.35, 4.4])
    play_or_pause = session.pause if session.running else (lambda: _on_play(session))
    actions = [
        ("Pause" if session.running else "Play", "play", play_or_pause),
        ("Step", "step", session.step),
        ("Step epoch", "step_epoch", session.step_epoch),
        ("Reset", "reset", session.reset),
        ("Compare", "compare", runs.on_compare(session)),
    ]
    for col, (label, key, action) in zip(cols, actions, strict=False):
        col.button(
            label,
            key=key,
            type="primary" if key == "play" else "secondary",
            on_click=_once(action),
            width="stretch",
        )
    with cols[5]:
        render_title(session)


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
