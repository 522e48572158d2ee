"""Frames for the live view: the charts' data (and their layouts when they changed) as one
JSON document, numbered by the loop. Pure: figures in, bytes out.

A chart's layout travels when it differs from the last one sent for that chart (or the frame
is whole); every chart names its layout by a key, so the browser can tell when it lacks the
one named (a lost frame) and ask for a whole frame. A chart with `every = k` travels in one
frame out of k (the others keep its last drawing), and in every whole frame.
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
    """One chart of a frame: its id (also its place in the page) and its figure."""

    id: str
    figure: Any  # a plotly Figure or its dict {"data": [...], "layout": {...}}
    every: int = 1


@dataclass
class FrameBuilder:
    """What the browser was last sent, per chart: the layout key (to skip unchanged layouts)."""

    layouts: dict[str, str] = field(default_factory=dict)

    def build(
        self,
        charts: list[Chart],
        *,
        frame: int,
        answers: int,
        full: bool,
        running: bool,
        uirevision: str,
        plotly_url: str,
    ) -> bytes:
        """The frame's JSON document (UTF-8)."""
        specs = [
            self._spec(chart, full)
            for chart in charts
            if full or chart.every <= 1 or frame % chart.every == 0
        ]
        head = {
            "id": frame,
            "answers": answers,
            "running": running,
            "full": full,
            "min_interval": 1.0 / MAX_FRAME_RATE,
            "watchdog": WATCHDOG,
            "plotly_url": plotly_url,
            "uirevision": uirevision,
            "order": [chart.id for chart in charts],
        }
        body = json.dumps(head)[:-1] + ',"charts":[' + ",".join(specs) + "]}"
        return body.encode()

    def _spec(self, chart: Chart, full: bool) -> str:
        """'{"id", "layout_key", "data", "layout"?}' with the layout only when it changed."""
        figure = _as_dict(chart.figure)
        data = to_json_plotly(figure.get("data", []))
        layout = to_json_plotly(figure.get("layout", {}))
        key = hashlib.blake2b(layout.encode(), digest_size=8).hexdigest()
        parts = [f'"id":{json.dumps(chart.id)}', f'"layout_key":"{key}"', f'"data":{data}']
        if full or self.layouts.get(chart.id) != key:
            parts.append(f'"layout":{layout}')
            self.layouts[chart.id] = key
        return "{" + ",".join(parts) + "}"


def _as_dict(figure) -> dict:
    return figure if isinstance(figure, dict) else figure.to_plotly_json()


def decode(frame: bytes) -> dict:
    """The frame as the browser reads it (for tests and AppTest)."""
    return json.loads(frame.decode())
