"""The training doctor: reads a run's telemetry and says in words what is wrong.

`diagnose(snapshot)` returns a `Finding` per rule that holds, each with the evidence (numbers
from the telemetry), a suggested fix and a reference. Every rule and its threshold lives in one
place, `RULES`. The rules read only the snapshot (its history of per-layer scalars and of
losses); what a layer's units can do (saturate, die) comes from `core.activations.REGISTRY`.

Layer rules look at a window: the last `WINDOW` stats points of the history. A condition is
sustained when it holds at `SUSTAINED` of the window's points or more (never one step). Loss
rules look at the last `EVAL_WINDOW` evaluations of the train and test loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.activations import REGISTRY
from core.telemetry import Snapshot

WINDOW = 30  # stats points (every `stats_every` steps) a layer rule looks at
SUSTAINED = 0.8  # fraction of the window's points at which a condition must hold
EVAL_WINDOW = 10  # evaluations a loss rule looks at
FITTED_ACCURACY = 0.99  # a training accuracy this high: the network fits its data
LEARNED_FRACTION = 0.5  # regression: a loss below this share of its first value has learned
EXPLODING_MIN_POINTS = 4  # a run that blows up in a few steps still shows its growth
# ... and the grown norm is large: a step then moves the weights by about the learning rate or
# more (saturated units' gradients jump from 1e-6 to 1e-4 as units leave the flat ends; a
# blow-up reaches 1e7 and beyond)
EXPLODING_MIN_NORM = 1.0
HEALTHY_UPDATE_RATIO = 1e-3  # ||ΔW|| / ||W|| per step (CS231n)


@dataclass(frozen=True)
class Finding:
    """What one rule says about the run."""

    rule: str  # the rule's key in RULES
    title: str
    message: str  # what is wrong, naming the layers
    evidence: str  # the numbers it rests on
    fix: str
    reference: str


@dataclass(frozen=True)
class Verdict:
    """A rule's judgement: the message and its evidence."""

    message: str
    evidence: str


@dataclass(frozen=True)
class Rule:
    """A rule with its threshold (its one home), its fix and its source. `symptom_of`: rules
    that, when they hold, explain this one (it is then not reported)."""

    key: str
    title: str
    threshold: float
    fix: str
    reference: str
    check: Callable[[Run, float], Verdict | None]
    symptom_of: tuple[str, ...] = ()


# --- the run as the rules see it -----------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A snapshot's telemetry in the shape the rules read: per layer, the window's values."""

    snapshot: Snapshot
    names: tuple[str, ...]
    families: tuple[str, ...]  # REGISTRY family per block ("output" for the output layer)

    @classmethod
    def of(cls, snapshot: Snapshot) -> Run:
        names = tuple(layer.name for layer in snapshot.layers)
        families = tuple(
            REGISTRY[layer.activation].family if i < len(names) - 1 else "output"
            for i, layer in enumerate(snapshot.layers)
        )
        return cls(snapshot, names, families)

    def window(self, metric: str, layer: int) -> np.ndarray:
        """The last WINDOW values of a layer's metric (fewer if the run is young)."""
        return self.snapshot.history.layers[metric][layer].values[-WINDOW:]

    def full_window(self, metric: str, layer: int) -> np.ndarray | None:
        """The window's values, or None until the history holds WINDOW points."""
        values = self.window(metric, layer)
        return values if len(values) >= WINDOW else None

    def hidden(self, family: str) -> list[int]:
        """Hidden layers whose units are of `family`."""
        return [i for i, f in enumerate(self.families) if f == family]

    def eval_series(self, name: str) -> np.ndarray:
        return self.snapshot.history.run[name].values

    def window_steps(self, metric: str = "grad_norm") -> str:
        steps = self.snapshot.history.layers[metric][0].steps[-WINDOW:]
        return f"steps {steps[0]:,} to {steps[-1]:,}" if len(steps) else "no steps"


def sustained(condition: np.ndarray) -> bool:
    """True when the condition holds at SUSTAINED of the points or more."""
    return len(condition) > 0 and float(np.mean(condition)) >= SUSTAINED


