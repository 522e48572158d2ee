"""Clicks that choose: a link (a weight), a neuron (its bias) or a training point clicked on the
network diagram or the output map becomes the backprop microscope's and the weight editor's
choice, as if the student had picked it in their select boxes.

The charts tag their points (`playground.charts.pick_tags`); the live view hands a clicked
point's tag to `on_click(session)`'s callback (a trigger callback: it runs before the page's
widgets are drawn, so it may set their state), and then reruns the whole page, where both
panels draw. The tag comes from the browser: `parse` checks it against the network. A weight or
a bias goes to both choosers; a point to the microscope's. A click opens the microscope when it
is closed, unless it picked a weight for the open weight editor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass

import streamlit as st

from core import microscope
from playground.charts.pick_tags import BIAS, POINT, WEIGHT
from playground.panels import microscope as lens
from playground.panels import weights as editor
from playground.session import PlaygroundSession

CHOOSERS = ("microscope", editor.PREFIX)  # the weight choosers' key prefixes


@dataclass(frozen=True)
class PointPick:
    """A training point: its index in the training set."""

    index: int


def on_click(session: PlaygroundSession) -> Callable[[object], bool]:
    """The callback for a chart's clicks in `session`: True if the tag chose something."""

    def picked(tag: object) -> bool:
        if session.trainer is None:
            return False
        with session.lock:  # the live loop trains under this lock
            space = microscope.weights_of(session.trainer)
            points = len(microscope.next_step(session.trainer).X_train)
        return choose(st.session_state, tag, space, points)

    return picked


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
