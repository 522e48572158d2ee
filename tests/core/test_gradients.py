"""Central-difference gradient checks (float64) for heads, penalties and whole networks."""

import numpy as np
import pytest

from core.config import OUTPUT_HEADS, LayerConfig, NetworkConfig
from core.layers import Dense, Dropout
from core.losses import make_head
from core.network import Network
from core.regularizers import add_penalty_grad, apply_max_norm, clip_global_norm, penalty
from tests.core.gradcheck import assert_close_grad, check_layer, numerical_grad, rel_error

TASK_OF = {head: task for task, heads in OUTPUT_HEADS.items() for head in heads}


def make_targets(head, n, k, rng):
    if head == "softmax_ce":
        return rng.integers(0, k, n)
    if TASK_OF[head] == "binary":
        return rng.integers(0, 2, n)
    return rng.standard_normal((n, k)) if k > 1 else rng.standard_normal(n)


@pytest.mark.parametrize("head_name", [h for hs in OUTPUT_HEADS.values() for h in hs])
def test_head_gradient(head_name):
    rng = np.random.default_rng(0)
    k = {"binary": 1, "multiclass": 4, "regression": 2}[TASK_OF[head_name]]
    n = 7
    head = make_head(head_name, np.float64, huber_delta=0.8)
    Z = rng.normal(0, 2, (k, n))
    y = make_targets(head_name, n, k, rng)
    head.forward(Z, y, True)
    analytic = head.backward().copy()
    numeric = numerical_grad(lambda: head.forward(Z, y, False), Z)
    assert_close_grad(analytic, numeric, 1e-6, head_name)


def test_binary_heads_match_their_definitions():
    rng = np.random.default_rng(1)
    Z, y = rng.normal(0, 3, (1, 50)), rng.integers(0, 2, 50)
    p = 1 / (1 + np.exp(-Z[0]))
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert make_head("sigmoid_bce").forward(Z, y, False) == pytest.approx(bce, rel=1e-12)
    mse = np.mean((np.tanh(Z[0]) - (2 * y - 1)) ** 2)
    assert make_head("tanh_mse").forward(Z, y, False) == pytest.approx(mse, rel=1e-12)


def test_softmax_ce_matches_definition_and_is_stable():
    rng = np.random.default_rng(2)
    Z, y = rng.normal(0, 3, (3, 20)), rng.integers(0, 3, 20)
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    ce = -np.mean(np.log(P[y, np.arange(20)]))
    head = make_head("softmax_ce")
    assert head.forward(Z, y, False) == pytest.approx(ce, rel=1e-12)
    big = np.array([[1000.0, -1000.0], [0.0, 0.0]])
    assert head.forward(big, np.array([1, 0]), False) == pytest.approx(1000.0)
    np.testing.assert_allclose(head.output(big).sum(axis=0), 1.0)


def test_sigmoid_bce_is_stable_for_huge_logits():
    head = make_head("sigmoid_bce", np.float32)
    Z = np.array([[1e4, -1e4, 1e4]], np.float32)
    loss = head.forward(Z, np.array([0, 1, 1]), True)
    assert loss == pytest.approx(2e4 / 3, rel=1e-6)
    np.testing.assert_allclose(head.backward(), [[1 / 3, -1 / 3, 0.0]], atol=1e-7)


def test_regression_losses_match_definitions():
    r = np.array([[-3.0, -0.5, 0.0, 0.2, 2.0]])
    y = np.zeros(5)
    mse = make_head("linear_mse").forward(r, y, False)
    mae = make_head("linear_mae").forward(r, y, False)
    huber = make_head("linear_huber", huber_delta=1.0).forward(r, y, False)
    assert mse == pytest.approx(np.mean(r**2))
    assert mae == pytest.approx(np.mean(np.abs(r)))
    assert huber == pytest.approx(np.mean([2.5, 0.125, 0.0, 0.02, 1.5]))


def test_gradcheck_detects_a_wrong_gradient():
    """The checker itself can fail: a Dense layer with a deliberately wrong dW is caught."""
    rng = np.random.default_rng(3)

    class BrokenDense(Dense):
        def backward(self, dZ):
            dX = super().backward(dZ)
            self.grads["W"][0, 0] += 1e-3
            return dX

    with pytest.raises(AssertionError, match="relative error"):
        check_layer(BrokenDense(rng.standard_normal((3, 2))), rng.standard_normal((3, 4)), rng)
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-3])) > 1e-4


