"""The network drawn as in TensorFlow Playground: columns of nodes, links coloured by the sign
of their weight (blue +, orange -) and thickened by |w|, and per hidden neuron a small heatmap
of its output over the input plane.

Big layers are summarised so the drawing stays readable and light: more than `max_inputs`
inputs become a few input groups (a group's link carries the sum of its weights), layers wider
than `max_units` show their strongest units (largest incoming weight norm), and at most
`max_links` links (the largest |w|) are drawn per pair of layers. A footnote says what was left out.

A frozen layer (one the optimizer does not update: the config's `network.frozen`) stands on a
grey band labelled "frozen" under its nodes, the links into it are dashed, and the footnote names
the frozen layers (the titles are left alone, so they fit as before).

The backprop microscope's weight (`Highlight`) is marked: its link outlined in dark and drawn
thick, the neurons it joins ringed, the path from its neuron on to the output (every later
neuron: each one's delta feeds the chosen weight's) dotted with light rings, and a line under the
plot names it ("microscope: x₂ → hidden 1 #3").

Column titles stay legible however deep the net: the figure is responsive, so they are chosen to
fit the narrowest width it is drawn at (`min_width`, a phone). Each title is about
len(text) * CHAR_WIDTH * font px wide; two titles in one row need their centres at least half
their widths plus LABEL_GAP apart. The first layout that fits wins: "hidden 3 / 8 sigmoid",
then "h3 / 8 sigmoid", then "h3" alone (the units and activations go to the footnote), then
those short titles on two staggered rows; only if even that is too tight is a title skipped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from playground.charts.common import (
    DIVERGING,
    MUTED,
    NEGATIVE,
    POSITIVE,
    TEMPLATE,
    diverging_index_each,
    diverging_index_uri,
    empty_figure,
    f32,
    figure,
    layer_labels,
    note,
    style,
)
from playground.charts.pick_tags import BIAS, WEIGHT, pick_meta

WIDTHS = (0.5, 1.0, 2.0, 3.0, 4.5, 6.0)  # line width per |w| level 0..5
INPUT_GROUPS = 8
NARROWEST = 340  # px: the diagram on a phone (358 measured at a 390-px-wide viewport)
MARGIN_X = 6  # px, left and right of the plot area
CHAR_WIDTH = 0.62  # a title character's width in font sizes (Open Sans, with room to spare)
LABEL_GAP = 6  # px between neighbouring column titles
FULL_FONT, SHORT_FONT = 11, 10  # px
LINE_HEIGHT = 1.3  # a text line's height in font sizes
FOOTNOTE_LINE = 14  # px
FROZEN = "frozen"  # the label under a frozen layer
FROZEN_DASH = "dash"  # the links into a frozen layer
FROZEN_BAND = "rgba(154, 165, 177, 0.18)"  # MUTED, faint: the band behind a frozen layer
FROZEN_ROOM = 0.6  # node pitches added under the lowest node for the label
MICROSCOPE = "microscope"  # the names of what marks the microscope's weight
MICROSCOPE_COLOR = "#1f1f1f"  # near black: neither a weight's nor a class's colour
RING = (0.37, 0.49)  # half width and height of a ring, in columns and node pitches (> image)


@dataclass(frozen=True)
class Highlight:
    """The microscope's weight: W[from_unit, column] of block `block` (0 = the first hidden
    layer; from_unit = the block's fan-in is the bias of the column's unit; in a maxout block the
    column is unit·k + piece) and its label, e.g. "x₂ → hidden 1 #3"."""

    block: int
    from_unit: int
    column: int
    label: str


@dataclass
class _Column:
    """One drawn column: its title ("hidden 3"), what it holds ("8 sigmoid"), the unit indices
    shown and their y positions."""

    title: str
    detail: str
    shown: np.ndarray  # indices of the drawn nodes (or groups for summarised inputs)
    names: list[str]
    y: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.title}: {self.detail}" if self.detail else self.title

    @property
    def short(self) -> str:
        """'hidden 12' -> 'h12', 'output' -> 'out', inputs -> 'in'."""
        words = self.title.split()
        if words[0] == "hidden" and len(words) == 2:
            return f"h{words[1]}"
        if words[-1] == "inputs":
            return "in"
        return "out" if self.title == "output" else self.title[:4]


def maps_from_outputs(outputs: list[np.ndarray], resolution: int) -> list[np.ndarray]:
    """Per-layer outputs over a row-major grid, (res*res, units) -> (units, res, res)."""
    return [np.asarray(o).T.reshape(-1, resolution, resolution) for o in outputs]


def _unit_matrix(W: np.ndarray, units: int) -> np.ndarray:
    """W as (fan_in, units): a maxout W (fan_in, units*k) keeps its largest-|w| piece."""
    W = np.asarray(W, dtype=np.float64)
    if W.shape[1] == units:
        return W
    k = W.shape[1] // units
    pieces = W[:, : units * k].reshape(W.shape[0], units, k)
    pick = np.abs(pieces).argmax(axis=2)[..., None]
    return np.take_along_axis(pieces, pick, axis=2)[..., 0]


def _layer_sizes(weights) -> list[int]:
    """Units per column: inputs, each block (its fan-out as seen by the next block), output."""
    sizes = [weights[0][0].shape[0]]
    for i, (W, _) in enumerate(weights):
        nxt = weights[i + 1][0].shape[0] if i + 1 < len(weights) else W.shape[1]
        sizes.append(nxt)
    return sizes


def _input_groups(n: int, max_inputs: int) -> list[np.ndarray]:
    if n <= max_inputs:
        return [np.array([i]) for i in range(n)]
    return np.array_split(np.arange(n), min(INPUT_GROUPS, max_inputs))


def _positions(n: int) -> np.ndarray:
    """y of n nodes centred on 0, one unit apart, first at the top."""
    return (n - 1) / 2.0 - np.arange(n, dtype=np.float64)


def _link_level(absw: np.ndarray, scale: float) -> np.ndarray:
    r = np.clip(absw / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(absw)
    return np.ceil(r * (len(WIDTHS) - 1)).astype(int)


def network_diagram(
    weights: list[tuple[np.ndarray, np.ndarray]],
    layer_names: list[str] | None = None,
    input_names: list[str] | None = None,
    neuron_maps: list[np.ndarray] | None = None,
    *,
    input_maps: np.ndarray | None = None,
    activations: list[str] | None = None,
    frozen: Sequence[int] = (),
    highlight: Highlight | None = None,
    max_links: int = 200,
    max_inputs: int = 16,
    max_units: int = 32,
    height: int = 440,
    min_width: int = NARROWEST,
    uirevision: str = "network",
) -> go.Figure:
    """Nodes per layer, links by weight sign and |w|, neuron heatmaps as layout images.

    weights: (W, b) per block, W of shape (fan_in, units). layer_names / activations: per block.
    neuron_maps: per hidden block (optionally also the output) an array (units, res, res) of the
    unit's output over the input plane, rows = y ascending (see `maps_from_outputs`).
    input_maps: (n_inputs, res, res) of each input feature over the plane (optional).
    frozen: indices of the frozen blocks (0 = the first hidden layer, the last = output).
    highlight: the backprop microscope's weight, marked with the path on to the output.
    min_width: the narrowest width in px the figure is drawn at; column titles fit there.
    """
    if not weights:
        return empty_figure("No network yet.", height=height, uirevision=uirevision)
    sizes = _layer_sizes(weights)
    names = layer_labels(layer_names, len(weights))
    acts = list(activations or [])
    mats = [_unit_matrix(W, sizes[i + 1]) for i, (W, _) in enumerate(weights)]
    groups = _input_groups(sizes[0], max_inputs)
    if len(groups) < sizes[0]:  # summarised inputs: a group's weight is the sum of its rows
        mats[0] = np.stack([mats[0][g].sum(axis=0) for g in groups])
    frozen = sorted({int(i) for i in frozen if 0 <= int(i) < len(weights)})
    columns = _columns(mats, groups, names, acts, input_names, max_units)

    notes = []
    scale = _abs_max([m for i, m in enumerate(mats) if not (i == 0 and _agg(groups))])
    links = [_links(i, mats[i], columns[i], columns[i + 1], max_links) for i in range(len(mats))]
    for i, (_, drawn) in enumerate(links):
        total = np.size(weights[i][0])
        if drawn < total:
            notes.append(f"{columns[i + 1].title}: strongest {drawn} of {total}")
    pitch = (height - 60) / max(len(c.shown) for c in columns)  # px between nodes, roughly
    thin = float(np.clip(pitch / 40, 0.3, 1.0))
    data = _link_traces(links, weights, scale, groups, thin, frozen)
    marks = _marks(highlight, weights, sizes, groups, columns)
    if marks is not None:
        data += _mark_traces(marks, html.escape(highlight.label), thin)
    data += _node_traces(columns, weights, neuron_maps, float(np.clip(0.7 * pitch, 5, 16)))

    n_max = max(len(c.shown) for c in columns)
    titles, summary = _titles(columns, min_width)
    layout = {
        "annotations": titles + _input_names(columns[0]),
        "xaxis": {"visible": False, "range": [-1.0, len(columns) - 0.5], "fixedrange": True},
        "yaxis": {"visible": False, "range": [-n_max / 2, n_max / 2], "fixedrange": True},
    }
    if frozen:  # room under the nodes for the label
        layout["yaxis"]["range"][0] -= FROZEN_ROOM
        _mark_frozen(layout, frozen, -n_max / 2 - FROZEN_ROOM, n_max / 2)
    images = _images(columns, neuron_maps, input_maps)
    if _agg(groups):
        notes.insert(0, f"{sizes[0]} inputs shown as {len(groups)} groups (link = sum of weights)")
    footnote = _wrap(summary, min_width) + ([f"Links drawn: {'; '.join(notes)}"] if notes else [])
    if frozen:
        first, *rest = [columns[i + 1].title for i in frozen]
        footnote += _wrap([f"Frozen (not trained): {first}", *rest], min_width)
    lines = len(footnote) + (marks is not None)
    margin = {"l": MARGIN_X, "r": MARGIN_X, "t": 40, "b": 12 + FOOTNOTE_LINE * lines}
    style(layout, height=height, uirevision=uirevision, legend=False, margin=margin)
    layout["template"] = {"layout": TEMPLATE["layout"] | {"imagedefaults": IMAGE_DEFAULTS}}
    if images:
        layout["images"] = images
    if marks is not None:
        _ring(layout, marks)
        _label(layout, html.escape(highlight.label))
    if footnote:
        note(layout, "<br>".join(footnote))
        if marks is not None:  # under the microscope's line
            layout["annotations"][-1]["yshift"] = -FOOTNOTE_LINE
    return figure(data, layout)


@dataclass
class _Marks:
    """Where the microscope's weight is drawn: its link's end points (None for a bias or a
    neuron left out), the ringed nodes (x, y) it joins and those on the path on, and the path's
    segments as (x0, y0, x1, y1) rows."""

    link: tuple[float, float, float, float] | None
    positive: bool
    joined: list[tuple[float, float]]
    onward: list[tuple[float, float]]
    path: np.ndarray


def _marks(highlight, weights, sizes, groups, columns) -> _Marks | None:
    """The microscope's weight placed on the drawn columns (None if it names no weight)."""
    if highlight is None or not 0 <= highlight.block < len(weights):
        return None
    block = highlight.block
    W = np.asarray(weights[block][0])
    fan_in, units = W.shape[0], sizes[block + 1]
    if not (0 <= highlight.from_unit <= fan_in and 0 <= highlight.column < W.shape[1]):
        return None
    unit = highlight.column // max(1, W.shape[1] // units)  # a maxout piece's unit
    src, dst = columns[block], columns[block + 1]
    source = None
    if highlight.from_unit < fan_in:  # not the bias
        source = highlight.from_unit
        if block == 0:  # summarised inputs: the group holding it
            source = next(g for g, members in enumerate(groups) if source in members)
    a, b = _shown_at(src, source), _shown_at(dst, unit)
    joined = [
        (x, col.y[at]) for x, col, at in ((block, src, a), (block + 1, dst, b)) if at is not None
    ]
    link = None
    if a is not None and b is not None:
        link = (block, float(src.y[a]), block + 1, float(dst.y[b]))
    onward, rows = [], []
    if b is not None:  # every later neuron is on the path: its delta feeds this one's
        starts = [(block + 1, dst.y[b])]
        for i in range(block + 2, len(columns)):
            ends = [(i, y) for y in columns[i].y]
            rows += [(x0, y0, x1, y1) for x0, y0 in starts for x1, y1 in ends]
            onward += ends
            starts = ends
    positive = bool(highlight.from_unit == fan_in or W[highlight.from_unit, highlight.column] >= 0)
    path = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return _Marks(link, positive, joined, onward, path)


