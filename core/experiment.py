"""Controlled experiments: runs "A".."D" side by side, trained in lockstep, with checkpoints to
travel back to and branch from.

A comparison teaches when the runs differ in the settings the student changed and in nothing
else. `Experiment.compare` clones a run: the same data (one `Dataset` shared by every run with
the same data settings), the same mini-batch order and dropout draws (the same seeds), and the
same initial weights where the architecture allows (see `shared_initial_params`).

Lockstep: `step`, `run`, `epoch_step`, `reset` act on every run, so all runs that still train
are at the experiment's step (`step_count`); a run that diverges or stops early stops alone
(its trainer's `stop_reason`) while the others go on.

Checkpoints: each run keeps the full trainer state (`core.trainer.TrainerState`: weights,
optimizer slots, random streams, epoch order...) at the steps `keeps(step, n)` names once the
experiment is at step n: step 0, every power of two, and the multiples of a spacing d(n) that
doubles as the run grows, so that at most MAX_CHECKPOINTS are kept; plus a run's first step and
its final state if it stopped; memory bounded by CHECKPOINT_BYTES per run. `at(run, step)` gives
the run as it was (read-only, enough to draw); `branch(run, step, **changes)` starts a new run
there with settings changed. Restoring a checkpoint and training on is bit-identical to the
original going on, so going back (a branch puts every run back at its step, a reset at step 0)
loses nothing: training on retraces the same steps.

Every refusal is an `ExperimentError` (a ValueError) phrased for the student.
Not replayed: settings changed mid-run through a run's trainer (`set_learning_rate`): rewinding
past such a change restores the setting of the checkpoint. Change settings with `branch`.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from core import predictions
from core.config import (
    MAX_PARAMETERS,
    ConfigError,
    LayerConfig,
    PlaygroundConfig,
    align_task,
    field_metadata,
    flatten,
    limits,
    set_path,
    to_dict,
)
from core.data.dataset import Dataset
from core.initializers import resolve
from core.network import Network, count_parameters
from core.telemetry import Snapshot
from core.trainer import Trainer, TrainerState

MAX_RUNS = 4  # runs side by side per student
RUN_NAMES = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:MAX_RUNS])
MAX_CHECKPOINTS = 50  # per run, by the schedule (plus its first step and final state)
CHECKPOINT_BYTES = 4 * 1024 * 1024  # per run: beyond this the store thins further
ROUND_SECONDS = 0.02  # `run`: every run trains this long at most before the others' turn
# Settings a checkpoint fixes: a branch continues from its weights, order and random streams,
# so these only act at step 0 (use `compare`); changing the data is never a branch.
BRANCH_FIXED = (
    "training.seed",
    "training.batch_size",
    "network.init",
    "network.init_scale",
    "network.prelu_init",
)
# The settings a trainer changes mid-run (Trainer.set_learning_rate / set_regularization).
_LIVE = {
    "training.optimizer.learning_rate": "lr",
    "training.regularization.l1": "l1",
    "training.regularization.l2": "l2",
    "training.regularization.max_norm": "max_norm",
    "training.regularization.grad_clip": "grad_clip",
}
_SCALED_INITS = ("normal", "constant")  # initializers that read init_scale

DataLoader = Callable[[PlaygroundConfig], Dataset]


class ExperimentError(ValueError):
    """A request the experiment refuses, phrased for the student."""


class TooManyRuns(ExperimentError):
    """A run beyond MAX_RUNS."""


class OverLimit(ExperimentError):
    """The runs together would exceed a limit of the shared server."""


class BranchError(ExperimentError):
    """A branch that cannot continue from the checkpoint."""


# --- the checkpoint schedule -----------------------------------------------------------------


def grid_spacing(n: int) -> int:
    """d(n): the smallest power of two whose multiples up to n fit, next to step 0, the powers
    of two up to n and one spare, within MAX_CHECKPOINTS."""
    room = max(1, MAX_CHECKPOINTS - 2 - n.bit_length())
    d = 1
    while n // d > room:
        d *= 2
    return d


def keeps(step: int, n: int) -> bool:
    """Whether the schedule keeps a checkpoint at `step` once the experiment is at step n.

    Kept: 0, every power of two, every multiple of d(n). d(n) only grows (by doubling), so a
    step dropped at n is never wanted again, and every step kept at n was kept when reached."""
    return step == 0 or step & (step - 1) == 0 or step % grid_spacing(n) == 0


def checkpoint_steps(n: int) -> list[int]:
    """Every step the schedule keeps at step n, ascending."""
    d = grid_spacing(n)
    powers = {1 << k for k in range(n.bit_length())}
    return sorted({0} | powers | set(range(d, n + 1, d)))


def next_checkpoint(n: int) -> int:
    """The first step after n at which the schedule takes a checkpoint."""
    power = 1 << n.bit_length()
    m = n
    while True:
        d = grid_spacing(m + 1)
        m = min(power, (m // d + 1) * d)
        if keeps(m, m):
            return m


# --- checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A run's full trainer state at `step`, with the settings it was trained with."""

    step: int
    state: TrainerState
    config: PlaygroundConfig  # the run's settings then (never changed afterwards)
    pinned: bool = False  # kept whatever the schedule says: a run's first step, a final state

    def nbytes(self) -> int:
        return self.state.nbytes()


