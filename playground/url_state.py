"""The whole configuration in the URL's query parameters, and back.

Only values that differ from the base (the preset named in the link, else the
defaults) are written, under their dotted path (`data.dataset=xor`,
`training.optimizer.learning_rate=0.1`); floats as their shortest exact form
(`repr`), so every valid config comes back exactly. Hidden layers are one
compact parameter: `network.hidden=8:tanh,4:relu:bn:do0.2,3:tanh:maxout2`.
Reading parses each value by its field's declared type and never raises: a bad
or tampered parameter falls back to the base value and produces a notice that
names it.

Runs side by side (issue 11): `runs=A,B,C` names the runs, the first being the
reference whose settings the parameters above hold; each other run's settings
are written the same way over the reference's, under its name:
`B.network.hidden=8:relu,8:relu`, `C.training.optimizer.name=adam`. A run with
no parameter of its own is a clone of the reference.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, is_dataclass
from typing import Any, get_type_hints

from core.config import (
    MAX_HIDDEN_LAYERS,
    MAX_REPLAYED_STEPS,
    TASKS,
    ConfigError,
    LayerConfig,
    PlaygroundConfig,
    fitting_head,
    flatten,
    from_dict,
    set_path,
    to_dict,
)
from playground.presets import load_preset

HIDDEN_KEY = "network.hidden"
PRESET_KEY = "preset"
HIDE_KEY = "hide"
RUNS_KEY = "runs"
BRANCH_KEY = "branch"  # a run's own parameter: "B.branch=A@512", a branch of A at step 512
RESERVED_KEYS = (PRESET_KEY, HIDE_KEY, RUNS_KEY)
RUN_NAMES = ("A", "B", "C", "D")  # as core.experiment names them
UNWRITTEN_FIELDS = ("title", "notes")  # descriptive text stays out of the URL
MAX_LAYER_SPEC_CHARS = 60  # the longest: "256:leaky_relu:bn:do1.2345678901234567e-05:maxout8"
MAX_VALUE_CHARS = MAX_HIDDEN_LAYERS * MAX_LAYER_SPEC_CHARS
MAX_PARAMS = 80
DEFAULT_LAYER = LayerConfig()
HIDEABLE_SECTIONS = ("presets", "data", "network", "training", "charts", "io")


@dataclass
class UrlState:
    config: PlaygroundConfig  # the reference run's settings (the only run's, without `runs`)
    preset: str = ""
    hidden_sections: tuple[str, ...] = ()
    notices: list[str] = field(default_factory=list)
    reference: str = RUN_NAMES[0]  # the reference run's name
    runs: list[tuple[str, PlaygroundConfig]] = field(default_factory=list)  # the other runs
    branches: dict[str, tuple[str, int]] = field(default_factory=dict)  # run -> (source, step)


# --- hidden layers <-> compact spec ---------------------------------------------------------


def layer_to_spec(layer: LayerConfig) -> str:
    parts = [str(layer.units), layer.activation]
    if layer.batch_norm:
        parts.append("bn")
    if layer.dropout:
        parts.append(f"do{layer.dropout!r}")
    if layer.kind == "maxout":
        parts.append(f"maxout{layer.maxout_pieces}")
    elif layer.maxout_pieces != DEFAULT_LAYER.maxout_pieces:  # kept for a switch back to maxout
        parts.append(f"pieces{layer.maxout_pieces}")
    return ":".join(parts)


def spec_to_layer(spec: str) -> dict:
    """'8:relu:bn:do0.2:maxout3' (or a dense layer's 'pieces3') -> a LayerConfig dict
    (validated later by from_dict)."""
    units, *rest = spec.split(":")
    layer: dict = {"units": int(units)}
    for token in rest:
        if token == "bn":
            layer["batch_norm"] = True
        elif token.startswith("do"):
            layer["dropout"] = float(token[2:])
        elif token.startswith("maxout"):
            layer["kind"] = "maxout"
            layer["maxout_pieces"] = int(token[6:] or DEFAULT_LAYER.maxout_pieces)
        elif token.startswith("pieces"):
            layer["maxout_pieces"] = int(token[6:])
        else:
            layer["activation"] = token
    return layer


def hidden_to_spec(hidden: list[LayerConfig]) -> str:
    return ",".join(layer_to_spec(layer) for layer in hidden) or "none"


def spec_to_hidden(spec: str) -> list[dict]:
    if spec.strip() in ("", "none"):
        return []
    return [spec_to_layer(part) for part in spec.split(",")]


# --- flattening ----------------------------------------------------------------------------


def _leaf_types(cls: type = PlaygroundConfig, prefix: str = "") -> dict[str, Any]:
    """{dotted path: declared type} of every leaf field of the config tree."""
    types: dict[str, Any] = {}
    for name, hint in get_type_hints(cls).items():
        if is_dataclass(hint):
            types.update(_leaf_types(hint, f"{prefix}{name}."))
        else:
            types[f"{prefix}{name}"] = hint
    return types


LEAF_TYPES = _leaf_types()
FIELD_ORDER = {path: i for i, path in enumerate(LEAF_TYPES)}  # hidden layers before `frozen`


def _format(value: object) -> str:
    """A leaf value as link text; floats as repr, the shortest text that reads back exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return ",".join(_format(v) for v in value)
    return str(value)


def config_to_query(
    config: PlaygroundConfig, preset: str = "", hide=(), base: PlaygroundConfig | None = None
) -> dict[str, str]:
    """Query parameters for `config`: the fields that differ from `base` (the preset's config
    when `preset` is named, else the defaults)."""
    default = flatten(to_dict(base or PlaygroundConfig()))
    params: dict[str, str] = {}
    if preset:
        params[PRESET_KEY] = preset
    if hide:
        params[HIDE_KEY] = ",".join(hide)
    for path, value in flatten(to_dict(config)).items():
        if path in UNWRITTEN_FIELDS or value == default.get(path):
            continue
        if path == HIDDEN_KEY:
            params[path] = hidden_to_spec(config.network.hidden)
        else:
            params[path] = _format(value)
    return params


def runs_to_query(
    config: PlaygroundConfig, runs=(), reference: str = RUN_NAMES[0], branches=None
) -> dict[str, str]:
    """The parameters of runs side by side: `runs` ((name, settings) of every run but the
    reference) each written over the reference's settings `config`, and where a run branched
    (`branches`: name -> (source, step)) "B.branch=A@512"; none for one run."""
    if not runs:
        return {}
    params = {RUNS_KEY: ",".join([reference, *(name for name, _ in runs)])}
    for name, run_config in runs:
        for path, text in config_to_query(run_config, base=config).items():
            params[f"{name}.{path}"] = text
        if name in (branches or {}):
            source, step = branches[name]
            params[f"{name}.{BRANCH_KEY}"] = f"{source}@{step}"
    return params


def link_query(
    config: PlaygroundConfig,
    preset: str = "",
    hide=(),
    runs=(),
    reference: str = RUN_NAMES[0],
    branches=None,
) -> dict[str, str]:
    """The link for `config`, over the named preset while the config still shows that preset's
    title and notes (so a reload shows them again), else over the defaults; with the other
    runs (`runs`: (name, settings); `branches`: name -> (source, step)) written over it
    (`runs_to_query`)."""
    try:
        base = load_preset(preset) if preset else None
    except ConfigError:
        base = None
    if base is None or (base.title, base.notes) != (config.title, config.notes):
        params = config_to_query(config, hide=hide)
    else:
        params = config_to_query(config, preset, hide, base)
    return params | runs_to_query(config, runs, reference, branches)


def _parse(hint: Any, text: str) -> object:
    """Parse `text` to the field's declared type (bool, int, float, str or a list of them)."""
    if hint is bool:
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if hint is int:
        return int(text)
    if hint is float:
        return float(text)
    if getattr(hint, "__origin__", None) is list:
        (item,) = hint.__args__
        return [_parse(item, t) for t in text.split(",") if t]
    return text


def _first(value: object) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value)


