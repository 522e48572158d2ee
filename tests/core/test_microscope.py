"""The backprop microscope shows the engine's numbers (float64, to 1e-12) and leaves the run alone.

Each case builds two identical trainers (same config and seed: the runs are bit-identical), trains
both a few steps, points the microscope at one and lets the engine itself compute the other:
`Network.loss`/`backward` on the same batch, a single-point pass for a point's own gradient,
and `Trainer.step()` for the update (state and weight read after the real step).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import microscope as M
from core.config import LayerConfig, PlaygroundConfig
from core.data import load_dataset
from core.layers import Dropout
from core.losses import HEADS
from core.optimizers import OPTIMIZER_CLASSES, Optimizer
from core.trainer import Trainer

TOL = 1e-12
STEPS = 4  # trained before looking: optimizer state and batch-norm averages are not fresh


def build(
    dataset="circle",
    hidden=((4, "tanh"), (3, "tanh")),
    head=None,
    optimizer="sgd",
    dropout=0.0,
    batch_norm=False,
    kind="dense",
    batch=10,
    frozen=(),
    lr=None,
    **regularization,
) -> PlaygroundConfig:
    cfg = PlaygroundConfig()
    cfg.data.dataset = dataset
    cfg.data.n_points = 100
    info_task = load_dataset(cfg.data).task
    cfg.network.task = info_task
    cfg.network.head = head or {
        "binary": "sigmoid_bce", "multiclass": "softmax_ce", "regression": "linear_mse"
    }[info_task]  # fmt: skip
    cfg.network.dtype = "float64"
    cfg.network.hidden = [
        LayerConfig(units, act, kind=kind, dropout=dropout, batch_norm=batch_norm)
        for units, act in hidden
    ]
    cfg.network.frozen = list(frozen)
    cfg.training.optimizer.name = optimizer
    for k, v in OPTIMIZER_CLASSES[optimizer].defaults.items():
        setattr(cfg.training.optimizer, k, v)
    if lr is not None:
        cfg.training.optimizer.learning_rate = lr
    cfg.training.batch_size = batch
    for k, v in regularization.items():
        setattr(cfg.training.regularization, k, v)
    return cfg


def trainer(cfg: PlaygroundConfig, steps: int = STEPS) -> Trainer:
    t = Trainer(cfg, load_dataset(cfg.data))
    for _ in range(steps):
        t.step()
    return t


CASES = {
    "sigmoid_sgd": build(hidden=((4, "sigmoid"), (3, "sigmoid"))),
    "relu_momentum": build(hidden=((5, "relu"), (4, "relu")), optimizer="momentum"),
    "tanh_adam": build(optimizer="adam"),
    "dropout_adam": build(hidden=((6, "relu"), (5, "tanh")), optimizer="adam", dropout=0.3),
    "batch_norm": build(hidden=((5, "relu"), (4, "sigmoid")), optimizer="adam", batch_norm=True),
    "bn_dropout": build(hidden=((5, "elu"), (4, "tanh")), batch_norm=True, dropout=0.2),
    "regression_mse": build("plane", hidden=((4, "tanh"),), optimizer="rmsprop"),
    "regression_huber": build("sine", hidden=((5, "swish"),), head="linear_huber"),
    "multiclass": build("blobs", hidden=((5, "leaky_relu"),), optimizer="nesterov"),
    "tanh_mse_head": build(hidden=((4, "gelu"),), head="tanh_mse", optimizer="adagrad"),
    "prelu": build(hidden=((4, "prelu"), (3, "softplus")), optimizer="adadelta"),
    "maxout": build(hidden=((3, "linear"), (3, "tanh")), kind="maxout", optimizer="adamw"),
    "regularized": build(optimizer="adamw", l1=0.01, l2=0.02, grad_clip=0.05, max_norm=0.6),
    "frozen_first": build(optimizer="momentum", frozen=[0]),
    "frozen_middle": build(hidden=((4, "tanh"), (3, "tanh"), (3, "tanh")), frozen=[1]),
}


def weights(t: Trainer) -> list[M.WeightChoice]:
    """A few weights and biases of every layer, first and last units."""
    out = []
    for layer in M.weights_of(t):
        bias = len(layer.sources) - 1
        for src in {0, bias - 1, bias}:
            for dst in {0, len(layer.targets) - 1}:
                out.append(M.WeightChoice(layer.block, src, dst))
    return out


def engine_batch(t: Trainer):
    """The batch the trainer's next step reads (its own slicing)."""
    a = t._pos * t._batch
    if t._preshuffle:
        return t._Xs[a : a + t._batch], t._ys[a : a + t._batch]
    return t._next_batch()


