import numpy as np
import pytest

from core.config import MAX_PARAMETERS, ConfigError, LayerConfig, NetworkConfig
from core.losses import accuracy
from core.network import ArrayDict, Network, count_parameters


def config(hidden=None, **kw):
    hidden = [LayerConfig(8, "tanh"), LayerConfig(8, "tanh")] if hidden is None else hidden
    return NetworkConfig(hidden=hidden, **kw)


def data(n=10, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, 2, n)


def test_blocks_keys_and_shapes():
    hidden = [
        LayerConfig(4, "prelu", batch_norm=True, dropout=0.2),
        LayerConfig(3, "relu", kind="maxout", maxout_pieces=3),
    ]
    net = Network(config(hidden, frozen=[1]), n_inputs=2, n_outputs=1)
    assert [b.name for b in net.blocks] == ["hidden 1", "hidden 2", "output"]
    assert [b.activation for b in net.blocks] == ["prelu", "relu", "sigmoid_bce"]
    assert [b.units for b in net.blocks] == [4, 3, 1]
    assert [b.frozen for b in net.blocks] == [False, True, False]
    assert net.blocks[0].param_keys == ["0.W", "0.b", "0.gamma", "0.beta", "0.alpha"]
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {
        "0.W": (2, 4),
        "0.b": (4,),
        "0.gamma": (4,),
        "0.beta": (4,),
        "0.alpha": (4,),
        "1.W": (4, 9),
        "1.b": (9,),
        "2.W": (3, 1),
        "2.b": (1,),
    }
    assert {k: v.shape for k, v in net.grads.items()} == shapes
    assert net.weight_keys == ["0.W", "1.W", "2.W"]
    assert net.blocks[2].weight_key == "2.W" and net.blocks[2].bias_key == "2.b"
    assert net.n_parameters() == sum(np.prod(s) for s in shapes.values())
    assert net.n_parameters() == count_parameters(net.config, 2, 1)
    assert np.all(net.params["0.b"] == 0) and np.all(net.params["0.alpha"] == 0.25)


@pytest.mark.parametrize(
    "task, head, k",
    [
        ("binary", "sigmoid_bce", 1),
        ("binary", "tanh_mse", 1),
        ("multiclass", "softmax_ce", 4),
        ("regression", "linear_huber", 2),
    ],
)
def test_forward_output_shapes_and_ranges(task, head, k):
    net = Network(config(task=task, head=head), 3, k)
    X = np.random.default_rng(0).standard_normal((15, 3)) * 5
    out = net.predict(X)
    assert out.shape == (15, k)
    if head == "sigmoid_bce":
        assert np.all((out > 0) & (out < 1))
    if head == "tanh_mse":
        assert np.all(np.abs(out) <= 1)
    if head == "softmax_ce":
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(net.forward(X, training=True), out)  # no BN/dropout here


def test_float32_stays_float32():
    hidden = [
        LayerConfig(6, "gelu", batch_norm=True, dropout=0.3),
        LayerConfig(5, "prelu", kind="maxout"),
        LayerConfig(4, "elu"),
    ]
    for head, task in (("sigmoid_bce", "binary"), ("linear_mse", "regression")):
        net = Network(config(hidden, task=task, head=head), 2, 1)
        X, y = data()  # float64 inputs
        loss = net.loss(X, y, True)
        net.backward()
        assert isinstance(loss, float)
        assert all(v.dtype == np.float32 for v in net.params.values())
        assert all(v.dtype == np.float32 for v in net.grads.values())
        assert all(b.last_output.dtype == np.float32 for b in net.blocks)
        assert net.predict(X).dtype == np.float32
        assert all(o.dtype == np.float32 for o in net.neuron_outputs(X))
    net64 = Network(config(dtype="float64"), 2, 1)
    assert net64.dtype is np.float64 and net64.predict(data()[0]).dtype == np.float64


def test_same_seed_same_network_in_both_dtypes():
    a = Network(config(), 2, 1, seed=3)
    b = Network(config(dtype="float64"), 2, 1, seed=3)
    c = Network(config(), 2, 1, seed=4)
    np.testing.assert_allclose(a.params["1.W"], b.params["1.W"], rtol=1e-6)
    assert not np.allclose(a.params["1.W"], c.params["1.W"])


def test_last_output_is_post_activation_before_dropout():
    net = Network(config([LayerConfig(5, "relu", dropout=0.5)]), 2, 1)
    assert net.blocks[0].last_output is None
    X, y = data(20)
    net.loss(X, y, True)
    out = net.blocks[0].last_output
    assert out.shape == (20, 5)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out, net.neuron_outputs(X)[0], rtol=1e-6)  # no dropout zeros
    assert net.blocks[1].last_output.shape == (20, 1)


