"""Text on the page: the lesson's title and notes, and the notices with their close buttons."""

from __future__ import annotations

import streamlit as st

from playground.panels.common import escape
from playground.session import PlaygroundSession

NOTICE_STYLE = {"info": st.info, "warning": st.warning, "error": st.error}


def render_title(session: PlaygroundSession) -> None:
    if session.config.title:
        st.markdown(f"**{escape(session.config.title)}**")
        st.caption(escape(session.config.notes))


def render_notices(session: PlaygroundSession) -> None:
    """Each message with a close button: it stays until dismissed or replaced by its kind."""
    for notice in list(session.notices):
        text, close = st.columns([14, 1], vertical_alignment="center")
        with text:
            NOTICE_STYLE.get(notice.level, st.info)(escape(notice.text))
        close.button(
            "✕",
            key=f"dismiss_notice_{notice.id}",
            help="Dismiss this message",
            type="tertiary",
            on_click=session.dismiss,
            args=(notice.id,),
        )