# --- penalties --------------------------------------------------------------------------------


@pytest.mark.parametrize("l1, l2", [(0.3, 0.0), (0.0, 0.7), (0.2, 0.5)])
def test_penalty_gradient(l1, l2):
    rng = np.random.default_rng(4)
    W = rng.uniform(0.1, 1.0, (4, 3)) * rng.choice([-1, 1], (4, 3))  # away from |w| = 0
    params = {"0.W": W, "0.b": rng.standard_normal(3)}
    grads = {"0.W": np.zeros((4, 3)), "0.b": np.zeros(3)}
    add_penalty_grad(grads, params, ["0.W"], l1, l2)
    numeric = numerical_grad(lambda: penalty(params, ["0.W"], l1, l2), W)
    assert_close_grad(grads["0.W"], numeric, 1e-7, "penalty")
    assert np.all(grads["0.b"] == 0)  # biases are not penalized
    assert penalty(params, ["0.W"], l1, l2) == pytest.approx(
        l1 * np.abs(W).sum() + 0.5 * l2 * (W**2).sum()
    )


def test_clip_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}
    assert clip_global_norm(grads, 10.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [3.0, 0.0])
    assert clip_global_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.0], [0.8]])
    assert clip_global_norm(grads, 0.0) == pytest.approx(1.0)  # 0 = off


def test_apply_max_norm_caps_each_unit_column():
    W = np.array([[3.0, 0.1], [4.0, 0.2]], np.float32)
    apply_max_norm({"0.W": W}, ["0.W"], 2.0)
    assert W.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), [2.0, np.sqrt(0.05)], rtol=1e-6)
    np.testing.assert_allclose(W[:, 0], [1.2, 1.6], rtol=1e-6)


# --- whole networks -----------------------------------------------------------------------------

STACKS = {
    "tanh": [LayerConfig(5, "tanh"), LayerConfig(4, "tanh")],
    "mixed": [
        LayerConfig(6, "prelu", batch_norm=True, dropout=0.3),
        LayerConfig(4, "elu", kind="maxout", maxout_pieces=3, dropout=0.2),
        LayerConfig(5, "gelu", batch_norm=True),
        LayerConfig(3, "swish", kind="maxout", maxout_pieces=2, batch_norm=True, dropout=0.25),
        LayerConfig(4, "softplus"),
        LayerConfig(3, "sigmoid", dropout=0.1),
        LayerConfig(4, "leaky_relu", batch_norm=True),
        LayerConfig(3, "linear", kind="maxout"),
    ],
    "none": [],
}


def network_gradcheck(hidden, head, seed=0, n=6, n_inputs=3):
    rng = np.random.default_rng(seed)
    task = TASK_OF[head]
    k = {"binary": 1, "multiclass": 3, "regression": 2}[task]
    cfg = NetworkConfig(hidden=hidden, task=task, head=head, dtype="float64", leaky_slope=0.1)
    net = Network(cfg, n_inputs, k, seed=seed)
    for key, p in net.params.items():  # non-trivial BN scales, biases and pReLU slopes
        if not key.endswith(".W"):
            p[...] = rng.uniform(0.2, 1.2, p.shape)
    for block, lc in zip(net.blocks, hidden, strict=False):
        for layer in block.layers:
            if isinstance(layer, Dropout):
                layer.fixed_mask = rng.random((lc.units, n)) >= layer.rate
    X, y = rng.standard_normal((n, n_inputs)), make_targets(head, n, k, rng)
    net.loss(X, y, True)
    net.backward()
    analytic = {key: g.copy() for key, g in net.grads.items()}
    for key, p in net.params.items():
        numeric = numerical_grad(lambda: net.loss(X, y, True), p)
        assert_close_grad(analytic[key], numeric, 1e-5, f"{head} {key}")


@pytest.mark.parametrize("head", list(TASK_OF))
@pytest.mark.parametrize("stack", list(STACKS))
def test_network_gradients(stack, head):
    network_gradcheck(STACKS[stack], head)
