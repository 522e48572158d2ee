"""Streamlit's browser protocol, the parts a student's tab uses.

The browser opens ws://host/_stcore/stream with the subprotocol "streamlit" and sends
BackMsg protobufs; the server answers with ForwardMsg protobufs. What a tab sends:

- on connect, and on every widget click: `BackMsg(rerun_script=ClientState(...))`; a button
  click carries `WidgetState(id=<button id>, trigger_value=True)`;
- for each fragment with `run_every`, the server sends `ForwardMsg.auto_rerun(interval,
  fragment_id)`; the frontend then calls `setInterval(() => sendUpdateWidgetsMessage(
  fragment_id, isAutoRerun=true), interval * 1000)` (no back-off: it fires whether or not
  the last run has finished; the server coalesces pending reruns), and clears the timer on
  `stop_auto_rerun`. An `auto_rerun` with an unchanged interval keeps the running timer.

This module only builds and reads messages; `student.py` does the talking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STREAM_PATH = "/_stcore/stream"
SUBPROTOCOL = "streamlit"
FINISHED = ForwardMsg.ScriptFinishedStatus
RUN_DONE = (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


def rerun_message(
    trigger_id: str | None = None,
    fragment_id: str = "",
    auto: bool = False,
    url: str = "",
    query: str = "",
) -> bytes:
    """The BackMsg a tab sends for a rerun: a click (`trigger_id`) or a fragment timer tick.

    `query` is the page's query string (without "?"), as the address bar shows it.
    """
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query
    state.page_script_hash = ""
    state.page_name = ""
    state.fragment_id = fragment_id
    state.is_auto_rerun = auto
    state.widget_states.SetInParent()
    if trigger_id:
        widget = state.widget_states.widgets.add()
        widget.id = trigger_id
        widget.trigger_value = True
    info = state.context_info
    info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
    info.url, info.is_embedded, info.color_scheme = url, False, "light"
    return msg.SerializeToString()


@dataclass
class Seen:
    """What one ForwardMsg told us, reduced to what a load test needs."""

    kind: str  # the ForwardMsg oneof: "delta", "script_finished", "auto_rerun", ...
    button: tuple[str, str] | None = None  # (label, widget id)
    metric: tuple[str, str, str] | None = None  # (label, value, fragment id)
    exception: str = ""
    auto_rerun: tuple[str, float] | None = None  # (fragment id, interval seconds)
    stop_auto_rerun: list[str] = field(default_factory=list)
    finished: int | None = None  # ScriptFinishedStatus
    fragment_ids: tuple[str, ...] = ()  # of the run this message belongs to
    delta_fragment: str = ""  # the fragment a delta belongs to ("" outside fragments)
    query_string: str | None = None  # the app rewrote the address bar's query string
    element: str = ""  # the type of a new element, e.g. "plotly_chart"
    session_id: str = ""  # new_session: the server's id of this tab's session


def read(data: bytes) -> Seen:
    """Decode one ForwardMsg frame."""
    msg = ForwardMsg()
    msg.ParseFromString(data)
    kind = msg.WhichOneof("type") or ""
    seen = Seen(kind=kind, fragment_ids=tuple(msg.metadata.run.fragment_ids))
    if kind == "delta":
        _read_delta(msg.delta, seen)
    elif kind == "new_session":
        seen.session_id = msg.new_session.initialize.session_id
    elif kind == "script_finished":
        seen.finished = msg.script_finished
    elif kind == "auto_rerun":
        seen.auto_rerun = (msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
    elif kind == "page_info_changed":
        seen.query_string = msg.page_info_changed.query_string
    elif kind == "stop_auto_rerun":
        seen.stop_auto_rerun = list(msg.stop_auto_rerun.fragment_ids)
    elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
        seen.exception = msg.session_event.script_compilation_exception.message
    return seen


def _read_delta(delta, seen: Seen) -> None:
    seen.delta_fragment = delta.fragment_id
    if delta.WhichOneof("type") != "new_element":
        return
    element = delta.new_element
    which = element.WhichOneof("type")
    seen.element = which or ""
    if which == "button":
        seen.button = (element.button.label, element.button.id)
    elif which == "metric":
        seen.metric = (element.metric.label, element.metric.body, delta.fragment_id)
    elif which == "exception":
        seen.exception = f"{element.exception.type}: {element.exception.message}"


def parse_count(text: str) -> int | None:
    """A metric body such as "12,345" as an int (None if it is not a count)."""
    try:
        return int(text.replace(",", "").strip())
    except ValueError:
        return None
