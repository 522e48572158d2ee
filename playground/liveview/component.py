"""The live view as Streamlit elements (`st.components.v2`, mounted in the page's DOM).

    with frame("live", running=...):     # inside the fragment, after training
        plot(figure, "loss_chart")       # where the chart goes in the page
    # on exit: the driver element that acks the frame once its charts are drawn

The ack is a trigger value of the driver: it reruns only the enclosing fragment, and its
callback hands it to the loop (`LiveLoop`), which the fragment asks `take_tick()` before it
trains. Outside a frame, `plot` returns False and the caller draws an ordinary chart.

A chart drawn with `on_click` reports a click on a point that carries a pick tag
(`playground.charts.pick_tags`) as its trigger "clicked": the callback gets the tag, and if it
took it (returned True) the frame reruns the whole page instead, so that what draws outside the
fragment (the microscope, the weight editor) shows the pick.
plotly.js comes from the `plotly` package, served by Streamlit's component file route, so
the page works offline.
"""

from __future__ import annotations

import contextlib
import functools
import html
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import plotly
import streamlit as st
from streamlit import config
from streamlit.components.v1 import declare_component
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from playground.liveview import fast
from playground.liveview.frames import Chart, FrameBuilder, driver
from playground.liveview.loop import Ack, LiveLoop

FRONTEND = Path(__file__).parent / "frontend"
PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"  # holds plotly.min.js
ACK_EVENT = "drawn"
REJOINED_EVENT = "rejoined"  # the page trained in a session this server no longer has
CLICK_EVENT = "clicked"  # a chart's point with a pick tag was clicked

_component = st.components.v2.component(
    "backprop_playground.liveview",
    js=(FRONTEND / "liveview.js").read_text(),
    css=(FRONTEND / "liveview.css").read_text(),
    isolate_styles=False,  # plotly.js styles its graphs from the document's head
)
_plotly_route: dict[int, str] = {}  # Runtime id -> URL of plotly.min.js
_active = threading.local()  # the frame being rendered by this script thread


@dataclass
class _Frame:
    key: str
    id: int
    answers: int
    full: bool
    running: bool
    uirevision: str
    builder: FrameBuilder
    cadence: dict[str, int]
    members: list[str] = field(default_factory=list)
    again: dict[str, Callable[[], object]] = field(default_factory=dict)  # fast frames' charts
    texts: list[Callable[[], dict[str, str]]] = field(default_factory=list)  # fast frames' texts
    tables: list[Callable[[], dict[str, list[str]]]] = field(default_factory=list)  # and tables


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


def _state(key: str) -> tuple[LiveLoop, FrameBuilder]:
    state_key = f"{key}__liveview"
    if state_key not in st.session_state:
        st.session_state[state_key] = (LiveLoop(), FrameBuilder())
        fast.register_loop(st.session_state[state_key][0])
    return st.session_state[state_key]


def loop_for(key: str) -> LiveLoop:
    """This tab's loop for the live view `key`, kept in its session state."""
    return _state(key)[0]


def _on_ack(key: str) -> None:
    """The driver's trigger callback: the browser drew a frame."""
    value = st.session_state.get(key)
    loop_for(key).receive(Ack.parse(value.get(ACK_EVENT) if isinstance(value, dict) else None))


def _picked_key(key: str) -> str:
    """Where a taken click asks the live view `key`'s next frame to rerun the page instead."""
    return f"{key}__picked"


def _on_click(frame_key: str, key: str, on_click: Callable[[object], bool]) -> None:
    """Chart `key`'s trigger callback: hand the clicked point's tag to `on_click`."""
    value = st.session_state.get(key)
    tag = value.get(CLICK_EVENT) if isinstance(value, dict) else None
    if tag is not None and on_click(tag):
        st.session_state[_picked_key(frame_key)] = True


