"""Classroom presets: one saved-config JSON file each in assets/presets/."""

from __future__ import annotations

import functools
from pathlib import Path

from core.config import ConfigError, PlaygroundConfig

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"
DEFAULT_PRESET = "circle_starter"


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


def load_preset(name: str) -> PlaygroundConfig:
    """The preset's config; `ConfigError` if there is no such preset or its file is invalid."""
    if name not in preset_names():
        raise ConfigError("preset", name[:60], f"one of {list(preset_names())}")
    return PlaygroundConfig.from_json(_load_text(name))


def preset_title(name: str) -> str:
    try:
        return load_preset(name).title or name.replace("_", " ")
    except ConfigError:
        return name