def query_to_state(params: Mapping[str, object], base: PlaygroundConfig | None = None) -> UrlState:
    """Read query parameters over `base` (a preset or the defaults), in the config's field order
    (hidden layers before the frozen ones they index); never raises."""
    notices: list[str] = []
    tree = to_dict(base or PlaygroundConfig())
    state = UrlState(config=base or PlaygroundConfig())
    runs = {k: v for k, v in params.items() if _run_of(k)}
    params = {k: v for k, v in params.items() if k not in runs}
    limit = MAX_PARAMS * (len(RUN_NAMES) - 1)  # the other runs' (each checked again alone)
    if len(params) > MAX_PARAMS or len(runs) > limit:
        total = len(params) + len(runs)
        notices.append(f"The link has {total} parameters (at most {MAX_PARAMS} a run): ignored.")
        state.notices = notices
        return state
    for key, raw in sorted(params.items(), key=lambda kv: FIELD_ORDER.get(kv[0], -1)):
        text = _first(raw)
        if key in RESERVED_KEYS:
            continue
        if key not in LEAF_TYPES or key in UNWRITTEN_FIELDS:
            notices.append(f"Unknown link parameter '{key[:60]}' was ignored.")
            continue
        if len(text) > MAX_VALUE_CHARS:
            notices.append(f"Link parameter '{key}' is too long: its default was kept.")
            continue
        candidate = copy.deepcopy(tree)
        try:
            value = spec_to_hidden(text) if key == HIDDEN_KEY else _parse(LEAF_TYPES[key], text)
            set_path(candidate, key, value)
            if key == HIDDEN_KEY:  # the base's frozen layers that no longer exist (a later
                net = candidate["network"]  # `network.frozen` says which are frozen)
                net["frozen"] = [i for i in net["frozen"] if i <= len(value)]
            from_dict(PlaygroundConfig, _relax_head(copy.deepcopy(candidate)))
        except (ConfigError, ValueError, TypeError) as err:
            notices.append(f"Link parameter '{key}' = '{text[:60]}' is invalid ({_reason(err)}).")
            continue
        tree = candidate
    state.config = from_dict(PlaygroundConfig, _relax_head(tree, notices))
    state.hidden_sections = _parse_hide(_first(params.get(HIDE_KEY, "")), notices)
    state.reference, state.runs, state.branches = _read_runs(
        _first(params.get(RUNS_KEY, "")), runs, state.config, notices
    )
    state.notices = notices
    return state