def close(got, want, what=""):
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL, err_msg=what)


# --- forward, backward, gradients -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_the_batch_is_the_next_steps_and_the_forward_pass_is_the_engines(case):
    a, b = trainer(CASES[case]), trainer(CASES[case])
    plan = M.next_step(a)
    xb, yb = engine_batch(b)
    np.testing.assert_array_equal(plan.X, xb)
    np.testing.assert_array_equal(plan.y, yb)
    net = b.network
    loss = net.loss(xb, yb, True)  # the engine's pass: caches every layer's values
    for position in (0, len(plan.indices) - 1):
        m = M.examine(a, plan.indices[position])
        assert m.in_batch and m.batch_loss == pytest.approx(loss, rel=TOL, abs=TOL)
        for values, block in zip(m.layers[:-1], net.blocks[:-1], strict=True):
            act = block._act
            close(values.z, act.X[:, position], f"z of {block.name}")
            close(values.a, act.Y[:, position], f"a of {block.name}")
        close(m.layers[-1].z, net.head.Z[:, position], "logits")
        close(m.layers[-1].a, net.head.output(net.head.Z)[:, position], "output")
        single = net.head.forward(
            net.head.Z[:, position : position + 1], yb[position : position + 1], False
        )
        assert m.point_loss == pytest.approx(single, rel=TOL, abs=TOL)


@pytest.mark.parametrize("case", CASES)
def test_batch_gradients_and_dropout_masks_are_the_engines(case):
    a, b = trainer(CASES[case]), trainer(CASES[case])
    xb, yb = engine_batch(b)
    net = b.network
    net.loss(xb, yb, True)
    masks = [layer._mask.copy() for layer in net._dropouts]
    net.backward()
    for w in weights(a):
        m = M.examine(a, None, w)
        key, local = M._param_index(net.blocks[w.block], w)
        assert m.batch_gradient == pytest.approx(
            net.grads[key].reshape(-1)[local], rel=TOL, abs=TOL
        ), w
        assert m.gradient_stages[0].value == m.batch_gradient
    shown = [v.dropout_factor for v in M.examine(a).layers if v.dropout_factor is not None]
    assert len(shown) == len(masks)
    for got, mask in zip(shown, masks, strict=True):
        close(got, mask[:, 0])


@pytest.mark.parametrize("case", CASES)
def test_the_batch_gradient_is_the_mean_of_the_points_gradients(case):
    """Every point's chain rule, summed over the batch, is the engine's batch gradient: the
    per-column deltas are right, with batch norm too."""
    t = trainer(CASES[case])
    plan = M.next_step(t)
    for w in weights(t)[::3]:
        ms = [M.examine(t, i, w) for i in plan.indices]
        mean = math.fsum(m.point_gradient for m in ms) / len(ms)
        assert mean == pytest.approx(ms[0].batch_gradient, rel=1e-10, abs=TOL), w


NO_BATCH_NORM = [c for c in CASES if not CASES[c].network.hidden[0].batch_norm]


