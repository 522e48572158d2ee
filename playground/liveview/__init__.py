"""The closed-loop live view: the browser asks for the next frame when it has drawn the last,
and charts update in place (Plotly.react with uirevision). `loop` and `frames` are pure;
`component` is the Streamlit side."""

from playground.liveview.component import frame, loop_for, marked, plot, table, texts
from playground.liveview.frames import Chart, FrameBuilder, decode
from playground.liveview.loop import Ack, LiveLoop

__all__ = [
    "Ack",
    "Chart",
    "FrameBuilder",
    "LiveLoop",
    "decode",
    "frame",
    "loop_for",
    "marked",
    "plot",
    "table",
    "texts",
]
