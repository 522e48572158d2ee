"""Output heads: the output activation fused with its loss, on feature-major logits Z (k, n).

`head.output(Z)` is the prediction (probability of class 1, tanh value, softmax probabilities or
regression values). `head.forward(Z, y, training)` returns the mean loss over the batch and, when
training, caches dL/dZ for `head.backward()`. Fusing activation and loss gives the short, stable
gradients: σ + BCE → (p − y)/n, softmax + CE → (P − onehot)/n.

A classification head is also the one home of how its output becomes a class:
`head.probabilities(output)` gives P(class c) per point and `head.predict_class(output)` the class
(a binary head: its `threshold` on the output; softmax: the argmax). The trainer's accuracy, the
decision map and the confusion matrices all ask the head.

Targets: binary int {0, 1} (n,); multiclass int 0..C−1 (n,); regression float (n,) or (n, k).
"""

from __future__ import annotations

import numpy as np

from core.activations import REGISTRY as ACTIVATIONS
from core.activations import sigmoid_for

Array = np.ndarray
SMALL = 64  # below this size, Python's sum over .tolist() beats ndarray.sum() by ~4x


def mean(a: Array) -> float:
    """Mean of all elements as a Python float (fast for the tiny arrays of a playground batch)."""
    if a.size <= SMALL:
        return sum((a if a.ndim == 1 else a.ravel()).tolist()) / a.size
    return float(a.sum(dtype=np.float64)) / a.size


def labels(y, n: int) -> Array:
    """Integer class labels of shape (n,)."""
    if y.__class__ is Array and y.shape == (n,) and y.dtype.kind in "iu":
        return y  # the trainer's batches: already right, nothing to convert
    y = np.asarray(y)
    if y.shape != (n,):
        if y.size != n:
            raise ValueError(f"expected {n} labels, got shape {y.shape}")
        y = y.reshape(n)
    if y.dtype.kind not in "iu":
        y = y.astype(np.intp)
    return y


def targets(y, k: int, n: int, dtype) -> Array:
    """Regression targets as a (k, n) array in the network's dtype."""
    y = np.asarray(y)
    T = y.reshape(1, -1) if y.ndim == 1 else y.T
    if T.shape != (k, n):
        raise ValueError(f"expected targets of shape ({n},) or ({n}, {k}), got {y.shape}")
    return T.astype(dtype, copy=False)


