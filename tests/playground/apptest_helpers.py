"""Drive the real app script with streamlit.testing.v1.AppTest."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "playground" / "app.py")


def open_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def steps(at: AppTest) -> int:
    return int(metric(at, "Steps"))


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def session(at: AppTest):
    return at.session_state["session"]


def messages(at: AppTest) -> str:
    """The text of every notice as a reader sees it (Markdown escapes removed)."""
    return " ".join(str(m.value) for m in [*at.info, *at.warning, *at.error]).replace("\\", "")


def charts(at: AppTest) -> list[tuple[str, dict]]:
    """Every chart on the page in order, as (element id, figure): ordinary Plotly charts and
    the live view's charts (AppTest runs no JavaScript: the figure is the frame it was sent,
    whose layout is left out when unchanged since the previous frame)."""
    import json

    from playground.liveview import decode

    found = []
    for element in at.get("plotly_chart"):
        found.append((str(element.proto.id), json.loads(element.proto.spec)))
    for element in at.get("bidi_component"):
        part = decode(element.proto.bytes) if element.proto.bytes else {}
        if part.get("role") == "chart":
            found.append((str(element.proto.id), part["chart"]))
    return found


def chart_ids(at: AppTest) -> list[str]:
    return [chart_id for chart_id, _ in charts(at)]


def ack(at: AppTest) -> AppTest:
    """What the browser does once it has drawn the live view's newest frame: ack it (the
    next run trains one tick while playing)."""
    from playground.live import LIVE_VIEW
    from playground.liveview import Ack

    loop = at.session_state[f"{LIVE_VIEW}__liveview"][0]
    loop.receive(Ack(loop.sent))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def opened_after_a_step(open_key: str, query: dict | None = None) -> AppTest:
    """The app after one Step with the expander whose state key is `open_key` opened."""
    at = click(open_app(query), "Step")
    at.session_state[open_key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def values(spec) -> np.ndarray:
    """A trace's array as the browser reads it: a list, or a typed array {dtype, bdata}."""
    if isinstance(spec, dict):
        return np.frombuffer(base64.b64decode(spec["bdata"]), np.dtype(spec["dtype"]))
    return np.asarray(spec, dtype=np.float64)
