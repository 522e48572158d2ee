"""Optimizers in the tinygrad style: `step` updates parameters in place from their gradients.

Each optimizer owns its per-parameter state (`state[name]`, e.g. velocity or moment arrays),
created lazily on the first update of that parameter, so frozen parameters never get state and a
parameter unfrozen later starts fresh. The learning rate is passed to every `step`, so a schedule
or a user can change it at any time without touching the state.

Notation: p parameter, g its gradient, lr learning rate, t the number of updates of that parameter
so far (1 on the first update). All updates are element-wise and in place.

Speed: the trainer hands over each contiguous run of live parameters in the network's flat buffer
as ONE packed array (see `Optimizer.pack`), so an update is a handful of whole-buffer ufunc calls
whatever the depth; intermediate results go to a per-key scratch buffer (`_buffer`), so a step
allocates nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from core.config import OptimizerConfig


class Optimizer:
    """Base class: `step` loops over `keys` and calls `_update` per parameter.

    Packed parameters: when several named parameters are views tiling one array (a Dense layer's
    W and b share one [W; b] array), the trainer may update that array under one key and call
    `pack(key, members)` first. The state is then allocated per packed array and `state[name]`
    holds views of it for each member name, so it stays readable per parameter name.
    """

    name = "base"

    def __init__(self, cfg: OptimizerConfig | None = None):
        self.cfg = cfg if cfg is not None else OptimizerConfig(name=self.name)
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

    name = "sgd"

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

    name = "momentum"

    def _update(self, key, p, g, lr):
        (v,) = self._slots(key, p, ("velocity",))
        v *= self.cfg.momentum
        v += g
        buf = np.multiply(v, lr, out=self._buffer(key, p))
        p -= buf


class Nesterov(Optimizer):
    """Nesterov momentum (PyTorch form): v <- mu*v + g;  p <- p - lr*(g + mu*v)."""

    name = "nesterov"

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

    name = "adagrad"

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

    name = "adadelta"

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

    name = "rmsprop"

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

    name = "adam"

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

    name = "adamw"

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


def make_optimizer(cfg: OptimizerConfig) -> Optimizer:
    """The optimizer named by `cfg.name`, with its hyper-parameters from `cfg`."""
    try:
        cls = OPTIMIZER_CLASSES[cfg.name]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {cfg.name!r}: one of {sorted(OPTIMIZER_CLASSES)}"
        ) from None
    return cls(cfg)