def _shown_at(column: _Column, index: int | None) -> int | None:
    """The position of unit (or input group) `index` among a column's drawn nodes, or None."""
    if index is None:
        return None
    hits = np.flatnonzero(column.shown == index)
    return int(hits[0]) if len(hits) else None


def _mark_traces(marks: _Marks, label: str, thin: float) -> list[dict]:
    """The path on to the output (dotted), then the weight's link: a dark outline and its sign's
    colour on top, thicker than any weight's link."""
    traces = []
    if len(marks.path):
        xs = np.column_stack([marks.path[:, 0], marks.path[:, 2], np.full(len(marks.path), np.nan)])
        ys = np.column_stack([marks.path[:, 1], marks.path[:, 3], np.full(len(marks.path), np.nan)])
        traces.append(
            {
                "type": "scatter",
                "x": f32(xs.ravel()),
                "y": f32(ys.ravel()),
                "mode": "lines",
                "line": {"color": MICROSCOPE_COLOR, "width": 1.5, "dash": "dot"},
                "opacity": 0.7,
                "hoverinfo": "skip",
                "name": f"{MICROSCOPE} path",
                "meta": {MICROSCOPE: "path"},
            }
        )
    if marks.link is None:
        return traces
    x0, y0, x1, y1 = marks.link
    width = WIDTHS[-1] * thin + 1
    for part, color, w in (
        ("outline", MICROSCOPE_COLOR, width + 4),
        ("weight", POSITIVE if marks.positive else NEGATIVE, width),
    ):
        traces.append(
            {
                "type": "scatter",
                "x": [x0, x1],
                "y": [y0, y1],
                "mode": "lines",
                "line": {"color": color, "width": round(w, 2)},
                "hovertemplate": f"{MICROSCOPE}: {label}<extra></extra>",
                "name": f"{MICROSCOPE}: {label}" if part == "weight" else f"{MICROSCOPE} outline",
                "meta": {MICROSCOPE: part},
            }
        )
    return traces


