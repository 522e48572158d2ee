"""Each classroom preset demonstrates what its notes promise, on any machine and any seed.

A lesson's claim is checked on SEEDS (the data seed and the training seed move together, so each
seed is a new class's data and initial weights) and over a window of steps, never at one step:
a seed's value is its mean over the window's checkpoints (a gradient ratio: the median over every
stats step in the window). A claim holds when the median over the seeds holds it and at least
MIN_AGREEING seeds do. Each test runs in float32 and float64. The thresholds keep a margin of
more than 10% from the measured medians, and the figures in the presets' notes are those
medians: `python -m tests.benchmarks.lesson_seeds` prints every seed's value.

A comparison preset (runs side by side) is measured as the app trains it: one
`core.experiment.Experiment` of all its runs (clones sharing the reference's data, seeds and,
where the architecture allows, initial weights), in lockstep; a claim can set one run against
another (run B's first-layer gradient over run A's).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from core.config import LayerConfig, PlaygroundConfig
from core.data import load_dataset
from core.experiment import Experiment, config_differences
from core.trainer import Trainer
from playground.presets import (
    is_comparison,
    load_preset,
    preset_names,
    preset_run_changes,
    preset_runs,
)
from playground.session import align_task
from playground.url_state import query_to_state, runs_to_query

SEEDS = (0, 1, 2, 3, 4)
MIN_AGREEING = 4  # of the 5 seeds
DTYPES = ("float32", "float64")
LEARNED = 0.85  # accuracy of a lesson that learns its data


def _unchanged(config: PlaygroundConfig) -> None:
    """The preset as it opens."""


def without_dropout(config: PlaygroundConfig) -> None:
    """What the overfitting lesson asks: set every layer's dropout to 0."""
    for layer in config.network.hidden:
        layer.dropout = 0.0


def with_a_hidden_layer(config: PlaygroundConfig) -> None:
    """What the XOR lesson asks: add a hidden layer of 4 tanh units."""
    config.network.hidden = [LayerConfig(4, "tanh")]


@dataclass(frozen=True)
class Run:
    """A preset (changed as its notes tell the student), measured at the `window` steps."""

    preset: str
    window: tuple[int, ...]
    change: Callable[[PlaygroundConfig], None] = _unchanged
    side_by_side: str = ""  # a comparison preset's run ("A".."D"), trained with the others

    def config(self, seed: int, dtype: str) -> PlaygroundConfig:
        config = load_preset(self.preset)
        config.data.seed = config.training.seed = seed
        config.network.dtype = dtype
        self.change(config)
        return config


def window(first: int, last: int, checkpoints: int = 5) -> tuple[int, ...]:
    """`checkpoints` evenly spaced steps from `first` to `last`."""
    return tuple(int(s) for s in np.linspace(first, last, checkpoints))


RUNS = {
    "sigmoid": Run("vanishing_gradients", window(2000, 3000)),
    "saturated": Run("saturated_sigmoid", window(2000, 3000)),
    "relu": Run("vanishing_fixed_by_relu", window(2000, 3000)),
    "batchnorm": Run("vanishing_fixed_by_batchnorm", window(2000, 3000)),
    "xor_linear": Run("xor_needs_hidden_layer", window(2000, 3000)),
    "xor_hidden": Run("xor_needs_hidden_layer", window(2000, 3000), with_a_hidden_layer),
    "dropout": Run("overfitting_dropout", window(2000, 3000)),
    "no_dropout": Run("overfitting_dropout", window(2000, 3000), without_dropout),
    "early_stopping": Run("early_stopping", (20_000,)),
    "spiral_sgd": Run("spiral_sgd", window(5000, 6000)),
    "spiral_momentum": Run("spiral_momentum", window(5000, 6000)),
    "spiral_adam": Run("spiral_adam", window(5000, 6000)),
    "sine": Run("universal_approximation_1d", window(2000, 3000)),
    "digits": Run("digits", window(1000, 1500)),
    "circle": Run("circle_starter", window(2000, 3000)),
    **{
        f"compare_vanishing_{run}": Run(
            "compare_vanishing_gradients", window(2000, 3000), side_by_side=run
        )
        for run in "ABC"
    },
    **{
        f"compare_spiral_{run}": Run(
            "compare_spiral_optimizers", window(5000, 6000), side_by_side=run
        )
        for run in "ABC"
    },
    **{
        f"compare_overfitting_{run}": Run(
            "compare_overfitting_dropout", window(2000, 3000), side_by_side=run
        )
        for run in "AB"
    },
}