@pytest.mark.parametrize("case", NO_BATCH_NORM)
def test_a_points_gradient_and_deltas_are_its_own_loss(case):
    """Without batch norm, n × the point's share is ∂L_i/∂w: the engine on the point alone,
    with the same dropout mask, gives the same gradient and deltas (its bias gradients)."""
    a, b = trainer(CASES[case]), trainer(CASES[case])
    plan = M.next_step(a)
    position = len(plan.indices) // 2
    point = plan.indices[position]
    net = b.network
    net.loss(plan.X, plan.y, True)
    for layer in net._dropouts:  # this step's draw for the point, then fixed
        layer.fixed_mask = layer._mask[:, position : position + 1] * (1.0 - layer.rate) > 0.5
    net.loss(plan.X[position : position + 1], plan.y[position : position + 1], True)
    net.backward()
    for w in weights(a):
        m = M.examine(a, point, w)
        key, local = M._param_index(net.blocks[w.block], w)
        assert m.point_gradient == pytest.approx(
            net.grads[key].reshape(-1)[local], rel=1e-11, abs=TOL
        ), w
    m = M.examine(a, point)
    for values, block in zip(m.layers, net.blocks, strict=True):
        want = values.delta if values.u is None else values.delta_u
        close(want, net.grads[block.bias_key], f"deltas of {block.name}")


@pytest.mark.parametrize("case", CASES)
def test_the_chain_rule_multiplies_out(case):
    """Each product step: running value × factor = the next value (the engine's delta)."""
    t = trainer(CASES[case])
    for w in weights(t):
        m = M.examine(t, None, w)
        assert m.chain[-1].value_symbol == "∂L/∂w" and m.chain[-1].value == m.point_gradient
        for before, step in zip(m.chain, m.chain[1:], strict=False):
            if step.factor is not None:
                assert step.value == pytest.approx(before.value * step.factor, rel=1e-11, abs=TOL)
        if w.block == len(t.network.blocks) - 1:
            assert m.chain[0].formula == M.HEAD_GRADIENTS[t.network.head.name]


def test_the_chain_states_the_activations_derivative_from_the_registry():
    t = trainer(CASES["sigmoid_sgd"])
    m = M.examine(t, None, M.WeightChoice(0, 1, 2))
    step = next(s for s in m.chain if s.symbol == "∂a/∂z")
    assert "y(1-y)" in step.formula
    a = m.layers[0].a[2]
    assert step.factor == pytest.approx(a * (1 - a), rel=TOL)
    assert [s.symbol for s in m.chain] == ["∂L/∂a", "∂a/∂z", "∂z/∂w"]
    assert m.chain[-1].factor == m.inputs[1]


def test_sigmoid_head_delta_is_p_minus_y():
    t = trainer(CASES["sigmoid_sgd"])
    m = M.examine(t)
    p, y = m.layers[-1].a[0], int(m.target)
    assert m.chain[0].value == pytest.approx(p - y, rel=TOL, abs=TOL)


def test_points_gradient_differs_from_the_batch_gradient_and_says_so():
    t = trainer(CASES["tanh_adam"])
    m = M.examine(t, None, M.WeightChoice(1, 0, 0))
    assert m.point_gradient != pytest.approx(m.batch_gradient)
    assert any("differs from the batch gradient" in n for n in m.notes)


def test_batch_norm_says_the_point_depends_on_the_batch():
    m = M.examine(trainer(CASES["batch_norm"]), None, M.WeightChoice(0, 0, 1))
    assert any("depend on the whole batch" in n for n in m.notes)
    assert any(s.factor is None and "batch" in s.formula for s in m.chain[1:])


# --- a point outside the next batch ------------------------------------------------------------


def outside(t: Trainer) -> int:
    return next(i for i in range(len(t._X)) if i not in M.next_step(t).indices)


@pytest.mark.parametrize("case", ["tanh_adam", "dropout_adam", "batch_norm", "maxout", "prelu"])
def test_a_point_outside_the_batch_is_shown_as_the_network_predicts_it(case):
    a, b = trainer(CASES[case]), trainer(CASES[case])
    point = outside(a)
    m = M.examine(a, point, M.WeightChoice(0, 0, 0))
    assert not m.in_batch and "not in the next batch" in m.notes[0]
    x = b._X[point : point + 1]
    outputs = b.network.neuron_outputs(x)  # eval mode: dropout off, running statistics
    for values, out in zip(m.layers[:-1], outputs[:-1], strict=True):
        close(values.a, out[0])
    close(m.layers[-1].z, b.network.logits(x, False)[:, 0])
    close(m.layers[-1].a, outputs[-1][0])
    assert all(v.dropout_factor is None for v in m.layers)


