"""The playground as served: the Streamlit app (playground/app.py) plus the route of the live
view's fast frames (`playground.liveview.fast`).

Run with `streamlit run playground/server.py` (Streamlit finds the `st.App` below). Running
playground/app.py itself also works, without fast frames: every live frame is then a
Streamlit frame.
"""

from __future__ import annotations

import streamlit as st

from playground import no_delay
from playground.liveview import fast

no_delay.install()  # before the first connection: uvicorn imports this module to find `app`
app = st.App("app.py", routes=fast.routes())
