"""Weights you can touch (as in TensorFlow Playground): choose a link or a neuron's bias, type a
new value, and the network diagram, the output map and the loss show it at once; training goes
on from there (`core.weight_edit`, through `PlaygroundSession.edit_weight`).

It draws outside the live view's frame, like the microscope: closed, it computes nothing; Set
reruns the page, so the live view's next frame already holds the new value.
"""

from __future__ import annotations

import streamlit as st

from core import microscope, weight_edit
from playground.panels.common import escape, fmt, lazy_expander
from playground.panels.microscope import choose_weight
from playground.session import PlaygroundSession

TITLE = "Edit a weight"
CAPTION = (
    "Pick a link (layer, the neuron it enters, the one it leaves) or a neuron's bias (or click "
    "a link or a neuron on the network diagram), type a "
    f"value from {-weight_edit.MAX_TYPED_WEIGHT:g} to {weight_edit.MAX_TYPED_WEIGHT:g} and "
    f"press Set: the diagram and the output map redraw with it and training goes on from there "
    f"(the optimizer's momentum or Adam moments for that weight are {weight_edit.OPTIMIZER_STATE})."
)
OPEN = "weights_open"  # the expander's key (its state says whether it is open)
PREFIX = "weights"  # the chooser's keys
VALUE = "weights_value"
SET = "weights_set"
OUTCOME = "weights_outcome"  # (weight, level, message) of the last Set
LEVELS = {"success": st.success, "error": st.error}


def render(session: PlaygroundSession) -> None:
    with lazy_expander(TITLE, OPEN, CAPTION) as opened:
        if opened and session.trainer is not None:
            with session.lock:  # the live loop trains under this lock
                space = microscope.weights_of(session.trainer)
                weight = choose_weight(space, PREFIX)
                now = weight_edit.current_value(session.trainer, weight)
            draw(session, weight, now)


def draw(session: PlaygroundSession, weight: microscope.WeightChoice, now: float) -> None:
    """The value box, the Set button and what the last Set of this weight said."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.text_input(
        f"New value (now {fmt(now, 6)})",
        key=VALUE,
        placeholder="e.g. 0.5 or -1.2",
    )
    right.button("Set", key=SET, on_click=_set, args=(session, weight), width="stretch")
    outcome = st.session_state.get(OUTCOME)
    if outcome and outcome[0] == weight:
        LEVELS.get(outcome[1], st.info)(escape(outcome[2]))


def _set(session: PlaygroundSession, weight: microscope.WeightChoice) -> None:
    level, message = session.edit_weight(weight, st.session_state.get(VALUE, ""))
    st.session_state[OUTCOME] = (weight, level, message)
