"""Each optimizer's first three updates against arithmetic written out by hand (float64).

Shared setup: p0 = [1, -2], gradients g1 = [0.5, -1], g2 = [0.25, 0.5], g3 = [-1, 2], lr = 0.1.
"""

from dataclasses import fields
from math import sqrt

import numpy as np
import pytest

from core.config import OPTIMIZERS, OptimizerConfig, PlaygroundConfig, from_dict, to_dict
from core.data import load_dataset
from core.optimizers import (
    DEFAULT_OPTIMIZER,
    HYPERPARAMETERS,
    OPTIMIZER_CLASSES,
    describe_defaults,
    make_optimizer,
    optimizer_defaults,
)
from core.trainer import Trainer

P0 = [1.0, -2.0]
GRADS = [[0.5, -1.0], [0.25, 0.5], [-1.0, 2.0]]
LR = 0.1
EPS = 1e-8


def run_three(name: str, p0=P0, grads=GRADS, lr=LR, **cfg) -> list[np.ndarray]:
    """Parameter values after each of three steps."""
    opt = make_optimizer(OptimizerConfig(name=name, learning_rate=lr, **cfg))
    p = np.array(p0, dtype=np.float64)
    params = {"0.W": p}
    out = []
    for g in grads:
        opt.step(params, {"0.W": np.array(g, dtype=np.float64)}, lr, ["0.W"])
        out.append(p.copy())
    assert params["0.W"] is p  # updated in place
    return out


def check(got, expected):
    for step, (a, b) in enumerate(zip(got, expected, strict=True), start=1):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"step {step}")


def test_sgd():
    # p <- p - 0.1 g
    check(run_three("sgd"), [[0.95, -1.9], [0.925, -1.95], [1.025, -2.15]])


def test_momentum():
    # v1 = g1 = [.5, -1]                      p1 = [1 - .05, -2 + .1]       = [.95, -1.9]
    # v2 = .9 v1 + g2 = [.7, -.4]             p2 = [.95 - .07, -1.9 + .04]  = [.88, -1.86]
    # v3 = .9 v2 + g3 = [-.37, 1.64]          p3 = [.88 + .037, -1.86 - .164]
    check(run_three("momentum", momentum=0.9), [[0.95, -1.9], [0.88, -1.86], [0.917, -2.024]])


def test_nesterov():
    # v as in momentum; step = g + .9 v
    # s1 = [.5 + .45, -1 - .9] = [.95, -1.9]        p1 = [.905, -1.81]
    # s2 = [.25 + .63, .5 - .36] = [.88, .14]       p2 = [.817, -1.824]
    # s3 = [-1 - .333, 2 + 1.476] = [-1.333, 3.476] p3 = [.9503, -2.1716]
    check(run_three("nesterov", momentum=0.9), [[0.905, -1.81], [0.817, -1.824], [0.9503, -2.1716]])


def test_adagrad():
    # G1 = [.25, 1], G2 = [.3125, 1.25], G3 = [1.3125, 5.25];  p <- p - .1 g / (sqrt(G) + eps)
    p1 = [1 - 0.1 * 0.5 / (0.5 + EPS), -2 + 0.1 * 1 / (1 + EPS)]
    p2 = [p1[0] - 0.1 * 0.25 / (sqrt(0.3125) + EPS), p1[1] - 0.1 * 0.5 / (sqrt(1.25) + EPS)]
    p3 = [p2[0] + 0.1 * 1 / (sqrt(1.3125) + EPS), p2[1] - 0.1 * 2 / (sqrt(5.25) + EPS)]
    check(run_three("adagrad", eps=EPS), [p1, p2, p3])


def test_rmsprop():
    # S1 = .1 g1^2 = [.025, .1]; S2 = .9 S1 + .1 g2^2 = [.02875, .115];
    # S3 = .9 S2 + .1 g3^2 = [.125875, .5035];   p <- p - .1 g / (sqrt(S) + eps)
    p1 = [1 - 0.1 * 0.5 / (sqrt(0.025) + EPS), -2 + 0.1 / (sqrt(0.1) + EPS)]
    p2 = [p1[0] - 0.1 * 0.25 / (sqrt(0.02875) + EPS), p1[1] - 0.1 * 0.5 / (sqrt(0.115) + EPS)]
    p3 = [p2[0] + 0.1 / (sqrt(0.125875) + EPS), p2[1] - 0.1 * 2 / (sqrt(0.5035) + EPS)]
    check(run_three("rmsprop", rho=0.9, eps=EPS), [p1, p2, p3])


