"""Classroom presets: one saved-config JSON file each in assets/presets/.

A preset that is a comparison (runs side by side, issue 11) adds `"runs"` to its file: each
other run's name ("B".."D") and its changes over the preset's config (run A, the reference) in
`core.experiment`'s changes format ({setting path: value}; "network.hidden.activation" sets
every hidden layer), so `{"B": {"network.hidden.dropout": 0.5}}` is run B with dropout 0.5.
The runs are derived from the base config as a link derives them (`preset_runs(name, base)`
applies the changes over whatever base is given, e.g. the preset changed by a link or reseeded
by a test); `playground.url_state.runs_to_query` writes them as a link's `runs=`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from core.config import ConfigError, PlaygroundConfig
from core.experiment import RUN_NAMES, ExperimentError, apply_changes

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"
DEFAULT_PRESET = "circle_starter"
RUNS_KEY = "runs"  # a comparison preset's other runs: {name: {setting path: value}}


@functools.lru_cache(maxsize=1)
def preset_names() -> tuple[str, ...]:
    """Preset names (file stems), the default first, then alphabetical."""
    names = sorted(p.stem for p in PRESET_DIR.glob("*.json"))
    if DEFAULT_PRESET in names:
        names.remove(DEFAULT_PRESET)
        names.insert(0, DEFAULT_PRESET)
    return tuple(names)


@functools.lru_cache(maxsize=64)
def _load_text(name: str) -> str:
    return (PRESET_DIR / f"{name}.json").read_text(encoding="utf-8")


def _load_data(name: str) -> dict:
    if name not in preset_names():
        raise ConfigError("preset", name[:60], f"one of {list(preset_names())}")
    try:
        data = json.loads(_load_text(name))
    except json.JSONDecodeError as err:
        raise ConfigError(f"preset {name}", "<json>", f"valid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"preset {name}", "<json>", "an object of fields")
    return data


def load_preset(name: str) -> PlaygroundConfig:
    """The preset's config (a comparison's reference run, A); `ConfigError` if there is no such
    preset or its file is invalid."""
    data = _load_data(name)
    data.pop(RUNS_KEY, None)
    return PlaygroundConfig.from_dict(data)


def preset_run_changes(name: str) -> dict[str, dict]:
    """A comparison preset's other runs as written: {run name: {setting path: value}}; {} for a
    preset of one run."""
    runs = _load_data(name).get(RUNS_KEY, {})
    expected = list(RUN_NAMES[1 : 1 + len(runs)]) if isinstance(runs, dict) else None
    if expected is None or list(runs) != expected:
        raise ConfigError(f"preset {name}.{RUNS_KEY}", str(runs)[:60], f"runs named {expected}")
    return runs


def preset_runs(
    name: str, base: PlaygroundConfig | None = None
) -> list[tuple[str, PlaygroundConfig]]:
    """A comparison preset's other runs, (name, settings): each run's changes applied over
    `base` (default: the preset's own config); [] for a preset of one run."""
    base = load_preset(name) if base is None else base
    out = []
    for run, changes in preset_run_changes(name).items():
        try:
            out.append((run, apply_changes(base, changes)))
        except ExperimentError as err:
            raise ConfigError(
                f"preset {name}.{RUNS_KEY}.{run}", str(changes)[:60], str(err)
            ) from None
    return out


def is_comparison(name: str) -> bool:
    try:
        return bool(preset_run_changes(name))
    except ConfigError:
        return False


def preset_title(name: str) -> str:
    try:
        return load_preset(name).title or name.replace("_", " ")
    except ConfigError:
        return name
