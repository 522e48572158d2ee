"""Backprop Playground: build a network, watch it train step by step.

Run with `streamlit run playground/app.py`. This file only lays out widgets and
figures; the logic lives in `playground.session` and the figures in
`playground.charts`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from core.config import ConfigError  # noqa: E402
from playground import controls, io_panel, live, pacing, views  # noqa: E402
from playground import widget_state as W  # noqa: E402
from playground.data_source import load_for  # noqa: E402
from playground.presets import load_preset  # noqa: E402
from playground.session import PlaygroundSession  # noqa: E402
from playground.url_state import link_query, query_to_state  # noqa: E402

SESSION_KEY = "session"
HIDDEN_KEY = "hidden_sections"
PRESET_KEY = "preset_name"  # the lesson the title and notes come from, kept in the link


def _session() -> PlaygroundSession:
    """This browser tab's session, created from the link on first use."""
    if SESSION_KEY not in st.session_state:
        params = {k: st.query_params.get_all(k) for k in st.query_params}
        base, notices = _preset_from_link(params)
        url = query_to_state(params, base)
        session = PlaygroundSession.start(url.config, load_for)
        if notices + url.notices:
            session.notify("warning", " ".join(notices + url.notices), "link")
        st.session_state[SESSION_KEY] = session
        st.session_state[HIDDEN_KEY] = url.hidden_sections
        st.session_state[PRESET_KEY] = params["preset"][0] if base is not None else ""
        st.session_state.update(W.config_to_widgets(session.config))
    return st.session_state[SESSION_KEY]


def _preset_from_link(params: dict) -> tuple:
    name = (params.get("preset") or [""])[0]
    if not name:
        return None, []
    try:
        return load_preset(name), []
    except ConfigError as err:
        return None, [f"Unknown preset in the link ({err.value}): the defaults were used."]


def _sync_config_from_widgets(session: PlaygroundSession) -> None:
    """Adopt what the widgets show; if it cannot be used, put the widgets back."""
    try:
        wanted = W.widgets_to_config(st.session_state, session.config)
    except ConfigError as err:
        session.notify("error", f"That setting is not allowed: {err}", "config")
        wanted = None
    if wanted is not None:
        session.apply_config(wanted)
    if wanted != session.config:
        st.session_state.update(W.config_to_widgets(session.config))
    for k, v in W.config_to_widgets(session.config).items():
        st.session_state.setdefault(k, v)


def _on_preset() -> None:
    name = st.session_state.get("preset_choice")
    session = st.session_state[SESSION_KEY]
    if not name:
        return
    try:
        config = load_preset(name)
    except ConfigError as err:
        session.notify("error", str(err), "config")
        return
    if session.apply_config(config, announce=False):
        st.session_state[PRESET_KEY] = name
        session.notify("info", f"Loaded the preset “{config.title}”. {config.notes}", "config")
    st.session_state.update(W.config_to_widgets(session.config))


def _on_regenerate() -> None:
    st.session_state[W.key("data.seed")] = controls.new_seed()


def _sidebar(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    with st.sidebar:
        st.title("Backprop Playground")
        if "presets" not in hidden:
            controls.render_presets(_on_preset)
        if "data" not in hidden:
            with st.expander("Data", expanded=True):
                controls.render_data(session.config, _on_regenerate)
                io_panel.render_csv_upload(session)
        if "network" not in hidden:
            with st.expander("Network", expanded=True):
                controls.render_network(session.config)
        if "training" not in hidden:
            with st.expander("Training", expanded=False):
                n_train = len(session.dataset.y_train) if session.dataset else 1
                controls.render_training(session.config, n_train)
        if "io" not in hidden:
            with st.expander("Save, load and export", expanded=False):
                io_panel.render(session)


def _write_url(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    params = link_query(session.config, st.session_state.get(PRESET_KEY, ""), hidden)
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != params:
        st.query_params.from_dict(params)


def main() -> None:
    st.set_page_config(page_title="Backprop Playground", page_icon="🧠", layout="wide")
    pacing.freeze_startup_objects()
    session = _session()
    hidden = st.session_state.get(HIDDEN_KEY, ())
    _sync_config_from_widgets(session)
    # The main area first, so that after a click (Pause) the live panel is redrawn before the
    # many sidebar widgets; the sidebar's place on the page does not depend on this order.
    live.render_buttons(session)
    views.render_notices(session)
    live.render_panels(session, hidden)
    _sidebar(session, hidden)
    _write_url(session, hidden)


main()
