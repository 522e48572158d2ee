"""The network diagram: links by weight, and each neuron's output over the input plane; with
the backprop microscope open, its weight and the path on to the output marked. A click on a link
or a neuron picks it for the microscope and the weight editor (`picks`)."""

from __future__ import annotations

import functools

from playground import charts
from playground.charts.network_diagram import Highlight
from playground.panels import picks
from playground.panels.common import plot
from playground.panels.microscope import Focus
from playground.session import PlaygroundSession


def render(session: PlaygroundSession, focus: Focus | None = None) -> None:
    again = functools.partial(_figure, session, focus)  # fast frames: the network as it is then
    plot(again(), "network_chart", "network", on_click=picks.on_click(session), again=again)


def _figure(session: PlaygroundSession, focus: Focus | None):
    return diagram(
        session.trainer.weights(),
        session.layer_names,
        session.dataset,
        session.neuron_maps(),
        session.layer_activations,
        session.frozen_layers,
        highlight=highlight(focus),
    )


def diagram(weights, layer_names, dataset, maps, activations, frozen, **layout):
    """The network diagram of `weights`, each neuron drawn as its map over the input plane
    (`maps`: NeuronMaps, or None for data without one)."""
    return charts.network_diagram(
        weights,
        layer_names,
        dataset.feature_names,
        maps and maps.neurons,
        input_maps=maps and maps.inputs,
        activations=activations,
        frozen=frozen,
        **layout,
    )


def highlight(focus: Focus | None) -> Highlight | None:
    """What the diagram marks of the microscope's choice: its weight and the path on."""
    return focus and Highlight(*_where(focus), focus.label)


def _where(focus: Focus) -> tuple[int, int, int]:
    weight = focus.weight
    return weight.block, weight.from_unit, weight.to_unit