def test_adadelta_with_lr_as_multiplier():
    # rho = .9, eps = 1e-6, lr = 1 (pure Adadelta). Eg <- .9 Eg + .1 g^2;
    # d = sqrt(Edx + eps) / sqrt(Eg + eps) * g;  Edx <- .9 Edx + .1 d^2;  p <- p - d
    e = 1e-6
    # step 1: Eg = [.025, .1], Edx = 0
    d1 = [sqrt(e) / sqrt(0.025 + e) * 0.5, sqrt(e) / sqrt(0.1 + e) * -1.0]
    edx1 = [0.1 * d1[0] ** 2, 0.1 * d1[1] ** 2]
    # step 2: Eg = [.02875, .115]
    d2 = [sqrt(edx1[0] + e) / sqrt(0.02875 + e) * 0.25, sqrt(edx1[1] + e) / sqrt(0.115 + e) * 0.5]
    edx2 = [0.9 * edx1[0] + 0.1 * d2[0] ** 2, 0.9 * edx1[1] + 0.1 * d2[1] ** 2]
    # step 3: Eg = [.125875, .5035]
    d3 = [sqrt(edx2[0] + e) / sqrt(0.125875 + e) * -1.0, sqrt(edx2[1] + e) / sqrt(0.5035 + e) * 2.0]
    p1 = [1 - d1[0], -2 - d1[1]]
    p2 = [p1[0] - d2[0], p1[1] - d2[1]]
    p3 = [p2[0] - d3[0], p2[1] - d3[1]]
    check(run_three("adadelta", lr=1.0, rho=0.9, eps=e), [p1, p2, p3])
    # lr scales the step: with lr = .5 the first step is half as long
    half = run_three("adadelta", lr=0.5, rho=0.9, eps=e)[0]
    check([half], [[1 - 0.5 * d1[0], -2 - 0.5 * d1[1]]])


def adam_expected(decay: float = 0.0) -> list[list[float]]:
    """Adam by hand, b1 = .9, b2 = .999; optional decoupled decay p <- p (1 - lr wd) first."""
    # m1 = [.05, -.1]       v1 = [.00025, .001]
    # m2 = [.07, -.04]      v2 = [.00031225, .001249]
    # m3 = [-.037, .164]    v3 = [.00131193775, .005247751]
    ms = [[0.05, -0.1], [0.07, -0.04], [-0.037, 0.164]]
    vs = [[0.00025, 0.001], [0.00031225, 0.001249], [0.00131193775, 0.005247751]]
    c1 = [0.1, 0.19, 0.271]  # 1 - .9^t
    c2 = [0.001, 0.001999, 0.002997001]  # 1 - .999^t
    p, out = list(P0), []
    for t in range(3):
        p = [
            p[i] * (1 - LR * decay) - LR * (ms[t][i] / c1[t]) / (sqrt(vs[t][i] / c2[t]) + EPS)
            for i in range(2)
        ]
        out.append(p)
    return out


def test_adam_with_bias_correction():
    got = run_three("adam", beta1=0.9, beta2=0.999, eps=EPS)
    # first step of bias-corrected Adam is lr * sign(g) (up to eps)
    np.testing.assert_allclose(got[0], [0.9, -1.9], rtol=1e-7)
    check(got, adam_expected())


