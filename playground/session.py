"""One student's playground: config, data, trainer and run state, with no Streamlit in it.

The app keeps one `PlaygroundSession` in `st.session_state` and calls its
actions from button callbacks. Every action returns instead of raising: a
problem becomes a message in `notices`, and the last good state is kept.
A message stays until the student dismisses it or a new message of the same kind replaces it.

The runs live in a `core.experiment.Experiment`: one run ("A") until the student presses
Compare, then up to four side by side, trained in lockstep. `config`, `dataset` and `trainer`
are the run the sidebar edits (`selected`); the actions (Play, Step, Reset...) act on all runs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core import predictions, weight_edit
from core.config import MAX_REPLAY_SECONDS, ConfigError, PlaygroundConfig, align_task
from core.data import DataError, Dataset
from core.experiment import (
    RUN_NAMES,
    CheckpointStore,
    Experiment,
    ExperimentError,
    Run,
    config_differences,
    resolve_changes,
)
from core.microscope import WeightChoice
from core.serialization import ModelFileError, SavedModel, load_model
from core.trainer import Trainer

DataLoader = Callable[[PlaygroundConfig], Dataset]

# Fields that change without resetting the network (path in the config tree).
LIVE_FIELDS = (
    ("training", "optimizer", "learning_rate"),
    ("training", "regularization", "l1"),
    ("training", "regularization", "l2"),
)


def _locked(method):
    """Run under the session's lock: with fast reruns Streamlit may start a new script thread
    while an abandoned one is still inside the trainer, and both would mutate it."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper


MAX_NOTICES = 6  # the oldest message goes first beyond this


@dataclass
class Notice:
    """A message for the student. `kind` says what it is about ("config", "training", "link",
    "model_upload", "csv_upload", ...): a new notice of the same kind replaces this one."""

    level: str  # "info" | "warning" | "error"
    text: str
    kind: str
    id: int  # for the dismiss button


@dataclass(frozen=True)
class InspectedAt:
    """The activation histograms of a run recorded at `step` and its layer statistics then
    (saturated and dead shares as recorded at that step); None and [] before any record."""

    step: int | None
    histograms: list | None
    layers: list


@dataclass(frozen=True)
class RunView:
    """What the diagram and the output map draw of one run at one step: now, or as it was at a
    checkpoint (time travel). `step` is the step shown (the checkpoint's)."""

    name: str
    step: int
    weights: list[tuple[np.ndarray, np.ndarray]]
    layer_names: list[str]
    layer_activations: list[str]
    output_map: predictions.OutputMap | None
    neuron_maps: predictions.NeuronMaps | None
    dataset: Dataset
    frozen: list[int] = field(default_factory=list)  # blocks training leaves alone


@dataclass(frozen=True)
class RunRow:
    """A line of the runs table: the run, what differs from the reference run, how it was
    made, where it is and why it stopped ("" while it trains)."""

    name: str
    differences: str
    origin: str
    step: int
    stopped: str