def _run_of(key: str) -> str:
    """The run a parameter belongs to ("B" for "B.network.init"), "" for the reference's."""
    name, dot, _ = key.partition(".")
    return name if dot and name in RUN_NAMES else ""


def _read_runs(
    names_text: str, params: Mapping[str, object], base: PlaygroundConfig, notices: list[str]
) -> tuple[str, list[tuple[str, PlaygroundConfig]], dict[str, tuple[str, int]]]:
    """The reference's name, the other runs' settings (each read over `base`) and where the
    branched ones branched (name -> (source, step))."""
    names = [n.strip() for n in names_text.split(",") if n.strip()]
    known = [n for n in dict.fromkeys(names) if n in RUN_NAMES]
    if len(known) != len(names):
        notices.append(f"Link parameter 'runs' = '{names_text[:60]}': runs are named A to D.")
    stray = sorted({_run_of(k) for k in params} - set(known[1:]))
    if stray:
        notices.append(f"Settings of run(s) {', '.join(stray)} not listed in 'runs' were ignored.")
    if len(known) < 2:
        return (known or list(RUN_NAMES))[0], [], {}
    runs, branches = [], {}
    for i, name in enumerate(known[1:], start=1):
        own = {k.partition(".")[2]: v for k, v in params.items() if _run_of(k) == name}
        branch = own.pop(BRANCH_KEY, None)
        state = query_to_state(own, base)
        notices += [f"Run {name}: {n}" for n in state.notices]
        runs.append((name, state.config))
        if branch is not None:
            found = _read_branch(_first(branch), known[:i], notices, name)
            branches |= {name: found} if found else {}
    return known[0], runs, branches


def _read_branch(
    text: str, earlier: list[str], notices: list[str], name: str
) -> tuple[str, int] | None:
    """ "A@512" -> ("A", 512): a run listed before `name`, a step the link may replay."""
    source, _, step = text.partition("@")
    if source in earlier and step.isdigit() and int(step) <= MAX_REPLAYED_STEPS:
        return source, int(step)
    notices.append(
        f"Run {name}: 'branch' = '{text[:30]}' is not a run listed before it and a step up to "
        f"{MAX_REPLAYED_STEPS:,} (as in A@512): it starts from step 0."
    )
    return None


def _reason(err: Exception) -> str:
    if isinstance(err, ConfigError):
        return f"allowed: {err.allowed}"
    return "not a value of the right kind"


def _relax_head(tree: dict, notices: list[str] | None = None) -> dict:
    """If the output head does not fit the task, use the task's default head."""
    net = tree["network"]
    if net.get("task") not in TASKS:
        return tree
    head = fitting_head(net["task"], net.get("head"))
    if head != net.get("head"):
        if notices is not None:
            notices.append(f"Output '{net.get('head')}' does not fit task '{net['task']}'.")
        net["head"] = head
    return tree


def _parse_hide(text: str, notices: list[str]) -> tuple[str, ...]:
    sections = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in sections if s not in HIDEABLE_SECTIONS]
    if unknown:
        notices.append(f"Unknown section(s) to hide: {', '.join(u[:30] for u in unknown[:5])}.")
    return tuple(s for s in sections if s in HIDEABLE_SECTIONS)
