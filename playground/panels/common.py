"""What every panel uses to show figures, numbers and user-supplied text."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import streamlit as st

from playground import liveview
from playground.charts import CAPTIONS

PLOT_CONFIG = {"displayModeBar": False, "responsive": True}


def plot(fig, key: str, caption: str, on_click=None, again=None) -> None:
    """A Plotly figure under a fixed key, with its caption (`CAPTIONS[caption]`) below: inside
    the live view's frame it is drawn by the live view, elsewhere as an ordinary chart.
    `on_click`: takes a clicked point's pick tag; `again()`: the figure anew, for fast frames
    (live view only, see `liveview.plot`)."""
    if not liveview.plot(fig, key, on_click, again):
        st.plotly_chart(fig, key=key, config=PLOT_CONFIG, theme=None)
    st.caption(CAPTIONS[caption])


@contextlib.contextmanager
def lazy_expander(title: str, key: str, caption: str) -> Iterator[bool]:
    """An expander with its caption; yields whether it is open (a closed one computes nothing,
    and opening or closing it reruns the page so that it fills)."""
    box = st.expander(title, key=key, on_change="rerun")
    with box:
        st.caption(caption)
        yield box.open


def fmt(value: float | None, digits: int = 4) -> str:
    """A figure to `digits` significant digits; a dash when it is missing or not finite."""
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}g}"


def escape(text: str) -> str:
    """User-supplied text is shown as text, never as HTML or Markdown."""
    for ch in "\\`*_{}[]<>()#+-.!|~$":
        text = text.replace(ch, "\\" + ch)
    return text