def _ring(layout: dict, marks: _Marks) -> None:
    """A ring (a rectangle just outside the node's map) around each node the weight joins, a
    lighter dotted one around each node on the path on."""
    dx, dy = RING
    for nodes, width, dash in ((marks.joined, 2.5, "solid"), (marks.onward, 1.2, "dot")):
        for x, y in nodes:
            layout.setdefault("shapes", []).append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "y",
                    "x0": x - dx,
                    "x1": x + dx,
                    "y0": float(y) - dy,
                    "y1": float(y) + dy,
                    "line": {"color": MICROSCOPE_COLOR, "width": width, "dash": dash},
                    "fillcolor": "rgba(0, 0, 0, 0)",
                    "layer": "above",
                    "name": f"{MICROSCOPE} ring",
                }
            )


def _label(layout: dict, label: str) -> None:
    """The line under the plot that names the microscope's weight."""
    layout["annotations"].append(
        {
            "text": f"<b>{MICROSCOPE}:</b> {label}",
            "x": 0,
            "y": -0.02,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "left",
            "yanchor": "top",
            "showarrow": False,
            "font": {"size": 10, "color": MICROSCOPE_COLOR},
            "name": MICROSCOPE,
        }
    )


def _mark_frozen(layout: dict, frozen: list[int], bottom: float, top: float) -> None:
    """A faint band behind each frozen block's column and the word "frozen" at its foot."""
    for i in frozen:
        layout.setdefault("shapes", []).append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "y",
                "x0": i + 1 - 0.32,
                "x1": i + 1 + 0.32,
                "y0": bottom,
                "y1": top,
                "fillcolor": FROZEN_BAND,
                "line": {"width": 0},
                "layer": "below",
                "name": FROZEN,
            }
        )
        layout["annotations"].append(
            {
                "x": i + 1,
                "y": bottom,
                "text": FROZEN,
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"size": SHORT_FONT, "color": MUTED},
                "name": FROZEN,
            }
        )


