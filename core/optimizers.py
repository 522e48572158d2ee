"""Optimizers in the tinygrad style: `step` updates parameters in place from their gradients.

Each optimizer owns its per-parameter state (`state[name]`, e.g. velocity or moment arrays),
created lazily on the first update of that parameter, so frozen parameters never get state and a
parameter unfrozen later starts fresh. The learning rate is passed to every `step`, so a schedule
or a user can change it at any time without touching the state.

Notation: p parameter, g its gradient, lr learning rate, t the number of updates of that parameter
so far (1 on the first update). All updates are element-wise and in place.

The registry: each optimizer class carries its `label` and `defaults`, the value of every setting
it reads (learning rate first) when a user picks it; `HYPERPARAMETERS` gives each setting its
label, allowed range and the config's baseline value. The config's allowed choices and ranges and
the sidebar's widgets are derived from here (`OPTIMIZER_CLASSES`, `HYPERPARAMETERS`).
Each class also carries its update written out (`update_rule`, the lines in the order the update
applies them, in the names of its state slots) and `worked`: the derived quantities worth showing
with numbers (Adam's bias-corrected moments), each a formula and a function of the slot values
before and after the update, the gradient, the config and t. The backprop microscope
(`core.microscope`) shows them; a test fails on an optimizer without its rule.
The defaults are PyTorch's, except the learning rates PyTorch tunes for big nets. Measured on the
circle (the default 2-4-2-1 tanh net, batch 10; median over 5 seeds of the validation accuracy
over steps 1,500-3,000): Adadelta with lr 1, ε 1e-6 reaches 1.00 (the old shared lr 0.03, ε 1e-8:
0.52); Adam at 0.01 reaches 1.00 where PyTorch's 0.001 gives 0.97 (worst seed 0.84); Adagrad at
0.03 reaches 1.00 where PyTorch's 0.01 gives 0.79; SGD keeps TensorFlow Playground's 0.03.

Speed: the trainer hands over each contiguous run of live parameters in the network's flat buffer
as ONE packed array (see `Optimizer.pack`), so an update is a handful of whole-buffer ufunc calls
whatever the depth; intermediate results go to a per-key scratch buffer (`_buffer`), so a step
allocates nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # core.config derives its optimizer fields from this module
    from core.config import OptimizerConfig


@dataclass(frozen=True)
class Hyperparameter:
    """One optimizer setting: UI label, allowed range, and the config's baseline value (what a
    config holds until an optimizer's own default replaces it; links write only what differs)."""

    label: str
    low: float
    high: float
    baseline: float
    help: str


HYPERPARAMETERS: dict[str, Hyperparameter] = {
    "learning_rate": Hyperparameter(
        "Learning rate", 1e-6, 10.0, 0.03, "The step's multiplier: p <- p - lr * step."
    ),
    "momentum": Hyperparameter(
        "Momentum μ", 0.0, 0.999, 0.9, "Velocity kept from step to step: v <- μ v + g."
    ),
    "beta1": Hyperparameter(
        "β₁", 0.0, 0.999, 0.9, "Decay of the running mean of gradients: m <- β₁ m + (1 - β₁) g."
    ),
    "beta2": Hyperparameter(
        "β₂", 0.0, 0.99999, 0.999, "Decay of the running mean of g²: v <- β₂ v + (1 - β₂) g²."
    ),
    "rho": Hyperparameter(
        "ρ", 0.0, 0.9999, 0.9, "Decay of the running mean of g²: E <- ρ E + (1 - ρ) g²."
    ),
    "eps": Hyperparameter(
        "ε", 1e-12, 1e-2, 1e-8, "Added to the square root in the denominator (no division by 0)."
    ),
    "weight_decay": Hyperparameter(
        "Weight decay", 0.0, 1.0, 0.01, "Decoupled decay of weight matrices: W <- W - lr wd W."
    ),
}