def test_neuron_outputs_shapes():
    hidden = [LayerConfig(7, "tanh"), LayerConfig(3, "swish", kind="maxout", batch_norm=True)]
    net = Network(config(hidden, task="multiclass", head="softmax_ce"), 2, 4)
    outs = net.neuron_outputs(np.zeros((50, 2)))
    assert [o.shape for o in outs] == [(50, 7), (50, 3), (50, 4)]
    np.testing.assert_allclose(outs[-1], net.predict(np.zeros((50, 2))), rtol=1e-6)


def test_training_reduces_loss_with_plain_sgd():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR
    net = Network(config([LayerConfig(8, "tanh"), LayerConfig(8, "tanh")]), 2, 1, seed=1)
    before = net.loss(X, y, training=False)
    for step in range(3000):
        batch = slice(10 * (step % 20), 10 * (step % 20) + 10)
        net.loss(X[batch], y[batch], True)
        net.backward()
        for key, p in net.params.items():
            p -= 0.1 * net.grads[key]
    assert net.loss(X, y, training=False) < 0.5 * before
    assert accuracy("sigmoid_bce", net.predict(X), y) > 0.9


def test_eval_between_loss_and_backward_changes_nothing():
    hidden = [LayerConfig(6, "relu", batch_norm=True, dropout=0.3), LayerConfig(4, "tanh")]
    net = Network(config(hidden), 2, 1)
    X, y = data(12)
    net.loss(X, y, True)
    net.backward()
    expected = {k: g.copy() for k, g in net.grads.items()}
    for layer in net._dropouts:
        layer.fixed_mask = layer._mask != 0
    net.loss(X, y, True)
    net.loss(*data(12, seed=4))  # a measurement: eval mode
    net.predict(data(12, seed=5)[0])
    net.neuron_outputs(data(12, seed=6)[0])
    net.backward()
    for key, g in net.grads.items():
        np.testing.assert_allclose(g, expected[key], rtol=1e-5, atol=1e-7)


def test_state_dict_round_trip():
    hidden = [LayerConfig(5, "prelu", batch_norm=True), LayerConfig(3, "tanh", kind="maxout")]
    a = Network(config(hidden), 2, 1, seed=0)
    X, y = data(30)
    for _ in range(5):  # move params and running stats away from their initial values
        a.loss(X, y, True)
        a.backward()
        for key, p in a.params.items():
            p -= 0.5 * a.grads[key]
    state = a.state_dict()
    assert "0.running_mean" in state and "0.running_var" in state
    b = Network(config(hidden), 2, 1, seed=99)
    assert not np.allclose(a.predict(X), b.predict(X))
    b.load_state_dict(state)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    state["0.W"][...] = 0  # a copy, not a view
    assert not np.all(a.params["0.W"] == 0)


def test_load_state_dict_mismatch_errors_name_key_and_shapes():
    net = Network(config(), 2, 1)
    state = net.state_dict()
    bad = dict(state, **{"1.W": np.zeros((8, 9))})
    with pytest.raises(ValueError, match=r"'1\.W'.*\(8, 8\).*\(8, 9\)"):
        net.load_state_dict(bad)
    with pytest.raises(ValueError, match=r"missing keys \['0\.b'\]"):
        net.load_state_dict({k: v for k, v in state.items() if k != "0.b"})
    with pytest.raises(ValueError, match=r"unexpected \['9\.W'\]"):
        net.load_state_dict(dict(state, **{"9.W": np.zeros(1)}))


def test_params_assignment_copies_into_the_packed_weights():
    net = Network(config(dtype="float64"), 2, 1)
    X, y = data()
    W = net.params["0.W"]
    net.params["0.W"] = np.full((2, 8), 0.5)
    net.params["0.b"] = np.ones(8)
    assert net.params["0.W"] is W and np.all(W == 0.5)
    expected = np.tanh(X @ np.full((2, 8), 0.5) + 1.0)
    np.testing.assert_allclose(net.neuron_outputs(X)[0], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="shape mismatch"):
        net.params["0.W"] = np.zeros((3, 8))
    assert isinstance(net.params, ArrayDict)


