"""The training doctor: each rule fires on runs that show its problem and stays quiet on
healthy runs, over several seeds and at every checkpoint of a window of steps.

A rule "fires" for a case when, for at least all seeds but one, it holds at every checkpoint;
it is "quiet" when it holds at no checkpoint of any seed. Runs are short (tiny nets, a few
hundred steps) and the effects strong, so few seeds suffice.

The issue's claims are also checked on 5 seeds with a margin: the rule still holds with its
threshold made k times stricter (the run is not near the line), or stays quiet with it made k
times looser. The margins measured (python -m pytest -q tests/core/test_doctor.py -k margin) on
seeds 0-4: the deep sigmoid net's gradient ratio 3e-7..1.3e-6 (threshold 1e-3), its ReLU and
batch-norm fixes' 0.67..3.2; the overfitting preset without dropout's test loss +230%..+550%
above its best (threshold +20%); the ReLU circle at learning rate 10's largest update ratio
0.48..1.7 before the units died (too high above 0.1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from core import doctor
from core.config import LayerConfig, PlaygroundConfig
from core.data import load_dataset
from core.doctor import RULES, RULES_BY_KEY, Finding, Run, diagnose
from core.telemetry import Snapshot
from core.trainer import Trainer
from playground.presets import load_preset
from playground.session import align_task

SEEDS = (0, 1, 2)


def relu_at_lr_10(c: PlaygroundConfig) -> None:
    """The issue's case: the circle with two ReLU layers and SGD at learning rate 10."""
    for layer in c.network.hidden:
        layer.activation = "relu"
    c.training.optimizer.learning_rate = 10.0


def saturating_init(c: PlaygroundConfig) -> None:
    """Four tanh layers with weights ~ N(0, 3²): most outputs start and stay near ±1."""
    c.network.hidden = c.network.hidden[:4]
    for layer in c.network.hidden:
        layer.activation = "tanh"
    c.network.init, c.network.init_scale = "normal", 3.0


def learning_rate(value: float) -> Callable[[PlaygroundConfig], None]:
    def change(c: PlaygroundConfig) -> None:
        c.training.optimizer.learning_rate = value

    return change


def without_dropout(c: PlaygroundConfig) -> None:
    for layer in c.network.hidden:
        layer.dropout = 0.0


def with_a_hidden_layer(c: PlaygroundConfig) -> None:
    c.network.hidden = [LayerConfig(4, "tanh")]


def sgd_blowing_up(c: PlaygroundConfig) -> None:
    """The sine regression with ReLU and plain SGD at learning rate 1: the loss overflows within
    a few steps (layer scalars at every step, so the growth is seen)."""
    for layer in c.network.hidden:
        layer.activation = "relu"
    c.training.optimizer.name, c.training.optimizer.learning_rate = "sgd", 1.0
    c.training.stats_every = 1


def unchanged(c: PlaygroundConfig) -> None:
    pass


@dataclass(frozen=True)
class Case:
    preset: str
    checkpoints: tuple[int, ...]
    change: Callable[[PlaygroundConfig], None] = unchanged


CASES = {
    "dead": Case("circle_starter", (200, 400, 600), relu_at_lr_10),
    "dead_long": Case("circle_starter", (3000,), relu_at_lr_10),  # with a tiny history: thinned
    "sigmoid": Case("vanishing_gradients", (300, 450, 600)),
    "relu": Case("vanishing_fixed_by_relu", (300, 600, 900)),
    "batchnorm": Case("vanishing_fixed_by_batchnorm", (300, 600, 900)),
    "saturating": Case("vanishing_gradients", (300, 450, 600), saturating_init),
    "large_weights": Case("saturated_sigmoid", (300, 450, 600)),  # the lesson preset
    "slow": Case("circle_starter", (300, 600), learning_rate(1e-5)),
    "no_dropout": Case("overfitting_dropout", (1000, 1500), without_dropout),
    "dropout": Case("overfitting_dropout", (1000, 1500)),
    "xor_linear": Case("xor_needs_hidden_layer", (600, 1200)),
    "xor_hidden": Case("xor_needs_hidden_layer", (600, 1200), with_a_hidden_layer),
    "blow_up": Case("universal_approximation_1d", (50,), sgd_blowing_up),
    "default": Case("circle_starter", tuple(range(100, 2001, 100))),  # as a watcher sees it
}
FIVE_SEEDS = (0, 1, 2, 3, 4)


def trainer_for(case: Case, seed: int, dtype: str) -> Trainer:
    config = load_preset(case.preset)
    config.data.seed = config.training.seed = seed
    config.network.dtype = dtype
    case.change(config)
    dataset = load_dataset(config.data)
    return Trainer(align_task(config, dataset.task), dataset)