def grad_ratio(trainer: Trainer, first_step: int) -> float:
    """Median, over the stats steps from `first_step` on, of the first layer's gradient norm
    over the output layer's (what the gradient charts show)."""
    norms = trainer.history.layers["grad_norm"]
    first, last = norms[0], norms[-1]
    keep = first.steps >= first_step
    if not keep.any():
        return np.nan
    with np.errstate(divide="ignore", invalid="ignore"):  # a run that fits exactly: 0 / 0
        return float(np.median(first.values[keep] / last.values[keep]))


def saturated_share(trainer: Trainer, first_step: int) -> float:
    """Median, over the hidden sigmoid or tanh layers, of each one's share of outputs near a
    bound of its range (its median over the stats steps from `first_step` on); nan without
    such layers."""
    shares = []
    for series in trainer.history.layers["saturated_frac"][:-1]:  # the hidden layers
        values = series.values[series.steps >= first_step]
        if len(values) and np.isfinite(values).all():
            shares.append(float(np.median(values)))
    return float(np.median(shares)) if shares else np.nan


def early_stopping_outcome(trainer: Trainer) -> dict[str, float]:
    """Where early stopping stopped (inf if it did not) and how far the restored weights' test
    loss is from the best one it saw (relative)."""
    state = trainer.snapshot().early_stopping
    if not (state.stopped and state.restored):
        return {"stop_step": np.inf, "restore_gap": np.inf}
    gap = abs(trainer.evaluate()["val_loss"] - state.best_value) / state.best_value
    return {"stop_step": float(trainer.step_count), "restore_gap": gap}


def outcome(trainer: Trainer, checkpoints: list[dict], first_step: int) -> dict[str, float]:
    """Each metric's mean over the window's checkpoints, the gradient ratio's median over the
    window, and early stopping's outcome at the end."""
    means = {
        key: float(np.mean([c[key] for c in checkpoints]))
        for key, value in checkpoints[0].items()
        if value is not None
    }
    ratios = {
        "grad_ratio": grad_ratio(trainer, first_step),
        "saturated": saturated_share(trainer, first_step),
    }
    return means | ratios | early_stopping_outcome(trainer)


@functools.cache
def measure(run_name: str, seed: int, dtype: str) -> dict[str, float]:
    """One seed's run (see `outcome`)."""
    run = RUNS[run_name]
    if run.side_by_side:
        return measure_side_by_side(run.preset, run.window, seed, dtype)[run.side_by_side]
    config = run.config(seed, dtype)
    dataset = load_dataset(config.data)
    trainer = Trainer(align_task(config, dataset.task), dataset)
    checkpoints = []
    for step in run.window:
        trainer.run(600, max_steps=step - trainer.step_count)
        checkpoints.append(trainer.evaluate())
    return outcome(trainer, checkpoints, run.window[0])


@functools.cache
def measure_side_by_side(
    preset: str, steps: tuple[int, ...], seed: int, dtype: str
) -> dict[str, dict[str, float]]:
    """One seed's comparison, as the app builds it (the preset reseeded, its runs' changes
    applied over it, every run added to one Experiment) and trains it (in lockstep): each run's
    `outcome` by run name."""
    base = Run(preset, steps).config(seed, dtype)
    experiment = Experiment(base, lambda config: load_dataset(config.data))
    for _, config in preset_runs(preset, base):
        experiment.add_run(config)
    checkpoints: dict[str, list[dict]] = {r.name: [] for r in experiment.runs}
    for step in steps:
        experiment.run(math.inf, max_steps=step - experiment.step_count)
        for r in experiment.runs:
            checkpoints[r.name].append(r.trainer.evaluate())
    return {r.name: outcome(r.trainer, checkpoints[r.name], steps[0]) for r in experiment.runs}


