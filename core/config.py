"""One plain, JSON-able config tree for everything a user can change.

Every numeric field carries its allowed range and every string field its
allowed choices in the dataclass field metadata; `validate` walks the tree and
raises `ConfigError` naming the field path, the bad value and what is allowed.
The limits double as the guard rails of a shared classroom server.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, get_type_hints

from core.activations import REGISTRY as ACTIVATION_REGISTRY
from core.datasets import DATASETS as DATASET_REGISTRY
from core.datasets import FEATURES as FEATURE_REGISTRY
from core.losses import HEADS
from core.optimizers import (
    DEFAULT_OPTIMIZER,
    HYPERPARAMETERS,
    OPTIMIZER_CLASSES,
    optimizer_defaults,
)
from core.schedules import SCHEDULES as SCHEDULE_REGISTRY


class Choices(Sequence):
    """The names of a registry, read live: an entry added to the registry is a valid choice at
    once (the config, the widgets and the links all read it through here)."""

    def __init__(self, registry: Mapping):
        self.registry = registry

    def __getitem__(self, i):
        return tuple(self.registry)[i]

    def __len__(self) -> int:
        return len(self.registry)

    def __contains__(self, name: object) -> bool:
        return name in self.registry

    def __repr__(self) -> str:
        return repr(list(self.registry))


class _HeadsByTask(Mapping):
    """task -> the names of the output heads for it, read live from core.losses.HEADS."""

    def __getitem__(self, task: str) -> tuple[str, ...]:
        if task not in TASKS:
            raise KeyError(task)
        return tuple(name for name, head in HEADS.items() if head.task == task)

    def __iter__(self):
        return iter(TASKS)

    def __len__(self) -> int:
        return len(TASKS)


# --- limits that keep a shared server safe -------------------------------------------------
MAX_HIDDEN_LAYERS = 16
MAX_UNITS = 256
MAX_PARAMETERS = 1_000_000
MAX_GENERATED_POINTS = 5_000
MAX_BATCH_SIZE = 10_000
MAX_REPLAYED_STEPS = 20_000  # steps a link may train to rebuild a branch (B.branch=A@512)
MAX_REPLAY_SECONDS = 10.0  # and the server's time it may take (a big network: refused)
MAX_TYPED_WEIGHT = 100.0  # |w| a student may type into one weight or bias (core.weight_edit)

# --- limits of an uploaded CSV (core/data/csv_upload.py) -----------------------------------
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 20_000
MAX_CSV_COLUMNS = 200
MAX_CSV_INPUT_VALUES = 5_000_000  # rows x inputs after one-hot encoding: 40 MB as float64

LAYER_KINDS = ("dense", "maxout")
TASKS = ("binary", "multiclass", "regression")
INITS = (
    "auto",
    "zeros",
    "constant",
    "uniform",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun",
)
# Choices read live from their registries (each entry carries its own facts there).
ACTIVATIONS = Choices(ACTIVATION_REGISTRY)  # core.activations
ALL_HEADS = Choices(HEADS)  # core.losses
OUTPUT_HEADS = _HeadsByTask()  # output head = output activation + loss, per task


def fitting_head(task: str, head: str) -> str:
    """`head` if it serves `task`, else the task's default head (its first)."""
    heads = OUTPUT_HEADS[task]
    return head if head in heads else heads[0]


OPTIMIZERS = Choices(OPTIMIZER_CLASSES)  # core.optimizers
SCHEDULES = Choices(SCHEDULE_REGISTRY)  # core.schedules
DATASETS = Choices(DATASET_REGISTRY)  # core.datasets
FEATURES_2D = Choices(FEATURE_REGISTRY)  # core.datasets
MONITORS = ("val_loss", "val_accuracy")
# the chart a lesson is about, drawn first so it is in view without scrolling ("" = none)
FOCUS_CHARTS = (
    "",
    "gradients",
    "activations",
    "weights",
    "update_ratio",
    "confusion",
    "first_layer",
)
DTYPES = ("float32", "float64")

MNIST_SUBSETS = (1_000, 5_000, 10_000, 70_000)


