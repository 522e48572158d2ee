"""The sidebar: lessons (presets), then the settings by section (data, network, training) and
save / load / export. `hidden` names the sections a link hides."""

from __future__ import annotations

import streamlit as st

from core.config import ConfigError
from playground import controls, io_panel, tab
from playground import widget_state as W
from playground.panels import runs
from playground.presets import load_preset, preset_runs
from playground.session import PlaygroundSession


def render(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    with st.sidebar:
        st.title("Backprop Playground")
        runs.render_edit_choice(session)
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


def _on_preset() -> None:
    name = st.session_state.get("preset_choice")
    session = tab.session()
    if not name:
        return
    try:
        config = load_preset(name)
        others = preset_runs(name, config)  # a comparison's other runs; [] for one run
    except ConfigError as err:
        session.notify("error", str(err), "config")
        return
    for run_name in session.run_names[1:]:  # a lesson replaces the comparison on the page
        session.remove_run(run_name)
    if session.apply_config(config, announce=False):
        st.session_state[tab.PRESET_KEY] = name
        session.add_runs(others)
        session.notify("info", f"Loaded the preset “{config.title}”. {config.notes}", "config")
    st.session_state.update(W.config_to_widgets(session.config))


def _on_regenerate() -> None:
    st.session_state[W.key("data.seed")] = controls.new_seed()
