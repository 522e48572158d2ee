"""The backprop microscope: one training point and one weight through the next step, in the
engine's numbers (computed by `core.microscope` on copies: looking never changes the run).

It draws outside the live view's frame: it shows the step about to be taken and is refreshed
whenever the page reruns (Step, Step epoch, a choice here). Closed, it computes nothing.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass

import streamlit as st

from core import microscope
from playground.charts import microscope as tables
from playground.panels.common import escape, lazy_expander
from playground.session import PlaygroundSession

TITLE = "Backprop microscope"
CAPTION = (
    "One training point and one weight through the next step (choose them below, or click a "
    "link, a neuron or a training point), with the engine's numbers: read "
    "the forward table down, the backward table up (δ = ∂L/∂z for this point's loss), then "
    "the chain rule multiplies the factors into ∂L/∂w and the optimizer turns the batch's "
    "gradient into the update."
)
OPEN = "microscope_open"  # the expander's key (its state says whether it is open)
POINT_SOURCE, BATCH_POSITION, POINT_INDEX = "microscope_source", "microscope_pos", "microscope_pt"
FROM_BATCH, ANY_POINT = "the next batch", "any training point"


def render(session: PlaygroundSession) -> None:
    with lazy_expander(TITLE, OPEN, CAPTION) as opened:
        if opened and session.trainer is not None:
            with session.lock:  # the live loop trains under this lock
                space = microscope.weights_of(session.trainer)
                plan = microscope.next_step(session.trainer)
                point = _choose_point(plan)
                weight = choose_weight(space, "microscope")
                view = microscope.examine(session.trainer, point, weight)
            draw(view)


def _choose_point(plan: microscope.NextStep) -> int:
    left, right = st.columns(2)
    source = left.radio("Point from", (FROM_BATCH, ANY_POINT), key=POINT_SOURCE, horizontal=True)
    n = len(plan.X_train)
    if source == ANY_POINT:
        return int(right.number_input("Training point (index)", 0, n - 1, key=POINT_INDEX))
    positions = range(len(plan.indices))
    position = right.selectbox(
        "Point of the batch",
        positions,
        key=f"{BATCH_POSITION}_{len(plan.indices)}",
        format_func=lambda k: (
            f"{k + 1}: point {plan.indices[k]}" + (" (the next point)" if k == 0 else "")
        ),
    )
    return plan.indices[position]


def choose_weight(
    space: tuple[microscope.LayerWeights, ...], prefix: str
) -> microscope.WeightChoice:
    """Select boxes for one weight or bias (layer, to, from), keyed by `prefix` and the net's
    shape (a new shape starts from the defaults); shared with the weight editor."""
    keys = _WeightKeys(space, prefix)
    st.session_state.setdefault(keys.layer, len(space) - 1)  # the output layer (a click may set it)
    a, b, c = st.columns(3)
    block = a.selectbox(
        "Layer",
        range(len(space)),
        key=keys.layer,
        format_func=lambda i: space[i].name,
    )
    layer = space[block]
    to = b.selectbox(
        "To neuron",
        range(len(layer.targets)),
        key=keys.to(block),
        format_func=lambda j: layer.targets[j],
    )
    source = c.selectbox(
        "From (weight or bias)",
        range(len(layer.sources)),
        key=keys.source(block),
        format_func=lambda j: layer.sources[j],
    )
    return microscope.WeightChoice(block, source, to)


def hold_weight(
    state: MutableMapping, space: tuple[microscope.LayerWeights, ...], prefix: str, weight
) -> None:
    """Put `weight` (a `microscope.WeightChoice` of `space`) in the `prefix` chooser's boxes, as
    if it had been picked there (`state`: the session state, before the boxes are drawn)."""
    keys = _WeightKeys(space, prefix)
    state[keys.layer] = weight.block
    state[keys.to(weight.block)] = weight.to_unit
    state[keys.source(weight.block)] = weight.from_unit


def hold_point(state: MutableMapping, index: int) -> None:
    """Put training point `index` in the point chooser ("any training point")."""
    state[POINT_SOURCE] = ANY_POINT
    state[POINT_INDEX] = index


@dataclass(frozen=True)
class _WeightKeys:
    """The chooser's widget keys: per net shape, and per layer for its to and from boxes."""

    space: tuple[microscope.LayerWeights, ...]
    prefix: str

    @property
    def shape(self) -> str:
        return "x".join(str(len(layer.targets)) for layer in self.space)

    @property
    def layer(self) -> str:
        return f"{self.prefix}_layer_{self.shape}"

    def to(self, block: int) -> str:
        return f"{self.prefix}_to_{self.shape}_{block}"

    def source(self, block: int) -> str:
        return f"{self.prefix}_from_{self.shape}_{block}"