@dataclass
class PlaygroundSession:
    loader: DataLoader
    experiment: Experiment | None = None
    selected: str = RUN_NAMES[0]  # the run the sidebar edits
    running: bool = False
    notices: list[Notice] = field(default_factory=list)
    notices_made: int = 0  # notice ids are 0, 1, 2, ...
    steps_per_second: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def start(cls, config: PlaygroundConfig, loader: DataLoader) -> PlaygroundSession:
        session = cls(loader=loader)
        if not session.apply_config(config, announce=False):
            session.apply_config(PlaygroundConfig(), announce=False)
        return session

    # --- the runs ---------------------------------------------------------------------------

    @property
    def run(self) -> Run | None:
        """The run the sidebar edits."""
        if self.experiment is None:
            return None
        if self.selected not in self.experiment.names:
            self.selected = self.experiment.reference.name
        return self.experiment[self.selected]

    @property
    def config(self) -> PlaygroundConfig:
        """The settings of the run the sidebar edits (the defaults before any run exists)."""
        return self.run.config if self.run is not None else PlaygroundConfig()

    @property
    def dataset(self) -> Dataset | None:
        return self.run.dataset if self.run is not None else None

    @property
    def trainer(self) -> Trainer | None:
        return self.run.trainer if self.run is not None else None

    @property
    def runs(self) -> list[Run]:
        return list(self.experiment.runs) if self.experiment is not None else []

    @property
    def run_names(self) -> list[str]:
        return [r.name for r in self.runs]

    @property
    def comparing(self) -> bool:
        """True with two runs or more side by side."""
        return len(self.runs) > 1

    @property
    def base_config(self) -> PlaygroundConfig:
        """The reference run's settings (A's, unless A was removed): the link's base."""
        return self.experiment.reference.config if self.experiment else PlaygroundConfig()

    def run_configs(self) -> list[tuple[str, PlaygroundConfig]]:
        """(name, settings) of every run after the reference one, for the link."""
        return [(r.name, r.config) for r in self.runs[1:]]

    def run_branches(self) -> dict[str, tuple[str, int]]:
        """Where each branched run branched: name -> (source, step), for the link."""
        return {r.name: (r.branch.source, r.branch.step) for r in self.runs if r.branch}

    def run_rows(self) -> list[RunRow]:
        ex = self.experiment
        return [
            RunRow(
                r.name,
                ex.differences_text(r.name),
                r.origin or "first run",
                r.step,
                r.stop_reason if r.stopped else "",
            )  # fmt: skip
            for r in self.runs
        ]

    def warnings(self) -> list[str]:
        """What makes the comparison less than controlled (other data), one line per run."""
        return self.experiment.warnings() if self.experiment is not None else []

    def snapshots(self) -> dict[str, object]:
        """Each run's snapshot without weights (curves, telemetry), by name."""
        return self.experiment.snapshots(weights=False) if self.experiment else {}

    def checkpoint_steps(self) -> list[int]:
        """The steps the time-travel slider offers: the selected run's checkpoints and now."""
        if self.run is None:
            return []
        steps = set(self.experiment.checkpoint_steps(self.selected)) | {self.run.step}
        return sorted(s for s in steps if s <= self.run.step)

    @_locked
    def select(self, name: str) -> None:
        """Let the sidebar edit run `name`."""
        if name in self.run_names:
            self.selected = name

    @_locked
    def compare(self) -> bool:
        """A new run cloned from the selected one (same data, seeds and initial weights); the
        sidebar then edits it. Every run goes back to step 0. A fifth run is refused."""
        ex = self.experiment
        late = [r.name for r in ex.runs if ex[r.name].checkpoints.at(0) is None]
        if late:
            self.notify(
                "warning",
                f"Compare starts every run from step 0, and run {late[0]} was loaded at step "
                f"{ex[late[0]].checkpoints.steps[0]:,}: press Reset first.",
                "compare",
            )
            return False
        try:
            run = self._rewinding(lambda: ex.compare(base=self.selected))
        except ExperimentError as err:
            self.notify("warning", str(err), "compare")
            return False
        self.selected = run.name
        self.running = False
        self.dismiss_kind("compare")
        self.notify(
            "info",
            f"Run {run.name} is a clone of {run.origin.rsplit(' ', 1)[-1]}: the same data, "
            f"initial weights and batch order. The sidebar now edits {run.name}: change a "
            "setting and train, every run goes in lockstep.",
            "compare",
        )
        return True

    @_locked
    def remove_run(self, name: str) -> None:
        try:
            self.experiment.remove_run(name)
        except ExperimentError as err:
            self.notify("warning", str(err), "compare")
            return
        self.run  # noqa: B018 (re-selects the reference run if the selected one went)
        self.running = self.running and bool(self.experiment.active())

    @_locked
    def branch(self, step: int, changes: dict) -> bool:
        """A new run from the selected run's checkpoint at `step` with `changes` ({path or
        short name: value}); every run goes back to that step."""
        ex = self.experiment
        try:
            run = self._rewinding(
                lambda: ex.branch(self.selected, step, resolve_changes(named=changes))
            )
        except ExperimentError as err:
            self.notify("warning", str(err), "compare")
            return False
        self.selected = run.name
        self.running = False
        self.notify(
            "info",
            f"Run {run.name}: {run.origin}, {run.branch.text}. Every run went back to step "
            f"{run.branch.step:,}.",
            "compare",
        )
        return True

    @_locked
    def add_runs(
        self,
        runs: list[tuple[str, PlaygroundConfig]],
        reference: str = RUN_NAMES[0],
        branches: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        """Add runs with these names and settings (a link's comparison), from step 0; the
        first run is named `reference`. A branched run (`branches`: name -> (source, step)) is
        rebuilt as it was made: every run trains to that step, then it branches there."""
        if reference in RUN_NAMES and reference not in [name for name, _ in runs]:
            self.experiment.reference.name = self.selected = reference
        branches = branches or {}
        for name, config in sorted(runs, key=lambda run: run[0] in branches):  # clones first
            try:
                if name in branches:
                    run = self._replay_branch(*branches[name], config)
                else:
                    run = self.experiment.add_run(config)
            except (ExperimentError, DataError, ConfigError) as err:
                self.notify("warning", f"Run {name} of the link was left out: {err}", "link")
                continue
            if name in RUN_NAMES and name not in self.run_names:
                run.name = name
                self.experiment.runs.sort(key=lambda r: RUN_NAMES.index(r.name))

    def _replay_branch(self, source: str, step: int, config: PlaygroundConfig) -> Run:
        """Train every run to `step` (lockstep, as they trained when the branch was made) and
        branch `source` there with the settings in which `config` differs from it."""
        ex = self.experiment
        ex.run(MAX_REPLAY_SECONDS, max_steps=max(0, step - ex[source].step))
        if ex[source].step != step:
            raise ExperimentError(
                f"rebuilding it means training run {source} to step {step:,}, which stopped at "
                f"step {ex[source].step:,} (it diverged, stopped early, or took over "
                f"{MAX_REPLAY_SECONDS:g} s on this server)"
            )
        changes = dict(config_differences(ex[source].config, config))
        return ex.branch(source, step, changes)

    def _rewinding(self, action):
        """`action()` (which may send every run back to an earlier step), keeping each run's
        learning rate and L1/L2 as the student last set them (a rewind restores a checkpoint's,
        which predates a change made mid-run)."""
        before = {r.name: (_live(r.config), r.branch) for r in self.runs}
        result = action()
        for r in self.runs:
            if r.name not in before or r.branch is not before[r.name][1] or r.branch:
                continue
            lr, l1, l2 = before[r.name][0]
            if r.trainer.base_lr != lr:
                r.trainer.set_learning_rate(lr)
            if (r.trainer.l1, r.trainer.l2) != (l1, l2):
                r.trainer.set_regularization(l1=l1, l2=l2)
        return result

    def _build(
        self, config: PlaygroundConfig, reload_data: bool, state=None, start: tuple = (0, 0)
    ) -> str:
        """Load data (if asked) and one fresh run (from `state`, counting from `start` =
        (step, epoch)), replacing every run. On failure keep everything as it was and return
        why ("" on success)."""
        try:
            dataset = self.loader(config) if reload_data or self.dataset is None else self.dataset
            config = align_task(config, dataset.task)
            experiment = Experiment(config, _loader_with(self.loader, config, dataset))
            if state is not None or start != (0, 0):
                trainer = Trainer(
                    config, dataset, init_state=state, start_step=start[0], start_epoch=start[1]
                )
                _start_from(experiment, trainer)
        except (DataError, ConfigError, ValueError) as err:  # all phrased for the user
            return str(err)
        except MemoryError:
            return "not enough memory for that network and data on this server."
        self.experiment, self.selected = experiment, experiment.reference.name
        self.running = False
        self.dismiss_kind("training")  # a stop message was about the old trainer
        return ""

    def _replace_run(self, name: str, config: PlaygroundConfig) -> str:
        """Run `name` with new settings, from step 0 (every run goes back there); the other
        runs keep theirs. On failure everything stays and the reason is returned."""
        ex = self.experiment
        old = ex[name]
        ex.remove_run(name)
        try:
            run = self._rewinding(lambda: ex.add_run(config, base=ex.reference.name))
        except (DataError, ConfigError, ValueError) as err:
            ex.runs.append(old)
            ex.runs.sort(key=lambda r: RUN_NAMES.index(r.name))
            return str(err)
        except MemoryError:
            ex.runs.append(old)
            ex.runs.sort(key=lambda r: RUN_NAMES.index(r.name))
            return "not enough memory for that network and data on this server."
        run.name = name
        ex.runs.sort(key=lambda r: RUN_NAMES.index(r.name))
        self.selected = name
        self.running = False
        return ""

    @_locked
    def apply_config(self, new: PlaygroundConfig, announce: bool = True) -> bool:
        """Adopt `new` for the selected run: live fields update its running trainer, anything
        else rebuilds it (with other runs, it alone, and every run goes back to step 0)."""
        if self.trainer is not None and new == self.config:
            return True
        old = self.config
        if self.trainer is not None and _only_live_fields_differ(old, new):
            self._apply_live(old, new)
            return True
        if self.comparing:
            reason = self._replace_run(self.selected, new)
            if reason:
                self.notify("error", f"Could not apply the change: {reason}", "config")
                return False
            if announce:
                self.notify(
                    "info",
                    f"Run {self.selected}'s settings changed, so every run went back to step 0.",
                    "config",
                )
            return True
        data_changed = self.trainer is None or new.data != old.data
        reason = self._build(new, reload_data=data_changed)
        if reason:
            self.notify("error", f"Could not apply the change: {reason}", "config")
            return False
        if announce:
            what = "data" if data_changed else "network or training settings"
            self.notify(
                "info", f"The {what} changed, so the network was reset to step 0.", "config"
            )
        return True

    @_locked
    def use_uploaded_data(self, new: PlaygroundConfig, file_name: str) -> bool:
        """Adopt `new` with its data loaded afresh: a new file may come with unchanged settings
        (the same target column), so the settings alone cannot tell that the data changed."""
        reason = self._build(new, reload_data=True)
        if reason:
            self.refuse_upload(file_name, reason)
            return False
        self.notify("info", f"Loaded {file_name}: the network was reset to step 0.", "csv_upload")
        return True

    def refuse_upload(self, file_name: str, reason: str) -> None:
        """Say that an uploaded data file was refused and that training keeps the current data."""
        current = self.dataset.name if self.dataset is not None else "the default data"
        self.notify(
            "error",
            f"That file cannot be used ({file_name}): {reason} "
            f"Training goes on with the current data ({current}).",
            "csv_upload",
        )

    def _apply_live(self, old: PlaygroundConfig, new: PlaygroundConfig) -> None:
        lr_old = old.training.optimizer.learning_rate
        lr_new = new.training.optimizer.learning_rate
        if lr_new != lr_old:
            self.trainer.set_learning_rate(lr_new)
        reg_old, reg_new = old.training.regularization, new.training.regularization
        if (reg_old.l1, reg_old.l2) != (reg_new.l1, reg_new.l2):
            self.trainer.set_regularization(l1=reg_new.l1, l2=reg_new.l2)
        config = self.run.config  # the trainer's own config, unless before a branch's step
        config.training.optimizer.learning_rate = lr_new
        config.training.regularization.l1 = reg_new.l1
        config.training.regularization.l2 = reg_new.l2
        config.title, config.notes = new.title, new.notes

    # --- actions (button callbacks) ---------------------------------------------------------

    @_locked
    def play(self) -> None:
        if self.trainer is None or self.trainer.stopped:
            self.notify("warning", self.stop_message() or "Nothing to train.", "training")
            return
        self.dismiss_kind("training")
        self.running = True

    @_locked
    def pause(self) -> None:
        """Stop, and measure the loss and accuracy of the weights the page now shows."""
        self.running = False
        if self.experiment is not None:
            self.experiment.measure()

    @_locked
    def step(self) -> None:
        """Exactly one mini-batch of every run still training, then measure."""
        self.running = False
        if self._can_train():
            self.experiment.step()
            self.experiment.measure()

    @_locked
    def step_epoch(self) -> None:
        self.running = False
        if self._can_train():
            self.experiment.epoch_step()
            self.experiment.measure()

    @_locked
    def reset(self) -> None:
        """Back to step 0: one run is rebuilt from its settings; several go back together to
        their initial weights (the same ones, so that the comparison stays controlled)."""
        if not self.comparing:
            reason = self._build(self.config, reload_data=False)
            if reason:
                self.notify("error", f"Could not reset: {reason}", "config")
            else:
                self.notify("info", "Reset: new initial weights, step 0.", "config")
            return
        self._rewinding(self.experiment.reset)
        self.running = False
        self.dismiss_kind("training")
        self.notify("info", "Reset: every run back to its initial weights, step 0.", "config")

    @_locked
    def tick(self, seconds: float, max_steps: int | None = None) -> int:
        """Advance a running session by a time budget (shared by all runs, in lockstep); stop
        running when every run has stopped."""
        if not self.running or not self._can_train():
            self.running = False
            return 0
        start = time.perf_counter()
        taken = self.experiment.run(seconds, max_steps=max_steps)
        elapsed = time.perf_counter() - start
        if elapsed > 0 and taken:
            rate = taken / elapsed
            self.steps_per_second = (
                rate if not self.steps_per_second else (0.7 * self.steps_per_second + 0.3 * rate)
            )
        if not self.experiment.active():
            self.running = False
        return taken

    @_locked
    def edit_weight(self, weight: WeightChoice, value) -> tuple[str, str]:
        """Set one weight or bias to a typed value (`core.weight_edit`: in place, the optimizer's
        state kept); training goes on from there. Returns (level, message) for the panel that
        asked: "success", or "error" when the value or weight was refused and nothing changed."""
        if self.trainer is None:
            return "error", "There is no network to edit yet."
        try:
            edit = weight_edit.set_weight(self.trainer, weight, value)
        except weight_edit.WeightEditError as err:
            return "error", f"{err} Nothing was changed."
        return "success", edit.message

    def _can_train(self) -> bool:
        if self.experiment is None:
            return False
        if not self.experiment.active():
            self.notify("warning", self.stop_message(), "training")
            return False
        return True

    def stop_message(self) -> str:
        """Why nothing trains any more ("" while a run still trains)."""
        if self.experiment is None or self.experiment.active():
            return ""
        if not self.comparing:
            return f"Training stopped: {self.trainer.stop_reason}. Press Reset to start again."
        why = "; ".join(f"{r.name}: {r.stop_reason}" for r in self.runs)
        return f"Every run stopped ({why}). Press Reset to start again."

    @_locked
    def load_model_bytes(self, data: bytes, transfer: bool = False) -> bool:
        """Start from a saved model: its weights, config and step count, or (transfer) a fresh
        network of the current config seeded with the saved layers that fit."""
        try:
            saved = load_model(io.BytesIO(data))
        except ModelFileError as err:
            self._refuse_model(str(err))
            return False
        if transfer:
            return self._transfer(saved)
        start = (saved.step or 0, saved.epoch or 0)
        reload_data = saved.config.data != self.config.data
        reason = self._build(saved.config, reload_data, state=saved.state, start=start)
        if reason:
            self._refuse_model(reason)
            return False
        self.notify("info", f"Loaded the saved model: {_continues(saved.step)}", "model_upload")
        return True

    def _transfer(self, saved: SavedModel) -> bool:
        reason = self._build(self.config, reload_data=False, state=saved.state)
        if reason:
            self._refuse_model(reason)
            return False
        lines = "\n\n".join(self.trainer.transfer_report["layers"])
        self.notify(
            "info",
            "Transfer learning: a new network of the current settings, at step 0, seeded with "
            f"the saved model's layers that fit. Layers that start fresh get new random "
            f"weights.\n\n{lines}",
            "model_upload",
        )
        return True

    def _refuse_model(self, reason: str) -> None:
        self.notify(
            "error",
            f"That model cannot be used: {reason} The current network stays.",
            "model_upload",
        )

    # --- what the charts draw: model outputs, computed in core.predictions ----------------------

    def output_map(self) -> predictions.OutputMap | None:
        """The model's output over the data's input plane or line (None for other data)."""
        return predictions.output_map(self.trainer.network, self.dataset)

    def run_step(self, name: str) -> int:
        """Run `name`'s step now."""
        return self.experiment[name].step

    def run_output_map(self, name: str) -> predictions.OutputMap | None:
        """Run `name`'s output over its data's input plane or line, as it is now."""
        run = self.experiment[name]
        return predictions.output_map(run.trainer.network, run.dataset)

    def neuron_maps(self) -> predictions.NeuronMaps | None:
        """Each neuron's output over the input plane (None for data without a plane)."""
        return predictions.neuron_maps(self.trainer.network, self.dataset)

    def test_predictions(self, limit: int | None = None) -> np.ndarray:
        """The model's outputs (n, k) for the first `limit` test examples (all by default)."""
        return predictions.predictions(self.trainer.network, self.dataset.X_test[:limit])

    def test_classes(self, limit: int | None = None, step: int | None = None) -> np.ndarray:
        """The head's class for the first `limit` test examples (all by default), by the
        selected run's network now or (time travel) at its checkpoint at or before `step`."""
        net = self._network_at(step)
        return predictions.predicted_classes(net, self.dataset.X_test[:limit])

    def first_layer_weights(self, step: int | None = None) -> np.ndarray:
        """The selected run's first-layer weight matrix W (inputs, units), now or at `step`."""
        if step is None or step >= self.run.step:
            return self.trainer.weights()[0][0]
        return self.experiment.at(self.selected, step).weights[0][0]

    def inspected_at(self, step: int | None) -> InspectedAt:
        """The selected run's activation histograms and layer statistics as recorded last at
        or before `step` (the newest with `step` None): what the activation view draws."""
        snap = self.trainer.snapshot(weights=False)
        if step is None or step >= self.run.step:
            return InspectedAt(snap.histogram_step, snap.histograms, list(snap.layers))
        found = snap.history.histograms.at(step)
        if found is None:
            return InspectedAt(None, None, [])
        recorded, histograms = found
        series = snap.history.layers
        layers = [
            dataclasses.replace(
                stats,
                saturated_frac=series["saturated_frac"][i].at(recorded),
                dead_frac=series["dead_frac"][i].at(recorded),
            )
            for i, stats in enumerate(snap.layers)
        ]
        return InspectedAt(recorded, histograms, layers)

    def _network_at(self, step: int | None):
        if step is None or step >= self.run.step:
            return self.trainer.network
        return self.experiment.at(self.selected, step).network

    def run_views(self, step: int | None = None) -> list[RunView]:
        """Every run as it is now, or (time travel) as it was at its checkpoint at or before
        `step`: weights, layer names and the model's outputs the diagram and map draw."""
        return [self.run_view(run.name, step) for run in self.runs]

    def run_view(self, name: str, step: int | None = None) -> RunView:
        """Run `name` as it is now, or as it was at its checkpoint at or before `step`."""
        run = self.experiment[name]
        if step is None or step >= run.step:
            net, weights, shown = run.trainer.network, run.trainer.weights(), run.step
        else:
            past = self.experiment.at(run.name, step)
            net, weights, shown = past.network, past.weights, past.step
        return RunView(
            run.name,
            shown,
            [(w.copy(), b.copy()) for w, b in weights],
            [block.name for block in net.blocks],
            [block.activation for block in net.blocks],
            predictions.output_map(net, run.dataset),
            predictions.neuron_maps(net, run.dataset),
            run.dataset,
            [i for i, block in enumerate(net.blocks) if block.frozen],
        )

    def run_layer_names(self, name: str) -> list[str]:
        """Run `name`'s layer names (hidden blocks, then the output layer)."""
        return [block.name for block in self.experiment[name].trainer.network.blocks]

    @property
    def layer_names(self) -> list[str]:
        """Per layer (hidden blocks, then the output layer) its name."""
        return [block.name for block in self.trainer.network.blocks]

    @property
    def layer_activations(self) -> list[str]:
        return [block.activation for block in self.trainer.network.blocks]

    @property
    def frozen_layers(self) -> list[int]:
        """Indices of the layers training leaves alone (`network.frozen`), for the diagram."""
        return [block.index for block in self.trainer.network.blocks if block.frozen]

    # --- messages ---------------------------------------------------------------------------

    def notify(self, level: str, text: str, kind: str | None = None) -> None:
        """Show `text` until dismissed; it replaces an earlier notice of the same `kind` (by
        default a notice is its own kind, so the same text is shown once)."""
        kind = kind or text
        with self.lock:
            self.notices = [n for n in self.notices if n.kind != kind]
            self.notices.append(Notice(level, text, kind, self.notices_made))
            self.notices_made += 1
            del self.notices[:-MAX_NOTICES]

    def dismiss(self, notice_id: int) -> None:
        with self.lock:
            self.notices = [n for n in self.notices if n.id != notice_id]

    def dismiss_kind(self, kind: str) -> None:
        with self.lock:
            self.notices = [n for n in self.notices if n.kind != kind]


def _live(config: PlaygroundConfig) -> tuple[float, float, float]:
    tr = config.training
    return tr.optimizer.learning_rate, tr.regularization.l1, tr.regularization.l2


def _loader_with(loader: DataLoader, config: PlaygroundConfig, dataset: Dataset) -> DataLoader:
    """`loader`, except that `config`'s data settings give the `dataset` already loaded."""

    def load(other: PlaygroundConfig) -> Dataset:
        return dataset if other.data == config.data else loader(other)

    return load


def _start_from(experiment: Experiment, trainer: Trainer) -> None:
    """Make `trainer` (a saved model's, perhaps at a later step) the experiment's only run."""
    run = experiment.reference
    run.trainer, run.config = trainer, trainer.config
    run.checkpoints = CheckpointStore()
    run.checkpoints.add(run._checkpoint(pinned=True))
    experiment.step_count = trainer.step_count


def _continues(step: int | None) -> str:
    """How a loaded model's training continues: from its saved step (older files lack it)."""
    if step is None:
        return (
            "its weights and settings. The file does not record how long it trained (it was "
            "saved by an older version), so Steps counts from 0."
        )
    return f"its weights and settings; training continues from step {step:,}."


def _get(config: PlaygroundConfig, path: tuple[str, ...]):
    node = config
    for name in path:
        node = getattr(node, name)
    return node


def _set(config: PlaygroundConfig, path: tuple[str, ...], value) -> None:
    node = config
    for name in path[:-1]:
        node = getattr(node, name)
    setattr(node, path[-1], value)


def _only_live_fields_differ(old: PlaygroundConfig, new: PlaygroundConfig) -> bool:
    probe = copy.deepcopy(new)
    for path in LIVE_FIELDS:
        _set(probe, path, _get(old, path))
    probe.title, probe.notes = old.title, old.notes
    return probe == old
