"""What a network outputs where the charts look: plain arrays, computed here so that the UI only
draws what it is handed.

- `output_map`: the output over a 2D dataset's input plane (`Dataset.grid`) or along a 1D
  dataset's line; a classifying head's output becomes class probabilities and the head's own
  class (`Head.probabilities`, `Head.predict_class`: one home for the threshold). A 1D curve of
  a network with dropout carries a Monte-Carlo dropout band: mean and std over `MC_PASSES`
  passes with dropout on.
- `neuron_maps`: every neuron's output (and every input feature) over a coarse grid.
- `predictions`, `predicted_classes`: eval-mode outputs and classes of given examples.

Points go in at the network's dtype, as in training. A diverged network yields inf/NaN, not
floating-point warnings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.dataset import Dataset
from core.network import Network

OUTPUT_RESOLUTION = 50  # grid points per axis of the output map
NEURON_RESOLUTION = 16  # grid points per axis of each neuron's small map
CURVE_POINTS = 200  # points along a 1D dataset's line
MC_PASSES = 20  # Monte-Carlo dropout passes behind a 1D curve's band
MC_SEED = 0  # the same passes at every redraw: the band moves only when the weights do


@dataclass(frozen=True)
class OutputMap:
    """The model's output at the points of a plane (xs by ys, rows y-major: point i is at
    (xs[i % nx], ys[i // nx])) or of a line (xs, ys None).

    values: (n, C) class probabilities for a classifying head, else the head's output (n, k)
    (the mean over Monte-Carlo passes when `std` is given). classes: (n,) the head's class, or
    None for regression. std: (n, k) spread over Monte-Carlo dropout passes, or None."""

    xs: np.ndarray
    ys: np.ndarray | None
    values: np.ndarray
    classes: np.ndarray | None = None
    std: np.ndarray | None = None


@dataclass(frozen=True)
class NeuronMaps:
    """Outputs over a resolution x resolution grid of the input plane, rows = y ascending.

    neurons: per hidden block, then the output layer, an array (units, res, res).
    inputs: (n_features, res, res), each network input (feature) over the plane."""

    neurons: list[np.ndarray]
    inputs: np.ndarray


def _at_dtype(network: Network, X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(X, dtype=network.dtype)


def predictions(network: Network, X: np.ndarray) -> np.ndarray:
    """Eval-mode output (n, k) at the inputs X (n, d)."""
    with np.errstate(all="ignore"):
        return network.predict(_at_dtype(network, X))


def predicted_classes(network: Network, X: np.ndarray) -> np.ndarray:
    """The head's class (n,) for each row of X; the head must classify."""
    return network.head.predict_class(predictions(network, X))


def has_dropout(network: Network) -> bool:
    return any(layer.dropout > 0 for layer in network.config.hidden)


def line(dataset: Dataset, points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """A 1D dataset's line: `points` raw x evenly over its domain, and the network inputs there."""
    xs = np.linspace(*dataset.domain, points)
    return xs, dataset.transform(xs[:, None])


def output_map(
    network: Network,
    dataset: Dataset,
    resolution: int = OUTPUT_RESOLUTION,
    curve_points: int = CURVE_POINTS,
    mc_passes: int = MC_PASSES,
) -> OutputMap | None:
    """The output over the dataset's plane (2D) or line (1D); None for data with neither."""
    if dataset.raw_dim == 2:
        xs, ys, X = dataset.grid(resolution)
        return _with_classes(network, OutputMap(xs, ys, predictions(network, X)))
    if dataset.raw_dim != 1:
        return None
    xs, X = line(dataset, curve_points)
    if not has_dropout(network):
        return _with_classes(network, OutputMap(xs, None, predictions(network, X)))
    with np.errstate(all="ignore"):
        mean, std = network.predict_mc_dropout(_at_dtype(network, X), mc_passes, seed=MC_SEED)
    return _with_classes(network, OutputMap(xs, None, mean, std=std))


def _with_classes(network: Network, out: OutputMap) -> OutputMap:
    """A classifying head's output as class probabilities and the head's class."""
    head = network.head
    if not head.classifies:
        return out
    probabilities, classes = head.probabilities(out.values), head.predict_class(out.values)
    return OutputMap(out.xs, out.ys, probabilities, classes, out.std)


def neuron_maps(
    network: Network, dataset: Dataset, resolution: int = NEURON_RESOLUTION
) -> NeuronMaps | None:
    """Each neuron's eval-mode output over the 2D plane; None for data without a plane."""
    if dataset.raw_dim != 2:
        return None
    _, _, X = dataset.grid(resolution)
    with np.errstate(all="ignore"):
        outputs = network.neuron_outputs(_at_dtype(network, X))
    return NeuronMaps([_grid_maps(o, resolution) for o in outputs], _grid_maps(X, resolution))


def _grid_maps(values: np.ndarray, resolution: int) -> np.ndarray:
    """(res*res, m) values at row-major grid points -> (m, res, res)."""
    return np.asarray(values).T.reshape(-1, resolution, resolution)