class Optimizer:
    """Base class: `step` loops over `keys` and calls `_update` per parameter.

    Packed parameters: when several named parameters are views tiling one array (a Dense layer's
    W and b share one [W; b] array), the trainer may update that array under one key and call
    `pack(key, members)` first. The state is then allocated per packed array and `state[name]`
    holds views of it for each member name, so it stays readable per parameter name.
    """

    name = "base"
    label = ""
    defaults: dict[str, float] = {}  # every setting the optimizer reads, when a user picks it
    source = ""  # where the defaults come from
    update_rule: tuple[str, ...] = ()  # the update written out, line by line (p: the parameter)
    # derived values to show: name -> (formula, f(before, after, g, cfg, t)); before/after map
    # each state slot to its value for one parameter element
    worked: dict[str, tuple[str, Callable[..., float]]] = {}

    def __init__(self, cfg: OptimizerConfig):
        self.cfg = cfg
        self.state: dict[str, dict[str, np.ndarray]] = {}  # per parameter name
        self.t: dict[str, int] = {}  # updates applied per update key (for bias correction)
        self._store: dict[str, dict[str, np.ndarray]] = {}  # per update key
        self._members: dict[str, dict[str, tuple[int, tuple[int, ...]]]] = {}
        self._scratch: dict[str, np.ndarray] = {}  # work buffers: no allocation per step
        self._weights: dict[str, tuple] = {}  # key -> (array, its `_weight_views`)

    def pack(self, key: str, members: dict[str, tuple[int, tuple[int, ...]]]) -> None:
        """Declare update key `key` as an array holding each member name at (flat offset, shape)."""
        self._members[key] = dict(members)
        self._weights.pop(key, None)

    def step(self, params: dict, grads: dict, lr: float, keys: Iterable[str]) -> None:
        """Update `params[k]` in place from `grads[k]` for every k in `keys`."""
        for k in keys:
            self._update(k, params[k], grads[k], lr)

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def _slots(self, key: str, p: np.ndarray, names: tuple[str, ...]) -> list[np.ndarray]:
        """The state arrays of one update key, zero-initialised on first use."""
        st = self._store.get(key)
        if st is None:
            st = self._store[key] = {n: np.zeros_like(p) for n in names}
            members = self._members.get(key)
            if members is None:
                self.state[key] = st
            for member, (offset, shape) in (members or {}).items():
                size = math.prod(shape)
                self.state[member] = {
                    n: a.reshape(-1)[offset : offset + size].reshape(shape) for n, a in st.items()
                }
        return [st[n] for n in names]

    def _buffer(self, key: str, p: np.ndarray) -> np.ndarray:
        """A scratch array like `p` for the update of `key` (allocated once)."""
        buf = self._scratch.get(key)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = self._scratch[key] = np.empty_like(p)
        return buf

    def _weight_views(self, key: str, p: np.ndarray) -> list[np.ndarray]:
        """The weight matrices (ndim >= 2) in the array updated under `key` (cached per key)."""
        cached = self._weights.get(key)
        if cached is not None and cached[0] is p:
            return cached[1]
        members = self._members.get(key)
        if members is None:
            views = [p] if p.ndim >= 2 else []
        else:
            flat = p.reshape(-1)
            views = [
                flat[o : o + math.prod(s)].reshape(s) for o, s in members.values() if len(s) >= 2
            ]
        self._weights[key] = (p, views)
        return views

    def _tick(self, key: str) -> int:
        t = self.t.get(key, 0) + 1
        self.t[key] = t
        return t

    def reset(self) -> None:
        """Forget all state (e.g. after loading new weights)."""
        self.state.clear()
        self.t.clear()
        self._store.clear()
        self._scratch.clear()
        self._weights.clear()


class SGD(Optimizer):
    """Plain gradient descent: p <- p - lr * g."""

    name, label = "sgd", "SGD"
    defaults = {"learning_rate": 0.03}
    source = "as in TensorFlow Playground; PyTorch has no default rate"
    update_rule = ("p ← p − lr·g",)

    def step(self, params: dict, grads: dict, lr: float, keys: Iterable[str]) -> None:
        # the hottest loop of a small playground net: inlined, two ufunc calls per array
        scratch = self._scratch
        for k in keys:
            p = params[k]
            buf = scratch.get(k)
            if buf is None or buf.shape != p.shape:
                buf = self._buffer(k, p)
            np.multiply(grads[k], lr, out=buf)
            p -= buf


class Momentum(Optimizer):
    """Heavy-ball momentum (PyTorch form): v <- mu*v + g;  p <- p - lr*v."""

    name, label = "momentum", "Momentum"
    defaults = {"learning_rate": 0.01, "momentum": 0.9}
    source = "the rate of Keras's SGD, as PyTorch has none; μ 0.9 as usual"
    update_rule = ("velocity ← μ·velocity + g", "p ← p − lr·velocity")

    def _update(self, key, p, g, lr):
        (v,) = self._slots(key, p, ("velocity",))
        v *= self.cfg.momentum
        v += g
        buf = np.multiply(v, lr, out=self._buffer(key, p))
        p -= buf


