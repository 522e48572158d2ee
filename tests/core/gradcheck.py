"""Central-difference gradient checking in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-6
TOL = 1e-6


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """∂f/∂x by (f(x + ε) − f(x − ε)) / 2ε per element; x is perturbed in place and restored."""
    g = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f()
        x[idx] = old - eps
        f_minus = f()
        x[idx] = old
        g[idx] = (f_plus - f_minus) / (2 * eps)
    return g


FLOOR = 1e-3  # gradients that are zero in theory (a bias before batch norm) meet round-off


def rel_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a − n| / max(max |a|, max |n|, FLOOR): a norm-wise relative error, robust near 0."""
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    assert analytic.shape == numeric.shape, (analytic.shape, numeric.shape)
    scale = max(np.abs(analytic).max(initial=0), np.abs(numeric).max(initial=0), FLOOR)
    return float(np.abs(analytic - numeric).max(initial=0) / scale)


def assert_close_grad(analytic, numeric, tol: float = TOL, what: str = "") -> None:
    err = rel_error(analytic, numeric)
    assert err < tol, f"{what}: relative error {err:.2e} >= {tol:.0e}"


def check_layer(layer, X: np.ndarray, rng: np.random.Generator, tol: float = TOL) -> None:
    """Gradient check of dX and every parameter of a layer against f = Σ R ⊙ layer(X)."""
    R = rng.standard_normal(layer.forward(X, True).shape)

    def f() -> float:
        return float(np.sum(R * layer.forward(X, True)))

    def analytic():
        layer.forward(X, True)
        dX = layer.backward(R)
        return dX, {k: g.copy() for k, g in layer.grads.items()}

    dX, grads = analytic()
    assert_close_grad(dX, numerical_grad(f, X), tol, f"{type(layer).__name__} dX")
    for key, p in layer.params.items():
        assert_close_grad(grads[key], numerical_grad(f, p), tol, f"{type(layer).__name__} {key}")