class ConfigError(ValueError):
    """A config value outside what is allowed: names the field, the value and the rule."""

    def __init__(self, path: str, value: Any, allowed: str):
        self.path, self.value, self.allowed = path, value, allowed
        super().__init__(f"{path} = {value!r} is not allowed: {allowed}")


def _range(lo: float, hi: float, integer: bool = False) -> dict:
    return {"range": (lo, hi), "integer": integer}


def _choices(options: Sequence) -> dict:
    return {"choices": options if isinstance(options, Choices) else tuple(options)}


# --- the tree --------------------------------------------------------------------------------


@dataclass
class LayerConfig:
    """One hidden layer: dense (or maxout) units, optional batch norm, activation, dropout."""

    units: int = field(default=4, metadata=_range(1, MAX_UNITS, integer=True))
    activation: str = field(default="tanh", metadata=_choices(ACTIVATIONS))
    kind: str = field(default="dense", metadata=_choices(LAYER_KINDS))
    maxout_pieces: int = field(default=2, metadata=_range(2, 8, integer=True))
    dropout: float = field(default=0.0, metadata=_range(0.0, 0.9))
    batch_norm: bool = False


@dataclass
class NetworkConfig:
    hidden: list[LayerConfig] = field(
        default_factory=lambda: [LayerConfig(4), LayerConfig(2)],
        metadata={"length": (0, MAX_HIDDEN_LAYERS)},
    )
    task: str = field(default="binary", metadata=_choices(TASKS))
    head: str = field(default="sigmoid_bce", metadata=_choices(ALL_HEADS))
    huber_delta: float = field(default=1.0, metadata=_range(1e-3, 1e3))
    init: str = field(default="auto", metadata=_choices(INITS))
    init_scale: float = field(default=0.1, metadata=_range(0.0, 10.0))  # sigma or constant
    leaky_slope: float = field(default=0.01, metadata=_range(0.0, 1.0))
    elu_alpha: float = field(default=1.0, metadata=_range(0.0, 10.0))
    prelu_init: float = field(default=0.25, metadata=_range(0.0, 1.0))
    dtype: str = field(default="float32", metadata=_choices(DTYPES))
    frozen: list[int] = field(default_factory=list, metadata={"length": (0, MAX_HIDDEN_LAYERS + 1)})


def _hyperparameter(name: str) -> Any:
    """A field for optimizer setting `name`: baseline value and range from the registry."""
    h = HYPERPARAMETERS[name]
    return field(default=h.baseline, metadata=_range(h.low, h.high))


@dataclass
class OptimizerConfig:
    """The optimizer and every setting any of them reads (each reads its own: core.optimizers)."""

    name: str = field(default=DEFAULT_OPTIMIZER, metadata=_choices(OPTIMIZERS))
    learning_rate: float = _hyperparameter("learning_rate")
    momentum: float = _hyperparameter("momentum")
    beta1: float = _hyperparameter("beta1")
    beta2: float = _hyperparameter("beta2")
    rho: float = _hyperparameter("rho")
    eps: float = _hyperparameter("eps")
    weight_decay: float = _hyperparameter("weight_decay")

    @classmethod
    def picked(cls, name: str) -> OptimizerConfig:
        """Optimizer `name` with its own defaults, as when a user picks it."""
        return cls(name=name, **optimizer_defaults(name))


@dataclass
class ScheduleConfig:
    name: str = field(default="constant", metadata=_choices(SCHEDULES))
    step_size: int = field(default=1000, metadata=_range(1, 10**7, integer=True))  # in steps
    gamma: float = field(default=0.5, metadata=_range(1e-4, 1.0))  # step / exponential factor
    plateau_patience: int = field(default=10, metadata=_range(1, 10**5, integer=True))  # evals
    plateau_factor: float = field(default=0.5, metadata=_range(1e-3, 0.999))
    min_lr: float = field(default=1e-6, metadata=_range(0.0, 1.0))


