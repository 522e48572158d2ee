"""Layer-level checks. Layers work feature-major: X is (features, n)."""

import numpy as np
import pytest

from core.activations import ELEMENTWISE, make_activation
from core.config import INITS
from core.initializers import init_weights, resolve
from core.layers import ActivationLayer, BatchNorm, Dense, Dropout, Maxout, PReLU
from tests.core.gradcheck import check_layer


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_dense_gradients(rng):
    layer = Dense(rng.standard_normal((4, 3)))
    layer.params["b"][...] = rng.standard_normal(3)
    check_layer(layer, rng.standard_normal((4, 6)), rng)


def test_dense_forward_is_affine_map(rng):
    W, b, X = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((4, 5))
    layer = Dense(W)
    layer.params["b"][...] = b
    expected = (X.T @ W + b).T
    np.testing.assert_allclose(layer.forward(X, True), expected, rtol=1e-12)
    np.testing.assert_allclose(layer.forward(X, False), expected, rtol=1e-12)


def test_maxout_gradients(rng):
    layer = Maxout(rng.standard_normal((4, 3 * 3)), pieces=3)
    check_layer(layer, rng.standard_normal((4, 6)), rng)


def test_maxout_takes_the_max_piece(rng):
    W, X = rng.standard_normal((2, 6)), rng.standard_normal((2, 5))
    Y = Maxout(W, pieces=3).forward(X, False)
    expected = (X.T @ W).reshape(5, 2, 3).max(axis=2).T
    np.testing.assert_allclose(Y, expected, rtol=1e-12)


def test_batch_norm_gradients_in_training_mode(rng):
    layer = BatchNorm(3)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, 3)
    layer.params["beta"][...] = rng.standard_normal(3)
    check_layer(layer, rng.normal(2.0, 3.0, (3, 8)), rng)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_layer_gradients(name, rng):
    layer = ActivationLayer(make_activation(name, np.float64, 0.05, 0.7))
    X = rng.uniform(-3, 3, (3, 5))
    X[np.abs(X) < 1e-2] = 0.3
    check_layer(layer, X, rng)


def test_prelu_gradients_including_slope(rng):
    layer = PReLU(3, 0.25)
    layer.params["alpha"][...] = [0.1, 0.3, 0.6]
    X = rng.uniform(-3, 3, (3, 6))
    X[np.abs(X) < 1e-2] = -0.4
    check_layer(layer, X, rng)


def test_dropout_gradients_with_fixed_mask(rng):
    layer = Dropout(0.4, rng)
    layer.fixed_mask = rng.random((3, 7)) >= 0.4
    check_layer(layer, rng.standard_normal((3, 7)), rng)