@functools.cache
def snapshots(case_name: str, seed: int, dtype: str = "float32") -> tuple[Snapshot, ...]:
    """One seed's run as the doctor reads it at each checkpoint."""
    case = CASES[case_name]
    trainer = trainer_for(case, seed, dtype)
    found = []
    for step in case.checkpoints:
        trainer.run(600, max_steps=step - trainer.step_count)
        found.append(trainer.snapshot(weights=False))
    return tuple(found)


@functools.cache
def findings(case_name: str, seed: int, dtype: str = "float32") -> tuple[tuple[Finding, ...]]:
    """The doctor's findings at each checkpoint of one seed's run."""
    return tuple(tuple(diagnose(snap)) for snap in snapshots(case_name, seed, dtype))


def holds_at(rule: str, case_name: str, seed: int, factor: float = 1.0) -> list[bool]:
    """Whether `rule` itself holds at each checkpoint, its threshold times `factor` (the report
    may still leave it out as the symptom of another finding)."""
    r = RULES_BY_KEY[rule]
    return [
        r.check(Run.of(snap), r.threshold * factor) is not None
        for snap in snapshots(case_name, seed)
    ]


def seeds_where(rule: str, case_name: str, seeds=SEEDS, dtype: str = "float32") -> int:
    """Seeds at whose every checkpoint `rule` holds."""
    return sum(
        all(any(f.rule == rule for f in at) for at in findings(case_name, seed, dtype))
        for seed in seeds
    )


def ever_fired(rule: str, case_name: str, seeds=SEEDS) -> list[tuple[int, str]]:
    """(seed, message) wherever `rule` held at some checkpoint."""
    return [
        (seed, f.message)
        for seed in seeds
        for at in findings(case_name, seed)
        for f in at
        if f.rule == rule
    ]


def assert_fires(rule: str, case_name: str, seeds=SEEDS, dtype: str = "float32") -> None:
    agreeing = seeds_where(rule, case_name, seeds, dtype)
    assert agreeing >= len(seeds) - 1, f"{rule} held throughout {agreeing}/{len(seeds)} seeds"


def assert_quiet(rule: str, case_name: str, seeds=SEEDS) -> None:
    assert not ever_fired(rule, case_name, seeds)


# --- the case ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_circle_at_lr_10_every_unit_dead_learning_rate_too_high(dtype):
    seeds = (0, 1, 2, 3, 4)
    assert_fires("dead_relu", "dead", seeds, dtype)
    said = "every unit of hidden 1 and hidden 2 is dead: the learning rate is too high"
    agreeing = sum(
        all(
            any(said in f.message.lower() for f in at if f.rule == "dead_relu")
            for at in findings("dead", seed, dtype)
        )
        for seed in seeds
    )
    assert agreeing >= len(seeds) - 1


def test_long_after_the_units_died_the_doctor_still_blames_the_learning_rate(monkeypatch):
    """The large update that killed them is long thinned out of the bounded history (here a
    history of 64 points, thinned many times in 3,000 steps, as 2,000 points are in a few
    hundred thousand: fast live frames get there in a minute; it keeps at least its newest 32
    points, more than the doctor's window); its peak is kept apart (`Series.peak`), so the
    cause stays the same however long the run goes on."""
    from core.history import History

    monkeypatch.setattr(History.__init__, "__defaults__", (64,))
    seeds = (0, 1, 2, 3, 4)
    said = "every unit of hidden 1 and hidden 2 is dead: the learning rate is too high"
    agreeing = sum(
        any(said in f.message.lower() for f in findings("dead_long", seed)[-1]) for seed in seeds
    )
    assert agreeing >= len(seeds) - 1


def test_dead_relu_finding_states_evidence_fix_and_reference():
    finding = next(f for f in findings("dead", 0)[-1] if f.rule == "dead_relu")
    assert "never fires" in finding.evidence and "learning rate 10" in finding.evidence
    assert "learning rate" in finding.fix.lower() and "ReLU" in finding.reference


def test_dead_units_explain_the_plateau_they_cause():
    """The dead net's flat loss is not reported apart from its cause."""
    assert_quiet("plateau", "dead")
    assert_quiet("underfitting", "dead")


def test_no_dead_relu_on_healthy_relu_nets():
    assert_quiet("dead_relu", "relu")
    assert_quiet("dead_relu", "no_dropout")


# --- gradients -----------------------------------------------------------------------------------


def test_deep_sigmoid_net_has_vanishing_gradients_within_a_few_hundred_steps():
    assert_fires("vanishing", "sigmoid")
    message = findings("sigmoid", 0)[0][0].message
    assert "hidden 1" in message and "output" in message


@pytest.mark.parametrize("case_name", ["relu", "batchnorm", "default"])
def test_no_vanishing_gradients_once_fixed(case_name):
    assert_quiet("vanishing", case_name)