@contextlib.contextmanager
def frame(
    key: str,
    *,
    running: bool,
    trained: bool = False,
    uirevision: str = "",
    cadence: dict[str, int] | None = None,
    lock=None,
    train: Callable[[float], bool] | None = None,
    slow_interval: float | None = None,
    fast_cadence: dict[str, int] | None = None,
):
    """Render the next frame of the live view `key`: `plot` calls inside draw its charts; the
    driver closes it (and acks it in the browser while `running`). A chart named in `cadence`
    with n is redrawn in one frame out of n while running (and in every whole frame, and in
    every frame while paused, which may be the last for a while); in the others the browser
    keeps its drawing. `trained`: the page shows work that a lost session would lose
    (`LiveLoop.rejoined` reports a page that lost it). After a click a chart's `on_click`
    took, it reruns the whole page instead of drawing. While `running`, where fast frames are
    served (`fast`), `train(gap)` trains one fast frame under `lock` and the charts drawn with
    `again`, and the `texts`, are redrawn in each (a chart named in `fast_cadence` with n, or
    whose key starts with that name and "_", in one fast frame out of n), and the next
    Streamlit frame comes `slow_interval` seconds after this one."""
    loop, builder = _state(key)
    if st.session_state.pop(_picked_key(key), False) or loop.page_rerun.take():
        st.rerun()  # a pick, or a fast frame, changed what draws outside the fragment
    number, answers, full = loop.next_frame()
    if not _fragment_run():
        # A page run (a click, a widget) after frames of an ack's fragment run or fast frames
        # may have stopped that run, or started before Streamlit sent its parts: Streamlit
        # then drops them (a new run clears the unsent messages) while the builder counts them
        # sent. After the page run's own frame, nothing came between.
        full = full or builder.page_frame != number - 1
        builder.page_frame = number
    builder.renders += 1
    current = _Frame(key, number, answers, full, running, uirevision, builder, cadence or {})
    _active.frame = current
    try:
        yield current
    finally:
        _active.frame = None
    fast_view = _fast_view(current, loop, lock, train, fast_cadence) if running else None
    st.session_state[f"{key}__fast"] = fast_view  # the registry holds it only weakly
    data = driver(
        frame=number,
        answers=answers,
        running=running,
        members=current.members,
        session=loop.token,
        trained=trained,
        fast_url=fast.FRAME_PATH if fast_view is not None else None,
        slow_interval=slow_interval,
    )
    _component(
        key=key,
        data=data,
        on_drawn_change=lambda: _on_ack(key),
        on_rejoined_change=lambda: loop_for(key).rejoined.raise_(),
    )


def _fragment_run() -> bool:
    """Whether this script run is the live view's fragment alone (an ack's run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return bool(ctx and ctx.fragment_ids_this_run)


def _fast_view(current: _Frame, loop: LiveLoop, lock, train, cadence) -> fast.FastView | None:
    """What this frame's fast frames redraw, registered for the fast route; None where there
    are none (no route in this process, or nothing to redraw)."""
    redrawn = current.again or current.texts or current.tables
    if not fast.served() or train is None or lock is None or not redrawn:
        return None
    view = fast.FastView(
        loop=loop,
        builder=current.builder,
        lock=lock,
        train=train,
        charts=dict(current.again),
        metrics=functools.partial(_merged, list(current.texts)),
        tables=list(current.tables),
        cadence=dict(cadence or {}),
        uirevision=current.uirevision,
        plotly_url=plotly_url(),
    )
    fast.register(view)
    return view


def _merged(recipes: list[Callable[[], dict[str, str]]]) -> dict[str, str]:
    return {key: text for recipe in recipes for key, text in recipe().items()}


def texts(recipe: Callable[[], dict[str, str]]) -> None:
    """Texts of the frame being rendered, as `recipe()` gives them (key -> text): a key is an
    `st.metric`'s label or a `marked` span's key. Fast frames call it again after each
    training tick and show the new texts."""
    current = getattr(_active, "frame", None)
    if current is not None:
        current.texts.append(recipe)


def marked(key: str, text: str) -> str:
    """HTML for `text` in Markdown (`unsafe_allow_html`) that fast frames rewrite: the `texts`
    key `key` names it."""
    return f'<span data-bp-text="{html.escape(key)}">{html.escape(text)}</span>'


def table(recipe: Callable[[], dict[str, list[str]]]) -> None:
    """A table of the frame being rendered (`st.table` of `recipe()`: column -> cells): fast
    frames call it again after each training tick and rewrite its cells."""
    current = getattr(_active, "frame", None)
    if current is not None:
        current.tables.append(recipe)


def plot(
    figure,
    key: str,
    on_click: Callable[[object], bool] | None = None,
    again: Callable[[], object] | None = None,
) -> bool:
    """Draw `figure` as part of the frame being rendered; False if there is none. `on_click`
    gets the pick tag of a clicked point (untrusted JSON from the browser: check it) and
    returns whether it took it (then the page reruns). `again()`: the figure anew, for a
    chart that fast frames redraw (it changes at every step)."""
    current = getattr(_active, "frame", None)
    if current is None:
        return False
    if again is not None:
        current.again[key] = again
    clicked = None if on_click is None else (lambda: _on_click(current.key, key, on_click))
    kept = current.builder.sent.get(key)
    # Counted in Streamlit frames: between two of them come any number of fast frames.
    skip = current.running and current.builder.renders % current.cadence.get(key, 1)
    if kept is not None and not current.full and skip:
        # the same part again: the browser keeps its drawing
        _component(key=key, data=kept, on_clicked_change=clicked)
        return True
    part = current.builder.chart(
        Chart(key, figure),
        frame=current.id,
        full=current.full,
        uirevision=current.uirevision,
        plotly_url=plotly_url(),
        live=current.running,
    )
    _component(key=key, data=part, on_clicked_change=clicked)
    current.members.append(key)
    return True