def join_names(names: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sci(x: float) -> str:
    return f"{x:.2g}" if x != 0 else "0"


# --- layer rules -----------------------------------------------------------------------------


def _gradient_ratio(run: Run) -> np.ndarray | None:
    """First layer's gradient norm over the last layer's, at each window point where both
    are positive (an exact zero is a dead layer's, not a vanishing one)."""
    first, last = run.full_window("grad_norm", 0), run.full_window("grad_norm", -1)
    if first is None or last is None or len(run.names) < 2:
        return None
    ok = (first > 0) & (last > 0) & np.isfinite(first) & np.isfinite(last)
    return first[ok] / last[ok] if ok.mean() >= SUSTAINED else None


def vanishing(run: Run, threshold: float) -> Verdict | None:
    """||g_first|| / ||g_last|| < threshold, sustained."""
    ratio = _gradient_ratio(run)
    if ratio is None or not sustained(ratio < threshold):
        return None
    first, last = run.names[0], run.names[-1]
    slope = _slope_note(run)
    return Verdict(
        f"Gradients vanish: {first}'s gradient is {sci(float(np.median(ratio)))} of "
        f"{last}'s, so the first layers barely learn.{slope}",
        f"median ||dL/dW|| ratio {first} / {last} = {sci(float(np.median(ratio)))} over "
        f"{run.window_steps()} (threshold {threshold:g}); below it at "
        f"{np.mean(ratio < threshold):.0%} of them",
    )


def _slope_note(run: Run) -> str:
    """Why, for saturating layers: each multiplies the gradient by its slope (σ' <= 1/4)."""
    n = len(run.hidden("saturating"))
    if n < 2:
        return ""
    return (
        f" Backpropagation multiplies the gradient by each layer's activation slope; through "
        f"{n} sigmoid or tanh layers (sigmoid's slope is at most 1/4) it shrinks geometrically."
    )


def exploding(run: Run, threshold: float) -> Verdict | None:
    """A layer's gradient norm grows by `threshold` (e.g. 100x) across the window (the median
    of its last fifth over the median of its first fifth) to at least EXPLODING_MIN_NORM."""
    grown = []
    for i, name in enumerate(run.names):
        g = run.window("grad_norm", i)
        g = g[np.isfinite(g) & (g > 0)]
        if len(g) < EXPLODING_MIN_POINTS:
            continue
        fifth = max(2, len(g) // 5)
        grown_to = float(np.median(g[-fifth:]))
        growth = grown_to / float(np.median(g[:fifth]))
        if growth >= threshold and grown_to >= EXPLODING_MIN_NORM:
            grown.append((name, growth, float(g[-1])))
    if not grown:
        return None
    evidence = "; ".join(f"{n}: x{sci(gr)} (now {sci(last)})" for n, gr, last in grown)
    return Verdict(
        f"Gradients explode: the gradient norm of {join_names([g[0] for g in grown])} grew "
        f"by orders of magnitude.",
        f"growth of ||dL/dW|| over {run.window_steps()}: {evidence} (threshold x{threshold:g})",
    )


def saturated(run: Run, threshold: float) -> Verdict | None:
    """Sigmoid/tanh layers whose outputs lie near a bound (within 2.5% of the range) for at
    least `threshold` of the batch, sustained."""
    found = []
    for i in run.hidden("saturating"):
        frac = run.full_window("saturated_frac", i)
        if frac is not None and sustained(frac >= threshold):
            found.append((run.names[i], float(np.median(frac))))
    if not found:
        return None
    evidence = ", ".join(f"{n} {f:.0%}" for n, f in found)
    return Verdict(
        f"Units saturate: most outputs of {join_names([f[0] for f in found])} sit at the flat "
        "ends of the sigmoid or tanh, where the slope and so the gradient is almost 0.",
        f"median share of outputs near a bound over {run.window_steps()}: {evidence} "
        f"(threshold {threshold:.0%})",
    )


def dead_units(run: Run, threshold: float) -> Verdict | None:
    """ReLU-like layers whose units cannot learn: every unit never fires over the batch
    (dead_frac >= threshold), or no gradient reaches the layer (||dL/dW|| = 0), sustained."""
    relu = run.hidden("relu_like")
    never_fire, no_gradient = [], []
    for i in relu:
        dead, grad = run.full_window("dead_frac", i), run.full_window("grad_norm", i)
        if dead is not None and sustained(dead >= threshold):
            never_fire.append(i)
        elif grad is not None and sustained(grad == 0):
            no_gradient.append(i)
    if not never_fire:
        return None
    dead = sorted(never_fire + no_gradient)
    names = join_names([run.names[i] for i in dead])
    cause, cause_evidence = _dead_cause(run)
    evidence = [f"{run.names[i]} never fires over the batch" for i in never_fire]
    evidence += [f"no gradient reaches {run.names[i]} (||dL/dW|| = 0)" for i in no_gradient]
    return Verdict(
        f"Every unit of {names} is dead: {cause}.",
        f"{'; '.join(evidence)}, over {run.window_steps()}; {cause_evidence}",
    )


def _dead_cause(run: Run) -> tuple[str, str]:
    """Units killed by large updates (the learning rate) or dead from the start."""
    high = RULES_BY_KEY["update_ratio"].threshold_high
    peak, step = _peak_update_ratio(run)
    if peak >= high:
        return (
            "the learning rate is too high",
            f"before they died an update moved the weights by {sci(peak)} of their norm at "
            f"step {step:,} (healthy ~{HEALTHY_UPDATE_RATIO:g}); learning rate "
            f"{run.snapshot.learning_rate:g}",
        )
    return (
        "they stopped firing with no large update (a narrow layer or an unlucky start)",
        f"largest update-to-weight ratio seen {sci(peak)} (below {high:g})",
    )


def _peak_update_ratio(run: Run) -> tuple[float, int]:
    """The largest ||ΔW|| / ||W|| recorded for any layer since the run began (kept however
    long it trains: `Series.peak`), and its step."""
    peaks = [series.peak() for series in run.snapshot.history.layers["update_ratio"]]
    return max((p for p in peaks if p is not None), default=(0.0, 0))


@dataclass(frozen=True)
class UpdateRule(Rule):
    """The update-ratio rule has two thresholds: too low (threshold) and too high."""

    threshold_high: float = 0.1


def update_ratio(run: Run, threshold: float) -> Verdict | None:
    """Every moving layer's median ||ΔW|| / ||W|| below `threshold` (the learning rate is too
    low), or some layer's above the rule's high threshold (too high), sustained."""
    high = RULES_BY_KEY["update_ratio"].threshold_high
    medians = {}
    for i, name in enumerate(run.names):
        r = run.full_window("update_ratio", i)
        if r is not None and sustained(r > 0):  # a layer that no longer moves: dead, not slow
            medians[name] = float(np.median(r[r > 0]))
    if not medians:
        return None
    listed = ", ".join(f"{n} {sci(v)}" for n, v in medians.items())
    evidence = f"median ||ΔW|| / ||W|| per step over {run.window_steps()}: {listed}"
    lr = run.snapshot.learning_rate
    too_high = [n for n, v in medians.items() if v > high]
    if too_high:
        return Verdict(
            f"The learning rate ({lr:g}) is too high: each step changes the weights of "
            f"{join_names(too_high)} by more than {high:.0%} of their size.",
            f"{evidence} (healthy ~{HEALTHY_UPDATE_RATIO:g}, too high above {high:g})",
        )
    if max(medians.values()) < threshold:
        return Verdict(
            f"The learning rate ({lr:g}) is too low: no layer's weights change by more than "
            f"{threshold:g} of their size per step.",
            f"{evidence} (healthy ~{HEALTHY_UPDATE_RATIO:g}, too low below {threshold:g})",
        )
    return None


# --- loss rules ------------------------------------------------------------------------------


def _fitted(run: Run) -> bool:
    """The network fits its training data: accuracy >= FITTED_ACCURACY (classification), or
    (regression, whose noise floor is unknown) a training loss below LEARNED_FRACTION of its
    first value."""
    acc = run.snapshot.train_accuracy
    if acc is not None:
        return acc >= FITTED_ACCURACY
    loss = run.eval_series("train_loss")
    return len(loss) > 0 and loss[-1] <= LEARNED_FRACTION * loss[0]


def _recent(name: str, run: Run) -> np.ndarray | None:
    values = run.eval_series(name)[-EVAL_WINDOW:]
    return values if len(values) >= EVAL_WINDOW else None


def plateau(run: Run, threshold: float) -> Verdict | None:
    """Over the last EVAL_WINDOW evaluations the training loss fell by less than `threshold`
    (relative: mean of the last third vs the first third), and the data is not yet fitted."""
    loss = _recent("train_loss", run)
    if loss is None or _fitted(run):
        return None
    third = max(1, len(loss) // 3)
    before, after = float(np.mean(loss[:third])), float(np.mean(loss[-third:]))
    drop = (before - after) / before if before > 0 else 0.0
    if drop >= threshold:
        return None
    acc = run.snapshot.train_accuracy
    accuracy = f", training accuracy {acc:.0%}" if acc is not None else ""
    return Verdict(
        f"The loss has stopped improving at {after:.3g}{accuracy}.",
        f"training loss {before:.3g} -> {after:.3g} over the last {len(loss)} evaluations "
        f"(a {drop:.1%} drop; threshold {threshold:.0%})",
    )


def overfitting(run: Run, threshold: float) -> Verdict | None:
    """The test loss rose by `threshold` (relative) above its best while the training loss
    fell below its value at that best: medians of the last 3 evaluations."""
    train, val = run.eval_series("train_loss"), run.eval_series("val_loss")
    n = min(len(train), len(val))
    if n < EVAL_WINDOW:
        return None
    train, val = train[-n:], val[-n:]
    best = int(np.argmin(val))
    val_now, train_now = float(np.median(val[-3:])), float(np.median(train[-3:]))
    if not (val_now >= (1 + threshold) * val[best] and train_now < train[best]):
        return None
    return Verdict(
        "Overfitting: the test loss is rising while the training loss keeps falling; the "
        "network is learning the training points' noise.",
        f"test loss {val[best]:.3g} at its best, {val_now:.3g} now (+{val_now / val[best] - 1:.0%},"
        f" threshold +{threshold:.0%}); training loss {train[best]:.3g} -> {train_now:.3g}",
    )


def underfitting(run: Run, threshold: float) -> Verdict | None:
    """The loss has plateaued with the training accuracy below `threshold` and no gap between
    training and test loss (the network cannot fit even its training data)."""
    acc = run.snapshot.train_accuracy
    train, val = run.snapshot.train_loss, run.snapshot.val_loss
    if acc is None or acc >= threshold or plateau(run, RULES_BY_KEY["plateau"].threshold) is None:
        return None
    if train is None or val is None or val > 1.2 * train:
        return None
    return Verdict(
        f"Underfitting: the network fits even its training data poorly ({acc:.0%} accuracy) "
        "and its loss has stopped improving.",
        f"training accuracy {acc:.1%} (threshold {threshold:.0%}); training loss {train:.3g}, "
        f"test loss {val:.3g}",
    )


def divergence(run: Run, threshold: float) -> Verdict | None:
    """The trainer stopped on a NaN or infinite loss or gradient; the likely cause is the
    learning rate when an update ratio above `threshold` or a rising loss came before."""
    state = run.snapshot.divergence
    if not state.diverged:
        return None
    peak, step = _peak_update_ratio(run)
    loss = run.snapshot.history.run["batch_loss"].values
    finite = loss[np.isfinite(loss)]
    rose = len(finite) >= 2 and finite[-1] > 10 * np.min(finite)
    lr = run.snapshot.learning_rate
    if peak >= threshold or rose:
        cause = f"the learning rate ({lr:g}) is too high"
    else:
        cause = f"most often the learning rate ({lr:g}) is too high"
    last = f"last finite batch loss {finite[-1]:.3g}" if len(finite) else "no finite loss"
    return Verdict(
        f"Training diverged at step {state.step:,}: {cause}. The trainer stopped and kept the "
        "last finite weights.",
        f"{state.reason}; {last}; largest update-to-weight ratio {sci(peak)} (step {step:,})",
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "divergence",
        "Divergence",
        1e-1,  # update ratio that blames the learning rate
        "Lower the learning rate (by 10x), or clip the gradients; then Reset.",
        "LeCun, Bottou, Orr & Müller (1998), Efficient BackProp, §4 and §5 (a learning rate "
        "above twice the optimum diverges)",
        divergence,
    ),
    Rule(
        "dead_relu",
        "Dead ReLUs",
        1.0,  # share of units that never fire over the batch
        "Lower the learning rate and Reset (dead units do not come back); or use leaky ReLU or "
        "ELU, He initialisation, wider layers.",
        "CS231n notes, Neural Networks Part 1 (dying ReLU: a large gradient can knock a unit "
        "off for good); Maas, Hannun & Ng (2013), leaky ReLU",
        dead_units,
    ),
    Rule(
        "vanishing",
        "Vanishing gradients",
        1e-3,  # first layer's gradient norm over the last layer's
        "Use ReLU with He initialisation, add batch norm, or use fewer layers.",
        "Bengio, Simard & Frasconi (1994); Glorot & Bengio (2010), Understanding the "
        "difficulty of training deep feedforward neural networks",
        vanishing,
    ),
    Rule(
        "exploding",
        "Exploding gradients",
        100.0,  # growth of a layer's gradient norm across the window
        "Lower the learning rate, clip the gradients (gradient clipping), or add batch norm.",
        "Pascanu, Mikolov & Bengio (2013), On the difficulty of training recurrent neural networks",
        exploding,
    ),
    Rule(
        "saturated",
        "Saturated units",
        0.75,  # share of a layer's outputs near the bounds of sigmoid or tanh
        "Use a smaller initial weight scale (Xavier/Glorot initialisation), batch norm, or ReLU.",
        "Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward "
        "neural networks",
        saturated,
    ),
    UpdateRule(
        "update_ratio",
        "Update-to-weight ratio",
        1e-5,  # too low below; too high above threshold_high
        "Raise the learning rate when the ratio is too low, lower it when it is too high; aim "
        "for about 1e-3.",
        "CS231n notes, Neural Networks Part 3 (ratio of update to weight magnitudes ~1e-3)",
        update_ratio,
        ("dead_relu", "divergence"),
        threshold_high=1e-1,
    ),
    Rule(
        "overfitting",
        "Overfitting",
        0.2,  # rise of the test loss above its best
        "Add dropout or L2 weight decay, use early stopping, or get more training data.",
        "Goodfellow, Bengio & Courville (2016), Deep Learning, §5.2 and §7.8 (early stopping)",
        overfitting,
    ),
    Rule(
        "underfitting",
        "Underfitting",
        0.75,  # training accuracy below which a plateaued network underfits
        "Give the network more capacity (more units or layers, a nonlinearity), better "
        "features, or train longer with a larger learning rate.",
        "Goodfellow, Bengio & Courville (2016), Deep Learning, §5.2 (capacity, overfitting "
        "and underfitting)",
        underfitting,
        ("dead_relu", "vanishing", "divergence", "saturated"),  # a learning rate is told beside it
    ),
    Rule(
        "plateau",
        "Loss plateau",
        0.02,  # relative drop of the training loss across the last evaluations
        "Try a larger learning rate, momentum or Adam; check the rules above for a cause.",
        "Goodfellow, Bengio & Courville (2016), Deep Learning, §8.2.3 (plateaus, saddle points "
        "and other flat regions)",
        plateau,
        (
            "dead_relu",
            "vanishing",
            "divergence",
            "saturated",
            "update_ratio",
            "underfitting",
            "overfitting",
        ),
    ),
)
RULES_BY_KEY = {rule.key: rule for rule in RULES}


def has_window(snapshot: Snapshot) -> bool:
    """True once the history holds a full window of layer scalars (before that the layer rules
    say nothing: a young run is not yet judged)."""
    norms = snapshot.history.layers["grad_norm"]
    return bool(norms) and len(norms[0]) >= WINDOW


def diagnose(snapshot: Snapshot) -> list[Finding]:
    """Every rule that holds for the run, causes before the symptoms they explain."""
    run = Run.of(snapshot)
    if not run.names:
        return []
    verdicts = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for rule in RULES:
            verdict = rule.check(run, rule.threshold)
            if verdict is not None:
                verdicts[rule.key] = verdict
    return [
        Finding(rule.key, rule.title, v.message, v.evidence, rule.fix, rule.reference)
        for rule in RULES
        if (v := verdicts.get(rule.key)) is not None
        and not any(cause in verdicts for cause in rule.symptom_of)
    ]