@dataclass(frozen=True)
class Focus:
    """What the open microscope looks at, for the diagram and the output map to mark: the
    weight, its label ("x₂ → hidden 1 #3") and the training point (an index of the set)."""

    weight: microscope.WeightChoice
    label: str
    point: int


def focus(session: PlaygroundSession) -> Focus | None:
    """The microscope's weight and point as its widgets hold them (their defaults before they
    are first drawn), read without drawing anything; None while it is closed. Called under
    `session.lock` where the live frame gathers what its panels draw."""
    if not st.session_state.get(OPEN) or session.trainer is None:
        return None
    space = microscope.weights_of(session.trainer)
    plan = microscope.next_step(session.trainer)
    keys = _WeightKeys(space, "microscope")
    block = _held(keys.layer, len(space), len(space) - 1)
    layer = space[block]
    to = _held(keys.to(block), len(layer.targets), 0)
    source = _held(keys.source(block), len(layer.sources), 0)
    if st.session_state.get(POINT_SOURCE, FROM_BATCH) == ANY_POINT:
        point = _held(POINT_INDEX, len(plan.X_train), 0)
    else:
        point = plan.indices[_held(f"{BATCH_POSITION}_{len(plan.indices)}", len(plan.indices), 0)]
    label = f"{layer.sources[source]} → {layer.targets[to]}"
    return Focus(microscope.WeightChoice(block, source, to), label, int(point))


def _held(key: str, n: int, default: int) -> int:
    """The index a widget holds under `key` (its default when it holds none or a stale one)."""
    value = st.session_state.get(key, default)
    return int(value) if isinstance(value, int) and 0 <= value < n else default


def draw(view: microscope.Microscope) -> None:
    """Everything the microscope shows for one point and one weight."""
    where = "in the next batch" if view.in_batch else "not in the next batch"
    st.markdown(
        f"**Step {view.step}**, point {view.point} ({where}), target {_target(view)}: "
        f"its loss L_i = {tables.num(view.point_loss)}, the batch loss L = "
        f"{tables.num(view.batch_loss)}."
    )
    for note in view.notes:
        st.info(escape(note))
    forward, backward = st.columns(2)
    with forward:
        st.markdown("**Forward pass**")
        st.dataframe(tables.forward_rows(view), hide_index=True, key="microscope_forward")
    with backward:
        st.markdown("**Backward pass**")
        st.dataframe(tables.backward_rows(view), hide_index=True, key="microscope_backward")
    st.markdown(
        f"**Chain rule** for w = {escape(view.weight_label)} (now {tables.num(view.weight_value)})"
    )
    for line in tables.chain_latex(view):
        st.latex(line)
    st.markdown("\n".join(f"- {escape(line)}" for line in tables.chain_factors(view)))
    st.markdown("**Gradient**")
    st.markdown("\n".join(f"- {escape(line)}" for line in tables.gradient_lines(view)))
    if view.update is None:
        return
    st.markdown("**Update**")
    st.code("\n".join(view.update.rule), language=None)
    st.markdown("\n".join(f"- {escape(line)}" for line in tables.update_lines(view)))


def _target(view: microscope.Microscope) -> str:
    values = view.target.reshape(-1)
    return ", ".join(tables.num(float(v)) for v in values)
