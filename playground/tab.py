"""This browser tab's state in `st.session_state`: the session, built from the link on first
use; the sidebar's widgets kept in step with the session's config; the link rewritten to say
that config (only the differences from the lesson it names) and every run side by side."""

from __future__ import annotations

import streamlit as st

from core.config import ConfigError
from playground import widget_state as W
from playground.data_source import load_for
from playground.presets import is_comparison, load_preset, preset_runs
from playground.session import PlaygroundSession
from playground.url_state import RUNS_KEY, link_query, query_to_state, runs_to_query

SESSION_KEY = "session"
HIDDEN_KEY = "hidden_sections"
PRESET_KEY = "preset_name"  # the lesson the title and notes come from, kept in the link


def session() -> PlaygroundSession:
    """This browser tab's session, created from the link on first use."""
    if SESSION_KEY not in st.session_state:
        params = {k: st.query_params.get_all(k) for k in st.query_params}
        base, notices = _preset_from_link(params)
        if base is not None and RUNS_KEY not in params:  # a comparison preset: all its runs
            params |= runs_to_query(base, preset_runs(params["preset"][0]))
        url = query_to_state(params, base)
        new = PlaygroundSession.start(url.config, load_for)
        new.add_runs(url.runs, reference=url.reference, branches=url.branches)
        if notices + url.notices:
            new.notify("warning", " ".join(notices + url.notices), "link")
        st.session_state[SESSION_KEY] = new
        st.session_state[HIDDEN_KEY] = url.hidden_sections
        st.session_state[PRESET_KEY] = params["preset"][0] if base is not None else ""
        st.session_state.update(W.config_to_widgets(new.config))
    return st.session_state[SESSION_KEY]


def hidden_sections() -> tuple[str, ...]:
    """The parts of the page the link hides (sidebar sections, "charts")."""
    return st.session_state.get(HIDDEN_KEY, ())


def _preset_from_link(params: dict) -> tuple:
    name = (params.get("preset") or [""])[0]
    if not name:
        return None, []
    try:
        return load_preset(name), []
    except ConfigError as err:
        return None, [f"Unknown preset in the link ({err.value}): the defaults were used."]


def sync_config_from_widgets(session: PlaygroundSession) -> None:
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


def write_url(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    params = link_query(
        session.base_config,
        st.session_state.get(PRESET_KEY, ""),
        hidden,
        runs=session.run_configs(),
        reference=session.run_names[0],
        branches=session.run_branches(),
    )
    if params.get("preset") and RUNS_KEY not in params and is_comparison(params["preset"]):
        params[RUNS_KEY] = session.run_names[0]  # one run left: not the preset's runs again
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != params:
        st.query_params.from_dict(params)