def test_exploding_gradients_before_a_divergence():
    assert_fires("exploding", "blow_up")
    assert_fires("divergence", "blow_up")
    finding = next(f for f in findings("blow_up", 0)[-1] if f.rule == "divergence")
    assert "learning rate (1) is too high" in finding.message


@pytest.mark.parametrize("case_name", ["sigmoid", "relu", "no_dropout", "default"])
def test_no_exploding_gradients_or_divergence_on_stable_runs(case_name):
    assert_quiet("exploding", case_name)
    assert_quiet("divergence", case_name)


# --- units ---------------------------------------------------------------------------------------


def test_saturated_tanh_units_are_diagnosed():
    assert_fires("saturated", "saturating")


@pytest.mark.parametrize("case_name", ["sigmoid", "batchnorm", "default"])
def test_no_saturation_where_outputs_stay_responsive(case_name):
    """The deep sigmoid net vanishes through the sigmoid's slope (<= 1/4 per layer), not
    saturation: its outputs stay near 0.5 (the telemetry says so), and the doctor says so."""
    assert_quiet("saturated", case_name)


# --- the learning rate and the loss --------------------------------------------------------------


def test_update_ratio_far_below_1e3_says_the_learning_rate_is_too_low():
    assert_fires("update_ratio", "slow")
    assert "too low" in next(f for f in findings("slow", 0)[0] if f.rule == "update_ratio").message


@pytest.mark.parametrize("case_name", ["relu", "batchnorm", "default", "no_dropout"])
def test_update_ratio_quiet_on_healthy_runs(case_name):
    assert_quiet("update_ratio", case_name)


def test_overfitting_without_dropout_and_not_with_it():
    assert_fires("overfitting", "no_dropout")
    assert_quiet("overfitting", "dropout")
    assert_quiet("overfitting", "default")


def test_underfitting_of_a_linear_model_on_xor():
    assert_fires("underfitting", "xor_linear")
    assert_quiet("underfitting", "xor_hidden")
    assert_quiet("underfitting", "default")


def test_plateau_rule_holds_on_a_stalled_run_and_not_on_a_learning_one():
    """The plateau rule itself (in the report it gives way to the cause found: here the learning
    rate)."""
    rule = doctor.RULES_BY_KEY["plateau"]

    def holds(case_name: str, seed: int) -> bool:
        trainer = trainer_for(CASES[case_name], seed, "float32")
        trainer.run(600, max_steps=600)
        return rule.check(Run.of(trainer.snapshot(weights=False)), rule.threshold) is not None

    assert sum(holds("slow", seed) for seed in SEEDS) >= len(SEEDS) - 1
    assert not any(holds("default", seed) for seed in SEEDS)


# --- a healthy run, the registry -----------------------------------------------------------------


def test_default_preset_gets_no_false_alarms_over_5_seeds():
    seeds = (0, 1, 2, 3, 4)
    alarms = [
        (seed, f.rule, f.message) for seed in seeds for at in findings("default", seed) for f in at
    ]
    assert not alarms


def test_every_rule_has_one_threshold_a_fix_a_reference_and_a_doc():
    keys = [rule.key for rule in RULES]
    assert len(set(keys)) == len(keys)
    for rule in RULES:
        assert rule.threshold > 0 and rule.fix and rule.reference and rule.check.__doc__
        assert all(cause in keys for cause in rule.symptom_of)


def test_a_young_run_gets_no_findings():
    trainer = trainer_for(CASES["default"], 0, "float32")
    assert diagnose(trainer.snapshot(weights=False)) == []
    trainer.run(600, max_steps=20)
    assert diagnose(trainer.snapshot(weights=False)) == []


# --- the claims on 5 seeds, with a margin ------------------------------------------------


def test_margin_deep_sigmoid_net_vanishes_on_5_seeds_from_step_300_10x_below_the_threshold():
    for seed in FIVE_SEEDS:
        assert all(holds_at("vanishing", "sigmoid", seed, 1 / 10)), seed
        assert all(any(f.rule == "vanishing" for f in at) for at in findings("sigmoid", seed))


@pytest.mark.parametrize("case_name", ["relu", "batchnorm"])
def test_margin_its_relu_and_batch_norm_fixes_stay_10x_clear_of_vanishing(case_name):
    for seed in FIVE_SEEDS:
        assert not any(holds_at("vanishing", case_name, seed, 10)), seed
        assert not any(f.rule == "vanishing" for at in findings(case_name, seed) for f in at)