@pytest.mark.parametrize("case", ["tanh_adam", "dropout_adam", "batch_norm", "regression_mse"])
def test_a_point_outside_the_batch_has_its_own_eval_gradient(case):
    """The eval-mode loss of the point alone, differentiated by central differences."""
    t = trainer(CASES[case])
    point = outside(t)
    x, y = t._X[point : point + 1], t._y[point : point + 1]
    for w in weights(t)[::2]:
        m = M.examine(t, point, w)
        twin = M.clone(t.network)
        key, local = M._param_index(twin.blocks[w.block], w)
        flat = twin.params[key].reshape(-1)
        h, w0 = 1e-6, float(flat[local])
        flat[local] = w0 + h
        up = twin.loss(x, y)
        flat[local] = w0 - h
        down = twin.loss(x, y)
        assert m.point_gradient == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8), w
        assert m.point_loss == pytest.approx(t.network.loss(x, y), rel=TOL, abs=TOL)


# --- the update ------------------------------------------------------------------------------


def hand_update(name, w, g, before, after, cfg, lr, t, matrix):
    """Each rule of `update_rule` with the shown numbers, by hand (not for max-norm); `matrix`:
    w is in a weight matrix (decoupled weight decay skips biases)."""
    if name == "sgd":
        return w - lr * g
    if name == "momentum":
        assert after["velocity"] == pytest.approx(cfg.momentum * before["velocity"] + g, rel=TOL)
        return w - lr * after["velocity"]
    if name == "nesterov":
        return w - lr * (g + cfg.momentum * after["velocity"])
    if name == "adagrad":
        assert after["sum_sq"] == pytest.approx(before["sum_sq"] + g * g, rel=TOL)
        return w - lr * g / (math.sqrt(after["sum_sq"]) + cfg.eps)
    if name == "rmsprop":
        return w - lr * g / (math.sqrt(after["avg_sq_grad"]) + cfg.eps)
    if name == "adadelta":
        d = math.sqrt(before["avg_sq_delta"] + cfg.eps) / math.sqrt(after["avg_sq_grad"] + cfg.eps)
        return w - lr * d * g
    if name in ("adam", "adamw"):
        assert after["m"] == pytest.approx(cfg.beta1 * before["m"] + (1 - cfg.beta1) * g, rel=TOL)
        m_hat = after["m"] / (1 - cfg.beta1**t)
        v_hat = after["v"] / (1 - cfg.beta2**t)
        decay = cfg.weight_decay * w if name == "adamw" and matrix else 0.0
        return w - lr * (m_hat / (math.sqrt(v_hat) + cfg.eps) + decay)
    raise AssertionError(f"no hand rule for {name}")


UPDATE_CASES = {f"opt_{name}": build(optimizer=name) for name in OPTIMIZER_CLASSES} | CASES


@pytest.mark.parametrize("case", UPDATE_CASES)
def test_the_update_is_the_one_the_engine_makes(case):
    cfg = UPDATE_CASES[case]
    a, b = trainer(cfg), trainer(cfg)
    shown = [(w, M.examine(a, None, w)) for w in weights(a)]
    b.step()  # the engine's step
    opt = b.optimizer
    for w, m in shown:
        block = b.network.blocks[w.block]
        key, local = M._param_index(block, w)
        if block.frozen:
            assert m.update is None and any("frozen" in n for n in m.notes)
            assert b.network.params[key].reshape(-1)[local] == m.weight_value
            continue
        u = m.update
        assert u.optimizer == cfg.training.optimizer.name and u.rule
        close(u.weight_after, b.network.params[key].reshape(-1)[local], f"weight {w}")
        close(u.gradient, b.network.grads[key].reshape(-1)[local], f"gradient {w}")
        assert u.gradient == m.gradient_stages[-1].value
        state = opt.state.get(key, {})
        for slot, value in u.state_after:
            close(value, state[slot].reshape(-1)[local], f"{slot} of {w}")
        if u.t is not None:
            assert u.t == max(opt.t.values())
        before, after = dict(u.state_before), dict(u.state_after)
        for name, _formula, value in u.worked:
            fn = type(opt).worked[name][1]
            close(value, fn(before, after, u.gradient, opt.cfg, u.t))
        if not cfg.training.regularization.max_norm:
            assert u.weight_after == u.weight_after_optimizer
            want = hand_update(u.optimizer, u.weight_before, u.gradient, before, after,
                               opt.cfg, u.learning_rate, u.t, key == block.weight_key)  # fmt: skip
            assert u.weight_after == pytest.approx(want, rel=1e-10, abs=TOL), w