def _abs_max(arrays) -> float:
    """Largest finite |value| over arrays (1.0 when there is none): the full-width link."""
    vals = [np.abs(a[np.isfinite(a)]).max() for a in arrays if np.isfinite(a).any()]
    return float(max(vals)) if vals and max(vals) > 0 else 1.0


def _agg(groups) -> bool:
    return any(len(g) > 1 for g in groups)


def _columns(mats, groups, names, acts, input_names, max_units) -> list[_Column]:
    n_in = sum(len(g) for g in groups)
    if _agg(groups):
        in_names = [f"inputs {g[0] + 1}–{g[-1] + 1}" for g in groups]
        in_title = f"{n_in} inputs"
    else:
        given = list(input_names or [])
        in_names = [given[i] if i < len(given) else f"x{i + 1}" for i in range(n_in)]
        in_title = "inputs"
    cols = [_Column(in_title, "", np.arange(len(groups)), in_names, _positions(len(groups)))]
    for i, m in enumerate(mats):
        units = m.shape[1]
        act = f" {acts[i]}" if i < len(acts) else ""
        detail = f"{units}{act}"
        shown = np.arange(units)
        if units > max_units:  # the strongest units by incoming weight norm, in index order
            shown = np.sort(np.argsort(-np.linalg.norm(m, axis=0), kind="stable")[:max_units])
            detail = f"{max_units} of {units}{act}"
        unit_names = [f"unit {u + 1}" for u in shown]
        cols.append(_Column(names[i], detail, shown, unit_names, _positions(len(shown))))
    return cols


