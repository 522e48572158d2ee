"""Frames for the live view, as the browser reads them. Pure: figures in, JSON bytes out.

A frame is drawn by several chart elements (one per chart, where the page lays it out) and
closed by a driver element mounted after them, which acks the frame once every chart of it
is drawn:

    chart   {"role": "chart", "frame", "uirevision", "plotly_url",
             "chart": {"id", "layout_key", "layout"?, "data_keys", "data"}}
    driver  {"role": "driver", "id", "answers", "running", "members",
             "min_interval", "watchdog"}

A chart's layout, and each of its traces, travels when it differs from the one last sent in
its place (or the frame is whole); otherwise `layout` is left out and the trace is null (the
data points of the output map, for one, never change). Each is named by a key, so the browser
can tell when it lacks the one named (a lost frame) and ask for a whole frame.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from plotly.io.json import to_json_plotly

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

    def chart(
        self, chart: Chart, *, frame: int, full: bool, uirevision: str, plotly_url: str
    ) -> bytes:
        """One chart's part of frame `frame` (UTF-8 JSON)."""
        head = {
            "role": "chart",
            "frame": frame,
            "uirevision": uirevision,
            "plotly_url": plotly_url,
        }
        part = (json.dumps(head)[:-1] + ',"chart":' + self._spec(chart, full) + "}").encode()
        self.sent[chart.id] = part
        return part

    def _spec(self, chart: Chart, full: bool) -> str:
        """The chart's JSON: its layout and traces, each only when it changed."""
        figure = chart.figure if isinstance(chart.figure, dict) else chart.figure.to_plotly_json()
        traces = [to_json_plotly(trace) for trace in figure.get("data", [])]
        layout = to_json_plotly(figure.get("layout", {}))
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


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def driver(*, frame: int, answers: int, running: bool, members: list[str]) -> bytes:
    """The element that closes frame `frame`: it acks once every member chart is drawn."""
    head = {
        "role": "driver",
        "id": frame,
        "answers": answers,
        "running": running,
        "members": members,
        "min_interval": 1.0 / MAX_FRAME_RATE,
        "watchdog": WATCHDOG,
    }
    return json.dumps(head).encode()


def decode(frame: bytes) -> dict:
    """A frame part as the browser reads it (for tests and AppTest)."""
    return json.loads(frame.decode())
