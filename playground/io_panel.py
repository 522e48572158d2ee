"""Downloads (model, config, history) and uploads (saved model, CSV data). Thin Streamlit code."""

from __future__ import annotations

import streamlit as st

from core.config import ConfigError, PlaygroundConfig, from_dict, to_dict
from core.data import DataError, csv_columns
from playground import exports
from playground import widget_state as W
from playground.data_source import (
    CSV_BYTES_KEY,
    CSV_COLUMNS_KEY,
    CSV_NAME_KEY,
    CSV_TASKS,
    describe_csv,
)
from playground.panels.common import escape
from playground.session import PlaygroundSession

MODEL_UPLOAD_KEY = "model_upload"
CSV_UPLOAD_KEY = "csv_upload"


def _uploader_key(name: str) -> str:
    """The uploader's widget key: a new key shows an empty uploader (see `_clear_uploader`)."""
    return f"{name}_{st.session_state.get(f'{name}_generation', 0)}"


def _clear_uploader(name: str) -> None:
    """Empty the uploader, so a refused file does not look loaded."""
    st.session_state[f"{name}_generation"] = st.session_state.get(f"{name}_generation", 0) + 1


def render(session: PlaygroundSession) -> None:
    """Downloads of the run the sidebar edits (named when runs sit side by side, and then
    every run's history in one table too), and the model upload."""
    run = f"run {session.selected}'s " if session.comparing else ""
    suffix = f"-{session.selected}" if session.comparing else ""
    _download(
        f"Download {run}trained model (.npz)",
        lambda: exports.model_bytes(session),
        f"backprop-playground-model{suffix}.npz",
        "application/octet-stream",
        "Weights, configuration and step count in one .npz file (no pickle). Load it here again.",
    )
    _download(
        f"Download {run}configuration (.json)",
        session.config.to_json,
        f"backprop-playground-config{suffix}.json",
        "application/json",
    )
    _download(
        f"Download {run}training history (.csv)",
        lambda: exports.history_csv(session),
        f"backprop-playground-history{suffix}.csv",
        "text/csv",
    )
    if session.comparing:
        _download(
            "Download every run's training history (.csv)",
            lambda: exports.runs_history_csv(session),
            "backprop-playground-history-runs.csv",
            "text/csv",
            "One table: a row per run and recorded step (columns run, step, then the series).",
        )
    key = _uploader_key(MODEL_UPLOAD_KEY)
    st.file_uploader(
        "Start from a saved model (.npz)",
        type=["npz"],
        key=key,
        on_change=_on_model_upload,
        args=(session, key),
        help="With runs side by side, the saved model replaces them all (download the "
        "ones to keep first)."
        if session.comparing
        else None,
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


def _on_model_upload(session: PlaygroundSession, key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    transfer = st.session_state.get("model_upload_mode", "").startswith("matching")
    if session.load_model_bytes(upload.getvalue(), transfer=transfer):
        st.session_state.update(W.config_to_widgets(session.config))
    else:
        _clear_uploader(MODEL_UPLOAD_KEY)


def render_csv_upload(session: PlaygroundSession) -> None:
    """The CSV uploader, its target and task pickers, and what the current data says about
    itself (for a CSV: rows, target, task, inputs; for any dataset: its notes)."""
    key = _uploader_key(CSV_UPLOAD_KEY)
    st.file_uploader(
        "Or train on your own CSV file",
        type=["csv", "txt"],
        key=key,
        on_change=_on_csv_upload,
        args=(session, key),
        help="A header row, then one row per example. Pick the column to predict below.",
    )
    columns = st.session_state.get(CSV_COLUMNS_KEY) or []
    if columns and session.config.data.dataset == "csv":
        if st.session_state.get(W.key("data.csv_target")) not in columns:
            st.session_state[W.key("data.csv_target")] = columns[-1]
        st.selectbox("Column to predict", columns, key=W.key("data.csv_target"))
        st.selectbox("Task", CSV_TASKS, key=W.key("data.csv_task"), format_func=CSV_TASKS.get)
    _render_data_summary(session)


def _render_data_summary(session: PlaygroundSession) -> None:
    dataset = session.dataset
    if dataset is None:
        return
    lines = list(dataset.notes)
    if session.config.data.dataset == "csv":
        csv_bytes = st.session_state.get(CSV_BYTES_KEY)
        lines = describe_csv(dataset, session.config.data, csv_bytes) + lines
    for line in lines:
        st.caption(escape(line))


def _on_csv_upload(session: PlaygroundSession, key: str) -> None:
    """Load the new file at once (even with unchanged settings); if it cannot be used, keep the
    previous data and file, empty the uploader and say so."""
    upload = st.session_state.get(key)
    if upload is None:
        return
    name, data = upload.name, upload.getvalue()
    try:
        columns = csv_columns(data)
        wanted = _config_for_csv(session.config, columns)
    except (DataError, ConfigError) as err:
        session.refuse_upload(name, str(err))
        _clear_uploader(CSV_UPLOAD_KEY)
        return
    kept = {k: st.session_state.get(k) for k in (CSV_BYTES_KEY, CSV_NAME_KEY, CSV_COLUMNS_KEY)}
    st.session_state.update({CSV_BYTES_KEY: data, CSV_NAME_KEY: name, CSV_COLUMNS_KEY: columns})
    if session.use_uploaded_data(wanted, name):
        st.session_state.update(W.config_to_widgets(session.config))
    else:
        st.session_state.update(kept)
        _clear_uploader(CSV_UPLOAD_KEY)


def _config_for_csv(config: PlaygroundConfig, columns: list[str]) -> PlaygroundConfig:
    """`config` switched to the uploaded CSV: predict its last column, task inferred."""
    tree = to_dict(config)
    tree["data"].update(dataset="csv", csv_target=columns[-1], csv_task="auto")
    return from_dict(PlaygroundConfig, tree)