def test_regularization_stages_are_shown_in_the_trainers_order():
    t = trainer(CASES["regularized"])
    m = M.examine(t, None, M.WeightChoice(0, 0, 0))
    labels = [s.label for s in m.gradient_stages]
    assert labels[0] == "batch gradient" and "penalty" in labels[1] and "min(1" in labels[2]
    assert m.update.max_norm_scale is not None
    w = m.weight_value
    assert m.gradient_stages[1].value == pytest.approx(
        m.batch_gradient + 0.01 * np.sign(w) + 0.02 * w, rel=TOL
    )
    bias = M.examine(t, None, M.WeightChoice(0, 2, 0))  # no penalty on a bias
    assert not any("penalty" in s.label for s in bias.gradient_stages)


def test_a_stopped_run_shows_no_update():
    t = trainer(CASES["tanh_adam"])
    t.stopped, t.stop_reason = True, "early stopping at step 4"
    m = M.examine(t)
    assert m.update is None and any("Step makes no update" in n for n in m.notes)


# --- it leaves the run alone -----------------------------------------------------------------


@pytest.mark.parametrize("case", ["bn_dropout", "dropout_adam", "regularized", "frozen_middle"])
def test_looking_does_not_change_the_run(case):
    cfg = CASES[case]
    a, b = trainer(cfg, 0), trainer(cfg, 0)
    for step in range(25):
        before = a.network.state_dict()
        rng = a.network.dropout_rng.bit_generator.state
        for w in weights(a)[step % 3 :: 3]:
            M.examine(a, None, w)
            M.examine(a, outside(a), w)
        after = a.network.state_dict()
        assert all(np.array_equal(before[k], after[k]) for k in before)
        assert a.network.dropout_rng.bit_generator.state == rng
        a.step()
        b.step()
        assert np.array_equal(a.network.flat_params, b.network.flat_params), step
    assert np.array_equal(a.history.run["batch_loss"].values, b.history.run["batch_loss"].values)
    for key, store in b.optimizer._store.items():
        for slot, array in store.items():
            assert np.array_equal(a.optimizer._store[key][slot], array)
    assert a.optimizer.t == b.optimizer.t and a.step_count == b.step_count


# --- registries carry the facts the microscope shows -----------------------------------------


def missing_update_rules(classes) -> list[str]:
    """Optimizers that do not state their own update (a subclass changes the update)."""
    return [name for name, cls in classes.items() if not cls.__dict__.get("update_rule")]


def test_every_optimizer_states_its_update_rule():
    assert missing_update_rules(OPTIMIZER_CLASSES) == []


def test_an_optimizer_without_its_rule_fails_the_registry_check():
    class Lion(Optimizer):
        name = "lion"

    class Tweaked(OPTIMIZER_CLASSES["adam"]):
        name = "tweaked"

    assert missing_update_rules({"lion": Lion, "tweaked": Tweaked}) == ["lion", "tweaked"]


def test_every_head_states_its_fused_gradient():
    assert set(M.HEAD_GRADIENTS) == set(HEADS)


def test_weight_choices_name_sources_and_targets():
    t = trainer(CASES["maxout"], 0)
    space = M.weights_of(t)
    assert [layer.name for layer in space] == ["hidden 1", "hidden 2", "output"]
    assert space[0].sources[-1] == M.BIAS and len(space[0].targets) == 6
    assert space[0].targets[3] == "hidden 1 #2 piece 2"
    with pytest.raises(ValueError):
        M.examine(t, None, M.WeightChoice(0, 0, 6))
    with pytest.raises(ValueError):
        M.examine(t, len(t._X))
    assert not isinstance(t.network.blocks[0].layers[-1], Dropout)