def _links(i: int, m: np.ndarray, src: _Column, dst: _Column, max_links: int):
    """The drawn links between two columns, (rows, cols) as positions into `shown`, and their
    number: all finite ones, or the `max_links` largest |w|."""
    sub = m[np.ix_(src.shown, dst.shown)]
    r, c = np.meshgrid(np.arange(sub.shape[0]), np.arange(sub.shape[1]), indexing="ij")
    r, c, w = r.ravel(), c.ravel(), sub.ravel()
    keep = np.isfinite(w)
    r, c, w = r[keep], c[keep], w[keep]
    if len(w) > max_links:
        top = np.argsort(-np.abs(w), kind="stable")[:max_links]
        r, c, w = r[top], c[top], w[top]
    return (i, src, dst, r, c, w), len(w)


def _link_traces(links, weights, scale: float, groups, thin: float, frozen=()) -> list[dict]:
    """One line trace per (sign, width level, frozen) with NaN breaks; hover via midpoints that
    are not drawn (a deep net has thousands, each redrawn every frame as markers). Width grows
    with |w| / scale in len(WIDTHS) levels, times `thin` for crowded columns; the links into a
    frozen block are dashed. Every (sign, level) has its trace, empty where no link has it, so
    that the traces keep their places and styles from frame to frame (a live frame then
    redraws only their points: liveview.js lightPlan). A midpoint that stands for one weight
    of `weights` is tagged with it (a click picks it; summed input groups are not)."""
    held_any = any(i in frozen for (i, *_), _ in links)
    segments: dict[tuple[bool, int, bool], list[np.ndarray]] = {
        (p, lv, held): []
        for p in (False, True)
        for lv in range(len(WIDTHS))
        for held in ((False, True) if held_any else (False,))
    }
    for (i, src, dst, r, c, w), _ in links:
        s = _abs_max([w]) if (i == 0 and _agg(groups)) else scale
        levels = _link_level(np.abs(w), s)
        # each link is x: i -> i + 1, y: src -> dst, then a NaN break: rows of (x, y) triples
        xs = np.tile([i, i + 1, np.nan], (len(w), 1))
        ys = np.column_stack([src.y[r], dst.y[c], np.full(len(w), np.nan)])
        positive = w >= 0
        for p, lv in sorted({(bool(p), int(lv)) for p, lv in zip(positive, levels, strict=True)}):
            sel = (positive == p) & (levels == lv)
            key = (p, lv, i in frozen)
            segments[key].append((xs[sel].ravel(), ys[sel].ravel()))
    traces = []
    for (positive, level, held), parts in sorted(segments.items()):
        traces.append(
            {
                "type": "scatter",
                "x": f32(np.concatenate([x for x, _ in parts] or [np.empty(0)])),
                "y": f32(np.concatenate([y for _, y in parts] or [np.empty(0)])),
                "mode": "lines",
                "line": {
                    "color": POSITIVE if positive else NEGATIVE,
                    "width": round(WIDTHS[level] * thin, 2),
                }
                | ({"dash": FROZEN_DASH} if held else {}),
                "opacity": 0.75,
                "hoverinfo": "skip",
                "name": f"{'positive' if positive else 'negative'} weights, level {level}"
                + (f", {FROZEN}" if held else ""),
                "meta": {"sign": 1 if positive else -1, "level": level}
                | ({FROZEN: True} if held else {}),
            }
        )
    for (i, src, dst, r, c, w), _ in links:
        if not len(w):
            continue
        summed = i == 0 and _agg(groups)  # a link per input group: no one weight
        picked = () if summed else _weight_at(weights, i, src.shown[r], dst.shown[c])
        traces.append(
            {
                "type": "scatter",
                "x0": i + 0.5,
                "dx": 0,
                "y": f32((src.y[r] + dst.y[c]) / 2),
                "mode": "none",  # hover and clicks find the point; nothing is drawn
                "customdata": f32(
                    np.column_stack([w, src.shown[r] + 1, dst.shown[c] + 1, *picked])
                ),
                "hovertemplate": "w = %{customdata[0]:.4f}<br>from %{customdata[1]} "
                "to unit %{customdata[2]}",
                "name": f"{src.title} → {dst.title}",
                "meta": {"links": i}
                | (pick_meta(WEIGHT, {"from": 3, "to": 4}, layer=i) if picked else {}),
            }
        )
    return traces


