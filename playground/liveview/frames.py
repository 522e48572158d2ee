"""Frames for the live view, as the browser reads them. Pure: figures in, JSON bytes out.

A frame is drawn by several chart elements (one per chart, where the page lays it out) and
closed by a driver element mounted after them, which acks the frame once every chart of it
is drawn:

    chart   {"role": "chart", "frame", "uirevision", "plotly_url",
             "chart": {"id", "layout_key", "data", "layout"?}}
    driver  {"role": "driver", "id", "answers", "running", "members",
             "min_interval", "watchdog"}

A chart's layout travels when it differs from the last one sent for that chart (or the frame
is whole); it is named by a key, so the browser can tell when it lacks the one named (a lost
frame) and ask for a whole frame.
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
    """What the browser was last sent, per chart: the layout key (to skip unchanged layouts)."""

    layouts: dict[str, str] = field(default_factory=dict)

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
        return (json.dumps(head)[:-1] + ',"chart":' + self._spec(chart, full) + "}").encode()

    def _spec(self, chart: Chart, full: bool) -> str:
        """'{"id", "layout_key", "data", "layout"?}' with the layout only when it changed."""
        figure = chart.figure if isinstance(chart.figure, dict) else chart.figure.to_plotly_json()
        data = to_json_plotly(figure.get("data", []))
        layout = to_json_plotly(figure.get("layout", {}))
        key = hashlib.blake2b(layout.encode(), digest_size=8).hexdigest()
        parts = [f'"id":{json.dumps(chart.id)}', f'"layout_key":"{key}"', f'"data":{data}']
        if full or self.layouts.get(chart.id) != key:
            parts.append(f'"layout":{layout}')
            self.layouts[chart.id] = key
        return "{" + ",".join(parts) + "}"


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
