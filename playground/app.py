"""Backprop Playground: build a network, watch it train step by step.

Run with `streamlit run playground/app.py`. This file is the page's table of contents: each
part of the page has its own module in `playground/panels/`, the tab's state (session, widgets,
link) is kept by `playground.tab`, the live loop by `playground.live`, the logic lives in
`playground.session` and the figures in `playground.charts`.
"""

from __future__ import annotations

import streamlit as st

from playground import live, pacing, tab
from playground.panels import messages, run_buttons, runs, sidebar


def main() -> None:
    st.set_page_config(page_title="Backprop Playground", page_icon="🧠", layout="wide")
    pacing.freeze_startup_objects()
    session = tab.session()
    hidden = tab.hidden_sections()
    tab.sync_config_from_widgets(session)
    # The main area first, so that after a click (Pause) the live panel is redrawn before the
    # many sidebar widgets; the sidebar's place on the page does not depend on this order.
    run_buttons.render(session)
    messages.render_notices(session)
    runs.render(session)
    live.render_panels(session, hidden)
    sidebar.render(session, hidden)
    tab.write_url(session, hidden)


main()
