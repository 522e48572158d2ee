"""Layers with an explicit forward/backward pair (numpy-ml style).

Layout: every array here is feature-major, (features, batch): a column per example, as in
Z = Wᵀ X + b. This keeps each layer's input and output contiguous, lets the bias ride along in the
matrix product (see `Dense`), and makes tiny nets cheap. `Network` transposes at its boundary.

`forward(X, training)` returns Y; with `training=True` it caches what `backward(dY)` needs, and
`backward(dY)` fills `grads` (same keys and shapes as `params`) and returns dX. With
`training=False` nothing is cached, so an evaluation pass never disturbs a pending backward.
Layers never modify their input or a returned array in place.
"""

from __future__ import annotations

import numpy as np

from core.activations import Activation, prelu_grad_alpha

Array = np.ndarray
dot = np.dot  # np.dot is ~2x cheaper per call than `@` on tiny 2-D arrays; same BLAS underneath


def own_arrays(shape: tuple[int, ...], dtype) -> tuple[Array, Array]:
    """A fresh zero (parameter, gradient) pair: the default storage of a standalone layer.

    `Network` passes a `FlatStorage` instead, so that all its parameters are views into one
    flat array (and all gradients into another, at the same offsets).
    """
    return np.zeros(shape, dtype), np.zeros(shape, dtype)


class FlatStorage:
    """Hands out consecutive (parameter, gradient) views of two flat arrays of `size` elements."""

    def __init__(self, size: int, dtype):
        self.params, self.grads = np.zeros(size, dtype), np.zeros(size, dtype)
        self.offsets: list[tuple[int, int]] = []
        self._used = 0

    def __call__(self, shape: tuple[int, ...], dtype=None) -> tuple[Array, Array]:
        start, stop = self._used, self._used + int(np.prod(shape))
        if stop > self.params.size:
            raise ValueError(f"flat storage of {self.params.size} elements is too small")
        self._used = stop
        self.offsets.append((start, stop))
        return self.params[start:stop].reshape(shape), self.grads[start:stop].reshape(shape)

    @property
    def full(self) -> bool:
        return self._used == self.params.size


class Layer:
    params: dict[str, Array]
    grads: dict[str, Array]
    MIN_BATCH = 1  # the smallest training batch the layer learns from

    def __init__(self) -> None:
        self.params, self.grads = {}, {}

    def forward(self, X: Array, training: bool = True) -> Array:
        raise NotImplementedError

    def backward(self, dY: Array) -> Array | None:
        raise NotImplementedError


class Dense(Layer):
    """Z = Wᵀ X + b, with W (fan_in, units), b (units,), X (fan_in, n), Z (units, n).

    W and b are views into one packed array Wb = [W; bᵀ] of shape (fan_in + 1, units), and the
    input is augmented with a row of ones, so Z = Wbᵀ [X; 1] is one matrix product and backward
    gets both gradients from one product: [dW; dbᵀ] = [X; 1] dZᵀ.  dX = W dZ.
    Parameters must therefore be updated in place (see `core.network.ArrayDict`).
    """

    def __init__(self, W: Array, input_grad: bool = True, alloc=own_arrays):
        super().__init__()
        fan_in, units = W.shape
        self.fan_in, self.units, self.dtype = fan_in, units, W.dtype
        self.Wb, self.dWb = alloc((fan_in + 1, units), W.dtype)
        self.Wb[:-1] = W
        self.params = {"W": self.Wb[:-1], "b": self.Wb[-1]}
        self.grads = {"W": self.dWb[:-1], "b": self.dWb[-1]}
        self.input_grad = input_grad  # False for the first layer: nobody needs dL/dinput
        self._WbT, self._W = self.Wb.T, self.Wb[:-1]
        self._resize(0)

    def _resize(self, n: int) -> None:
        """(Re)allocate the training buffers for batch size n: the input [X; 1], and scratch Z and
        dX for `plain_forward`/`plain_backward` (which only use them where nobody keeps them)."""
        self._xa = np.ones((self.fan_in + 1, n), self.dtype)
        self._x = self._xa[:-1]
        self._z = np.empty((self.Wb.shape[1], n), self.dtype)
        self._dx = np.empty((self.fan_in, n), self.dtype)

    def forward(self, X: Array, training: bool = True) -> Array:
        if training:
            if X.shape[1] != self._xa.shape[1]:
                self._resize(X.shape[1])
            self._x[...] = X  # also casts float64 input to the layer's dtype
            return dot(self._WbT, self._xa)
        xa = np.empty((self.fan_in + 1, X.shape[1]), self.dtype)
        xa[:-1] = X
        xa[-1] = 1
        return dot(self._WbT, xa)

    def backward(self, dZ: Array) -> Array | None:
        dot(self._xa, dZ.T, out=self.dWb)  # fills grads["W"] and grads["b"]
        return dot(self._W, dZ) if self.input_grad else None


