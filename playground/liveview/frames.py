"""Frames for the live view, as the browser reads them. Pure: figures in, JSON bytes out.

A frame is drawn by several chart elements (one per chart, where the page lays it out) and
closed by a driver element mounted after them, which acks the frame once every chart of it
is drawn:

    chart   {"role": "chart", "frame", "uirevision", "plotly_url",
             "chart": {"id", "layout_key", "layout"?, "data_keys", "data"}}
    driver  {"role": "driver", "id", "session", "trained", "answers", "running", "members",
             "min_interval", "watchdog", "fast_url", "slow_interval"}

A chart's layout, and each of its traces, travels when it differs from the one last sent in
its place (or the frame is whole); otherwise `layout` is left out and the trace is null (the
data points of the output map, for one, never change). Each is named by a key, so the browser
can tell when it lacks the one named (a lost frame) and ask for a whole frame.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_FRAME_RATE = 20.0  # frames per second at most: the eye gains nothing beyond
WATCHDOG = 10.0  # seconds without an answer before the browser acks its newest frame again


@dataclass(frozen=True)
class Chart:
    """One chart of a frame: its id (unique in the page) and its figure."""

    id: str
    figure: Any  # a plotly Figure or its dict {"data": [...], "layout": {...}}


@dataclass
class FrameBuilder:
    """What the browser was last sent, per chart: the layout's and the traces' keys."""

    layouts: dict[str, str] = field(default_factory=dict)
    traces: dict[str, list[str]] = field(default_factory=dict)
    sent: dict[str, bytes] = field(default_factory=dict)  # each chart's last part
    renders: int = 0  # Streamlit frames rendered (fast frames not counted): what cadences count
    page_frame: int = 0  # the newest frame a whole-page run rendered (not a fragment, not fast)

    def chart(
        self,
        chart: Chart,
        *,
        frame: int,
        full: bool,
        uirevision: str,
        plotly_url: str,
        live: bool = False,
    ) -> bytes:
        """One chart's part of frame `frame` (UTF-8 JSON). `live`: drawn while training (the
        browser may redraw it without Plotly: liveview.js, lightPlan)."""
        head = {
            "role": "chart",
            "frame": frame,
            "uirevision": uirevision,
            "plotly_url": plotly_url,
        } | ({"live": True} if live else {})
        part = (json.dumps(head)[:-1] + ',"chart":' + self._spec(chart, full) + "}").encode()
        self.sent[chart.id] = part
        return part

    def _spec(self, chart: Chart, full: bool) -> str:
        """The chart's JSON: its layout and traces, each only when it changed."""
        data, layout_dict = figure_parts(chart.figure)
        traces = [to_json(trace) for trace in data]
        layout = to_json(layout_dict)
        key, keys = _key(layout), [_key(trace) for trace in traces]
        sent = [] if full else self.traces.get(chart.id, [])
        data = [
            "null" if i < len(sent) and sent[i] == keys[i] else trace
            for i, trace in enumerate(traces)
        ]
        parts = [
            f'"id":{json.dumps(chart.id)}',
            f'"layout_key":"{key}"',
            f'"data_keys":{json.dumps(keys)}',
            f'"data":[{",".join(data)}]',
        ]
        if full or self.layouts.get(chart.id) != key:
            parts.append(f'"layout":{layout}')
        self.layouts[chart.id], self.traces[chart.id] = key, keys
        return "{" + ",".join(parts) + "}"


def figure_parts(figure: Any) -> tuple[list[dict], dict]:
    """A figure's trace dicts and layout dict, read in place (a plotly Figure keeps them as
    plain dicts: `to_dict` would deep-copy them and re-scan every array)."""
    if isinstance(figure, dict):
        return figure.get("data", []), figure.get("layout", {})
    return figure._data, figure._layout


def to_json(value: Any) -> str:
    """Compact JSON as plotly.js reads it, the way plotly.py writes a figure: numeric NumPy
    arrays as typed-array specs {"dtype", "bdata" (base64 of the raw bytes), "shape"}, except
    under the keys plotly.py leaves as lists; NaN and infinities as null."""
    return json.dumps(_plain(value), separators=(",", ":"), allow_nan=False)


LIST_KEYS = frozenset({"geojson", "layer", "layers", "range"})  # plotly.py's is_skipped_key
TYPED_ARRAY = {
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "float32": "f4",
    "float64": "f8",
}  # plotly.js's short names
NARROWER = {"i": (np.int8, np.int16, np.int32), "u": (np.uint8, np.uint16, np.uint32)}


def _plain(value: Any, typed: bool = True) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, k not in LIST_KEYS) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, False) for v in value]
    if isinstance(value, np.ndarray):
        return _typed_array(value) if typed else _plain(value.tolist(), False)
    if isinstance(value, np.generic):
        return _plain(value.item(), False)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _typed_array(array: np.ndarray) -> Any:
    """A typed-array spec (64-bit integers narrowed as plotly.py does), else a list."""
    if array.size and array.dtype.kind in NARROWER and array.dtype.itemsize == 8:
        low, high = array.min(), array.max()
        fitting = [
            t
            for t in NARROWER[array.dtype.kind]
            if np.iinfo(t).min <= low and high <= np.iinfo(t).max
        ]
        array = array.astype(fitting[0]) if fitting else array
    short = TYPED_ARRAY.get(str(array.dtype))
    if short is None or array.size == 0:
        return _plain(array.tolist(), False)
    spec = {"dtype": short, "bdata": base64.b64encode(np.ascontiguousarray(array)).decode("ascii")}
    if array.ndim > 1:
        spec["shape"] = str(array.shape)[1:-1]
    return spec


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def driver(
    *,
    frame: int,
    answers: int,
    running: bool,
    members: list[str],
    session: str = "",
    trained: bool = False,
    fast_url: str | None = None,
    slow_interval: float | None = None,
) -> bytes:
    """The element that closes frame `frame`: it acks once every member chart is drawn.
    `session` names the server session (see LiveLoop.token); `trained`: whether the page has
    something to lose (a network trained past its initial weights). `fast_url`: where the
    browser fetches fast frames (`playground.liveview.fast`) between Streamlit frames, one
    Streamlit frame per `slow_interval` seconds; None: every frame is a Streamlit one."""
    head = {
        "role": "driver",
        "id": frame,
        "session": session,
        "trained": trained,
        "answers": answers,
        "running": running,
        "members": members,
        "min_interval": 1.0 / MAX_FRAME_RATE,
        "watchdog": WATCHDOG,
        "fast_url": fast_url,
        "slow_interval": slow_interval,
    }
    return json.dumps(head).encode()


def decode(frame: bytes) -> dict:
    """A frame part as the browser reads it (for tests and AppTest)."""
    return json.loads(frame.decode())
