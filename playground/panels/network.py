"""The network diagram: links by weight, and each neuron's output over the input plane."""

from __future__ import annotations

from playground import charts
from playground.panels.common import plot
from playground.session import PlaygroundSession


def render(session: PlaygroundSession) -> None:
    maps = session.neuron_maps()
    fig = charts.network_diagram(
        session.trainer.weights(),
        session.layer_names,
        session.dataset.feature_names,
        maps and maps.neurons,
        input_maps=maps and maps.inputs,
        activations=session.layer_activations,
        frozen=session.frozen_layers,
    )
    plot(fig, "network_chart", "network")