def test_adamw_decays_weight_matrices_only():
    opt = make_optimizer(
        OptimizerConfig(name="adamw", beta1=0.9, beta2=0.999, eps=EPS, weight_decay=0.5)
    )
    W = np.array([P0], dtype=np.float64)  # (1, 2): a weight matrix, decayed
    b = np.array(P0, dtype=np.float64)  # (2,): a bias, not decayed
    params = {"0.W": W, "0.b": b}
    got_w, got_b = [], []
    for g in GRADS:
        grads = {"0.W": np.array([g]), "0.b": np.array(g)}
        opt.step(params, grads, LR, ["0.W", "0.b"])
        got_w.append(W[0].copy())
        got_b.append(b.copy())
    check(got_w, adam_expected(decay=0.5))
    check(got_b, adam_expected(decay=0.0))


def test_state_is_per_parameter_and_survives_lr_change():
    opt = make_optimizer(OptimizerConfig(name="momentum", momentum=0.9))
    params = {"0.W": np.zeros(2), "1.W": np.zeros(2)}
    grads = {"0.W": np.ones(2), "1.W": np.ones(2)}
    opt.step(params, grads, 0.1, ["0.W"])  # 1.W frozen: no state, no change
    assert set(opt.state) == {"0.W"}
    np.testing.assert_array_equal(params["1.W"], [0.0, 0.0])
    opt.step(params, grads, 0.5, ["0.W"])  # new lr, same velocity: v = .9 * 1 + 1 = 1.9
    np.testing.assert_allclose(params["0.W"], [-0.1 - 0.5 * 1.9] * 2)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_packed_update_equals_separate_updates(name):
    """[W; b] updated as one array (as the trainer does) == W and b updated apart."""
    rng = np.random.default_rng(0)
    Wb0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(3)]
    cfg = OptimizerConfig(name=name, weight_decay=0.1)
    packed, apart = make_optimizer(cfg), make_optimizer(cfg)
    packed.pack("0.W+0.b", {"0.W": (0, (2, 2)), "0.b": (4, (2,))})
    Wb = Wb0.copy()
    W, b = Wb0[:-1].copy(), Wb0[-1].copy()
    for g in grads:
        packed.step({"0.W+0.b": Wb}, {"0.W+0.b": g}, 0.1, ["0.W+0.b"])
        apart.step(
            {"0.W": W, "0.b": b}, {"0.W": g[:-1].copy(), "0.b": g[-1].copy()}, 0.1, ["0.W", "0.b"]
        )
    np.testing.assert_allclose(Wb[:-1], W, rtol=1e-12)
    np.testing.assert_allclose(Wb[-1], b, rtol=1e-12)
    assert set(packed.state) == set(apart.state) == ({"0.W", "0.b"} if packed.state else set())
    for key in packed.state:
        for slot, value in apart.state[key].items():
            np.testing.assert_allclose(packed.state[key][slot], value, rtol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_descends_a_quadratic(name):
    # f(p) = |p|^2 / 2, grad = p: 200 steps must shrink |p| well below its start
    # Adagrad's rate decays like 1/sqrt(t); Adadelta's first steps are ~sqrt(eps) long
    lr = {"adadelta": 1.0, "adagrad": 0.5}.get(name, 0.05)
    eps = 1e-4 if name == "adadelta" else 1e-8
    opt = make_optimizer(OptimizerConfig(name=name, learning_rate=lr, eps=eps))
    p = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    params = {"w": p}
    for _ in range(200):
        opt.step(params, {"w": p.copy()}, lr, ["w"])
    assert p.dtype == np.float32
    assert np.linalg.norm(p) < 0.5 * np.linalg.norm([1.0, -2.0, 3.0])


def test_unknown_optimizer_is_a_clear_error():
    cfg = OptimizerConfig()
    cfg.name = "lbfgs"
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make_optimizer(cfg)


# --- the registry: each optimizer carries its settings and defaults; the config derives from it --


class ReadRecorder:
    """An OptimizerConfig stand-in that records which settings an optimizer reads."""

    def __init__(self, cfg: OptimizerConfig):
        self._cfg, self.read = cfg, set()

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._cfg, name)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_registry_entry_is_complete_and_lists_what_the_optimizer_reads(name):
    cls = OPTIMIZER_CLASSES[name]
    assert cls.name == name and cls.label and cls.source
    assert next(iter(cls.defaults)) == "learning_rate"
    for setting, value in cls.defaults.items():
        h = HYPERPARAMETERS[setting]
        assert h.low <= value <= h.high, setting
    recorder = ReadRecorder(OptimizerConfig.picked(name))
    opt = make_optimizer(OptimizerConfig(name=name))
    opt.cfg = recorder
    p, g = np.ones((2, 2)), np.full((2, 2), 0.5)
    for _ in range(3):
        opt.step({"0.W": p}, {"0.W": g}, 0.1, ["0.W"])
    assert recorder.read == set(cls.defaults) - {"learning_rate"}  # the rate comes with step()
    caption = describe_defaults(name)
    assert cls.label in caption and all(f"{v:g}" in caption for v in cls.defaults.values())