@dataclass
class RegularizationConfig:
    l1: float = field(default=0.0, metadata=_range(0.0, 10.0))
    l2: float = field(default=0.0, metadata=_range(0.0, 10.0))
    max_norm: float = field(default=0.0, metadata=_range(0.0, 100.0))  # 0 = off
    grad_clip: float = field(default=0.0, metadata=_range(0.0, 1e4))  # global norm; 0 = off


@dataclass
class EarlyStoppingConfig:
    enabled: bool = False
    monitor: str = field(default="val_loss", metadata=_choices(MONITORS))
    patience: int = field(default=10, metadata=_range(1, 10**5, integer=True))  # in evaluations
    min_delta: float = field(default=0.0, metadata=_range(0.0, 10.0))
    restore_best: bool = True


@dataclass
class TrainingConfig:
    batch_size: int = field(default=10, metadata=_range(1, MAX_BATCH_SIZE, integer=True))
    seed: int = field(default=0, metadata=_range(0, 2**31 - 1, integer=True))
    eval_every: int = field(default=0, metadata=_range(0, 10**6, integer=True))  # 0 = each epoch
    stats_every: int = field(default=5, metadata=_range(1, 10**6, integer=True))  # layer scalars
    histogram_every: int = field(default=200, metadata=_range(1, 10**6, integer=True))
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


@dataclass
class DataConfig:
    dataset: str = field(default="circle", metadata=_choices(DATASETS))
    n_points: int = field(default=500, metadata=_range(10, MAX_GENERATED_POINTS, integer=True))
    noise: float = field(default=0.0, metadata=_range(0.0, 50.0))  # percent, as TF Playground
    train_fraction: float = field(default=0.5, metadata=_range(0.1, 0.9))
    seed: int = field(default=0, metadata=_range(0, 2**31 - 1, integer=True))
    features: list[str] = field(
        default_factory=lambda: ["x1", "x2"],
        metadata={"items": FEATURES_2D, "length": (1, len(FEATURE_REGISTRY))},
    )
    standardize: bool = True
    n_classes: int = field(default=3, metadata=_range(3, 6, integer=True))  # for "blobs"
    mnist_subset: int = field(default=5_000, metadata=_choices(MNIST_SUBSETS))
    csv_target: str = field(default="", metadata={"max_chars": 200})
    csv_task: str = field(default="auto", metadata=_choices(("auto",) + TASKS))


@dataclass
class PlaygroundConfig:
    """The whole experiment. `title` and `notes` describe a preset or a saved run (plain text);
    `focus` names the chart a lesson is about (one of FOCUS_CHARTS)."""

    title: str = field(default="", metadata={"max_chars": 120})
    notes: str = field(default="", metadata={"max_chars": 2000})
    focus: str = field(default="", metadata=_choices(FOCUS_CHARTS))
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict:
        return to_dict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> PlaygroundConfig:
        return from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str) -> PlaygroundConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError("<json>", text[:40], f"valid JSON ({err.msg})") from None
        return cls.from_dict(data)


# --- generic (de)serialisation and validation -------------------------------------------------


