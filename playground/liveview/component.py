"""The live view as a Streamlit component (`st.components.v2`, mounted in the page's DOM).

    draw_frame(key, loop, charts, running=...)   renders the next frame; returns nothing

The browser draws the frame with Plotly.react and acks it; the ack is a trigger value that
reruns only the enclosing fragment, and its callback hands it to the loop (`LiveLoop`), which
the fragment asks `take_tick()` before training. plotly.js comes from the `plotly` package
(served by Streamlit's component file route, so the page works offline).
"""

from __future__ import annotations

from pathlib import Path

import plotly
import streamlit as st
from streamlit import config
from streamlit.components.v1 import declare_component
from streamlit.runtime import Runtime

from playground.liveview.frames import Chart, FrameBuilder
from playground.liveview.loop import Ack, LiveLoop

FRONTEND = Path(__file__).parent / "frontend"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"  # holds plotly.min.js
ACK_EVENT = "drawn"

_component = st.components.v2.component(
    "backprop_playground.liveview",
    js=(FRONTEND / "liveview.js").read_text(),
    css=(FRONTEND / "liveview.css").read_text(),
    isolate_styles=False,  # plotly.js styles its graphs from the document's head
)
_plotly_route: dict[int, str] = {}  # Runtime id -> URL of plotly.min.js


def plotly_url() -> str:
    """Where the browser loads plotly.js: the plotly package's own folder, served by
    Streamlit's component route (registered once per Runtime)."""
    runtime = id(Runtime.instance()) if Runtime.exists() else 0
    if runtime not in _plotly_route:
        name = declare_component("plotlyjs", path=str(PLOTLY_DIR)).name
        base = config.get_option("server.baseUrlPath").strip("/")
        prefix = f"/{base}" if base else ""
        _plotly_route[runtime] = f"{prefix}/component/{name}/plotly.min.js"
    return _plotly_route[runtime]


def loop_for(key: str) -> LiveLoop:
    """This tab's loop for the view `key`, kept in its session state."""
    state_key = f"{key}__loop"
    if state_key not in st.session_state:
        st.session_state[state_key] = (LiveLoop(), FrameBuilder())
    return st.session_state[state_key][0]


def _builder(key: str) -> FrameBuilder:
    loop_for(key)
    return st.session_state[f"{key}__loop"][1]


def _on_ack(key: str) -> None:
    """The component's trigger callback: the browser drew a frame."""
    value = st.session_state.get(key)
    loop_for(key).receive(Ack.parse(value.get(ACK_EVENT) if isinstance(value, dict) else None))


def draw_frame(key: str, charts: list[Chart], *, running: bool, uirevision: str = "") -> bytes:
    """Number and render the next frame of the view `key` (the browser acks it when drawn,
    while `running`). Returns the frame (what the browser was sent)."""
    loop = loop_for(key)
    frame, answers, full = loop.next_frame()
    data = _builder(key).build(
        charts,
        frame=frame,
        answers=answers,
        full=full,
        running=running,
        uirevision=uirevision,
        plotly_url=plotly_url(),
    )
    _component(key=key, data=data, on_drawn_change=lambda: _on_ack(key))
    return data
