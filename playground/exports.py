"""What a student can take home: the model file and the training history as a table."""

from __future__ import annotations

import io

import pandas as pd

from core.history import LAYER_SERIES, RUN_SERIES
from core.serialization import save_model
from playground.session import PlaygroundSession


def model_bytes(session: PlaygroundSession) -> bytes:
    """The current network, config and step count as one .npz file (no pickle)."""
    buffer = io.BytesIO()
    trainer = session.trainer
    save_model(buffer, trainer.network, session.config, trainer.step_count, trainer.epoch)
    return buffer.getvalue()


def history_frame(session: PlaygroundSession) -> pd.DataFrame:
    """One row per recorded step; a column per run series and per (layer, metric)."""
    return _frame(session.trainer.history)


def runs_history_frame(session: PlaygroundSession) -> pd.DataFrame:
    """Every run's history (`history_frame`) one under the other, indexed by (run, step)."""
    frames = {run.name: _frame(run.trainer.history) for run in session.runs}
    return pd.concat(frames, names=["run", "step"])


def _frame(history) -> pd.DataFrame:
    columns: dict[str, pd.Series] = {}
    for name in RUN_SERIES:
        series = history.run[name]
        columns[name] = pd.Series(series.values, index=series.steps)
    for metric in LAYER_SERIES:
        for i, series in enumerate(history.layers[metric]):
            columns[f"layer{i + 1}_{metric}"] = pd.Series(series.values, index=series.steps)
    frame = pd.DataFrame({k: v[~v.index.duplicated(keep="last")] for k, v in columns.items()})
    frame.index.name = "step"
    return frame.dropna(axis=1, how="all")


def history_csv(session: PlaygroundSession) -> str:
    return history_frame(session).to_csv(float_format="%.6g")


def runs_history_csv(session: PlaygroundSession) -> str:
    return runs_history_frame(session).to_csv(float_format="%.6g")