def test_dropout_preserves_expectation_and_is_off_at_eval():
    layer = Dropout(0.3, np.random.default_rng(1), np.float32)
    X = np.ones((50, 4000), np.float32)
    Y = layer.forward(X, True)
    kept = Y != 0
    assert Y.dtype == np.float32
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(Y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(Y.mean() - 1.0) < 0.01
    assert layer.forward(X, False) is X
    dX = layer.backward(np.ones_like(X))
    np.testing.assert_array_equal(dX, Y)  # same mask and scale as the forward


def test_batch_norm_normalizes_in_training_and_uses_running_stats_at_eval(rng):
    layer = BatchNorm(2, momentum=0.9)
    X = rng.normal([[5.0], [-3.0]], [[2.0], [0.5]], (2, 64))
    Y = layer.forward(X, True)
    np.testing.assert_allclose(Y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(Y.std(axis=1), 1, rtol=1e-3)
    run = layer.buffers
    np.testing.assert_allclose(run["running_mean"], 0.1 * X.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(run["running_var"], 0.9 + 0.1 * X.var(axis=1, ddof=1), rtol=1e-12)
    for _ in range(200):
        layer.forward(X, True)
    np.testing.assert_allclose(run["running_mean"], X.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(run["running_var"], X.var(axis=1, ddof=1), rtol=1e-6)
    # eval uses the running stats, not the batch: a single shifted example is not re-centred
    x = np.array([[5.0 + 2.0], [-3.0]])
    y = layer.forward(x, False)
    expected = (x[:, 0] - run["running_mean"]) / np.sqrt(run["running_var"] + layer.eps)
    np.testing.assert_allclose(y[:, 0], expected, rtol=1e-12)


def test_batch_norm_one_point_batch_leaves_the_running_stats_alone(rng):
    """One point has no spread: it used to pull the running variance towards 0 (var 0 in)."""
    layer = BatchNorm(3)
    layer.forward(rng.normal(1.0, 2.0, (3, 16)), True)
    before = {k: v.copy() for k, v in layer.buffers.items()}
    Y = layer.forward(rng.standard_normal((3, 1)), True)
    np.testing.assert_array_equal(Y, layer.params["beta"][:, None])  # x̂ = 0: y = β
    for key, value in layer.buffers.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    assert BatchNorm.MIN_BATCH == 2


def test_eval_forward_does_not_disturb_pending_backward(rng):
    layers = [
        Dense(rng.standard_normal((3, 4))),
        BatchNorm(4),
        ActivationLayer(make_activation("tanh")),
        Maxout(rng.standard_normal((4, 6)), pieces=2),
    ]
    X, R = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))

    def forward(X, training):
        for layer in layers:
            X = layer.forward(X, training)
        return X

    def backward(d):
        for layer in reversed(layers):
            d = layer.backward(d)
        return d

    forward(X, True)
    expected = backward(R)
    forward(X, True)
    forward(rng.standard_normal((3, 5)), False)
    np.testing.assert_allclose(backward(R), expected, rtol=1e-12)


# --- initializers ----------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 300


def draw(name, scale=0.1, activation="tanh"):
    rng = np.random.default_rng(0)
    return init_weights(name, FAN_IN, FAN_OUT, rng, scale=scale, activation=activation)


@pytest.mark.parametrize(
    "name, limit",
    [
        ("uniform", 0.5),
        ("xavier_uniform", np.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("he_uniform", np.sqrt(6 / FAN_IN)),
    ],
)
def test_uniform_initializers(name, limit):
    W = draw(name)
    assert W.shape == (FAN_IN, FAN_OUT)
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.99 * limit
    assert abs(W.mean()) < 0.01 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.01 * limit


@pytest.mark.parametrize(
    "name, std",
    [
        ("normal", 0.7),
        ("xavier_normal", np.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("he_normal", np.sqrt(2 / FAN_IN)),
        ("lecun", np.sqrt(1 / FAN_IN)),
    ],
)
def test_normal_initializers(name, std):
    W = draw(name, scale=0.7)
    assert abs(W.mean()) < 0.01 * std
    assert abs(W.std() - std) < 0.01 * std
    assert abs(np.mean(np.abs(W) > 2 * std) - 0.0455) < 0.005  # Gaussian tails, not uniform


def test_constant_and_zeros():
    assert np.all(draw("zeros") == 0)
    assert np.all(draw("constant", scale=0.3) == 0.3)


def test_auto_picks_by_activation():
    for act in ("relu", "leaky_relu", "prelu", "elu", "swish", "gelu"):
        assert resolve("auto", act) == "he_normal"
    for act in ("tanh", "sigmoid", "linear", "softplus", "softmax"):
        assert resolve("auto", act) == "xavier_uniform"
    np.testing.assert_array_equal(draw("auto", activation="relu"), draw("he_normal"))
    assert resolve("lecun", "relu") == "lecun"


def test_every_config_initializer_works_in_float32():
    for name in INITS:
        W = init_weights(name, 5, 3, np.random.default_rng(0), dtype=np.float32)
        assert W.shape == (5, 3) and W.dtype == np.float32