@dataclass(frozen=True)
class Claim:
    """A lesson's promise: `value` of one seed's run measures lies above `above` and below
    `below` (it holds when the median seed's does and at least MIN_AGREEING seeds' do)."""

    id: str
    text: str
    runs: tuple[str, ...]
    value: Callable[..., float]
    above: float = -np.inf
    below: float = np.inf

    def values(self, dtype: str) -> list[float]:
        """The claimed quantity for each seed."""
        return [self.value(*(measure(run, seed, dtype) for run in self.runs)) for seed in SEEDS]

    def holds_for(self, value: float) -> bool:
        return self.above < value < self.below

    def check(self, dtype: str) -> tuple[list[float], float, int]:
        """(per-seed values, their median, how many seeds hold the claim)."""
        values = self.values(dtype)
        return values, statistics.median(values), sum(map(self.holds_for, values))

    def bounds(self) -> str:
        return " and ".join(
            text
            for text, b in ((f"> {self.above:g}", self.above), (f"< {self.below:g}", self.below))
            if np.isfinite(b)
        )


def metric(run_metric: str) -> Callable[[dict], float]:
    return lambda m: m[run_metric]


def ratio_of(run_metric: str) -> Callable[[dict, dict], float]:
    """The first run's metric over the second's."""
    return lambda a, b: a[run_metric] / b[run_metric]


