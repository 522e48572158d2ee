"""Datasets shared across sessions: loaded once per (data config, uploaded file) and read-only."""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from core.config import DataConfig, PlaygroundConfig, to_dict
from core.data import Dataset, load_dataset
from core.data.csv_upload import infer_task_of, parse_csv

CSV_BYTES_KEY = "csv_bytes"
CSV_NAME_KEY = "csv_name"
CSV_COLUMNS_KEY = "csv_columns"
CSV_TASKS = {
    "auto": "infer from the column",
    "binary": "binary classification",
    "multiclass": "multi-class classification",
    "regression": "regression",
}
MAX_LISTED = 8  # names listed in a data summary before "and N more"


@st.cache_resource(max_entries=24, show_spinner="Loading data…")
def _cached(data_json: str, csv_digest: str, _csv_bytes: bytes | None, _csv_name: str) -> Dataset:
    from core.config import from_dict

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
    """The dataset `config.data` names, with the session's uploaded CSV if it names one.

    Keyed on the file's content digest as well as the settings: a new file with the same
    target column is new data."""
    csv_bytes = st.session_state.get(CSV_BYTES_KEY) if config.data.dataset == "csv" else None
    csv_name = st.session_state.get(CSV_NAME_KEY, "") if csv_bytes else ""
    digest = hashlib.sha256(csv_bytes).hexdigest() if csv_bytes else ""
    data_json = json.dumps(to_dict(config.data), sort_keys=True)
    return _cached(data_json, digest, csv_bytes, csv_name)


# --- what the data says about itself (plain text, no Streamlit) --------------------------------


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return f"{shown}{more}"


def describe_csv(dataset: Dataset, data: DataConfig, csv_bytes: bytes | None) -> list[str]:
    """What an uploaded CSV became: rows, target, task (inferred or chosen), inputs, and a hint
    when a regression target sits beside columns that look like class labels."""
    n_train, n_test = len(dataset.y_train), len(dataset.y_test)
    target = data.csv_target or "the last column"
    task = CSV_TASKS[dataset.task]
    if dataset.class_names:
        task += f" of {len(dataset.class_names)} classes ({_listing(dataset.class_names)})"
    how = (
        "inferred from its values; change it under Task"
        if data.csv_task == "auto"
        else "as chosen under Task"
    )
    names = dataset.feature_names
    return [
        f"{dataset.name}: {n_train + n_test:,} rows used ({n_train:,} to train, "
        f"{n_test:,} to test).",
        f"Predicting '{target}': {task} ({how}).",
        f"{len(names)} input{'s' if len(names) != 1 else ''}: {_listing(names)}.",
        *_label_hints(csv_bytes, data.csv_target, dataset.task),
    ]


def _label_hints(csv_bytes: bytes | None, target: str, task: str) -> list[str]:
    """Other columns that would be read as class labels, when the target is a regression."""
    if task != "regression" or not csv_bytes:
        return []
    frame = parse_csv(bytes(csv_bytes)).frame
    labels = [c for c in frame.columns if c != target and infer_task_of(frame[c]) != "regression"]
    if not labels:
        return []
    quoted = _listing([f"'{c}'" for c in labels])
    verb = "looks" if len(labels) == 1 else "look"
    return [
        f"{quoted} {verb} like class labels (few distinct values): to predict "
        f"{'it' if len(labels) == 1 else 'one'}, choose it under Column to predict."
    ]
