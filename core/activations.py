"""Activation functions, each as a forward rule and its local derivative side by side.

`make_activation(name, dtype, ...)` returns an `Activation(name, f, df)` where `y = f(x)` and
`df(x, y)` is dy/dx elementwise (it uses y where that is cheaper, as micrograd does), and
`grad(x, y, dy)` = dy · df(x, y) is the backward rule, fused where that saves temporaries (always a
fresh array; dy is never modified). Constants are
0-d arrays of the working dtype: arithmetic with them keeps float32 as float32 and is about twice as
fast as with Python floats on small arrays. Every rule is overflow-free for any finite x.

pReLU has a learned per-unit slope, so it lives in `core.layers.PReLU`; its rules are `prelu`,
`prelu_grad_x` and `prelu_grad_alpha` below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
GELU_C = math.sqrt(2.0 / math.pi)
GELU_A = 0.044715


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable[[Array], Array]  # y = f(x)
    df: Callable[[Array, Array], Array]  # dy/dx, given x and y = f(x)
    grad: Callable[[Array, Array, Array], Array] | None = None  # dy · df(x, y); None: generic

    def __post_init__(self) -> None:
        if self.grad is None:
            df = self.df
            object.__setattr__(self, "grad", lambda x, y, dy: dy * df(x, y))


class _Consts:
    """0-d arrays in the working dtype."""

    def __init__(self, dtype, slope: float = 0.01, alpha: float = 1.0):
        def c(v: float) -> Array:
            return np.array(v, dtype)

        self.zero, self.half, self.one, self.three = c(0.0), c(0.5), c(1.0), c(3.0)
        self.slope, self.alpha = c(slope), c(alpha)
        self.gelu_c, self.gelu_a = c(GELU_C), c(GELU_A)


def sigmoid_with(c: _Consts) -> Callable[[Array], Array]:
    """σ(x) = ½ (1 + tanh(x/2)): the same function as 1/(1+e^-x), but tanh never overflows."""

    def sigmoid(x: Array) -> Array:
        y = np.tanh(x * c.half)
        y *= c.half
        y += c.half
        return y

    return sigmoid


def _linear(c):
    """y = x;  dy/dx = 1."""
    return (lambda x: x), (lambda x, y: np.ones_like(x)), (lambda x, y, dy: dy.copy())


def _sigmoid(c):
    """y = σ(x);  dy/dx = y (1 − y)."""

    def grad(x, y, dy):
        g = np.subtract(c.one, y)
        g *= y
        g *= dy
        return g

    return sigmoid_with(c), (lambda x, y: y * (c.one - y)), grad


def _tanh(c):
    """y = tanh x;  dy/dx = 1 − y²."""

    def grad(x, y, dy):
        g = np.multiply(y, y)
        np.subtract(c.one, g, g)  # positional out: keyword arguments cost more than the math here
        g *= dy
        return g

    return np.tanh, (lambda x, y: c.one - y * y), grad


def _relu(c):
    """y = max(x, 0);  dy/dx = [x > 0] (0 at the kink)."""
    return (lambda x: np.maximum(x, c.zero)), (lambda x, y: x > c.zero)


def _leaky_relu(c):
    """y = x if x > 0 else a·x (a = leaky_slope ≤ 1, so y = max(x, a·x));  dy/dx = 1 or a."""

    def df(x, y):
        return np.where(x > c.zero, c.one, c.slope)

    return (lambda x: np.maximum(x, c.slope * x)), df


def _elu(c):
    """y = x if x > 0 else α(eˣ − 1);  dy/dx = 1 or y + α.  (expm1 of min(x, 0): no overflow.)"""

    def f(x):
        return np.where(x > c.zero, x, c.alpha * np.expm1(np.minimum(x, c.zero)))

    return f, (lambda x, y: np.where(x > c.zero, c.one, y + c.alpha))


def _softplus(c):
    """y = log(1 + eˣ) = logaddexp(0, x) (stable);  dy/dx = σ(x)."""
    sig = sigmoid_with(c)
    return (lambda x: np.logaddexp(c.zero, x)), (lambda x, y: sig(x))


def _swish(c):
    """SiLU: y = x σ(x);  dy/dx = σ(x) (1 + x (1 − σ(x)))."""
    sig = sigmoid_with(c)

    def df(x, y):
        s = sig(x)
        return s * (c.one + x * (c.one - s))

    return (lambda x: x * sig(x)), df


def _gelu(c):
    """GELU, tanh approximation (Hendrycks & Gimpel):
    y = ½x(1 + t), t = tanh(√(2/π)(x + 0.044715x³));
    dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)."""

    def t_of(x):
        return np.tanh(c.gelu_c * (x + c.gelu_a * x * x * x))

    def f(x):
        return c.half * x * (c.one + t_of(x))

    def df(x, y):
        t = t_of(x)
        inner = c.gelu_c * (c.one + c.three * c.gelu_a * x * x)
        return c.half * (c.one + t) + c.half * x * (c.one - t * t) * inner

    return f, df


INF = math.inf


@dataclass(frozen=True)
class ActivationInfo:
    """Everything the playground knows about one activation: its one home.

    `family` drives the diagnostics (saturating units can saturate, ReLU-like units can die),
    `init` is what the "auto" initializer picks, `bounds` is the output range.
    """

    name: str
    formula: str  # y = f(x)
    derivative: str  # dy/dx
    family: str  # one of FAMILIES
    bounds: tuple[float, float]  # output range; ±inf where unbounded
    init: str  # recommended initializer
    rules: Callable[[_Consts], tuple] | None  # constants -> (f, df[, grad]); None: has parameters

    @property
    def saturates(self) -> bool:
        return self.family == "saturating"

    @property
    def can_die(self) -> bool:
        """ReLU-like: slope 1 right of 0, weaker (or zero) left; a unit that never fires in a
        batch counts as dead."""
        return self.family == "relu_like"

    @property
    def finite_bounds(self) -> tuple[float, float] | None:
        return self.bounds if all(map(math.isfinite, self.bounds)) else None


FAMILIES = ("linear", "saturating", "relu_like", "smooth")
_XAVIER, _HE = "xavier_uniform", "he_normal"
REGISTRY: dict[str, ActivationInfo] = {
    a.name: a
    for a in (
        ActivationInfo("linear", "x", "1", "linear", (-INF, INF), _XAVIER, _linear),
        ActivationInfo("sigmoid", "1/(1+e^-x)", "y(1-y)", "saturating", (0.0, 1.0), _XAVIER,
                       _sigmoid),
        ActivationInfo("tanh", "tanh x", "1-y^2", "saturating", (-1.0, 1.0), _XAVIER, _tanh),
        ActivationInfo("relu", "max(x, 0)", "[x > 0]", "relu_like", (0.0, INF), _HE, _relu),
        ActivationInfo("leaky_relu", "max(x, a x)", "1 if x > 0 else a", "relu_like",
                       (-INF, INF), _HE, _leaky_relu),
        ActivationInfo("prelu", "max(x, 0) + a min(x, 0), a learned", "1 if x > 0 else a",
                       "relu_like", (-INF, INF), _HE, None),
        ActivationInfo("elu", "x if x > 0 else alpha(e^x - 1)", "1 if x > 0 else y + alpha",
                       "relu_like", (-INF, INF), _HE, _elu),
        ActivationInfo("softplus", "log(1 + e^x)", "sigmoid(x)", "smooth", (0.0, INF), _XAVIER,
                       _softplus),
        ActivationInfo("swish", "x sigmoid(x)", "s(1 + x(1 - s)), s = sigmoid(x)", "smooth",
                       (-0.2785, INF), _HE, _swish),
        ActivationInfo("gelu", "x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))",
                       "(1 + t)/2 + x(1 - t^2) sqrt(2/pi)(1 + 3 0.044715 x^2)/2, "
                       "t = tanh(sqrt(2/pi)(x + 0.044715 x^3))", "smooth", (-0.1701, INF), _HE,
                       _gelu),
    )
}  # fmt: skip
NAMES = tuple(REGISTRY)
ELEMENTWISE = tuple(n for n, a in REGISTRY.items() if a.rules)  # prelu has parameters: a layer


def info(name: str) -> ActivationInfo:
    """The registry entry of `name` (ValueError naming the choices if there is none)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown activation {name!r}; expected one of {list(REGISTRY)}")
    return REGISTRY[name]


def make_activation(
    name: str, dtype=np.float64, leaky_slope: float = 0.01, elu_alpha: float = 1.0
) -> Activation:
    """The activation `name` with its constants in `dtype`."""
    rules = info(name).rules
    if rules is None:
        raise ValueError(f"{name!r} has parameters: it is a layer (core.layers), not a function")
    return Activation(name, *rules(_Consts(dtype, leaky_slope, elu_alpha)))


def sigmoid_for(dtype) -> Callable[[Array], Array]:
    """σ with its constants in `dtype` (no overflow, no upcasting)."""
    return sigmoid_with(_Consts(dtype))


# --- pReLU: y = x if x > 0 else α·x, α learned (broadcast against x) ---------------------------


def prelu(x: Array, alpha: Array) -> Array:
    """y = max(x, 0) + α·min(x, 0)."""
    return np.where(x > 0, x, alpha * x)


def prelu_grad_x(x: Array, alpha: Array) -> Array:
    """∂y/∂x = 1 if x > 0 else α."""
    return np.where(x > 0, x.dtype.type(1), alpha)


def prelu_grad_alpha(x: Array) -> Array:
    """∂y/∂α = min(x, 0)."""
    return np.minimum(x, 0)
