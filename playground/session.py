"""One student's playground: config, data, trainer and run state, with no Streamlit in it.

The app keeps one `PlaygroundSession` in `st.session_state` and calls its
actions from button callbacks. Every action returns instead of raising: a
problem becomes a message in `notices`, and the last good state is kept.
"""

from __future__ import annotations

import copy
import functools
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.config import OUTPUT_HEADS, ConfigError, PlaygroundConfig
from core.data import DataError, Dataset
from core.serialization import ModelFileError, TransferError, load_model, transfer_state
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


@dataclass
class Notice:
    level: str  # "info" | "warning" | "error"
    text: str


@dataclass
class PlaygroundSession:
    config: PlaygroundConfig
    loader: DataLoader
    dataset: Dataset | None = None
    trainer: Trainer | None = None
    running: bool = False
    notices: list[Notice] = field(default_factory=list)
    steps_per_second: float = 0.0
    tick_interval: float = 0.0  # run_every the browser currently uses (seconds)
    paced_at: float = 0.0  # when that interval was set (time.monotonic)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def start(cls, config: PlaygroundConfig, loader: DataLoader) -> PlaygroundSession:
        session = cls(config=config, loader=loader)
        if not session.apply_config(config, announce=False):
            session.apply_config(PlaygroundConfig(), announce=False)
        return session

    def _build(self, config: PlaygroundConfig, reload_data: bool, state=None) -> bool:
        """Load data (if asked) and a fresh trainer; on failure keep everything as it was."""
        try:
            dataset = self.loader(config) if reload_data or self.dataset is None else self.dataset
            config = align_task(config, dataset.task)
            trainer = Trainer(config, dataset, init_state=state)
        except (DataError, ConfigError, ValueError) as err:  # all phrased for the user
            self.notify("error", f"Could not apply the change: {err}")
            return False
        except MemoryError:
            self.notify("error", "Not enough memory for that network and data on this server.")
            return False
        self.config, self.dataset, self.trainer = config, dataset, trainer
        self.running = False
        return True

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
        if not self._build(new, reload_data=data_changed):
            return False
        if announce:
            what = "data" if data_changed else "network or training settings"
            self.notify("info", f"The {what} changed, so the network was reset to step 0.")
        return True

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
            self.notify("warning", self.stop_message() or "Nothing to train.")
            return
        self.running = True

    @_locked
    def pause(self) -> None:
        self.running = False

    @_locked
    def step(self) -> None:
        """Exactly one mini-batch."""
        self.running = False
        if self._can_train():
            self.trainer.step()

    @_locked
    def step_epoch(self) -> None:
        self.running = False
        if self._can_train():
            self.trainer.epoch_step()

    @_locked
    def reset(self) -> None:
        self._build(self.config, reload_data=False)
        self.notify("info", "Reset: new initial weights, step 0.")

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

    def _can_train(self) -> bool:
        if self.trainer is None:
            return False
        if self.trainer.stopped:
            self.notify("warning", self.stop_message())
            return False
        return True

    def stop_message(self) -> str:
        if self.trainer is None or not self.trainer.stopped:
            return ""
        return f"Training stopped: {self.trainer.stop_reason}. Press Reset to start again."

    @_locked
    def load_model_bytes(self, data: bytes, transfer: bool = False) -> bool:
        """Start from a saved model: its weights and config, or (transfer) its matching weights."""
        try:
            state, saved = load_model(io.BytesIO(data))
            if transfer:
                report = transfer_state(state, self.trainer.network)
                self.notify("info", _transfer_summary(report))
                return True
            if not self._build(saved, reload_data=saved.data != self.config.data, state=state):
                return False
        except (ModelFileError, TransferError) as err:
            self.notify("error", f"That model cannot be used: {err}")
            return False
        self.notify("info", "Loaded the saved model: its weights and settings.")
        return True

    # --- messages ---------------------------------------------------------------------------

    def notify(self, level: str, text: str) -> None:
        if not any(n.text == text for n in self.notices):
            self.notices.append(Notice(level, text))
        del self.notices[:-5]

    def take_notices(self) -> list[Notice]:
        notices, self.notices = self.notices, []
        return notices


def _transfer_summary(report: dict[str, list[str]]) -> str:
    copied, skipped = report["copied"], report["skipped"]
    text = f"Copied {len(copied)} matching arrays from the saved model"
    if skipped:
        text += f"; skipped {len(skipped)}: {', '.join(skipped[:4])}"
    return text + "."


def align_task(config: PlaygroundConfig, task: str) -> PlaygroundConfig:
    """The dataset decides the task; keep the chosen head when it fits, else the task's default."""
    if config.network.task == task:
        return config
    aligned = copy.deepcopy(config)
    aligned.network.task = task
    if aligned.network.head not in OUTPUT_HEADS[task]:
        aligned.network.head = OUTPUT_HEADS[task][0]
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
