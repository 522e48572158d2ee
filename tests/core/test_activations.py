import math
import warnings

import numpy as np
import pytest

from core.activations import (
    ELEMENTWISE,
    make_activation,
    prelu,
    prelu_grad_alpha,
    prelu_grad_x,
    sigmoid_for,
)
from core.config import ACTIVATIONS
from tests.core.gradcheck import assert_close_grad, numerical_grad


def away_from_kinks(rng, shape=(7, 5)):
    x = rng.uniform(-4, 4, shape)
    x[np.abs(x) < 1e-2] = 0.5  # relu, leaky relu and elu have a kink at 0
    return x


def test_every_config_activation_is_available():
    assert set(ELEMENTWISE) | {"prelu"} == set(ACTIVATIONS)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_difference(name):
    rng = np.random.default_rng(0)
    act = make_activation(name, np.float64, leaky_slope=0.1, elu_alpha=1.5)
    x = away_from_kinks(rng)
    weights = rng.standard_normal(x.shape)
    numeric = numerical_grad(lambda: float(np.sum(act.f(x) * weights)), x)
    analytic = weights * act.df(x, act.f(x))
    assert_close_grad(analytic, numeric, 1e-7, name)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_and_dtype_preserving_at_extremes(name, dtype):
    act = make_activation(name, dtype)
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow/invalid RuntimeWarning fails
        y = act.f(x)
        d = np.asarray(act.df(x, y))
    assert y.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(d))
    if d.dtype != bool:
        assert d.dtype == dtype


def test_known_values():
    x = np.array([-2.0, 0.0, 1.0])
    f = {n: make_activation(n, np.float64, leaky_slope=0.1, elu_alpha=2.0).f for n in ELEMENTWISE}
    np.testing.assert_allclose(f["sigmoid"](x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(f["tanh"](x), np.tanh(x))
    np.testing.assert_allclose(f["relu"](x), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(f["leaky_relu"](x), [-0.2, 0.0, 1.0])
    np.testing.assert_allclose(f["elu"](x), [2.0 * (math.exp(-2) - 1), 0.0, 1.0])
    np.testing.assert_allclose(f["softplus"](x), np.log1p(np.exp(x)), rtol=1e-12)
    np.testing.assert_allclose(f["swish"](x), x / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(f["gelu"](np.array([1.0])), [0.8411919906082768], rtol=1e-12)
    np.testing.assert_allclose(f["linear"](x), x)


def test_sigmoid_saturates_exactly_without_warnings():
    sig = sigmoid_for(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sig(np.array([-1e30, 1e30], np.float32))
    assert y.tolist() == [0.0, 1.0]


def test_prelu_rules():
    rng = np.random.default_rng(1)
    x = away_from_kinks(rng, (4, 6))
    alpha = rng.uniform(0.05, 0.5, (4, 1))
    np.testing.assert_allclose(prelu(x, alpha), np.where(x > 0, x, alpha * x))
    w = rng.standard_normal(x.shape)
    numeric_x = numerical_grad(lambda: float(np.sum(w * prelu(x, alpha))), x)
    assert_close_grad(w * prelu_grad_x(x, alpha), numeric_x, 1e-7, "prelu dx")
    numeric_a = numerical_grad(lambda: float(np.sum(w * prelu(x, alpha))), alpha)
    analytic_a = (w * prelu_grad_alpha(x)).sum(axis=1, keepdims=True)
    assert_close_grad(analytic_a, numeric_a, 1e-7, "prelu dalpha")


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("cosine")


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_grad_is_dy_times_derivative_and_leaves_dy_alone(name, dtype):
    rng = np.random.default_rng(2)
    act = make_activation(name, dtype, leaky_slope=0.1, elu_alpha=1.5)
    x = away_from_kinks(rng).astype(dtype)
    y, dy = act.f(x), rng.standard_normal(x.shape).astype(dtype)
    dy_before = dy.copy()
    g = act.grad(x, y, dy)
    assert g.dtype == dtype and not np.shares_memory(g, dy) and not np.shares_memory(g, y)
    np.testing.assert_array_equal(g, dy * act.df(x, y))
    np.testing.assert_array_equal(dy, dy_before)