class CheckpointStore:
    """A run's checkpoints by step, thinned by the schedule and by a byte budget.

    Cheap to keep up each round (the lockstep loop adds one checkpoint per run at every
    scheduled step): the bytes held are a running total, and `thin` passes over the store only
    when the schedule's spacing d(n) has grown or a checkpoint it would not keep was added."""

    def __init__(self, budget: int = CHECKPOINT_BYTES):
        self.budget = budget
        self._by_step: dict[int, Checkpoint] = {}
        self._sizes: dict[int, int] = {}  # bytes per checkpoint, measured once
        self._total = 0
        self._spacing = 0  # d(n) of the last full `thin` pass (0: none since a change)

    def __len__(self) -> int:
        return len(self._by_step)

    @property
    def steps(self) -> list[int]:
        return sorted(self._by_step)

    def add(self, checkpoint: Checkpoint) -> None:
        step = checkpoint.step
        old = self._by_step.get(step)
        pinned = checkpoint.pinned or (old is not None and old.pinned)
        if pinned != checkpoint.pinned:
            checkpoint = Checkpoint(step, checkpoint.state, checkpoint.config, True)
        if old is not None:
            self._total -= self._sizes[step]
        self._by_step[step] = checkpoint
        self._sizes[step] = checkpoint.nbytes()
        self._total += self._sizes[step]
        if not (pinned or (self._spacing and _on_grid(step, self._spacing))):
            self._spacing = 0
        self._fit_budget()

    def at(self, step: int) -> Checkpoint | None:
        """The checkpoint at `step` or, if none, the latest before it."""
        if step in self._by_step:
            return self._by_step[step]
        before = [s for s in self._by_step if s <= step]
        return self._by_step[max(before)] if before else None

    def thin(self, n: int) -> None:
        """Drop what the schedule no longer keeps at step n (pinned checkpoints stay)."""
        d = grid_spacing(n)
        if d == self._spacing:  # nothing added off the grid since a pass with the same d
            return
        for s in [s for s, c in self._by_step.items() if not (c.pinned or _on_grid(s, d))]:
            self._drop(s)
        self._spacing = d

    def drop_after(self, step: int) -> None:
        for s in [s for s in self._by_step if s > step]:
            self._drop(s)

    def copy_until(self, step: int) -> CheckpointStore:
        """A new store sharing the checkpoints up to `step` (they never change)."""
        new = CheckpointStore(self.budget)
        new._by_step = {s: c for s, c in self._by_step.items() if s <= step}
        new._sizes = {s: self._sizes[s] for s in new._by_step}
        new._total = sum(new._sizes.values())
        return new

    def nbytes(self) -> int:
        return self._total

    def _drop(self, step: int) -> None:
        del self._by_step[step]
        self._total -= self._sizes.pop(step)

    def _fit_budget(self) -> None:
        """Over budget: drop the inner checkpoint leaving the smallest gap, until it fits (the
        first and last stay)."""
        while self._total > self.budget and len(self._by_step) > 2:
            steps = self.steps
            gaps = [(steps[i + 1] - steps[i - 1], steps[i]) for i in range(1, len(steps) - 1)]
            self._drop(min(gaps)[1])


def _on_grid(step: int, d: int) -> bool:
    """`keeps(step, n)` for a known d = d(n): step 0, a power of two or a multiple of d."""
    return step & (step - 1) == 0 or step % d == 0


