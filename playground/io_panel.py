"""Downloads (model, config, history) and uploads (saved model, CSV data). Thin Streamlit code."""

from __future__ import annotations

import streamlit as st

from core.data import DataError, csv_columns
from playground import exports
from playground import widget_state as W
from playground.data_source import CSV_BYTES_KEY, CSV_NAME_KEY
from playground.session import PlaygroundSession

MODEL_UPLOAD_KEY = "model_upload"
CSV_TASKS = {
    "auto": "infer from the column",
    "binary": "binary classification",
    "multiclass": "multi-class classification",
    "regression": "regression",
}
CSV_UPLOAD_KEY = "csv_upload"


def render(session: PlaygroundSession) -> None:
    _download(
        "Download trained model (.npz)",
        lambda: exports.model_bytes(session),
        "backprop-playground-model.npz",
        "application/octet-stream",
        "Weights and configuration in one .npz file (no pickle). Load it here again.",
    )
    _download(
        "Download configuration (.json)",
        session.config.to_json,
        "backprop-playground-config.json",
        "application/json",
    )
    _download(
        "Download training history (.csv)",
        lambda: exports.history_csv(session),
        "backprop-playground-history.csv",
        "text/csv",
    )
    st.file_uploader(
        "Start from a saved model (.npz)",
        type=["npz"],
        key=MODEL_UPLOAD_KEY,
        on_change=_on_model_upload,
        args=(session,),
    )
    st.radio(
        "Use the saved model's",
        ("weights and configuration", "matching weights in the current network"),
        key="model_upload_mode",
        help="The second option is transfer learning: layers whose shapes match are copied.",
    )


def _download(label: str, data, file_name: str, mime: str, help: str | None = None) -> None:
    """A download whose bytes are made only when the button is pressed."""
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        on_click="ignore",
        width="stretch",
        help=help,
    )


def _on_model_upload(session: PlaygroundSession) -> None:
    upload = st.session_state.get(MODEL_UPLOAD_KEY)
    if upload is None:
        return
    transfer = st.session_state.get("model_upload_mode", "").startswith("matching")
    if session.load_model_bytes(upload.getvalue(), transfer=transfer):
        st.session_state.update(W.config_to_widgets(session.config))


def render_csv_upload(session: PlaygroundSession) -> None:
    st.file_uploader(
        "Or train on your own CSV file",
        type=["csv", "txt"],
        key=CSV_UPLOAD_KEY,
        on_change=_on_csv_upload,
        args=(session,),
        help="A header row, then one row per example. Pick the column to predict below.",
    )
    columns = st.session_state.get("csv_columns") or []
    if columns and session.config.data.dataset == "csv":
        if st.session_state.get(W.key("data.csv_target")) not in columns:
            st.session_state[W.key("data.csv_target")] = columns[-1]
        st.selectbox("Column to predict", columns, key=W.key("data.csv_target"))
        st.selectbox("Task", CSV_TASKS, key=W.key("data.csv_task"), format_func=CSV_TASKS.get)


def _on_csv_upload(session: PlaygroundSession) -> None:
    upload = st.session_state.get(CSV_UPLOAD_KEY)
    if upload is None:
        return
    data = upload.getvalue()
    try:
        columns = csv_columns(data)
    except DataError as err:
        session.notify("error", f"That file cannot be used: {err}")
        return
    st.session_state[CSV_BYTES_KEY] = data
    st.session_state[CSV_NAME_KEY] = upload.name
    st.session_state["csv_columns"] = columns
    st.session_state[W.key("data.csv_target")] = columns[-1]
    st.session_state[W.key("data.dataset")] = "csv"