CLAIMS = (
    Claim(
        "sigmoid_gradient",
        "sigmoid: the first layer's gradient is about 1e-6 of the output's",
        ("sigmoid",),
        metric("grad_ratio"),
        above=1e-7,
        below=1e-5,
    ),
    Claim(
        "sigmoid_accuracy",
        "sigmoid: training accuracy stays at chance",
        ("sigmoid",),
        metric("train_accuracy"),
        below=0.6,
    ),
    Claim(
        "sigmoid_not_saturated",
        "sigmoid: the outputs stay off the sigmoid's flat ends (the gradient vanishes anyway)",
        ("sigmoid",),
        metric("saturated"),
        below=0.05,
    ),
    Claim(
        "saturated_outputs",
        "large weights: most hidden outputs sit at the sigmoid's flat ends",
        ("saturated",),
        metric("saturated"),
        above=0.5,
    ),
    Claim(
        "relu_gradient",
        "relu: the first layer's gradient is about that of the output's",
        ("relu",),
        metric("grad_ratio"),
        above=0.1,
        below=10,
    ),
    Claim(
        "relu_accuracy",
        "relu: learns the circle",
        ("relu",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "batchnorm_gradient",
        "batchnorm: the first layer's gradient is about that of the output's",
        ("batchnorm",),
        metric("grad_ratio"),
        above=0.1,
        below=10,
    ),
    Claim(
        "batchnorm_accuracy",
        "batchnorm: learns the circle",
        ("batchnorm",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "xor_linear",
        "xor: no hidden layer stays near chance",
        ("xor_linear",),
        metric("train_accuracy"),
        below=0.65,
    ),
    Claim(
        "xor_hidden",
        "xor: 4 tanh units learn it",
        ("xor_hidden",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "overfit_train_loss",
        "overfitting: without dropout the training loss falls near zero",
        ("no_dropout",),
        metric("train_loss"),
        below=0.03,
    ),
    Claim(
        "overfit_test_loss",
        "overfitting: without dropout the test loss climbs",
        ("no_dropout",),
        metric("val_loss"),
        above=1.0,
    ),
    Claim(
        "dropout_test_loss",
        "overfitting: with dropout 0.5 the test loss stays low",
        ("dropout",),
        metric("val_loss"),
        below=1.0,
    ),
    Claim(
        "dropout_halves_test_loss",
        "overfitting: dropout at least halves the test loss",
        ("dropout", "no_dropout"),
        ratio_of("val_loss"),
        below=0.5,
    ),
    Claim(
        "early_stop_step",
        "early stopping stops within 1,000 of its 20,000 steps",
        ("early_stopping",),
        metric("stop_step"),
        below=1_000,
    ),
    Claim(
        "early_stop_restores",
        "early stopping restores the best weights",
        ("early_stopping",),
        metric("restore_gap"),
        below=1e-3,
    ),
    Claim(
        "spiral_sgd",
        "spiral: plain SGD stays near 60%",
        ("spiral_sgd",),
        metric("train_accuracy"),
        above=0.5,
        below=0.75,
    ),
    Claim(
        "spiral_momentum",
        "spiral: momentum untangles the arms",
        ("spiral_momentum",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "spiral_adam",
        "spiral: Adam untangles the arms",
        ("spiral_adam",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "sine_fit",
        "sine: the fit's test loss is far below the sine's variance (0.5)",
        ("sine",),
        metric("val_loss"),
        below=0.1,
    ),
    Claim(
        "digits", "digits: high test accuracy", ("digits",), metric("val_accuracy"), above=LEARNED
    ),
    Claim(
        "circle",
        "circle: two tanh layers separate the circle from the ring",
        ("circle",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    # --- comparisons: every run trained side by side with the others ---
    Claim(
        "compare_vanishing_A_gradient",
        "vanishing, side by side: A's (sigmoid) first-layer gradient is about 1e-3 of its output's",
        ("compare_vanishing_A",),
        metric("grad_ratio"),
        above=1e-4,
        below=1e-2,
    ),
    Claim(
        "compare_vanishing_A_accuracy",
        "vanishing, side by side: A (sigmoid) stays at chance",
        ("compare_vanishing_A",),
        metric("train_accuracy"),
        below=0.6,
    ),
    Claim(
        "compare_vanishing_B_over_A",
        "vanishing, side by side: B's (ReLU + He) first-layer gradient ratio is over 100x A's",
        ("compare_vanishing_B", "compare_vanishing_A"),
        ratio_of("grad_ratio"),
        above=100,
    ),
    Claim(
        "compare_vanishing_C_over_A",
        "vanishing, side by side: C's (batch norm) first-layer gradient ratio is over 100x A's",
        ("compare_vanishing_C", "compare_vanishing_A"),
        ratio_of("grad_ratio"),
        above=100,
    ),
    Claim(
        "compare_vanishing_B_gradient",
        "vanishing, side by side: B's first-layer gradient is about that of its output's",
        ("compare_vanishing_B",),
        metric("grad_ratio"),
        above=0.1,
        below=10,
    ),
    Claim(
        "compare_vanishing_C_gradient",
        "vanishing, side by side: C's first-layer gradient is about that of its output's",
        ("compare_vanishing_C",),
        metric("grad_ratio"),
        above=0.1,
        below=10,
    ),
    Claim(
        "compare_vanishing_B_accuracy",
        "vanishing, side by side: B learns the circle",
        ("compare_vanishing_B",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "compare_vanishing_C_accuracy",
        "vanishing, side by side: C learns the circle",
        ("compare_vanishing_C",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "compare_spiral_A",
        "spiral, side by side: A (SGD) stays near 60%",
        ("compare_spiral_A",),
        metric("train_accuracy"),
        above=0.5,
        below=0.75,
    ),
    Claim(
        "compare_spiral_B",
        "spiral, side by side: B (momentum) untangles the arms",
        ("compare_spiral_B",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "compare_spiral_C",
        "spiral, side by side: C (Adam) untangles the arms",
        ("compare_spiral_C",),
        metric("train_accuracy"),
        above=LEARNED,
    ),
    Claim(
        "compare_spiral_B_over_A",
        "spiral, side by side: B's training accuracy is over 1.2x A's",
        ("compare_spiral_B", "compare_spiral_A"),
        ratio_of("train_accuracy"),
        above=1.2,
    ),
    Claim(
        "compare_spiral_C_over_A",
        "spiral, side by side: C's training accuracy is over 1.2x A's",
        ("compare_spiral_C", "compare_spiral_A"),
        ratio_of("train_accuracy"),
        above=1.2,
    ),
    Claim(
        "compare_overfit_A_train_loss",
        "overfitting, side by side: A's (no dropout) training loss falls near zero",
        ("compare_overfitting_A",),
        metric("train_loss"),
        below=0.03,
    ),
    Claim(
        "compare_overfit_A_test_loss",
        "overfitting, side by side: A's (no dropout) test loss climbs",
        ("compare_overfitting_A",),
        metric("val_loss"),
        above=1.0,
    ),
    Claim(
        "compare_overfit_B_test_loss",
        "overfitting, side by side: B's (dropout 0.5) test loss stays low",
        ("compare_overfitting_B",),
        metric("val_loss"),
        below=1.0,
    ),
    Claim(
        "compare_overfit_B_over_A",
        "overfitting, side by side: B's test loss is under half A's",
        ("compare_overfitting_B", "compare_overfitting_A"),
        ratio_of("val_loss"),
        below=0.5,
    ),
)


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_has_a_title_and_notes(name):
    config = load_preset(name)
    assert config.title and len(config.notes) > 40


def test_every_preset_makes_a_checked_claim():
    checked = {RUNS[run].preset for claim in CLAIMS for run in claim.runs}
    assert checked == set(preset_names())


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_lesson_claim_holds_over_seeds(claim, dtype):
    values, median, agreeing = claim.check(dtype)
    shown = ", ".join(f"{v:.3g}" for v in values)
    assert claim.holds_for(median) and agreeing >= MIN_AGREEING, (
        f"{claim.text}: want {claim.bounds()}; seeds {SEEDS} give {shown} (median {median:.3g})"
    )


COMPARISONS = sorted({run.preset for run in RUNS.values() if run.side_by_side})


def test_every_comparison_preset_is_checked_run_by_run():
    """Each run of a comparison preset has a claim of its own."""
    for preset in COMPARISONS:
        names = {"A"} | {name for name, _ in preset_runs(preset)}
        claimed = {
            RUNS[run].side_by_side
            for claim in CLAIMS
            for run in claim.runs
            if RUNS[run].preset == preset
        }
        assert claimed == names, preset


@pytest.mark.parametrize("preset", COMPARISONS)
def test_comparison_preset_runs_differ_in_their_written_changes_only(preset):
    """A run's settings are the reference's with its changes (core.experiment's format), and
    the differences read back off the configs are those changes."""
    base = load_preset(preset)
    written = preset_run_changes(preset)
    for name, config in preset_runs(preset):
        assert dict(config_differences(base, config)) == written[name]


@pytest.mark.parametrize("preset", COMPARISONS)
def test_comparison_preset_fits_one_student(preset):
    """All its runs together stay within the summed limits (core.experiment.OverLimit)."""
    base = load_preset(preset)
    experiment = Experiment(base, lambda config: load_dataset(config.data))
    for _, config in preset_runs(preset):
        experiment.add_run(config)
    assert experiment.names == ["A", *(name for name, _ in preset_runs(preset))]
    assert experiment.controlled


@pytest.mark.parametrize("preset", COMPARISONS)
def test_comparison_preset_link_opens_every_run(preset):
    """The preset's runs written as a link (`runs=`) and read back over the preset are the
    preset's runs: one format for both."""
    base = load_preset(preset)
    runs = preset_runs(preset)
    params = {"preset": preset} | runs_to_query(base, runs)
    state = query_to_state(params, base)
    assert not state.notices
    assert state.config == base
    assert state.runs == runs


def test_a_single_run_preset_has_no_other_runs():
    assert preset_runs("vanishing_gradients") == []
    assert not is_comparison("vanishing_gradients")
    assert all(is_comparison(p) for p in COMPARISONS)