def test_the_config_derives_its_optimizer_fields_from_the_registry():
    assert tuple(OPTIMIZER_CLASSES) == tuple(OPTIMIZERS)
    settings = {f.name: f for f in fields(OptimizerConfig) if f.name != "name"}
    assert set(settings) == set(HYPERPARAMETERS)
    for name, f in settings.items():
        h = HYPERPARAMETERS[name]
        assert f.default == h.baseline and f.metadata["range"] == (h.low, h.high), name
        assert h.low <= h.baseline <= h.high, name
    # the default config is the default optimizer as picked: nothing changes until a pick
    assert OptimizerConfig() == OptimizerConfig.picked(DEFAULT_OPTIMIZER)
    for name in OPTIMIZERS:
        cfg = OptimizerConfig.picked(name)
        assert from_dict(OptimizerConfig, to_dict(cfg)) == cfg  # valid and round-trips


def test_adadelta_starts_from_pytorch_defaults():
    """Adadelta used to inherit the shared rate 0.03 and eps 1e-8 and barely learned."""
    assert optimizer_defaults("adadelta") == {"learning_rate": 1.0, "rho": 0.9, "eps": 1e-6}
    assert optimizer_defaults("rmsprop") == {"learning_rate": 0.01, "rho": 0.99, "eps": 1e-8}


CIRCLE_STEPS, CIRCLE_WINDOW, SEEDS = 2_000, 1_000, range(5)


def circle_accuracy(opt: OptimizerConfig, seed: int, dtype: str = "float32") -> float:
    """Median validation accuracy over steps 1,000-2,000 (every 250) on the playground's circle
    with its default 2-4-2-1 tanh net and batch 10; data and weights seeded by `seed`."""
    cfg = PlaygroundConfig()
    cfg.data.seed = cfg.training.seed = seed
    cfg.network.dtype = dtype
    cfg.training.optimizer = opt
    tr = Trainer(cfg, load_dataset(cfg.data))
    accuracies = []
    while tr.step_count < CIRCLE_STEPS and not tr.stopped:
        tr.run(seconds=600, max_steps=250)
        if tr.step_count >= CIRCLE_WINDOW:
            accuracies.append(tr.evaluate()["val_accuracy"])
    return float(np.median(accuracies)) if accuracies else 0.0


def holds_over_seeds(values: list[float], passes) -> bool:
    """The issue's rule: the median over seeds holds it and at least 4 of 5 seeds do."""
    return passes(float(np.median(values))) and sum(map(passes, values)) >= 4


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_learns_the_circle_from_its_defaults(name):
    """Measured: medians 0.976-1.0 per optimizer, worst seed 0.92 (float32 = float64)."""
    dtypes = ("float32", "float64") if name == "adadelta" else ("float32",)
    for dtype in dtypes:
        acc = [circle_accuracy(OptimizerConfig.picked(name), seed, dtype) for seed in SEEDS]
        assert holds_over_seeds(acc, lambda a: a > 0.85), (dtype, acc)


def test_adadelta_with_the_shared_rate_barely_learns():
    """Why the defaults matter: lr 0.03 and eps 1e-8 gave 0.50-0.57 over the same seeds."""
    opt = OptimizerConfig(name="adadelta", learning_rate=0.03, rho=0.9, eps=1e-8)
    acc = [circle_accuracy(opt, seed) for seed in SEEDS]
    assert holds_over_seeds(acc, lambda a: a < 0.7), acc