@dataclass(frozen=True)
class CheckpointView:
    """A run as it was at `step` (a checkpoint at or before the step asked), read-only: what
    the network diagram, the decision map and the inspection charts draw."""

    run: str
    step: int
    epoch: int
    config: PlaygroundConfig
    dataset: Dataset = field(repr=False)
    state: TrainerState = field(repr=False)

    @property
    def metrics(self) -> dict[str, float | None]:
        """Loss and accuracy on both splits as last measured (at `eval_step`)."""
        return dict(self.state.last_eval)

    @property
    def eval_step(self) -> int:
        return self.state.last_eval_step

    @property
    def learning_rate(self) -> float:
        return self.state.lr

    @property
    def stop_reason(self) -> str:
        return self.state.stop_reason

    @property
    def network(self) -> Network:
        """A network holding the checkpoint's weights (built on each call: it is the caller's)."""
        ds = self.dataset
        net = Network(self.config.network, ds.n_inputs, ds.n_outputs, self.config.training.seed)
        np.copyto(net.flat_params, self.state.params, casting="same_kind")
        net.buffers.update(self.state.buffers)
        return net

    @property
    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(W, b) per block, read-only views of the checkpoint."""
        net = self.network
        out = []
        for block in net.blocks:
            pair = []
            for key in (block.weight_key, block.bias_key):
                s = net.slices[key]
                view = self.state.params[s].reshape(net.params[key].shape)
                pair.append(view)
            out.append((pair[0], pair[1]))
        return out

    def output_map(self) -> predictions.OutputMap | None:
        """The output over the data's plane or line then (None for other data)."""
        return predictions.output_map(self.network, self.dataset)

    def neuron_maps(self) -> predictions.NeuronMaps | None:
        return predictions.neuron_maps(self.network, self.dataset)


# --- settings: changes and differences -------------------------------------------------------


def _sections(cls: type = PlaygroundConfig) -> list[str]:
    """The top-level fields of the config that are settings (dataclass sections); the others
    (title, notes, focus) describe a preset."""
    example = cls()
    return [f.name for f in fields(cls) if is_dataclass(getattr(example, f.name))]


def _layer_fields() -> list[str]:
    return [f.name for f in fields(LayerConfig)]


def setting_paths() -> list[str]:
    """Every setting's dotted path; a hidden layer's fields as "network.hidden.<field>"."""
    flat = flatten({k: v for k, v in to_dict(PlaygroundConfig()).items() if k in _sections()})
    paths = [p for p in flat if p != "network.hidden"]
    return paths + [f"network.hidden.{name}" for name in _layer_fields()]