def _pieces(weights, block: int) -> int:
    """Columns of W per drawn unit of `block`: a maxout block's k pieces, else 1."""
    return max(1, weights[block][0].shape[1] // _layer_sizes(weights)[block + 1])


def _weight_at(weights, block: int, rows: np.ndarray, units: np.ndarray):
    """The (rows, columns) of W in `block` that links from `rows` into `units` draw: a maxout
    unit's link is its largest-|w| piece, as `_unit_matrix` draws it."""
    k = _pieces(weights, block)
    if k == 1:
        return rows, units
    W = np.abs(np.asarray(weights[block][0], dtype=np.float64))
    pieces = units[:, None] * k + np.arange(k)
    return rows, units * k + W[rows[:, None], pieces].argmax(axis=1)


def _map_range(neuron_maps, layer: int, shown: np.ndarray) -> np.ndarray:
    if neuron_maps is None or layer >= len(neuron_maps):
        return np.full((len(shown), 2), np.nan)
    m = np.asarray(neuron_maps[layer])[shown].reshape(len(shown), -1)
    return np.column_stack([m.min(axis=1), m.max(axis=1)])


def _node_traces(columns, weights, neuron_maps, size: float) -> list[dict]:
    """Square node markers coloured by bias; hover shows bias and the output range."""
    bmax = _abs_max([np.asarray(b, dtype=np.float64) for _, b in weights])
    inp = columns[0]
    traces = [
        {
            "type": "scatter",
            "x": f32(np.zeros(len(inp.shown))),
            "y": f32(inp.y),
            "mode": "markers",
            "marker": {
                "symbol": "square",
                "size": size,
                "color": "#dfe3e6",
                "line": {"color": MUTED},
            },
            "text": inp.names,
            "hovertemplate": "%{text}<extra>input</extra>",
            "name": "inputs",
        }
    ]
    for li, col in enumerate(columns[1:]):
        b = np.asarray(weights[li][1], dtype=np.float64).ravel()
        at = col.shown * _pieces(weights, li)  # a maxout unit's bias: its first piece's
        tagged = b.size > at.max()
        bias = b[at] if tagged else np.zeros(len(col.shown))
        rng = _map_range(neuron_maps, li, col.shown)
        traces.append(
            {
                "type": "scatter",
                "x": f32(np.full(len(col.shown), li + 1)),
                "y": f32(col.y),
                "mode": "markers",
                "marker": {
                    "symbol": "square",
                    "size": size,
                    "color": f32(bias),
                    "colorscale": DIVERGING,
                    "cmin": -bmax,
                    "cmax": bmax,
                    "line": {"color": MUTED, "width": 1},
                },
                "customdata": f32(np.column_stack([col.shown + 1, bias, rng, at])),
                "hovertemplate": "unit %{customdata[0]}<br>bias %{customdata[1]:.4f}"
                "<br>output %{customdata[2]:.3f} … %{customdata[3]:.3f}",
                "name": col.label,
            }
            | ({"meta": pick_meta(BIAS, {"to": 4}, layer=li)} if tagged else {})
        )
    return traces


IMAGE_DEFAULTS = {
    "xref": "x",
    "yref": "y",
    "sizex": 0.62,
    "sizey": 0.86,
    "xanchor": "center",
    "yanchor": "middle",
    "sizing": "contain",
    "layer": "above",
}


def _images(columns, neuron_maps, input_maps) -> list[dict]:
    """Each map becomes a PNG layout image centred on its node (diverging, each scaled to its
    own max |out|; flipped so the first row, y ascending, ends up at the bottom). The image
    placement comes from the template's imagedefaults."""
    images = []
    if input_maps is not None:
        maps = np.asarray(input_maps)
        if maps.ndim == 3 and len(maps) == len(columns[0].shown):
            images += _column_images(0, columns[0].y, maps)
    for li, maps in enumerate(neuron_maps or []):
        if li + 1 >= len(columns) or maps is None:
            continue
        col = columns[li + 1]
        arr = np.asarray(maps)
        if arr.ndim != 3 or arr.shape[0] <= col.shown.max():
            continue
        images += _column_images(li + 1, col.y, arr[col.shown])
    return images


def _column_images(x: float, ys: np.ndarray, maps: np.ndarray) -> list[dict]:
    index = diverging_index_each(maps[:, ::-1])
    return [
        {"source": diverging_index_uri(idx), "x": x, "y": float(y)}
        for idx, y in zip(index, ys, strict=True)
    ]


def _text_width(text: str, font: int) -> float:
    """Estimated px width of a title: its longest line."""
    return max(len(line) for line in text.split("<br>")) * CHAR_WIDTH * font


def _column_pitch(n_columns: int, width: int) -> float:
    """px between neighbouring columns at a figure width (x range: -1 .. n - 0.5)."""
    return (width - 2 * MARGIN_X) / (n_columns + 0.5)


def _fits(texts: list[str], font: int, pitch: float, rows: int) -> bool:
    """True if titles on `rows` staggered rows (column i on row i % rows) keep LABEL_GAP."""
    widths = [_text_width(t, font) for t in texts]
    return all(
        (widths[i] + widths[i + rows]) / 2 + LABEL_GAP <= rows * pitch
        for i in range(len(texts) - rows)
    )


def _titles(columns: list[_Column], width: int) -> tuple[list[dict], list[str]]:
    """Column-title annotations that fit at `width`, and the footnote parts they leave out."""
    pitch = _column_pitch(len(columns), width)
    layouts = [
        ([f"{c.title}<br>{c.detail}" if c.detail else c.title for c in columns], FULL_FONT),
        ([f"{c.short}<br>{c.detail}" if c.detail else c.short for c in columns], SHORT_FONT),
    ]
    for texts, font in layouts:
        if _fits(texts, font, pitch, rows=1):
            return _title_annotations(texts, font, pitch, rows=1), []
    texts = [c.short for c in columns]
    rows = 1 if _fits(texts, SHORT_FONT, pitch, rows=1) else 2
    return _title_annotations(texts, SHORT_FONT, pitch, rows), _detail_runs(columns)


def _title_annotations(texts: list[str], font: int, pitch: float, rows: int) -> list[dict]:
    """One annotation per title above its column, row i % rows (row 0 on top); a title too
    close to the previous one kept in its row is skipped (only at very narrow widths)."""
    line = LINE_HEIGHT * font
    last: dict[int, tuple[int, float]] = {}  # row -> (column, width) of the last title kept
    out = []
    for i, text in enumerate(texts):
        row, w = i % rows, _text_width(text, font)
        if row in last and (last[row][1] + w) / 2 + LABEL_GAP > (i - last[row][0]) * pitch:
            continue
        last[row] = (i, w)
        out.append(
            {
                "x": i,
                "y": 1,
                "yref": "paper",
                "yshift": (rows - 1 - row) * line,
                "text": text,
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"size": font},
                "name": "column title",
            }
        )
    return out