def test_mc_dropout_spread():
    X = data(25)[0]
    with_dropout = Network(config([LayerConfig(16, "relu", dropout=0.5)]), 2, 1)
    mean, std = with_dropout.predict_mc_dropout(X, n_passes=20, seed=0)
    assert mean.shape == std.shape == (25, 1)
    assert np.all(std > 0)
    again = with_dropout.predict_mc_dropout(X, n_passes=20, seed=0)
    np.testing.assert_array_equal(again[0], mean)  # seeded
    assert not with_dropout._dropouts[0].mc  # dropout is off again afterwards
    np.testing.assert_array_equal(with_dropout.predict(X), with_dropout.predict(X))
    without = Network(config([LayerConfig(16, "relu", batch_norm=True)]), 2, 1)
    mean, std = without.predict_mc_dropout(X, n_passes=5, seed=0)
    assert np.all(std == 0)
    np.testing.assert_allclose(mean, without.predict(X), rtol=1e-6)


def test_parameter_cap():
    big = [LayerConfig(256, "relu") for _ in range(16)]
    assert count_parameters(config(big), 784, 10) > MAX_PARAMETERS
    with pytest.raises(ConfigError, match="parameters"):
        Network(config(big), 784, 10)
    Network(config([LayerConfig(128, "relu"), LayerConfig(64, "relu")]), 784, 10)


def test_bad_inputs_raise_clear_errors():
    net = Network(config(), 2, 1)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        net.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="labels"):
        net.loss(np.zeros((4, 2)), np.zeros(5, int))
    fresh = Network(config(), 2, 1)
    with pytest.raises(RuntimeError, match="loss"):
        fresh.backward()


def test_column_labels_and_float_labels_are_accepted():
    net = Network(config(dtype="float64"), 2, 1)
    X, y = data()
    expected = net.loss(X, y)
    assert net.loss(X, y.reshape(-1, 1)) == pytest.approx(expected)
    assert net.loss(X, y.astype(float)) == pytest.approx(expected)


def test_accuracy_helper():
    y = np.array([0, 1, 1, 0])
    assert accuracy("sigmoid_bce", np.array([[0.2], [0.7], [0.4], [0.9]]), y) == 0.5
    assert accuracy("tanh_mse", np.array([[-0.2], [0.7], [0.4], [-0.9]]), y) == 1.0
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]])
    assert accuracy("softmax_ce", probs, y) == 0.75
    assert accuracy("linear_mse", np.zeros((4, 1)), y) is None


def test_all_parameters_live_in_one_flat_array():
    hidden = [
        LayerConfig(4, "prelu", batch_norm=True),
        LayerConfig(3, "tanh", kind="maxout"),
    ]
    net = Network(config(hidden), 2, 1)
    assert net.flat_params.size == net.flat_grads.size == net.n_parameters()
    covered = np.zeros(net.n_parameters(), int)
    for key, s in net.slices.items():
        np.testing.assert_array_equal(net.flat_params[s], net.params[key].ravel())
        assert np.shares_memory(net.flat_params, net.params[key])
        assert np.shares_memory(net.flat_grads, net.grads[key])
        covered[s] += 1
    assert np.all(covered == 1)
    X, y = data()
    net.loss(X, y, True)
    net.backward()
    for key, s in net.slices.items():
        np.testing.assert_array_equal(net.flat_grads[s], net.grads[key].ravel())
    before = net.loss(X, y, training=False)
    net.flat_params -= 0.1 * net.flat_grads  # one-op SGD step on every parameter
    assert net.loss(X, y, training=False) < before


def test_public_logits_give_the_loss_and_accept_feature_major_input():
    cfg = NetworkConfig(hidden=[LayerConfig(units=5)], task="multiclass", head="softmax_ce")
    net = Network(cfg, 4, 3, seed=1)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    Z = net.logits(X, False)
    assert Z.shape == (3, 7)
    assert net.head.forward(Z, y, False) == pytest.approx(net.loss(X, y, False))
    np.testing.assert_allclose(net.head.output(Z).T, net.predict(X), rtol=1e-6)
    Xf = np.ascontiguousarray(X.T).T  # stored feature-major
    np.testing.assert_array_equal(net.logits(Xf, False), Z)
    with pytest.raises(ValueError, match="expected X of shape"):
        net.logits(X[:, :3], False)