class Head:
    """An output head: the output activation and the loss, for one task. Each subclass is a
    registry entry (HEADS): its name, label and task are what the config and the UI offer."""

    name = ""
    label = ""  # as the sidebar shows it
    task = ""  # binary, multiclass or regression
    activation = ""  # output activation shown in the UI
    classifies = False  # True when the output says a class (`predict_class`)

    def __init__(self, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        self.Z: Array | None = None  # logits of the last training forward
        self.dZ: Array | None = None

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The finite range of the output (its activation's, from the registry), else None."""
        return ACTIVATIONS[self.activation].finite_bounds

    @property
    def saturates(self) -> bool:
        """Outputs can saturate at a bound (the activation's family says so)."""
        return ACTIVATIONS[self.activation].saturates

    @property
    def Y(self) -> Array | None:
        """Output of the last training forward (computed on demand)."""
        return None if self.Z is None else self.output(self.Z)

    def output(self, Z: Array) -> Array:
        raise NotImplementedError

    def forward(self, Z: Array, y, training: bool = True) -> float:
        raise NotImplementedError

    def backward(self) -> Array:
        return self.dZ

    # --- from output to class: sample-major output (n, k), as `Network.predict` gives it ---

    def probabilities(self, output: Array) -> Array:
        """P(class c) per point, (n, C); regression heads have no classes."""
        raise TypeError(f"the {self.name} head predicts values, not classes")

    def predict_class(self, output: Array) -> Array:
        """The predicted class per point, (n,) integers."""
        raise TypeError(f"the {self.name} head predicts values, not classes")

    def accuracy(self, output: Array, y) -> float | None:
        """Fraction of points whose predicted class is y; None for regression."""
        if not self.classifies:
            return None
        predicted = self.predict_class(np.asarray(output))
        n = len(predicted)
        return float(np.mean(predicted == labels(y, n))) if n else float("nan")


class BinaryHead(Head):
    """One output v; class 1 where v > `threshold`, i.e. where P(class 1) > 1/2."""

    classifies = True
    task = "binary"
    threshold = 0.0  # in the units of the head's output

    def probability(self, output: Array) -> Array:
        """P(class 1) per point, (n,)."""
        raise NotImplementedError

    def probabilities(self, output: Array) -> Array:
        p = self.probability(np.asarray(output))
        return np.column_stack([1.0 - p, p])

    def predict_class(self, output: Array) -> Array:
        return (np.asarray(output)[:, 0] > self.threshold).astype(np.intp)


class SigmoidBCE(BinaryHead):
    """p = σ(z);  L = −mean[y log p + (1 − y) log(1 − p)] = mean softplus(s·z), s = 1 − 2y;
    dL/dz = (p − y)/n = s·σ(s·z)/n, where σ(u) = exp(u − softplus(u)). No log of 0, no overflow."""

    name, activation = "sigmoid_bce", "sigmoid"
    label = "sigmoid + cross-entropy"
    threshold = 0.5  # p > 1/2

    def probability(self, output: Array) -> Array:
        """p = σ(z) is already P(class 1)."""
        return np.asarray(output)[:, 0]

    def __init__(self, dtype=np.float64):
        super().__init__(dtype)
        self._sigmoid = sigmoid_for(self.dtype)
        self._sign = np.array([1.0, -1.0], self.dtype)  # s indexed by the label
        self._zero = np.array(0.0, self.dtype)
        self._n, self._sign_n = 0, self._sign

    def output(self, Z: Array) -> Array:
        return self._sigmoid(Z)

    def forward(self, Z: Array, y, training: bool = True) -> float:
        n = Z.shape[1]
        y = labels(y, n)
        u = self._sign[y]  # a fresh array: the products below are computed in place
        u *= Z[0]
        L = np.logaddexp(self._zero, u)
        if training:
            if n != self._n:
                self._n, self._sign_n = n, self._sign / n
            u -= L
            np.exp(u, u)
            u *= self._sign_n[y]
            self.Z, self.dZ = Z, u[None]
        return mean(L)


class TanhMSE(BinaryHead):
    """a = tanh z, t = 2y − 1 ∈ {−1, +1};  L = mean (a − t)²;  dL/dz = 2(a − t)(1 − a²)/n.

    The target of class 1 is +1 and of class 0 is −1, so P(class 1) = (a + 1)/2 and the class
    is 1 where a > 0."""

    name, activation = "tanh_mse", "tanh"
    label = "tanh + squared error (TF Playground)"
    threshold = 0.0  # a > 0

    def probability(self, output: Array) -> Array:
        """P(class 1) = (a + 1)/2, in [0, 1] for a in [−1, 1]."""
        return (np.asarray(output)[:, 0] + 1.0) / 2.0

    def __init__(self, dtype=np.float64):
        super().__init__(dtype)
        self._t = np.array([-1.0, 1.0], self.dtype)
        self._one = np.array(1.0, self.dtype)
        self._n, self._two_n = 0, self._one

    def output(self, Z: Array) -> Array:
        return np.tanh(Z)

    def forward(self, Z: Array, y, training: bool = True) -> float:
        n = Z.shape[1]
        a = np.tanh(Z[0])
        r = a - self._t[labels(y, n)]
        if training:
            if n != self._n:
                self._n, self._two_n = n, np.array(2.0 / n, self.dtype)
            dz = a * a
            np.subtract(self._one, dz, dz)
            dz *= r
            dz *= self._two_n
            self.Z, self.dZ = Z, dz[None]
        return mean(r * r)


class SoftmaxCE(Head):
    """P = softmax(z) over classes;  L = −mean log P[y] = mean(logΣexp z − z_y) (shifted by max z);
    dL/dz = (P − onehot(y))/n."""

    name, activation = "softmax_ce", "softmax"
    label, task = "softmax + cross-entropy", "multiclass"
    classifies = True
    bounds = (0.0, 1.0)  # probabilities (softmax is not an activation of the registry)
    saturates = False  # a confident softmax is not counted as saturated

    def output(self, Z: Array) -> Array:
        E = np.exp(Z - Z.max(axis=0))
        E /= E.sum(axis=0)
        return E

    def probabilities(self, output: Array) -> Array:
        """The softmax output is already P(class c)."""
        return np.asarray(output)

    def predict_class(self, output: Array) -> Array:
        """The most probable class, argmax_c P(class c)."""
        return np.asarray(output).argmax(axis=1)

    def forward(self, Z: Array, y, training: bool = True) -> float:
        n = Z.shape[1]
        y = labels(y, n)
        cols = np.arange(n)
        shifted = Z - Z.max(axis=0)
        E = np.exp(shifted)
        S = E.sum(axis=0)
        loss = mean(np.log(S) - shifted[y, cols])
        if training:
            E /= S
            E[y, cols] -= 1.0
            E *= np.array(1.0 / n, self.dtype)
            self.Z, self.dZ = Z, E
        return loss


class Regression(Head):
    """Identity output a = z; the loss is a mean over all n·k elements of ρ(a − t)."""

    activation, task = "linear", "regression"

    def output(self, Z: Array) -> Array:
        return Z

    def forward(self, Z: Array, y, training: bool = True) -> float:
        r = Z - targets(y, Z.shape[0], Z.shape[1], self.dtype)
        rho, drho = self.rho(r)
        if training:
            drho *= np.array(1.0 / r.size, self.dtype)
            self.Z, self.dZ = Z, drho
        return mean(rho)

    def rho(self, r: Array) -> tuple[Array, Array]:
        """Per-element loss ρ(r) and its derivative ρ'(r)."""
        raise NotImplementedError


class LinearMSE(Regression):
    """ρ(r) = r²;  ρ'(r) = 2r."""

    name, label = "linear_mse", "linear + squared error"

    def rho(self, r):
        return r * r, r + r


class LinearMAE(Regression):
    """ρ(r) = |r|;  ρ'(r) = sign(r) (0 at r = 0)."""

    name, label = "linear_mae", "linear + absolute error"

    def rho(self, r):
        return np.abs(r), np.sign(r)


class LinearHuber(Regression):
    """ρ(r) = ½r² if |r| ≤ δ else δ(|r| − ½δ);  ρ'(r) = clip(r, −δ, δ)."""

    name, label = "linear_huber", "linear + Huber"

    def __init__(self, dtype=np.float64, delta: float = 1.0):
        super().__init__(dtype)
        self.delta = delta

    def rho(self, r):
        d = self.delta
        a = np.abs(r)
        rho = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        return rho, np.clip(r, -d, d)


HEADS = {h.name: h for h in (SigmoidBCE, TanhMSE, SoftmaxCE, LinearMSE, LinearMAE, LinearHuber)}


def make_head(name: str, dtype=np.float64, huber_delta: float = 1.0) -> Head:
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; expected one of {list(HEADS)}")
    if name == "linear_huber":
        return LinearHuber(dtype, huber_delta)
    return HEADS[name](dtype)


def accuracy(head: str | Head, output: Array, y) -> float | None:
    """Fraction correct for classification heads (as `Head.predict_class` decides); None for
    regression. output is the network's (n, k) prediction."""
    return (make_head(head) if isinstance(head, str) else head).accuracy(output, y)
