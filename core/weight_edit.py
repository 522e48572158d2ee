"""Weights you can touch: set one weight or bias of a trainer's network to a typed value.

A weight is named as the backprop microscope names it (`core.microscope.WeightChoice`): W[from,
to] of block `block`, with from = the layer's fan-in for the bias of unit `to` (a maxout block's
`to` is a piece column). Dense keeps [W; bᵀ] in one packed array, so both are the element

    flat_params[start(block's W) + from · columns + to]

of the network's one flat parameter buffer. The value is written there, in place: the layers,
the optimizer's update runs and the charts all read that buffer, so the next forward pass uses
the typed value and the next step updates it from there (a copy of the trainer, e.g.
`copy.deepcopy`, would hold its own buffer and never see the edit).

What the edit leaves alone, by choice:
- the optimizer's state for that weight (momentum's velocity, Adam's moments m and v, and its
  step count t) is kept: the next update moves the typed value as it would have moved the old
  one, plus the new gradient's share. Zeroing one element's Adam moments would make its next
  step about (1 − β₁)/√(1 − β₂) ≈ 3 times the learning rate: larger, not cleaner.
- a frozen block keeps the typed value (its parameters get no update), and max-norm, where on,
  rescales the unit's incoming weights at the next step as usual.
- the loss and accuracy shown are measured again on the edited weights (the periodic
  evaluation, without adding a point to the curves); the edit is recorded as a history event.

A typed value must be a finite number with |value| <= MAX_TYPED_WEIGHT (core.config); anything
else raises `WeightEditError`, phrased for the user, and changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.config import MAX_TYPED_WEIGHT
from core.evaluation import EVAL_MAX
from core.microscope import WeightChoice, check_weight, next_step, weight_label
from core.network import Network

OPTIMIZER_STATE = "kept"  # what an edit does to the optimizer's state for that weight


class WeightEditError(ValueError):
    """A typed value or a choice of weight that cannot be used (the message says why)."""


@dataclass(frozen=True)
class WeightEdit:
    """One edit as it was made."""

    weight: WeightChoice
    label: str  # e.g. "x1 → hidden 1 #2" or "bias → output #1"
    layer: str  # the block's name
    step: int  # steps taken when the edit was made
    before: float
    after: float  # as the network stores it (float32 rounds the typed value)
    frozen: bool  # the block is frozen: the value stays as typed

    @property
    def message(self) -> str:
        text = f"Set {self.label} from {self.before:.6g} to {self.after:.6g} at step {self.step}."
        if self.frozen:
            text += f" {self.layer} is frozen, so training leaves it at that value."
        return text


def parse_value(text) -> float:
    """The typed value as a float, or WeightEditError: a number, finite, |value| <= limit."""
    if isinstance(text, bool):
        raise WeightEditError(f"{text!r} is not a number: type a number such as 0.5 or -1.2.")
    if isinstance(text, str):
        stripped = text.strip()
        if not stripped:
            raise WeightEditError("Type a number such as 0.5 or -1.2 first.")
        try:
            value = float(stripped)
        except ValueError:
            raise WeightEditError(
                f"{stripped[:40]!r} is not a number: type a number such as 0.5 or -1.2."
            ) from None
    else:
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise WeightEditError(f"{text!r} is not a number.") from None
    if not math.isfinite(value):
        raise WeightEditError(
            f"{value} is not a finite number: a weight must be a real number "
            f"from {-MAX_TYPED_WEIGHT:g} to {MAX_TYPED_WEIGHT:g}."
        )
    if abs(value) > MAX_TYPED_WEIGHT:
        raise WeightEditError(
            f"{value:g} is out of range: a typed weight must be from {-MAX_TYPED_WEIGHT:g} to "
            f"{MAX_TYPED_WEIGHT:g}."
        )
    return value


def flat_index(network: Network, weight: WeightChoice) -> int:
    """Where the weight (or bias) sits in `network.flat_params` (see the module docstring)."""
    try:
        check_weight(network, weight)
    except ValueError as err:
        raise WeightEditError(f"There is no such weight: {err}.") from None
    block = network.blocks[weight.block]
    columns = block.layers[0].Wb.shape[1]
    return network.slices[block.weight_key].start + weight.from_unit * columns + weight.to_unit


def current_value(trainer, weight: WeightChoice) -> float:
    """The weight's value now."""
    net = trainer.network
    return float(net.flat_params[flat_index(net, weight)])


def set_weight(trainer, weight: WeightChoice, value) -> WeightEdit:
    """Write `value` (a number or typed text) into the weight, in the trainer's own network;
    WeightEditError (and nothing changed) for a bad value or weight."""
    net = trainer.network
    index = flat_index(net, weight)
    number = parse_value(value)
    before = float(net.flat_params[index])
    net.flat_params[index] = number
    after = float(net.flat_params[index])
    block = net.blocks[weight.block]
    label = weight_label(net, weight, next_step(trainer).input_names)
    edit = WeightEdit(weight, label, block.name, trainer.step_count, before, after, block.frozen)
    trainer.last_eval = trainer.evaluate(EVAL_MAX)  # the loss shown is the edited weights'
    trainer.history.record_event(trainer.step_count, "weight_edit", edit.message)
    return edit
