"""One student's playground: config, data, trainer and run state, with no Streamlit in it.

The app keeps one `PlaygroundSession` in `st.session_state` and calls its
actions from button callbacks. Every action returns instead of raising: a
problem becomes a message in `notices`, and the last good state is kept.
A message stays until the student dismisses it or a new message of the same kind replaces it.
"""

from __future__ import annotations

import copy
import functools
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core import predictions, weight_edit
from core.config import ConfigError, PlaygroundConfig, fitting_head
from core.data import DataError, Dataset
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


@dataclass
class PlaygroundSession:
    config: PlaygroundConfig
    loader: DataLoader
    dataset: Dataset | None = None
    trainer: Trainer | None = None
    running: bool = False
    notices: list[Notice] = field(default_factory=list)
    notices_made: int = 0  # notice ids are 0, 1, 2, ...
    steps_per_second: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def start(cls, config: PlaygroundConfig, loader: DataLoader) -> PlaygroundSession:
        session = cls(config=config, loader=loader)
        if not session.apply_config(config, announce=False):
            session.apply_config(PlaygroundConfig(), announce=False)
        return session

    def _build(
        self, config: PlaygroundConfig, reload_data: bool, state=None, start: tuple = (0, 0)
    ) -> str:
        """Load data (if asked) and a fresh trainer (from `state`, counting from `start` =
        (step, epoch)). On failure keep everything as it was and return why ("" on success)."""
        try:
            dataset = self.loader(config) if reload_data or self.dataset is None else self.dataset
            config = align_task(config, dataset.task)
            trainer = Trainer(
                config, dataset, init_state=state, start_step=start[0], start_epoch=start[1]
            )
        except (DataError, ConfigError, ValueError) as err:  # all phrased for the user
            return str(err)
        except MemoryError:
            return "not enough memory for that network and data on this server."
        self.config, self.dataset, self.trainer = config, dataset, trainer
        self.running = False
        self.dismiss_kind("training")  # a stop message was about the old trainer
        return ""

    @_locked
    def apply_config(self, new: PlaygroundConfig, announce: bool = True) -> bool:
        """Adopt `new`: live fields update the running trainer, anything else rebuilds it."""
        if self.trainer is not None and new == self.config:
            return True
        old = self.config
        if self.trainer is not None and _only_live_fields_differ(old, new):
            self._apply_live(old, new)
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
        self.config = new

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
        if self.trainer is not None:
            self.trainer.measure()

    @_locked
    def step(self) -> None:
        """Exactly one mini-batch, then measure."""
        self.running = False
        if self._can_train():
            self.trainer.step()
            self.trainer.measure()

    @_locked
    def step_epoch(self) -> None:
        self.running = False
        if self._can_train():
            self.trainer.epoch_step()
            self.trainer.measure()

    @_locked
    def reset(self) -> None:
        reason = self._build(self.config, reload_data=False)
        if reason:
            self.notify("error", f"Could not reset: {reason}", "config")
        else:
            self.notify("info", "Reset: new initial weights, step 0.", "config")

    @_locked
    def tick(self, seconds: float, max_steps: int | None = None) -> int:
        """Advance a running session by a time budget; stop running when training stops."""
        if not self.running or not self._can_train():
            self.running = False
            return 0
        start = time.perf_counter()
        taken = self.trainer.run(seconds, max_steps=max_steps)
        elapsed = time.perf_counter() - start
        if elapsed > 0 and taken:
            rate = taken / elapsed
            self.steps_per_second = (
                rate if not self.steps_per_second else (0.7 * self.steps_per_second + 0.3 * rate)
            )
        if self.trainer.stopped:
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
        if self.trainer is None:
            return False
        if self.trainer.stopped:
            self.notify("warning", self.stop_message(), "training")
            return False
        return True

    def stop_message(self) -> str:
        if self.trainer is None or not self.trainer.stopped:
            return ""
        return f"Training stopped: {self.trainer.stop_reason}. Press Reset to start again."

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

    def neuron_maps(self) -> predictions.NeuronMaps | None:
        """Each neuron's output over the input plane (None for data without a plane)."""
        return predictions.neuron_maps(self.trainer.network, self.dataset)

    def test_predictions(self, limit: int | None = None) -> np.ndarray:
        """The model's outputs (n, k) for the first `limit` test examples (all by default)."""
        return predictions.predictions(self.trainer.network, self.dataset.X_test[:limit])

    def test_classes(self, limit: int | None = None) -> np.ndarray:
        """The head's class for the first `limit` test examples (all by default)."""
        return predictions.predicted_classes(self.trainer.network, self.dataset.X_test[:limit])

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


def _continues(step: int | None) -> str:
    """How a loaded model's training continues: from its saved step (older files lack it)."""
    if step is None:
        return (
            "its weights and settings. The file does not record how long it trained (it was "
            "saved by an older version), so Steps counts from 0."
        )
    return f"its weights and settings; training continues from step {step:,}."


def align_task(config: PlaygroundConfig, task: str) -> PlaygroundConfig:
    """The dataset decides the task; keep the chosen head when it fits, else the task's default."""
    if config.network.task == task:
        return config
    aligned = copy.deepcopy(config)
    aligned.network.task = task
    aligned.network.head = fitting_head(task, aligned.network.head)
    return aligned


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