def _detail_runs(columns: list[_Column]) -> list[str]:
    """'h1–h10: 8 sigmoid', 'out: 1 sigmoid_bce': what neighbouring columns hold, once per run."""
    runs: list[list[_Column]] = []
    for col in columns[1:]:
        if runs and runs[-1][-1].detail == col.detail:
            runs[-1].append(col)
        else:
            runs.append([col])
    spans = [r[0].short if len(r) == 1 else f"{r[0].short}–{r[-1].short}" for r in runs]
    return [f"{span}: {run[0].detail}" for span, run in zip(spans, runs, strict=True)]


def _wrap(parts: list[str], width: int, font: int = 10) -> list[str]:
    """Parts joined by ' · ' into lines that fit `width` px (a part never splits)."""
    limit = max(1, int((width - 2 * MARGIN_X) / (CHAR_WIDTH * font)))
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= limit:
            lines[-1] += f" · {part}"
        else:
            lines.append(part)
    return lines


def _input_names(inputs: _Column) -> list[dict]:
    """Input names left of the input nodes (up to 16 of them)."""
    if len(inputs.names) > 16:
        return []
    return [
        {
            "x": -0.3,
            "y": y,
            "text": name,
            "showarrow": False,
            "xanchor": "right",
            "font": {"size": SHORT_FONT},
        }
        for name, y in zip(inputs.names, inputs.y, strict=True)
    ]