class Nesterov(Optimizer):
    """Nesterov momentum (PyTorch form): v <- mu*v + g;  p <- p - lr*(g + mu*v)."""

    name, label = "nesterov", "Nesterov momentum"
    defaults, source = Momentum.defaults, Momentum.source
    update_rule = ("velocity ← μ·velocity + g", "p ← p − lr·(g + μ·velocity)")

    def _update(self, key, p, g, lr):
        mu = self.cfg.momentum
        (v,) = self._slots(key, p, ("velocity",))
        v *= mu
        v += g
        buf = np.multiply(v, mu, out=self._buffer(key, p))
        buf += g
        buf *= lr
        p -= buf


class Adagrad(Optimizer):
    """Adagrad: G <- G + g^2;  p <- p - lr * g / (sqrt(G) + eps)."""

    name, label = "adagrad", "Adagrad"
    defaults = {"learning_rate": 0.03, "eps": 1e-10}
    source = "as in PyTorch, but a rate of 0.03: its 0.01 is slow on these small nets"
    update_rule = ("sum_sq ← sum_sq + g²", "p ← p − lr·g / (√sum_sq + ε)")

    def _update(self, key, p, g, lr):
        (acc,) = self._slots(key, p, ("sum_sq",))
        buf = np.multiply(g, g, out=self._buffer(key, p))
        acc += buf
        _scaled_step(p, g, acc, buf, lr, self.cfg.eps)


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), lr used as a multiplier of the step (Keras/PyTorch; lr=1 is pure).

    E[g^2] <- rho*E[g^2] + (1-rho)*g^2
    d      <- sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g
    E[dx^2] <- rho*E[dx^2] + (1-rho)*d^2
    p      <- p - lr * d
    """

    name, label = "adadelta", "Adadelta"
    defaults = {"learning_rate": 1.0, "rho": 0.9, "eps": 1e-6}
    source = "as in PyTorch"
    update_rule = (
        "avg_sq_grad ← ρ·avg_sq_grad + (1 − ρ)·g²",
        "d = √(avg_sq_delta + ε) / √(avg_sq_grad + ε) · g   (avg_sq_delta from before this step)",
        "avg_sq_delta ← ρ·avg_sq_delta + (1 − ρ)·d²",
        "p ← p − lr·d",
    )
    worked = {
        "d": (
            "√(avg_sq_delta + ε) / √(avg_sq_grad + ε) · g",
            lambda before, after, g, cfg, t: (
                math.sqrt(before["avg_sq_delta"] + cfg.eps)
                / math.sqrt(after["avg_sq_grad"] + cfg.eps)
                * g
            ),
        )
    }

    def _update(self, key, p, g, lr):
        rho, eps = self.cfg.rho, self.cfg.eps
        eg2, edx2 = self._slots(key, p, ("avg_sq_grad", "avg_sq_delta"))
        buf = self._buffer(key, p)
        _decay_average(eg2, g, rho, buf)
        d = np.add(edx2, eps)  # the one temporary: d = sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) g
        np.sqrt(d, out=d)
        np.add(eg2, eps, out=buf)
        np.sqrt(buf, out=buf)
        d /= buf
        d *= g
        _decay_average(edx2, d, rho, buf)
        d *= lr
        p -= d


class RMSprop(Optimizer):
    """RMSprop: E[g^2] <- rho*E[g^2] + (1-rho)*g^2;  p <- p - lr * g / (sqrt(E[g^2]) + eps)."""

    name, label = "rmsprop", "RMSprop"
    defaults = {"learning_rate": 0.01, "rho": 0.99, "eps": 1e-8}
    source = "as in PyTorch"
    update_rule = ("avg_sq_grad ← ρ·avg_sq_grad + (1 − ρ)·g²", "p ← p − lr·g / (√avg_sq_grad + ε)")

    def _update(self, key, p, g, lr):
        rho = self.cfg.rho
        (sq,) = self._slots(key, p, ("avg_sq_grad",))
        buf = self._buffer(key, p)
        _decay_average(sq, g, rho, buf)
        _scaled_step(p, g, sq, buf, lr, self.cfg.eps)


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba 2015):

    m <- b1*m + (1-b1)*g;   v <- b2*v + (1-b2)*g^2
    m_hat = m / (1-b1^t);   v_hat = v / (1-b2^t)
    p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    computed in the paper's equivalent form lr_t = lr*sqrt(1-b2^t)/(1-b1^t),
    eps_t = eps*sqrt(1-b2^t):  p <- p - lr_t * m / (sqrt(v) + eps_t)   (fewer array passes).
    """

    name, label = "adam", "Adam"
    defaults = {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    source = "as in PyTorch, but a rate of 0.01: its 0.001 is slow on these small nets"
    update_rule = (
        "m ← β₁·m + (1 − β₁)·g",
        "v ← β₂·v + (1 − β₂)·g²",
        "m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   (bias correction; t = updates so far)",
        "p ← p − lr·m̂ / (√v̂ + ε)",
    )
    worked = {
        "m̂": ("m / (1 − β₁ᵗ)", lambda before, after, g, cfg, t: after["m"] / (1 - cfg.beta1**t)),
        "v̂": ("v / (1 − β₂ᵗ)", lambda before, after, g, cfg, t: after["v"] / (1 - cfg.beta2**t)),
    }

    def _update(self, key, p, g, lr):
        b1, b2 = self.cfg.beta1, self.cfg.beta2
        t = self._tick(key)
        m, v = self._slots(key, p, ("m", "v"))
        buf = self._buffer(key, p)
        m *= b1
        np.multiply(g, 1.0 - b1, out=buf)
        m += buf
        v *= b2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - b2
        v += buf
        root_c2 = (1.0 - b2**t) ** 0.5
        lr_t = lr * root_c2 / (1.0 - b1**t)
        np.sqrt(v, out=buf)
        buf += self.cfg.eps * root_c2
        np.divide(m, buf, out=buf)
        buf *= lr_t
        self._decay(key, p, lr)
        p -= buf

    def _decay(self, key: str, p: np.ndarray, lr: float) -> None:
        """Adam has no decoupled decay (L2 goes through the regularization settings)."""


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019):

    p <- p - lr * (m_hat / (sqrt(v_hat) + eps) + wd * p)

    The decay applies to weight matrices only (arrays with ndim >= 2), never to biases, batch-norm
    scale/shift or pReLU slopes: decaying those pulls them to 0 for no benefit. The decay uses
    the parameter before this step's Adam update, as PyTorch does.
    """

    name, label = "adamw", "AdamW"
    defaults = {**Adam.defaults, "weight_decay": 0.01}
    source = "as in PyTorch, but a rate of 0.01 as for Adam"
    update_rule = Adam.update_rule[:-1] + (
        "p ← p − lr·(m̂ / (√v̂ + ε) + wd·p)   (wd on weight matrices only, never biases)",
    )

    def _decay(self, key: str, p: np.ndarray, lr: float) -> None:
        if self.cfg.weight_decay:
            for W in self._weight_views(key, p):
                W *= 1.0 - lr * self.cfg.weight_decay


def _decay_average(avg: np.ndarray, x: np.ndarray, rho: float, buf: np.ndarray) -> None:
    """avg <- rho*avg + (1-rho)*x^2, in place (buf is overwritten)."""
    avg *= rho
    np.multiply(x, x, out=buf)
    buf *= 1.0 - rho
    avg += buf


def _scaled_step(p, g, acc, buf, lr: float, eps: float) -> None:
    """p <- p - lr * g / (sqrt(acc) + eps), in place (buf is overwritten)."""
    np.sqrt(acc, out=buf)
    buf += eps
    np.divide(g, buf, out=buf)
    buf *= lr
    p -= buf


OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, AdamW)
}


DEFAULT_OPTIMIZER = SGD.name


def optimizer_defaults(name: str) -> dict[str, float]:
    """The settings optimizer `name` starts from when a user picks it (learning rate first)."""
    return dict(OPTIMIZER_CLASSES[name].defaults)


def describe_defaults(name: str) -> str:
    """One line for the UI: the settings optimizer `name` starts from, and their source."""
    cls = OPTIMIZER_CLASSES[name]
    values = " · ".join(f"{HYPERPARAMETERS[k].label} {v:g}" for k, v in cls.defaults.items())
    return f"{cls.label}'s defaults: {values} ({cls.source})."


def make_optimizer(cfg: OptimizerConfig) -> Optimizer:
    """The optimizer named by `cfg.name`, with its hyper-parameters from `cfg`."""
    try:
        cls = OPTIMIZER_CLASSES[cfg.name]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {cfg.name!r}: one of {sorted(OPTIMIZER_CLASSES)}"
        ) from None
    return cls(cfg)