def to_dict(obj: Any) -> Any:
    """Dataclass tree -> plain dicts/lists (JSON-able)."""
    if is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    return obj


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> {"dotted.path": leaf value} (lists are leaves)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def set_path(tree: dict, path: str, value: Any) -> None:
    """Set the leaf at a dotted path of nested dicts, in place."""
    *parents, leaf = path.split(".")
    for name in parents:
        tree = tree[name]
    tree[leaf] = value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a config dataclass (resolving them is slow: once per class)."""
    return get_type_hints(cls)


def field_metadata(path: str, root: type | None = None) -> Mapping[str, Any]:
    """The metadata of the field at a dotted path ("training.schedule.gamma"); a list of
    dataclasses is walked into ("network.hidden.units")."""
    cls = root or PlaygroundConfig
    *parents, leaf = path.split(".")
    for name in parents:
        hint = _hints(cls)[name]
        cls = hint.__args__[0] if getattr(hint, "__origin__", None) is list else hint
    return {f.name: f for f in fields(cls)}[leaf].metadata


def choices(path: str) -> list:
    """The allowed values of the field at `path` (for a list field, of its items), as a list."""
    meta = field_metadata(path)
    return list(meta["choices"] if "choices" in meta else meta["items"])


def limits(path: str) -> tuple[float, float]:
    """(lowest, highest) allowed value of the numeric field at `path`: the one home of a limit."""
    return field_metadata(path)["range"]


def from_dict(cls: type, data: Any, path: str = "") -> Any:
    """Plain dicts -> a validated dataclass tree. Missing keys take defaults; unknown keys fail."""
    if not isinstance(data, dict):
        raise ConfigError(path or "<root>", data, "an object of fields")
    hints = _hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            where = f"{path}.{key}" if path else key
            raise ConfigError(where, data[key], f"a known field of {cls.__name__}: {sorted(known)}")
    kwargs = {}
    for name, f in known.items():
        where = f"{path}.{name}" if path else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], where, f.metadata)
        elif f.default is not MISSING:
            kwargs[name] = f.default
        else:
            kwargs[name] = f.default_factory()
    obj = cls(**kwargs)
    validate(obj, path)
    return obj


def _convert(hint: Any, value: Any, path: str, meta: dict) -> Any:
    origin = getattr(hint, "__origin__", None)
    if is_dataclass(hint):
        return from_dict(hint, value, path)
    if origin is list:
        (item_type,) = hint.__args__
        if not isinstance(value, list):
            raise ConfigError(path, value, "a list")
        return [_convert(item_type, v, f"{path}[{i}]", {}) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, value, "true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, value, "a whole number")
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            raise ConfigError(path, value, "a whole number")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, value, "a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, value, "a string")
        return value
    return value


def _check_field(value: Any, meta: dict, path: str) -> None:
    if "range" in meta:
        lo, hi = meta["range"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, value, f"a number from {lo} to {hi}")
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ConfigError(path, value, f"a number from {lo} to {hi}")
        if meta.get("integer") and value != int(value):
            raise ConfigError(path, value, f"a whole number from {lo} to {hi}")
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(path, value, f"one of {list(meta['choices'])}")
    if "length" in meta:
        lo, hi = meta["length"]
        if not lo <= len(value) <= hi:
            raise ConfigError(path, f"{len(value)} items", f"from {lo} to {hi} items")
    if "items" in meta:
        for i, item in enumerate(value):
            if item not in meta["items"]:
                raise ConfigError(f"{path}[{i}]", item, f"one of {list(meta['items'])}")
        if len(set(value)) != len(value):
            raise ConfigError(path, value, "no repeated items")
    if "max_chars" in meta and len(value) > meta["max_chars"]:
        raise ConfigError(path, value[:40], f"at most {meta['max_chars']} characters")


def validate(obj: Any, path: str = "") -> None:
    """Check every field of a dataclass tree against its metadata and cross-field rules."""
    for f in fields(obj):
        where = f"{path}.{f.name}" if path else f.name
        value = getattr(obj, f.name)
        _check_field(value, f.metadata, where)
        if is_dataclass(value):
            validate(value, where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if is_dataclass(item):
                    validate(item, f"{where}[{i}]")
    if isinstance(obj, NetworkConfig):
        _validate_network(obj, path)


def _validate_network(net: NetworkConfig, path: str) -> None:
    prefix = f"{path}." if path else ""
    allowed = OUTPUT_HEADS[net.task]
    if net.head not in allowed:
        rule = f"for task {net.task!r}, one of {list(allowed)}"
        raise ConfigError(f"{prefix}head", net.head, rule)
    for i, idx in enumerate(net.frozen):
        if not 0 <= idx <= len(net.hidden):
            raise ConfigError(
                f"{prefix}frozen[{i}]", idx, f"a layer index from 0 to {len(net.hidden)}"
            )


def align_task(config: PlaygroundConfig, task: str) -> PlaygroundConfig:
    """The dataset decides the task; keep the chosen head when it fits, else the task's default
    (a copy; `config` itself when it already fits)."""
    if config.network.task == task:
        return config
    aligned = copy.deepcopy(config)
    aligned.network.task = task
    aligned.network.head = fitting_head(task, aligned.network.head)
    return aligned