def test_margin_the_deep_sigmoid_net_is_not_saturated_on_5_seeds():
    """The issue expects "saturation" too; the telemetry says otherwise: its sigmoid outputs stay
    around 0.5 (0% of them within 2.5% of a bound at steps 300-600, seeds 0-4), and the gradient
    vanishes through the sigmoid's slope (at most 1/4 per layer, ten layers), which the doctor's
    vanishing finding says. So the doctor does not say saturation here (nor on the batch-norm
    fix); saturation is diagnosed where outputs do sit at the bounds (the tanh net with large
    initial weights, above, and the lesson with large weights, below)."""
    for seed in FIVE_SEEDS:
        for case_name in ("sigmoid", "batchnorm"):
            assert not any(holds_at("saturated", case_name, seed, 1 / 3)), (case_name, seed)


def test_margin_the_large_weight_sigmoid_preset_is_saturated_on_5_seeds():
    """The lesson where saturation is real (the same ten sigmoid layers, weights ~ N(0, 8²)):
    diagnosed at every checkpoint from step 300 on every seed, with the threshold made 10%
    stricter; its gradients' jumps as units leave the flat ends are not called exploding."""
    for seed in FIVE_SEEDS:
        assert all(holds_at("saturated", "large_weights", seed, 1.1)), seed
        assert all(any(f.rule == "saturated" for f in at) for at in findings("large_weights", seed))
    assert_quiet("exploding", "large_weights", FIVE_SEEDS)


def test_margin_overfitting_preset_without_dropout_on_5_seeds_5x_above_the_threshold():
    for seed in FIVE_SEEDS:
        assert all(holds_at("overfitting", "no_dropout", seed, 5)), seed
        assert all(any(f.rule == "overfitting" for f in at) for at in findings("no_dropout", seed))


def test_margin_relu_circle_at_lr_10_the_update_that_killed_the_units_was_3x_too_high():
    high = RULES_BY_KEY["update_ratio"].threshold_high
    for seed in FIVE_SEEDS:
        peak, _ = doctor._peak_update_ratio(Run.of(snapshots("dead", seed)[-1]))
        assert peak >= 3 * high, (seed, peak)


@pytest.mark.parametrize(
    ("rule", "looser"),
    [("vanishing", 10), ("saturated", 0.8), ("overfitting", 0.5), ("update_ratio", 10)],
)
def test_margin_default_preset_stays_clear_of_each_rule_with_a_looser_threshold(rule, looser):
    """No false alarm at any of the 20 checkpoints (every 100 steps to 2,000) of 5 seeds even
    with the threshold moved towards the run. The plateau rule has no such margin: at step 300
    of seed 2 the loss fell 2.2% over the last 10 evaluations (threshold 2%), the circle's slow
    start; no alarm is raised at any checkpoint (test above)."""
    for seed in FIVE_SEEDS:
        assert not any(holds_at(rule, "default", seed, looser)), seed


# --- divergence: the weights kept are the last finite ones, and the cause is named -------------


def test_divergence_keeps_the_last_finite_weights_and_names_the_learning_rate_on_5_seeds():
    """The step that meets a NaN or infinite loss or gradient is not applied: the weights are
    those of the last step taken, all finite; the doctor blames the learning rate."""
    for seed in FIVE_SEEDS:
        trainer = trainer_for(CASES["blow_up"], seed, "float32")
        before = trainer.network.flat_params.copy()
        while trainer.step():
            before = trainer.network.flat_params.copy()
        assert trainer.divergence.diverged, seed
        np.testing.assert_array_equal(trainer.network.flat_params, before)
        assert np.isfinite(trainer.network.flat_params).all()
        found = [f for f in diagnose(trainer.snapshot(weights=False)) if f.rule == "divergence"]
        assert found and "the learning rate (1) is too high" in found[0].message, seed
        assert "kept the last finite weights" in found[0].message


def test_non_finite_weights_are_rolled_back_to_the_last_finite_checkpoint():
    """When an update itself overflows (the weights become NaN or infinite), the next step meets
    a non-finite loss and every parameter goes back to the last checkpoint (taken before each
    stats step's update). The overflow is simulated by writing NaN into one weight (an infinite
    one alone can pass: tanh(inf) = 1)."""
    trainer = trainer_for(CASES["default"], 0, "float32")
    trainer.run(600, max_steps=23)  # stats every 5 steps: the checkpoint is step 21's "before"
    telemetry = trainer._telemetry
    checkpoint = telemetry.before[telemetry.last_slot].copy()
    assert not np.array_equal(checkpoint, trainer.network.flat_params)  # two steps back
    trainer.network.flat_params[3] = np.nan
    assert trainer.step() is False
    np.testing.assert_array_equal(trainer.network.flat_params, checkpoint)
    assert "rolled back to the last finite checkpoint" in trainer.stop_reason
    found = [f for f in diagnose(trainer.snapshot(weights=False)) if f.rule == "divergence"]
    assert found and "learning rate (0.03) is too high" in found[0].message