@pytest.mark.parametrize("head, task, k", [("sigmoid_bce", "binary", 1), ("tanh_mse", "binary", 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inlined_plain_path_matches_layer_by_layer(head, task, k, dtype):
    """Plain nets train through plain_forward/plain_backward; a layer-by-layer twin (same seed,
    the fast path switched off) must give the same losses, gradients and retained outputs, also
    when the batch size changes between calls (buffers are resized, never shared)."""
    hidden = [LayerConfig(8, "tanh"), LayerConfig(4, "linear"), LayerConfig(5, "sigmoid")]
    fast, slow = (Network(config(hidden, head=head, dtype=dtype), 2, k, seed=3) for _ in "ab")
    assert fast._plain is not None
    slow._plain = None
    kept = []
    for n, seed in ((10, 0), (10, 1), (7, 2), (7, 3), (10, 4)):
        X, y = data(n, seed=seed)
        losses = [net.loss(X, y, True) for net in (fast, slow)]
        assert losses[0] == losses[1]
        for net in (fast, slow):
            net.backward()
        for key in fast.grads:
            np.testing.assert_array_equal(fast.grads[key], slow.grads[key], err_msg=key)
        outs = [b.last_output for b in fast.blocks[:-1]] + [fast.head.Z]
        kept.append((outs, [o.copy() for o in outs]))
        fast.predict(data(n + 3, seed=9)[0])
        for key, p in fast.params.items():  # an SGD step on both, so the next batch differs
            p -= 0.1 * fast.grads[key]
            slow.params[key] -= 0.1 * slow.grads[key]
    for outs, copies in kept:  # arrays handed out earlier are never overwritten later
        for out, copy in zip(outs, copies, strict=True):
            np.testing.assert_array_equal(out, copy)


def test_nets_with_other_layers_take_the_generic_path():
    for lc in (
        LayerConfig(4, "relu", batch_norm=True),
        LayerConfig(4, "relu", dropout=0.2),
        LayerConfig(4, "prelu"),
        LayerConfig(2, "linear", kind="maxout"),
    ):
        assert Network(config([LayerConfig(3, "tanh"), lc]), 2, 1)._plain is None


# --- the engine's call sequence: backward follows its own loss, measuring has no side effect ---

PLAIN = [LayerConfig(6, "tanh"), LayerConfig(4, "relu")]  # the inlined plain path
LAYERED = [LayerConfig(6, "relu", batch_norm=True), LayerConfig(4, "tanh", kind="maxout")]


@pytest.mark.parametrize("hidden", [PLAIN, LAYERED], ids=["plain", "layered"])
def test_backward_refuses_a_training_pass_without_its_loss(hidden):
    """forward/logits(training=True) on new data after a loss used to leave the old dL/dZ in
    place, so backward() paired it with the new caches: wrong gradients, no error."""
    net = Network(config(hidden), 2, 1)
    (X1, y1), (X2, _) = data(12), data(12, seed=1)
    net.loss(X1, y1, True)
    net.forward(X2, training=True)
    with pytest.raises(RuntimeError, match=r"loss\(X, y, training=True\)"):
        net.backward()
    net.loss(X1, y1, True)
    net.logits(X2, True)
    with pytest.raises(RuntimeError, match=r"loss\(X, y, training=True\)"):
        net.backward()
    net.loss(X1, y1, True)
    net.backward()  # the right sequence still works


@pytest.mark.parametrize("hidden", [PLAIN, LAYERED], ids=["plain", "layered"])
def test_training_logits_with_their_head_loss_give_the_loss_gradients(hidden):
    a, b = (Network(config(hidden, dtype="float64"), 2, 1, seed=2) for _ in "ab")
    X, y = data(12)
    a.loss(X, y, True)
    a.backward()
    b.head.forward(b.logits(X, True), y, True)
    b.backward()
    for key in a.grads:
        np.testing.assert_array_equal(a.grads[key], b.grads[key], err_msg=key)


@pytest.mark.parametrize("hidden", [PLAIN, LAYERED], ids=["plain", "layered"])
def test_measuring_a_loss_changes_nothing(hidden):
    """loss(X, y) is eval mode: no batch-norm statistics, no caches, no dropout draws touched."""
    hidden = [
        LayerConfig(h.units, h.activation, h.kind, batch_norm=h.batch_norm, dropout=0.3)
        for h in hidden
    ]
    net = Network(config(hidden, dtype="float64"), 2, 1)
    X, y = data(12)
    net.loss(X, y, True)
    net.backward()
    expected = {k: g.copy() for k, g in net.grads.items()}
    buffers = {k: v.copy() for k, v in net.buffers.items()}
    rng_state = net.dropout_rng.bit_generator.state
    X2, y2 = data(30, seed=3)
    assert net.loss(X2, y2) == net.loss(X2, y2, training=False)
    for key, value in net.buffers.items():
        np.testing.assert_array_equal(value, buffers[key], err_msg=key)
    assert net.dropout_rng.bit_generator.state == rng_state
    net.backward()
    for key, g in net.grads.items():
        np.testing.assert_array_equal(g, expected[key], err_msg=key)