def resolve_changes(
    changes: Mapping[str, Any] | None = None, named: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """{path: value} from dotted paths ("training.optimizer.learning_rate", "network.hidden.
    activation" for every hidden layer, "network.hidden[1].units" for one) and short names
    (learning_rate=0.015, activation="relu") that name exactly one setting."""
    out = dict(changes or {})
    paths = setting_paths()
    for name, value in (named or {}).items():
        found = [p for p in paths if p.rsplit(".", 1)[-1] == name]
        if len(found) != 1:
            what = f"is one of {found}: give its path" if found else "is no setting"
            raise ExperimentError(f"'{name}' {what}")
        out[found[0]] = value
    return out


_LAYER_PATH = re.compile(r"network\.hidden\[(\d+)\]\.(\w+)$")


def apply_changes(config: PlaygroundConfig, changes: Mapping[str, Any]) -> PlaygroundConfig:
    """A new, validated config: `config` with `changes` ({path: value}) applied."""
    tree = to_dict(config)
    hidden = tree["network"]["hidden"]
    for path, value in changes.items():
        match = _LAYER_PATH.match(path)
        if match:
            index, name = int(match[1]), match[2]
            if not (index < len(hidden) and name in hidden[index]):
                raise ExperimentError(f"{path}: there is no such layer setting")
            hidden[index][name] = value
        elif path.startswith("network.hidden.") and path.count(".") == 2:
            name = path.rsplit(".", 1)[1]
            if name not in _layer_fields():
                raise ExperimentError(f"{path}: there is no such layer setting")
            for layer in hidden:
                layer[name] = value
        else:
            try:
                set_path(tree, path, value)
            except (KeyError, TypeError):
                raise ExperimentError(f"{path}: there is no such setting") from None
    try:
        return PlaygroundConfig.from_dict(tree)
    except ConfigError as err:
        raise ExperimentError(f"That change is not allowed: {err}") from None


def _layer_differences(base: list[dict], other: list[dict]) -> list[tuple[str, Any]]:
    """Per field of the hidden layers: one value for all layers, a list, or per layer."""
    out = []
    for name in _layer_fields():
        old, new = [x[name] for x in base], [x[name] for x in other]
        if old == new or (
            len(old) != len(new) and len(set(old)) == len(set(new)) == 1 and old[0] == new[0]
        ):
            continue
        if len(old) == len(new):
            changed = [i for i in range(len(new)) if old[i] != new[i]]
            if len(changed) < len(new):
                out += [(f"network.hidden[{i}].{name}", new[i]) for i in changed]
                continue
        uniform = len(set(new)) == 1 and (name != "units" or len(old) == len(new))
        out.append((f"network.hidden.{name}", new[0] if uniform else new))
    return out


def config_differences(base: PlaygroundConfig, other: PlaygroundConfig) -> list[tuple[str, Any]]:
    """The settings in which `other` differs from `base`, as (path, value of other), in the
    config's order, read off the config dataclasses."""
    b, o = to_dict(base), to_dict(other)
    out = []
    for section in _sections():
        fb, fo = flatten(b[section], f"{section}."), flatten(o[section], f"{section}.")
        for path, value in fo.items():
            if path == "network.hidden":
                out += _layer_differences(fb[path], value)
            elif fb[path] != value:
                out.append((path, value))
    return out


def _label(path: str) -> str:
    """Short words for a path: the field's name, with its section where the name repeats."""
    match = _LAYER_PATH.match(path)
    if match:
        return f"hidden {int(match[1]) + 1} {match[2].replace('_', ' ')}"
    parts = path.split(".")
    leaf = parts[-1]
    same = [p for p in setting_paths() if p.rsplit(".", 1)[-1] == leaf]
    if leaf == "name":
        return parts[-2]
    if len(same) > 1:
        leaf = f"{parts[-2]} {leaf}"
    if path == "network.hidden.units":
        return "layers"
    return leaf.replace("_", " ")


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ("-" if all(isinstance(v, int) for v in value) else ", ").join(
            map(_value_text, value)
        ) or "none"
    return str(value)


def differences_text(differences: list[tuple[str, Any]]) -> str:
    """ "activation relu, init he_normal": the differences as a short line for a table."""
    return ", ".join(f"{_label(p)} {_value_text(v)}" for p, v in differences) or "same settings"


# --- runs ---------------------------------------------------------------------------------------


@dataclass
class Branch:
    """Where a branched run left its source: until `step` it trains as its source did
    (`config_before`); at `step` its own settings take over, the live ones (`live`: learning
    rate, regularization) applied as a mid-run change is."""

    source: str
    step: int
    config_before: PlaygroundConfig
    live: dict[str, float]
    text: str


@dataclass
class Run:
    """One run: its settings, its data, its trainer and its checkpoints."""

    name: str
    config: PlaygroundConfig  # its settings (the trainer's own config once past a branch step)
    dataset: Dataset
    trainer: Trainer
    checkpoints: CheckpointStore
    branch: Branch | None = None
    origin: str = ""  # "clone of A", "branch of A at step 512", "" for the first run

    @property
    def step(self) -> int:
        return self.trainer.step_count

    @property
    def stopped(self) -> bool:
        return self.trainer.stopped

    @property
    def stop_reason(self) -> str:
        return self.trainer.stop_reason

    def snapshot(self, weights: bool = True) -> Snapshot:
        return self.trainer.snapshot(weights)

    def _checkpoint(self, pinned: bool = False) -> Checkpoint:
        return Checkpoint(self.step, self.trainer.capture_state(), self.trainer_config, pinned)

    @property
    def trainer_config(self) -> PlaygroundConfig:
        """The settings the trainer runs with now (the source's before a branch step)."""
        if self.branch is not None and self.trainer.config is not self.config:
            return self.branch.config_before
        return self.config


def _live_values(config: PlaygroundConfig) -> dict[str, float]:
    flat = flatten(to_dict(config))
    return {path: flat[path] for path in _LIVE}


def shared_initial_params(
    base: Checkpoint, config: PlaygroundConfig, dataset: Dataset, base_dataset: Dataset
) -> dict[str, np.ndarray]:
    """The initial parameters a clone takes from its base's step-0 checkpoint: every block
    whose weights have the same shape and are drawn by the same initializer (and scale) from
    the same seed; other blocks are drawn fresh from the seed. (The seed's own draw would already
    agree up to the first block that differs; copying keeps the later blocks the same too.)"""
    if config.training.seed != base.config.training.seed:
        return {}
    view = CheckpointView("", 0, 0, base.config, base_dataset, base.state)
    old = view.network
    new = Network(config.network, dataset.n_inputs, dataset.n_outputs, config.training.seed)
    out = {}
    for i, block in enumerate(new.blocks):
        if i >= len(old.blocks):
            break
        was = old.blocks[i]
        if old.params[was.weight_key].shape != new.params[block.weight_key].shape:
            continue
        acts = [_init_activation(net, b) for net, b in ((old, was), (new, block))]
        inits = [
            resolve(c.network.init, a) for c, a in zip((base.config, config), acts, strict=True)
        ]
        if inits[0] != inits[1]:
            continue
        if (
            inits[0] in _SCALED_INITS
            and base.config.network.init_scale != config.network.init_scale
        ):
            continue
        for key in block.param_keys:
            if (
                key.endswith(".alpha")
                and base.config.network.prelu_init != config.network.prelu_init
            ):
                continue
            if key in old.params and old.params[key].shape == new.params[key].shape:
                out[key] = old.params[key]
    return out


def _init_activation(net: Network, block) -> str:
    """The activation the initializer was told about: the layer's, or the head's."""
    return net.head.activation if block is net.blocks[-1] else block.activation


# --- the experiment -------------------------------------------------------------------------------


class Experiment:
    """Runs A..D of one student, in lockstep. See the module docstring."""

    def __init__(self, config: PlaygroundConfig, loader: DataLoader):
        """Run A from `config`; `loader` turns a config's data settings into a Dataset (as the
        session's loader); data is loaded once per distinct data settings."""
        self.loader = loader
        self.runs: list[Run] = []
        self.step_count = 0
        self._run_step_seconds = 0.0  # the last round's seconds per step of one run
        self._datasets: dict[str, Dataset] = {}
        config = copy.deepcopy(config)
        dataset = self._dataset(config)
        config = align_task(config, dataset.task)
        self._check_limits([(config, dataset)])
        self._add(RUN_NAMES[0], config, dataset, Trainer(config, dataset), "")

    # --- runs ---------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]

    def __getitem__(self, name: str) -> Run:
        for run in self.runs:
            if run.name == name:
                return run
        raise ExperimentError(f"There is no run {name}: the runs are {', '.join(self.names)}")

    @property
    def reference(self) -> Run:
        """The run the others are compared with (A, unless A was removed)."""
        return self.runs[0]

    def compare(
        self, base: str | None = None, changes: Mapping[str, Any] | None = None, **named
    ) -> Run:
        """A new run cloned from `base` (default: the reference run) with `changes` ({path:
        value}) and named changes (learning_rate=0.01): same data unless changed, same seeds,
        same initial weights where the architecture allows. Every run goes back to step 0."""
        source = self.reference if base is None else self[base]
        self._check_room()
        config = apply_changes(source.config, resolve_changes(changes, named))
        return self.add_run(config, base=source.name)

    def add_run(self, config: PlaygroundConfig | None = None, base: str | None = None) -> Run:
        """A new run with `config` (default: a copy of `base`'s settings), sharing `base`'s
        initial weights where the architecture allows (see `compare`). Every run goes back to
        step 0, so that all start together."""
        source = self.reference if base is None else self[base]
        self._check_room()
        config = copy.deepcopy(source.config if config is None else config)
        dataset = self._dataset(config)
        config = align_task(config, dataset.task)
        self._check_limits([(r.config, r.dataset) for r in self.runs] + [(config, dataset)])
        start = source.checkpoints.at(0)
        init = shared_initial_params(start, config, dataset, source.dataset)
        try:
            trainer = Trainer(config, dataset, init_params=init)
        except ConfigError as err:
            raise ExperimentError(f"That run cannot be built: {err}") from None
        self._rewind(0)
        return self._add(self._free_name(), config, dataset, trainer, f"clone of {source.name}")

    def remove_run(self, name: str) -> None:
        run = self[name]
        if len(self.runs) == 1:
            raise ExperimentError("The last run cannot be removed.")
        self.runs.remove(run)
        used = {self._data_key(r.config) for r in self.runs}
        self._datasets = {k: v for k, v in self._datasets.items() if k in used}

    def branch(
        self, name: str, step: int, changes: Mapping[str, Any] | None = None, **named
    ) -> Run:
        """A new run from `name`'s checkpoint at or before `step` (or its state now, if `step`
        is not behind it), with settings changed (e.g. learning_rate=0.015). Every run goes
        back to that step; weights, optimizer state, batch order and random streams carry on
        (the optimizer's state only to the same optimizer). Refused: changes of the data,
        of what only acts at step 0 (BRANCH_FIXED) or of the network's shapes."""
        source = self[name]
        self._check_room()
        start = source._checkpoint() if step >= source.step else source.checkpoints.at(step)
        before = _with_live(start.config, start.state)
        changes = resolve_changes(changes, named)
        config = apply_changes(before, changes)
        diffs = config_differences(before, config)
        fixed = [p for p, _ in diffs if p.startswith("data.") or p in BRANCH_FIXED]
        if fixed:
            raise BranchError(
                f"A branch carries on from step {start.step} with its data, initial draw and "
                f"batch order, so it cannot change {', '.join(fixed)}: use Compare, which "
                "starts a run from step 0."
            )
        self._check_limits([(r.config, r.dataset) for r in self.runs] + [(config, source.dataset)])
        live = _live_values(config)  # before the restore writes the checkpoint's into config
        trainer = Trainer(config, source.dataset)
        try:
            trainer.restore_state(start.state, source.trainer.history, keep_stop=False)
        except ValueError as err:
            raise BranchError(
                f"The branch cannot take step {start.step}'s weights: {err}. Changes of the "
                "layers' sizes, batch norm or PReLU make a new network: use Compare."
            ) from None
        text = differences_text(diffs)
        branch = Branch(source.name, start.step, before, live, text)
        self._rewind(start.step)
        run = Run(
            self._free_name(),
            config,
            source.dataset,
            trainer,
            source.checkpoints.copy_until(start.step),
            branch,
            f"branch of {source.name} at step {start.step}",
        )
        self._enter_branch(run, trainer)
        self.runs.append(run)
        self.runs.sort(key=lambda r: RUN_NAMES.index(r.name))
        return run

    # --- lockstep -------------------------------------------------------------------------------

    def active(self) -> list[Run]:
        """The runs still training."""
        return [r for r in self.runs if not r.trainer.stopped]

    def step(self) -> bool:
        """One mini-batch step of every run still training; False once none is."""
        self.run(math.inf, max_steps=1)
        return bool(self.active())

    def epoch_step(self) -> int:
        """Steps to the end of the reference run's epoch (the first run still training), for
        all runs; returns the steps taken."""
        active = self.active()
        if not active:
            return 0
        return self.run(math.inf, max_steps=active[0].trainer.steps_left_in_epoch)

    def run(self, seconds: float, max_steps: int | None = None) -> int:
        """Train every run still training for about `seconds` in all (at most `max_steps`
        steps), in rounds of the same number of steps for each; returns the steps taken.

        Without a time limit the end step is known, so rounds stop only at the checkpoints the
        schedule keeps at that end (the others would be thinned away on arrival): fewer rounds,
        less Python between the trainers' steps. Stopped short (every run stopped), the steps
        kept are those kept at the end asked, a subset of those kept where it stopped."""
        deadline = time.perf_counter() + seconds
        limit = math.inf if max_steps is None else max_steps
        end = self.step_count + limit if math.isinf(deadline) and math.isfinite(limit) else None
        taken = 0
        while taken < limit:
            active = self.active()
            if not active:
                break
            chunk = self._round_steps(deadline, len(active))
            n = int(min(chunk, self._next_stop(end) - self.step_count, limit - taken))
            start = time.perf_counter()
            for r in active:
                r.trainer.run(math.inf, max_steps=n)
            self._advance(n, active)
            taken += n
            now = time.perf_counter()
            self._run_step_seconds = max((now - start) / (n * len(active)), 1e-8)
            if now >= deadline:
                break
        return taken

    def _round_steps(self, deadline: float, runs: int) -> float:
        """Steps of the next round: up to the next stop without a time limit; else what fits
        in ROUND_SECONDS (or the time left) at the last round's seconds per run step (kept from
        call to call, so that a tick does not start with a one-step round)."""
        if math.isinf(deadline):
            return math.inf
        if not self._run_step_seconds:
            return 1
        left = min(ROUND_SECONDS, deadline - time.perf_counter())
        return max(1, int(left / (self._run_step_seconds * runs)))

    def measure(self) -> None:
        """The periodic evaluation now in every run (at Pause: the figures of the weights shown)."""
        for r in self.runs:
            r.trainer.measure()

    def reset(self) -> None:
        """Every run back to step 0, at its initial weights (a branch trains as its source did
        until its branch step, then takes its own settings again)."""
        self._rewind(0)

    def snapshots(self, weights: bool = True) -> dict[str, Snapshot]:
        return {r.name: r.snapshot(weights) for r in self.runs}

    # --- time travel ------------------------------------------------------------------------------

    def at(self, name: str, step: int) -> CheckpointView:
        """Run `name` as it was at its checkpoint at or before `step` (its state now if `step`
        is not behind it)."""
        run = self[name]
        cp = run._checkpoint() if step >= run.step else run.checkpoints.at(step)
        return CheckpointView(run.name, cp.step, cp.state.epoch, cp.config, run.dataset, cp.state)

    def checkpoint_steps(self, name: str) -> list[int]:
        """The steps a slider can show exactly for run `name`."""
        return self[name].checkpoints.steps

    def nbytes(self) -> int:
        """Bytes held by every run's checkpoints (shared ones counted once)."""
        seen: dict[int, int] = {}
        for r in self.runs:
            for s in r.checkpoints.steps:
                cp = r.checkpoints.at(s)
                seen[id(cp.state)] = cp.nbytes()
        return sum(seen.values())

    # --- what differs ---------------------------------------------------------------------------

    def differences(self, name: str) -> list[tuple[str, Any]]:
        """(path, value) of every setting in which run `name` differs from the reference run."""
        return config_differences(self.reference.config, self[name].config)

    def differences_text(self, name: str) -> str:
        return differences_text(self.differences(name))

    def warnings(self) -> list[str]:
        """What makes this comparison less than controlled, one line per run."""
        out = []
        ref = self.reference
        for run in self.runs[1:]:
            data = [(p, v) for p, v in self.differences(run.name) if p.startswith("data.")]
            if data:
                out.append(
                    f"{run.name} trains on other data than {ref.name} ({differences_text(data)}): "
                    "this is not a controlled comparison."
                )
        return out

    @property
    def controlled(self) -> bool:
        return not self.warnings()

    def usage(self) -> dict[str, tuple[int, int]]:
        """What the runs use together and the limit, by name (layers, units, parameters,
        points)."""
        return _usage([(r.config, r.dataset) for r in self.runs])

    # --- internals ------------------------------------------------------------------------------

    def _add(self, name, config, dataset, trainer, origin) -> Run:
        run = Run(name, config, dataset, trainer, CheckpointStore(), origin=origin)
        run.checkpoints.add(run._checkpoint(pinned=True))
        self.runs.append(run)
        self.runs.sort(key=lambda r: RUN_NAMES.index(r.name))
        return run

    def _free_name(self) -> str:
        return next(n for n in RUN_NAMES if n not in self.names)

    def _check_room(self) -> None:
        if len(self.runs) >= MAX_RUNS:
            raise TooManyRuns(
                f"At most {MAX_RUNS} runs ({', '.join(RUN_NAMES)}) side by side: remove a run "
                "to compare another."
            )

    @staticmethod
    def _data_key(config: PlaygroundConfig) -> str:
        return json.dumps(to_dict(config.data), sort_keys=True)

    def _dataset(self, config: PlaygroundConfig) -> Dataset:
        key = self._data_key(config)
        if key not in self._datasets:
            self._datasets[key] = self.loader(config)
        return self._datasets[key]

    @staticmethod
    def _check_limits(specs) -> None:
        for what, (used, limit) in _usage(specs).items():
            if used > limit:
                raise OverLimit(
                    f"All runs together may have at most {limit:,} {what} (as much as one run "
                    f"may have alone); these would have {used:,}. Make a run smaller or "
                    "remove one."
                )

    def _next_stop(self, end: int | None = None) -> int:
        """The next step at which training pauses: a checkpoint (with a known `end`: one the
        schedule still keeps there, or the end), or a branch taking over."""
        now = self.step_count
        if end is None:
            stops = [next_checkpoint(now)]
        else:
            d = grid_spacing(end)
            stops = [end, 1 << now.bit_length(), (now // d + 1) * d]
        stops += [r.branch.step for r in self.runs if r.branch is not None and r.branch.step > now]
        return min(stops)

    def _advance(self, n: int, moved: list[Run]) -> None:
        """The clock moved n steps for `moved`: enter branches, take and thin checkpoints."""
        self.step_count += n
        clock = self.step_count
        for run in moved:
            if run.branch is not None and run.branch.step == clock:
                trainer = Trainer(run.config, run.dataset)
                state = run.trainer.capture_state()
                trainer.restore_state(state, run.trainer.history, keep_stop=False)
                self._enter_branch(run, trainer)
            if run.trainer.stopped:
                run.checkpoints.add(run._checkpoint(pinned=True))
            elif keeps(clock, clock):
                run.checkpoints.add(run._checkpoint())
        for run in self.runs:
            run.checkpoints.thin(clock)

    def _enter_branch(self, run: Run, trainer: Trainer) -> None:
        """`trainer` (restored at the branch step with the run's own settings) goes on with
        the branch's live settings set as mid-run changes, and is the run's from now on."""
        live = run.branch.live
        lr = live["training.optimizer.learning_rate"]
        if lr != trainer.base_lr:
            trainer.set_learning_rate(lr)
        reg = {
            _LIVE[p]: v
            for p, v in live.items()
            if _LIVE[p] != "lr" and v != getattr(trainer, _LIVE[p])
        }
        if reg:
            trainer.set_regularization(**reg)
        trainer.history.record_event(
            trainer.step_count,
            "branch",
            f"{run.name} branched from {run.branch.source} at step {trainer.step_count}: "
            f"{run.branch.text}",
        )
        run.trainer = trainer
        run.checkpoints.drop_after(trainer.step_count)
        run.checkpoints.add(run._checkpoint(pinned=True))

    def _rewind(self, step: int) -> None:
        """Every run back to `step` (a run that stopped before it stays as it is): restore its
        checkpoint at or before the step, then replay the steps between (bit-identical)."""
        for run in self.runs:
            if run.step == step or (run.trainer.stopped and run.step < step):
                run.checkpoints.drop_after(step)
                continue
            cp = run.checkpoints.at(step)
            before_branch = run.branch is not None and cp.step < run.branch.step
            config = copy.deepcopy(run.branch.config_before) if before_branch else run.config
            trainer = Trainer(config, run.dataset)
            trainer.restore_state(cp.state, run.trainer.history)
            if cp.step < step:
                trainer.run(math.inf, max_steps=step - cp.step)
            run.trainer = trainer
            run.checkpoints.drop_after(step)
            if trainer.stopped:
                run.checkpoints.add(run._checkpoint(pinned=True))
        self.step_count = step


def _with_live(config: PlaygroundConfig, state: TrainerState) -> PlaygroundConfig:
    """`config` with the live settings a trainer had in `state` (the rate set mid-run...)."""
    config = copy.deepcopy(config)
    tr = config.training
    tr.optimizer.learning_rate = state.settings["base_lr"]
    for name in ("l1", "l2", "max_norm", "grad_clip"):
        setattr(tr.regularization, name, state.settings[name])
    return config


def _usage(specs) -> dict[str, tuple[int, int]]:
    """What runs (config, dataset) use together, and the limit: as much as one run may have.

    Layers and units: the hidden layers' count and units; parameters: the trainable ones;
    points: of the distinct datasets (runs with the same data share it), up to the generated
    data's limit or the biggest dataset among them, whichever is more."""
    max_layers = field_metadata("network.hidden")["length"][1]
    max_units = int(limits("network.hidden.units")[1])
    distinct = {id(ds): ds for _, ds in specs}.values()
    sizes = [len(ds.X_train) + len(ds.X_test) for ds in distinct]
    return {
        "hidden layers": (sum(len(c.network.hidden) for c, _ in specs), max_layers),
        "hidden units": (
            sum(layer.units for c, _ in specs for layer in c.network.hidden),
            max_layers * max_units,
        ),
        "parameters": (
            sum(count_parameters(c.network, ds.n_inputs, ds.n_outputs) for c, ds in specs),
            MAX_PARAMETERS,
        ),
        "data points": (sum(sizes), max(int(limits("data.n_points")[1]), *sizes)),
    }
