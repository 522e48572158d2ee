"""Streamlit's browser protocol, the parts a student's tab uses.

The browser opens ws://host/_stcore/stream with the subprotocol "streamlit" and sends
BackMsg protobufs; the server answers with ForwardMsg protobufs. What a tab sends:

- on connect, and on every widget click: `BackMsg(rerun_script=ClientState(...))`; a button
  click carries `WidgetState(id=<button id>, trigger_value=True)`;
- the live view (playground/liveview, an `st.components.v2` component) acks each frame it
  has drawn with `setTriggerValue("drawn", {frame, ok})`. The frontend's widget manager
  turns that into `WidgetState(id="$$STREAMLIT_INTERNAL_KEY_<element id>__events",
  json_trigger_value='[{"event":"drawn","value":{...}}]')` (the component's trigger
  aggregator) and flushes it with `rerun_script.fragment_id` = the fragment the component
  element was drawn in, so only that fragment reruns. The browser also repeats the current
  value of every other widget it holds; the load client sends only the trigger (the server
  keeps a widget's last value when the message omits it, and nobody here changes one).

This module only builds and reads messages; `student.py` does the talking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STREAM_PATH = "/_stcore/stream"
SUBPROTOCOL = "streamlit"
FINISHED = ForwardMsg.ScriptFinishedStatus
RUN_DONE = (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
INTERNAL_KEY = "$$STREAMLIT_INTERNAL_KEY"  # streamlit.components.v2: trigger widget ids
TRIGGER_AGGREGATOR = "events"  # a component's triggers all travel in one widget


def component_events_id(element_id: str) -> str:
    """The widget id under which a v2 component's trigger values travel (as the frontend's
    BidiComponent builds it from the element id)."""
    return f"{INTERNAL_KEY}_{element_id}__{TRIGGER_AGGREGATOR}"


def component_trigger(event: str, value) -> str:
    """`json_trigger_value` of one `setTriggerValue(event, value)` (JSON.stringify form)."""
    return json.dumps([{"event": event, "value": value}], separators=(",", ":"))


def rerun_message(
    trigger_id: str | None = None,
    fragment_id: str = "",
    url: str = "",
    query: str = "",
    component: tuple[str, str, object] | None = None,
) -> bytes:
    """The BackMsg a tab sends for a rerun: a click (`trigger_id`), or a component's trigger
    value `component` = (element id, event, value) rerunning the fragment `fragment_id`.

    `query` is the page's query string (without "?"), as the address bar shows it.
    """
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query
    state.page_script_hash = ""
    state.page_name = ""
    state.fragment_id = fragment_id
    state.is_auto_rerun = False
    state.widget_states.SetInParent()
    if trigger_id:
        widget = state.widget_states.widgets.add()
        widget.id = trigger_id
        widget.trigger_value = True
    if component:
        element_id, event, value = component
        widget = state.widget_states.widgets.add()
        widget.id = component_events_id(element_id)
        widget.json_trigger_value = component_trigger(event, value)
    info = state.context_info
    info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
    info.url, info.is_embedded, info.color_scheme = url, False, "light"
    return msg.SerializeToString()


@dataclass
class Seen:
    """What one ForwardMsg told us, reduced to what a load test needs."""

    kind: str  # the ForwardMsg oneof: "delta", "script_finished", "new_session", ...
    button: tuple[str, str] | None = None  # (label, widget id)
    metric: tuple[str, str, str] | None = None  # (label, value, fragment id)
    exception: str = ""
    component: tuple[str, dict] | None = None  # a v2 component: (element id, its data head)
    alert: str = ""  # the text of a notice (st.info, st.warning, st.error, ...)
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
    elif kind == "page_info_changed":
        seen.query_string = msg.page_info_changed.query_string
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
    elif which == "alert":
        seen.alert = element.alert.body
    elif which == "bidi_component":
        part = component_data(element.bidi_component)
        if part is not None:
            seen.component = (element.bidi_component.id, part)
    elif which == "exception":
        seen.exception = f"{element.exception.type}: {element.exception.message}"


def component_data(proto) -> dict | None:
    """A v2 component's JSON data (sent as JSON or as UTF-8 bytes), None if it is neither.

    A live view chart part is read up to its head ({"role", "frame", "uirevision",
    "plotly_url"}): the figure after it is large and the student only needs the head."""
    raw = proto.bytes if proto.bytes else proto.json.encode()
    if not raw:
        return None
    head, found, _ = raw.partition(b',"chart":')
    try:
        part = json.loads(head + b"}" if found else raw)
    except ValueError:
        return None
    return part if isinstance(part, dict) else None


def parse_count(text: str) -> int | None:
    """A metric body such as "12,345" as an int (None if it is not a count)."""
    try:
        return int(text.replace(",", "").strip())
    except ValueError:
        return None