class Maxout(Dense):
    """y_j = max_p z_{j·k+p}, z = Wᵀ x + b: k linear pieces per unit (Goodfellow et al. 2013).

    W is (fan_in, units·k); columns j·k … j·k+k−1 are the pieces of unit j. The gradient flows
    only into the winning piece: dz_{j·k+p} = dy_j · [p = argmax].
    """

    def __init__(self, W: Array, pieces: int, input_grad: bool = True, alloc=own_arrays):
        super().__init__(W, input_grad, alloc)
        if W.shape[1] % pieces:
            raise ValueError(f"maxout W has {W.shape[1]} columns, not a multiple of {pieces}")
        self.pieces, self.units = pieces, W.shape[1] // pieces

    def forward(self, X: Array, training: bool = True) -> Array:
        Z = super().forward(X, training).reshape(self.units, self.pieces, -1)
        win = Z.argmax(axis=1)[:, None]  # (units, 1, n)
        if training:
            self._win = win
        return np.take_along_axis(Z, win, axis=1)[:, 0]

    def backward(self, dY: Array) -> Array | None:
        dZ = np.zeros((self.units, self.pieces, dY.shape[1]), dY.dtype)
        np.put_along_axis(dZ, self._win, dY[:, None], axis=1)
        return super().backward(dZ.reshape(self.units * self.pieces, -1))


class ActivationLayer(Layer):
    """Y = f(X) elementwise;  dX = dY · f'(X).  `Y` keeps the last training output."""

    def __init__(self, activation: Activation):
        super().__init__()
        self.name, self._f, self._grad = activation.name, activation.f, activation.grad
        self.X: Array | None = None
        self.Y: Array | None = None

    def forward(self, X: Array, training: bool = True) -> Array:
        Y = self._f(X)
        if training:
            self.X, self.Y = X, Y
        return Y

    def backward(self, dY: Array) -> Array:
        return self._grad(self.X, self.Y, dY)


Pairs = list[tuple[Dense, ActivationLayer, bool]]


def plain_forward(pairs: Pairs, last: Dense, X: Array) -> Array:
    """Training forward through (Dense, activation, scratch) triples and a last Dense: exactly
    `layer.forward(X, True)` in turn, with the per-layer dispatch inlined (small nets are
    dominated by Python overhead). Caches what each layer's `backward` needs.

    With `scratch` True the activation returns a new array (it is not the identity), so its input
    Z, needed only by backward, is written into the Dense layer's scratch buffer instead of a new
    array. Outputs (activations, logits) are always new arrays: callers may keep them.
    """
    n = X.shape[1]
    for dense, act, scratch in pairs:
        if n != dense._xa.shape[1]:
            dense._resize(n)
        dense._x[...] = X
        Z = dot(dense._WbT, dense._xa, dense._z) if scratch else dot(dense._WbT, dense._xa)
        X = act._f(Z)
        act.X, act.Y = Z, X
    if n != last._xa.shape[1]:
        last._resize(n)
    last._x[...] = X
    return dot(last._WbT, last._xa)


def plain_backward(pairs: Pairs, last: Dense, dZ: Array) -> None:
    """Backward of `plain_forward`: exactly `layer.backward(d)` in reverse order, inlined. Each
    dX goes into the Dense layer's scratch buffer: the activation's `grad` reads it, never keeps it.
    """
    dot(last._xa, dZ.T, last.dWb)
    if not pairs:
        return
    d = dot(last._W, dZ, last._dx)
    for dense, act, _ in reversed(pairs):
        d = act._grad(act.X, act.Y, d)
        dot(dense._xa, d.T, dense.dWb)
        if dense.input_grad:
            d = dot(dense._W, d, dense._dx)


