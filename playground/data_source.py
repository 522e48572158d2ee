"""Datasets shared across sessions: loaded once per (data config, uploaded file) and read-only."""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from core.config import PlaygroundConfig, to_dict
from core.data import Dataset, load_dataset

CSV_BYTES_KEY = "csv_bytes"
CSV_NAME_KEY = "csv_name"


@st.cache_resource(max_entries=24, show_spinner="Loading data…")
def _cached(data_json: str, csv_digest: str, _csv_bytes: bytes | None, _csv_name: str) -> Dataset:
    from core.config import DataConfig, from_dict

    cfg = from_dict(DataConfig, json.loads(data_json))
    task = None if cfg.csv_task == "auto" else cfg.csv_task
    return load_dataset(
        cfg, csv_bytes=_csv_bytes, csv_name=_csv_name, csv_task=task, progress=_progress()
    )


def _progress():
    """A progress bar for the MNIST download: progress(fraction 0..1, text)."""
    bar = st.empty()

    def report(fraction: float, text: str) -> None:
        bar.progress(min(1.0, max(0.0, fraction)), text=text)

    return report


def load_for(config: PlaygroundConfig) -> Dataset:
    """The dataset `config.data` names, with the session's uploaded CSV if it names one."""
    csv_bytes = st.session_state.get(CSV_BYTES_KEY) if config.data.dataset == "csv" else None
    csv_name = st.session_state.get(CSV_NAME_KEY, "") if csv_bytes else ""
    digest = hashlib.sha256(csv_bytes).hexdigest() if csv_bytes else ""
    data_json = json.dumps(to_dict(config.data), sort_keys=True)
    return _cached(data_json, digest, csv_bytes, csv_name)
