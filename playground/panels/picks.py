"""Clicks that choose: a link (a weight), a neuron (its bias) or a training point clicked on the
network diagram or the output map becomes the backprop microscope's and the weight editor's
choice, as if the student had picked it in their select boxes.

The charts tag their points (`playground.charts.pick_tags`); the live view hands a clicked
point's tag to `on_click(session)`'s callback (a trigger callback: it runs before the page's
widgets are drawn, so it may set their state), and then reruns the whole page, where both
panels draw. The tag comes from the browser: `parse` checks it against the network. A weight or
a bias goes to both choosers; a point to the microscope's. A click opens the microscope when it
is closed, unless it picked a weight for the open weight editor. With runs side by side, a
click on one run's diagram or map picks in that run and makes it the selected run (the one the
sidebar, the microscope and the editor act on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass

import streamlit as st

from core import microscope
from playground.charts.pick_tags import BIAS, POINT, WEIGHT
from playground.panels import microscope as lens
from playground.panels import runs
from playground.panels import weights as editor
from playground.session import PlaygroundSession

CHOOSERS = ("microscope", editor.PREFIX)  # the weight choosers' key prefixes


@dataclass(frozen=True)
class PointPick:
    """A training point: its index in the training set."""

    index: int


def on_click(session: PlaygroundSession, run: str | None = None) -> Callable[[object], bool]:
    """The callback for a chart's clicks in `session` (`run`: a chart of that run, side by
    side; else the selected run's): True if the tag chose something."""
    return lambda tag: pick(st.session_state, session, tag, run)


def pick(state: MutableMapping, session: PlaygroundSession, tag: object, run: str | None) -> bool:
    """What a click's `tag` does to the widget state `state`: `choose` in run `run` (None: the
    selected run), which becomes the selected run if the tag picks something there."""
    trainer = _trainer(session, run)
    if trainer is None:
        return False
    with session.lock:  # the live loop trains under this lock
        space = microscope.weights_of(trainer)
        points = len(microscope.next_step(trainer).X_train)
    if parse(tag, space, points) is None:
        return False
    if run is not None and run != session.selected:
        runs.show_run(session, run, state)
    return choose(state, tag, space, points)


def run_clicks(session: PlaygroundSession) -> Callable[[str], Callable[[object], bool]]:
    """For the charts side by side: run name -> the callback for clicks on that run's charts."""
    return lambda run: on_click(session, run)


def _trainer(session: PlaygroundSession, run: str | None):
    if run is None:
        return session.trainer
    return session.experiment[run].trainer if run in session.run_names else None


def choose(
    state: MutableMapping, tag: object, space: tuple[microscope.LayerWeights, ...], points: int
) -> bool:
    """Set the choosers' widget state in `state` to what `tag` picks in a network whose weights
    are `space` and that trains on `points` points; False (nothing set) for a tag that picks
    nothing there."""
    pick = parse(tag, space, points)
    if pick is None:
        return False
    if isinstance(pick, PointPick):
        lens.hold_point(state, pick.index)
    else:
        for prefix in CHOOSERS:
            lens.hold_weight(state, space, prefix, pick)
    if not state.get(lens.OPEN) and (isinstance(pick, PointPick) or not state.get(editor.OPEN)):
        state[lens.OPEN] = True
    return True


def parse(
    tag: object, space: tuple[microscope.LayerWeights, ...], points: int
) -> microscope.WeightChoice | PointPick | None:
    """The weight, bias or training point `tag` names (see `pick_tags`), or None if it names
    none of this network's (a stale tag from an earlier network, or a forged one)."""
    if not isinstance(tag, Mapping):
        return None
    kind = tag.get("kind")
    if kind == POINT:
        index = _index(tag.get("index"), points)
        return None if index is None else PointPick(index)
    if kind not in (WEIGHT, BIAS):
        return None
    block = _index(tag.get("layer"), len(space))
    if block is None:
        return None
    sources, targets = space[block].sources, space[block].targets
    to = _index(tag.get("to"), len(targets))
    bias = len(sources) - 1  # the last source is the bias
    source = bias if kind == BIAS else _index(tag.get("from"), bias)
    if to is None or source is None:
        return None
    return microscope.WeightChoice(block, source, to)


def _index(value: object, n: int) -> int | None:
    """`value` as an index below `n` (a whole number; JSON may send 3.0), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if 0 <= value < n else None