class PReLU(Layer):
    """y = x if x > 0 else α_j·x, one learned slope α_j per unit j (He et al. 2015).

    dx = dy · (1 if x > 0 else α);  dα_j = Σ_n dy · min(x, 0).
    """

    def __init__(self, units: int, init: float, dtype=np.float64, alloc=own_arrays):
        super().__init__()
        alpha, dalpha = alloc((units,), dtype)
        alpha[...] = init
        self.params, self.grads = {"alpha": alpha}, {"alpha": dalpha}
        self._alpha = self.params["alpha"][:, None]  # view: sees in-place updates
        self.X: Array | None = None
        self.Y: Array | None = None

    def forward(self, X: Array, training: bool = True) -> Array:
        Y = np.where(X > 0, X, self._alpha * X)
        if training:
            self.X, self.Y = X, Y
        return Y

    def backward(self, dY: Array) -> Array:
        X = self.X
        self.grads["alpha"][...] = (dY * prelu_grad_alpha(X)).sum(axis=1)
        return np.where(X > 0, dY, self._alpha * dY)


class BatchNorm(Layer):
    """Per unit over the batch: x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β.

    Training uses the batch μ, σ² and updates running averages r ← m·r + (1 − m)·batch (the
    running variance takes the unbiased batch variance); eval uses the running averages.
    A batch of one point has no spread (x̂ = 0, y = β): it cannot estimate σ², so it leaves the
    running averages alone (PyTorch refuses such a batch; MIN_BATCH is the smallest that counts).
    Backward: dβ = Σ dy, dγ = Σ dy·x̂, dx = γ/(n√(σ² + ε)) · (n·dy − dβ − x̂·dγ).
    """

    MIN_BATCH = 2  # one point cannot update the running averages

    def __init__(
        self,
        units: int,
        dtype=np.float64,
        momentum: float = 0.9,
        eps: float = 1e-5,
        alloc=own_arrays,
    ):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        (gamma, dgamma), (beta, dbeta) = alloc((units,), dtype), alloc((units,), dtype)
        gamma[...] = 1.0
        self.params = {"gamma": gamma, "beta": beta}
        self.grads = {"gamma": dgamma, "beta": dbeta}
        self.buffers = {
            "running_mean": np.zeros(units, dtype),
            "running_var": np.ones(units, dtype),
        }
        self._gamma = self.params["gamma"][:, None]
        self._beta = self.params["beta"][:, None]

    def forward(self, X: Array, training: bool = True) -> Array:
        if not training:
            mean = self.buffers["running_mean"][:, None]
            inv_std = 1.0 / np.sqrt(self.buffers["running_var"][:, None] + self.eps)
            return (X - mean) * (inv_std * self._gamma) + self._beta
        n = X.shape[1]
        mean = X.mean(axis=1, keepdims=True)
        centred = X - mean
        var = (centred * centred).mean(axis=1, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = centred * inv_std
        self._xhat, self._inv_std = xhat, inv_std
        if n >= self.MIN_BATCH:
            self._update_running(mean[:, 0], var[:, 0] * (n / (n - 1)))
        return xhat * self._gamma + self._beta

    def _update_running(self, mean: Array, var: Array) -> None:
        m = self.momentum
        for name, batch in (("running_mean", mean), ("running_var", var)):
            r = self.buffers[name]
            r *= m
            r += (1.0 - m) * batch

    def backward(self, dY: Array) -> Array:
        xhat, n = self._xhat, dY.shape[1]
        dbeta = self.grads["beta"]
        dgamma = self.grads["gamma"]
        dbeta[...] = dY.sum(axis=1)
        dgamma[...] = (dY * xhat).sum(axis=1)
        scale = self._gamma * self._inv_std / n
        return scale * (n * dY - dbeta[:, None] - xhat * dgamma[:, None])


class Dropout(Layer):
    """Inverted dropout: y = x · m/(1 − p), m ~ Bernoulli(1 − p) per element; identity at eval.

    dx = dy · m/(1 − p). Set `fixed_mask` (a 0/1 keep-mask of X's shape) to make it deterministic
    (gradient checks); set `mc = True` to keep it on at eval (Monte Carlo dropout).
    """

    def __init__(self, rate: float, rng: np.random.Generator, dtype=np.float64):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate {rate} is not in [0, 1)")
        self.rate, self.rng, self.dtype = rate, rng, np.dtype(dtype)
        self._scale = np.array(1.0 / (1.0 - rate), dtype)
        self.fixed_mask: Array | None = None
        self.mc = False

    def forward(self, X: Array, training: bool = True) -> Array:
        if not (training or self.mc):
            return X
        if self.fixed_mask is not None:
            keep = self.fixed_mask
        else:
            keep = self.rng.random(X.shape, dtype=self.dtype) >= self.rate
        mask = keep * self._scale
        if training:
            self._mask = mask
        return X * mask

    def backward(self, dY: Array) -> Array:
        return dY * self._mask
