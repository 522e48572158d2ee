"""The training loop: steps and epochs, reshuffling, reproducibility, controls and telemetry."""

import numpy as np
import pytest

from core.config import (
    ConfigError,
    EarlyStoppingConfig,
    LayerConfig,
    NetworkConfig,
    OptimizerConfig,
    PlaygroundConfig,
)
from core.data.dataset import Dataset
from core.evaluation import EVAL_MAX, EVAL_MIN, eval_points
from core.telemetry import HISTOGRAM_BINS
from core.trainer import Trainer


def blobs(n_train=40, n_test=40, seed=0, task="binary", n_in=2) -> Dataset:
    """Two (or three) separable Gaussian clouds, standardised-ish."""
    rng = np.random.default_rng(seed)
    k = 3 if task == "multiclass" else 2
    n = n_train + n_test
    y = np.arange(n) % k
    centres = rng.standard_normal((k, n_in)) * 2
    X = centres[y] + 0.5 * rng.standard_normal((n, n_in))
    if task == "regression":
        yv = X[:, 0] * 0.5 + 0.1
        return Dataset("reg", task, X[:n_train], yv[:n_train], X[n_train:], yv[n_train:], [])
    names = [f"class {i}" for i in range(k)]
    return Dataset(
        "blobs",
        task,
        X[:n_train],
        y[:n_train],
        X[n_train:],
        y[n_train:],
        [],
        names,
        raw_train=X[:n_train],
        raw_test=X[n_train:],
    )


def config(
    hidden=(8, 8),
    activation="tanh",
    task="binary",
    head=None,
    batch=10,
    opt="sgd",
    lr=0.1,
    seed=0,
    **training,
) -> PlaygroundConfig:
    heads = {"binary": "sigmoid_bce", "multiclass": "softmax_ce", "regression": "linear_mse"}
    cfg = PlaygroundConfig()
    cfg.network = NetworkConfig(
        hidden=[LayerConfig(units=u, activation=activation) for u in hidden],
        task=task,
        head=head or heads[task],
        dtype="float64",
    )
    cfg.training.batch_size = batch
    cfg.training.seed = seed
    cfg.training.optimizer = OptimizerConfig(name=opt, learning_rate=lr)
    for key, value in training.items():
        setattr(cfg.training, key, value)
    return cfg


def params_copy(trainer: Trainer) -> dict:
    return {k: v.copy() for k, v in trainer.network.params.items()}


# --- steps, epochs, shuffling ---------------------------------------------------------------


def test_steps_and_epoch_boundaries():
    tr = Trainer(config(batch=10), blobs(n_train=25))  # batches of 10, 10, 5
    tr.step()
    tr.step()
    assert (tr.step_count, tr.epoch) == (2, 0)
    tr.step()
    assert (tr.step_count, tr.epoch) == (3, 1)
    tr.epoch_step()
    assert (tr.step_count, tr.epoch) == (6, 2)
    tr.step()
    tr.epoch_step()  # finishes the current epoch only
    assert (tr.step_count, tr.epoch) == (9, 3)
    assert tr.run(seconds=60, max_steps=7) == 7
    assert tr.step_count == 16
    assert tr.run(seconds=0.0) >= 1  # at least one step, then the deadline


def record_training_batches(trainer: Trainer) -> list[np.ndarray]:
    """Each training batch's inputs, as `Network.loss` sees them from now on."""
    seen, original = [], trainer.network.loss

    def recording_loss(X, y, training=False):
        if training:
            seen.append(X.copy())
        return original(X, y, training)

    trainer.network.loss = recording_loss
    return seen


def test_each_epoch_sees_every_point_once_in_a_new_order():
    ds = blobs(n_train=30)
    tr = Trainer(config(batch=7), ds)
    seen = record_training_batches(tr)
    tr.epoch_step()
    tr.epoch_step()
    assert [len(b) for b in seen] == [7, 7, 7, 7, 2] * 2
    first, second = np.concatenate(seen[:5]), np.concatenate(seen[5:])
    key = np.lexsort(ds.X_train.T)
    for epoch in (first, second):
        np.testing.assert_array_equal(epoch[np.lexsort(epoch.T)], ds.X_train[key])
    assert not np.array_equal(first, second)  # reshuffled


@pytest.mark.parametrize("batch_norm, sizes", [(True, [10, 10]), (False, [10, 10, 1])])
def test_a_one_point_last_batch_is_left_out_under_batch_norm(batch_norm, sizes):
    """21 points, batch 10: the third batch has one point, which under batch norm normalises to β
    and used to pull the running variance 10% towards 0 just before the epoch-end evaluation."""
    cfg = config(batch=10)
    cfg.network.hidden[0].batch_norm = batch_norm
    tr = Trainer(cfg, blobs(n_train=21))
    seen = record_training_batches(tr)
    for _ in range(2):
        tr.epoch_step()
    assert [len(b) for b in seen] == sizes * 2 and tr.step_count == 2 * len(sizes)
    first_epoch = np.concatenate(seen[: len(sizes)])
    assert len(np.unique(first_epoch, axis=0)) == sum(sizes)  # distinct points of the split
    assert tr.epoch_progress == 0.0


def test_same_config_and_seed_is_bit_identical():
    def train(seed):
        tr = Trainer(config(seed=seed, opt="adam", lr=0.01, eval_every=7), blobs())
        tr.run(seconds=60, max_steps=60)
        return tr

    a, b, c = train(3), train(3), train(4)
    for k in a.network.params:
        np.testing.assert_array_equal(a.network.params[k], b.network.params[k])
    np.testing.assert_array_equal(
        a.history.run["batch_loss"].values, b.history.run["batch_loss"].values
    )
    np.testing.assert_array_equal(
        a.history.run["val_loss"].values, b.history.run["val_loss"].values
    )
    assert not np.array_equal(a.network.params["0.W"], c.network.params["0.W"])


def test_task_mismatch_is_a_config_error():
    with pytest.raises(ConfigError, match="network.task"):
        Trainer(config(task="multiclass"), blobs(task="binary"))


# --- controls -------------------------------------------------------------------------------


def test_learning_rate_change_mid_run_keeps_weights_and_state():
    tr = Trainer(config(opt="momentum", lr=0.05), blobs())
    tr.run(seconds=60, max_steps=20)
    before, velocity = (
        params_copy(tr),
        {k: v["velocity"].copy() for k, v in tr.optimizer.state.items()},
    )
    tr.set_learning_rate(0.2)
    assert tr.step_count == 20
    for k, v in before.items():
        np.testing.assert_array_equal(tr.network.params[k], v)
    for k, v in velocity.items():
        np.testing.assert_array_equal(tr.optimizer.state[k]["velocity"], v)
    assert tr.history.events[-1]["kind"] == "lr_change" and tr.history.events[-1]["step"] == 20
    tr.step()
    assert tr.history.run["learning_rate"].last() == 0.2
    assert tr.snapshot().learning_rate == 0.2
    with pytest.raises(ConfigError):
        tr.set_learning_rate(-1.0)


def test_divergence_stops_with_a_reason_and_finite_weights():
    cfg = config(hidden=(16, 16), activation="relu", task="regression", lr=10.0, batch=40)
    ds = blobs(task="regression")
    ds.y_train = ds.y_train * 1e3
    tr = Trainer(cfg, ds)
    tr.run(seconds=60, max_steps=500)
    assert tr.stopped
    assert tr.stop_reason.startswith("diverged at step ")
    assert "smaller learning rate" in tr.stop_reason
    snap = tr.snapshot()
    assert snap.divergence.diverged and snap.divergence.step == tr.step_count + 1
    assert str(snap.divergence.step) in tr.stop_reason
    assert all(np.isfinite(v).all() for v in tr.network.params.values())
    steps = tr.step_count
    tr.step()
    assert tr.run(seconds=60, max_steps=10) == 0 and tr.step_count == steps
    assert tr.history.events[-1]["kind"] == "diverged"


def test_frozen_blocks_get_no_updates():
    cfg = config(hidden=(8, 8))
    cfg.network.frozen = [0, 2]
    tr = Trainer(cfg, blobs())
    before = params_copy(tr)
    tr.run(seconds=60, max_steps=30)
    for k in ("0.W", "0.b", "2.W", "2.b"):
        np.testing.assert_array_equal(tr.network.params[k], before[k])
    assert not np.array_equal(tr.network.params["1.W"], before["1.W"])
    assert set(tr.optimizer.state) <= {"1.W", "1.b"}


@pytest.mark.parametrize("seed", range(5))  # data and weights; measured ratios ~0.55 and ~0.72
def test_l2_shrinks_weights_and_l1_zeroes_them(seed):
    def weight_norm(tr):
        return sum(np.linalg.norm(tr.network.params[b.weight_key]) for b in tr.network.blocks)

    runs = {}
    for name, reg in {"none": {}, "l2": {"l2": 0.05}, "l1": {"l1": 0.01}}.items():
        tr = Trainer(config(lr=0.1, seed=seed), blobs(seed=seed))
        tr.set_regularization(**reg)
        tr.run(seconds=60, max_steps=300)
        runs[name] = tr
    assert weight_norm(runs["l2"]) < 0.8 * weight_norm(runs["none"])
    assert weight_norm(runs["l1"]) < 0.9 * weight_norm(runs["none"])
    assert runs["l2"].history.events[0]["kind"] == "regularization"


def test_max_norm_caps_every_unit():
    tr = Trainer(config(lr=0.5), blobs())
    tr.set_regularization(max_norm=0.5)
    tr.run(seconds=60, max_steps=50)
    for b in tr.network.blocks:
        cols = np.linalg.norm(tr.network.params[b.weight_key], axis=0)
        assert cols.max() <= 0.5 + 1e-9


def test_gradient_clipping_bounds_the_update():
    tr = Trainer(config(lr=0.1), blobs())
    tr.set_regularization(grad_clip=1e-3)
    before = params_copy(tr)
    tr.step()
    moved = np.sqrt(sum(np.sum((tr.network.params[k] - v) ** 2) for k, v in before.items()))
    assert 0 < moved <= 0.1 * 1e-3 * (1 + 1e-9)


def test_early_stopping_stops_and_restores_the_best_weights():
    es = EarlyStoppingConfig(enabled=True, patience=2, min_delta=1.0, restore_best=True)
    cfg = config(lr=0.1, eval_every=5, early_stopping=es)
    reference = Trainer(cfg, blobs())
    reference.run(seconds=60, max_steps=5)  # the first evaluation (step 5) is the best
    tr = Trainer(config(lr=0.1, eval_every=5, early_stopping=es), blobs())
    tr.run(seconds=60, max_steps=100)
    assert tr.stopped and tr.step_count == 15
    assert tr.stop_reason.startswith("early stopping at step 15")
    st = tr.snapshot().early_stopping
    assert st.stopped and st.restored and st.best_step == 5 and st.evals_since_best == 2
    for k, v in reference.network.params.items():
        np.testing.assert_array_equal(tr.network.params[k], v)


def test_plateau_schedule_cuts_the_rate_on_flat_validation_loss():
    cfg = config(lr=1e-6, eval_every=1)
    cfg.training.schedule.name = "plateau"
    cfg.training.schedule.plateau_patience = 1
    cfg.training.schedule.min_lr = 0.0
    tr = Trainer(cfg, blobs())
    tr.run(seconds=60, max_steps=40)
    assert tr.lr < 1e-6
    assert any(e["kind"] == "lr_plateau" for e in tr.history.events)


# --- telemetry ------------------------------------------------------------------------------


def test_history_stays_bounded_after_many_steps():
    tr = Trainer(config(hidden=(4,), stats_every=1, histogram_every=1, eval_every=1), blobs())
    tr.run(seconds=120, max_steps=4500)
    h = tr.history
    assert tr.step_count == 4500
    for series in list(h.run.values()) + [s for per in h.layers.values() for s in per]:
        assert len(series) <= series.capacity
    assert len(h.run["batch_loss"]) > 1000
    assert h.run["batch_loss"].steps[-1] == 4500
    assert len(h.histograms) <= h.histograms.capacity
    assert h.nbytes() < 20_000_000


def test_snapshot_fields_are_populated_and_copied():
    tr = Trainer(config(hidden=(8, 8), activation="tanh", histogram_every=10), blobs())
    tr.run(seconds=60, max_steps=12)
    snap = tr.snapshot()
    assert snap.step == 12 and snap.epoch == 3
    assert snap.learning_rate == 0.1
    for v in (snap.batch_loss, snap.train_loss, snap.val_loss):
        assert v is not None and np.isfinite(v) and v > 0
    assert 0 <= snap.train_accuracy <= 1 and 0 <= snap.val_accuracy <= 1
    assert [s.name for s in snap.layers] == [b.name for b in tr.network.blocks]
    for s in snap.layers:
        for v in (s.weight_norm, s.grad_norm, s.grad_mean_abs, s.update_ratio, s.act_std):
            assert np.isfinite(v) and v > 0
    assert snap.layers[0].saturated_frac is not None and snap.layers[0].dead_frac is None
    assert len(snap.weights) == len(tr.network.blocks)
    W, b = snap.weights[0]
    W[...] = 123.0
    assert not np.any(tr.network.params["0.W"] == 123.0)
    assert snap.histogram_step == 11 and len(snap.histograms) == 3
    h = snap.histograms[1]
    for hist in (h.weights, h.activations, h.gradients):
        assert len(hist.counts) == HISTOGRAM_BINS and len(hist.edges) == HISTOGRAM_BINS + 1
    assert h.weights.counts.sum() == tr.network.params["1.W"].size
    assert h.activations.edges[0] == -1.0 and h.activations.edges[-1] == 1.0  # tanh range
    assert not snap.early_stopping.stopped and not snap.divergence.diverged
    assert len(snap.history.layers["grad_norm"][0]) == 3  # steps 1, 6, 11 (stats_every 5)


def test_update_ratio_matches_the_sgd_step():
    tr = Trainer(config(lr=0.1, stats_every=1), blobs())
    W0 = tr.network.params["1.W"].copy()
    tr.step()
    W1, G = tr.network.params["1.W"], tr.network.grads["1.W"]
    s = tr.snapshot().layers[1]
    assert s.update_ratio == pytest.approx(np.linalg.norm(W1 - W0) / np.linalg.norm(W1))
    assert s.update_ratio == pytest.approx(0.1 * np.linalg.norm(G) / np.linalg.norm(W1))
    assert s.grad_mean_abs == pytest.approx(np.abs(G).mean())
    a = tr.network.blocks[1].last_output
    assert s.act_mean == pytest.approx(a.mean()) and s.act_std == pytest.approx(a.std())
    assert s.saturated_frac == pytest.approx(np.mean(np.abs(a) >= 0.95))


def test_dead_relu_fraction():
    tr = Trainer(config(hidden=(16,), activation="relu", stats_every=1), blobs())
    tr.network.params["0.b"][:5] = -1e3  # five units can never fire
    tr.step()
    s = tr.snapshot().layers[0]
    assert s.saturated_frac is None
    a = tr.network.blocks[0].last_output
    assert s.dead_frac == pytest.approx(np.mean(np.all(a <= 0, axis=0)))
    assert s.dead_frac >= 5 / 16


@pytest.mark.parametrize("seed", range(5))  # measured ratios 1e-7 to 1e-5
def test_vanishing_gradients_are_visible_in_a_deep_sigmoid_net(seed):
    cfg = config(hidden=(8,) * 10, activation="sigmoid", stats_every=1, seed=seed)
    tr = Trainer(cfg, blobs(seed=seed))
    tr.step()
    norms = [s.grad_norm for s in tr.snapshot().layers]
    assert len(norms) == 11
    assert norms[0] < 1e-3 * norms[-1]


def test_evaluate_multiclass_and_regression():
    tr = Trainer(config(task="multiclass"), blobs(task="multiclass"))
    ev = tr.evaluate()
    assert set(ev) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert 0 <= ev["val_accuracy"] <= 1
    reg = Trainer(config(task="regression"), blobs(task="regression"))
    ev = reg.evaluate()
    assert ev["val_accuracy"] is None and ev["val_loss"] > 0


def test_evaluate_agrees_with_the_network():
    ds = blobs(n_train=60, n_test=50)
    tr = Trainer(config(lr=0.3), ds)
    tr.run(seconds=60, max_steps=20)
    ev = tr.evaluate()
    net = tr.network
    assert ev["val_loss"] == pytest.approx(net.loss(ds.X_test, ds.y_test, False))
    assert ev["train_loss"] == pytest.approx(net.loss(ds.X_train, ds.y_train, False))
    predicted = (net.predict(ds.X_test)[:, 0] > 0.5).astype(int)
    assert ev["val_accuracy"] == pytest.approx(np.mean(predicted == ds.y_test))


def test_neuron_outputs_go_through_the_dataset_transform():
    ds = blobs()
    ds.transform_fn = lambda raw: raw * 2.0
    tr = Trainer(config(hidden=(8, 4)), ds)
    grid = np.array([[0.0, 0.5], [1.0, -1.0], [2.0, 2.0]])
    outs = tr.neuron_outputs(grid)
    assert [o.shape for o in outs] == [(3, 8), (3, 4), (3, 1)]
    expected = tr.network.neuron_outputs(grid * 2.0)
    for a, b in zip(outs, expected, strict=True):
        np.testing.assert_allclose(a, b)


def test_batched_layer_stats_match_direct_values_across_batch_size_changes():
    # 25 points in batches of 10, 10, 5: the batch size changes inside one run
    tr = Trainer(config(hidden=(6,), activation="relu", batch=10, stats_every=1), blobs(n_train=25))
    recorded = []
    step = tr.optimizer.step

    def recording_step(params, grads, lr, keys):
        step(params, grads, lr, keys)
        W, G = tr.network.params["0.W"], tr.network.grads["0.W"]
        a = tr.network.blocks[0].last_output
        dead = np.mean(np.all(a <= 0, axis=0))
        recorded.append((np.linalg.norm(W), np.linalg.norm(G), a.mean(), a.std(), dead))

    tr.optimizer.step = recording_step
    tr.run(seconds=60, max_steps=8)
    layers = tr.history.layers
    got = [
        layers[m][0].values
        for m in ("weight_norm", "grad_norm", "act_mean", "act_std", "dead_frac")
    ]
    np.testing.assert_allclose(np.array(got).T, np.array(recorded), rtol=1e-9, atol=1e-12)
    assert layers["weight_norm"][0].steps.tolist() == list(range(1, 9))


# --- fast paths: flat buffers, bulk telemetry, subset evaluation ----------------------------


def test_layer_stats_of_a_big_net_measured_live_match_direct_values():
    # ~92k parameters: one pending slot, so the stats are computed from the live flat buffers
    tr = Trainer(config(hidden=(300, 300), activation="relu", stats_every=1), blobs())
    assert tr._telemetry.slots == 1
    W0 = tr.network.params["1.W"].copy()
    tr.step()
    W1, G = tr.network.params["1.W"], tr.network.grads["1.W"]
    s = tr.snapshot().layers[1]
    assert s.weight_norm == pytest.approx(np.linalg.norm(W1))
    assert s.grad_norm == pytest.approx(np.linalg.norm(G))
    assert s.grad_mean_abs == pytest.approx(np.abs(G).mean())
    assert s.update_ratio == pytest.approx(np.linalg.norm(W1 - W0) / np.linalg.norm(W1))
    a = tr.network.blocks[1].last_output
    assert s.act_mean == pytest.approx(a.mean()) and s.act_std == pytest.approx(a.std())
    assert s.dead_frac == pytest.approx(np.mean(np.all(a <= 0, axis=0)))


def test_batch_losses_reach_the_history_in_order_after_every_call():
    tr = Trainer(config(lr=0.1), blobs(n_train=25))  # epochs of 3 steps: flushed mid-run too
    losses = []
    original = tr.network.loss

    def recording_loss(X, y, training=False):
        value = original(X, y, training)
        if training:
            losses.append(value)
        return value

    tr.network.loss = recording_loss
    tr.step()
    assert tr.history.run["batch_loss"].steps.tolist() == [1]
    tr.run(seconds=60, max_steps=10)
    series = tr.history.run["batch_loss"]
    assert series.steps.tolist() == list(range(1, 12))
    np.testing.assert_array_equal(series.values, losses)
    assert tr.history.run["learning_rate"].steps.tolist() == list(range(1, 12))


def test_frozen_middle_block_splits_the_update_and_clipping_sees_all_live_grads():
    cfg = config(hidden=(8, 8), opt="adam", lr=0.01)
    cfg.network.frozen = [1]
    tr = Trainer(cfg, blobs())
    assert len(tr._live_grads) == 2  # blocks 0 and 2: two runs of the flat buffer
    before = params_copy(tr)
    tr.set_regularization(grad_clip=1e-3)
    tr.run(seconds=60, max_steps=5)
    for k in ("1.W", "1.b"):
        np.testing.assert_array_equal(tr.network.params[k], before[k])
    assert set(tr.optimizer.state) == {"0.W", "0.b", "2.W", "2.b"}
    m = tr.optimizer.state["2.W"]["m"]
    assert m.shape == tr.network.params["2.W"].shape and np.any(m != 0)
    g = np.concatenate([tr.network.grads[k].ravel() for k in ("0.W", "0.b", "2.W", "2.b")])
    assert np.sqrt(tr._grad_sum_squares()) == pytest.approx(np.linalg.norm(g))


def test_divergence_rolls_back_batch_norm_parameters_too():
    cfg = config(hidden=(16, 16), activation="relu", task="regression", lr=10.0, batch=40)
    for layer in cfg.network.hidden:
        layer.batch_norm = True
    ds = blobs(task="regression")
    ds.y_train = ds.y_train * 1e30
    tr = Trainer(cfg, ds)
    tr.run(seconds=60, max_steps=500)
    assert tr.stopped and tr.stop_reason.startswith("diverged at step ")
    assert np.isfinite(tr.network.flat_params).all()


def test_periodic_evaluation_uses_fewer_points_for_big_nets_on_small_sets():
    assert eval_points(100, 250) == EVAL_MAX
    assert eval_points(110_000, 2_500) == EVAL_MIN
    assert eval_points(110_000, 8_000) == 800  # a tenth of the training points
    assert eval_points(10**7, 100) == EVAL_MIN
    ds = blobs(n_train=40, n_test=30)
    tr = Trainer(config(), ds)
    ev, full = tr.evaluate(max_points=EVAL_MAX), tr.evaluate()
    assert ev == pytest.approx(full)  # small sets: the subsets are the whole splits


# --- types and values of what the trainer hands out ---------------------------------------------


def test_step_says_whether_training_goes_on():
    cfg = config(hidden=(16, 16), activation="relu", task="regression", lr=10.0, batch=40)
    ds = blobs(task="regression")
    ds.y_train = ds.y_train * 1e3
    tr = Trainer(cfg, ds)
    results = [tr.step() for _ in range(500)]
    assert results[0] is True and tr.stopped
    first_false = results.index(False)
    assert all(results[:first_false]) and not any(results[first_false:])
    assert tr.step_count == first_false  # the step that diverged is not applied


def test_a_snapshot_is_a_value_training_on_does_not_change():
    tr = Trainer(config(hidden=(4,), stats_every=1, histogram_every=1), blobs())
    tr.run(seconds=60, max_steps=7)
    snap = tr.snapshot()
    lengths = {name: len(s) for name, s in snap.history.run.items()}
    grad_norms = snap.history.layers["grad_norm"][0].values.copy()
    n_hists, n_events = len(snap.history.histograms), len(snap.history.events)
    tr.run(seconds=60, max_steps=30)
    tr.set_learning_rate(0.05)
    assert {name: len(s) for name, s in snap.history.run.items()} == lengths
    np.testing.assert_array_equal(snap.history.layers["grad_norm"][0].values, grad_norms)
    assert len(snap.history.histograms) == n_hists and len(snap.history.events) == n_events
    assert snap.history.run["batch_loss"].steps[-1] == 7
    with pytest.raises((ValueError, IndexError)):
        snap.history.run["batch_loss"].append(8, 0.1)
    snap.history.run["batch_loss"].values[0] = 0.0  # a copy: the snapshot keeps its values
    assert snap.history.run["batch_loss"].values[0] > 0.0
    assert len(tr.history.run["batch_loss"]) == 37  # the trainer's own history goes on


def test_snapshot_fields_are_typed_and_weights_are_copied_only_when_asked():
    tr = Trainer(config(), blobs())
    tr.run(seconds=60, max_steps=5)
    snap = tr.snapshot(weights=False)
    assert snap.weights is None
    assert snap.eval_step == 4 and snap.stop_reason == "" and snap.epoch_progress == 0.25
    assert not hasattr(snap, "extras")
    weights = tr.weights()
    assert [W.shape for W, _ in weights] == [tr.network.params[b.weight_key].shape
                                             for b in tr.network.blocks]  # fmt: skip
    weights[0][0][...] = 7.0
    assert not np.any(tr.network.params["0.W"] == 7.0)
    with pytest.raises(AttributeError):
        snap.step = 3  # frozen


def test_a_refused_regularization_change_changes_nothing():
    tr = Trainer(config(), blobs())
    with pytest.raises(ConfigError, match="training.regularization.l2"):
        tr.set_regularization(l1=0.5, l2=-1.0)
    assert tr.l1 == 0.0 and tr.config.training.regularization.l1 == 0.0
    assert not tr.history.events


@pytest.mark.parametrize(
    "path",
    [
        "training.optimizer.learning_rate",
        "training.regularization.l1",
        "training.regularization.l2",
        "training.regularization.max_norm",
        "training.regularization.grad_clip",
    ],
)
def test_mid_run_controls_accept_exactly_the_config_range(path):
    from core.config import limits

    tr = Trainer(config(), blobs())
    name = path.rsplit(".", 1)[1]

    def change(value):
        if name == "learning_rate":
            tr.set_learning_rate(value)
        else:
            tr.set_regularization(**{name: value})

    lo, hi = limits(path)
    change(hi)
    change(lo)
    for bad in (hi * 1.01 + 1e-9, lo - 1e-9, float("nan"), True):
        with pytest.raises(ConfigError, match=path):
            change(bad)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_batches_gathered_per_step_train_exactly_as_preshuffled_ones(monkeypatch, batch_norm):
    """Big batches are gathered each step into one reused buffer, small ones sliced from the
    epoch's shuffled copy: the same batches, bit for bit (25 points: a partial last batch)."""
    import core.trainer as trainer_module

    cfg = config(hidden=(8, 8), batch=10, stats_every=3, histogram_every=7)
    for layer in cfg.network.hidden:
        layer.batch_norm = batch_norm
    sliced = Trainer(cfg, blobs(n_train=25))
    monkeypatch.setattr(trainer_module, "BATCH_GATHER_BYTES", 0)
    gathered = Trainer(cfg, blobs(n_train=25))
    assert sliced._preshuffle and not gathered._preshuffle
    for tr in (sliced, gathered):
        tr.run(seconds=60, max_steps=40)
    np.testing.assert_array_equal(sliced.network.flat_params, gathered.network.flat_params)
    np.testing.assert_array_equal(
        sliced.history.run["batch_loss"].values, gathered.history.run["batch_loss"].values
    )


def test_big_net_stats_wait_for_the_flush_and_match_direct_values_whenever_flushed():
    """One slot: the weight metrics are measured at each stats step, the activations and the
    recording wait for the flush; values match direct ones and do not depend on when we flush
    (one run of 8 steps or 8 single steps; the batch size changes at each epoch end)."""
    cfg = config(hidden=(300, 300), activation="relu", batch=10, stats_every=1)
    runs = {}
    for how in ("run", "steps"):
        tr = Trainer(cfg, blobs(n_train=25))
        assert tr._telemetry.slots == 1
        recorded, step = [], tr.optimizer.step

        def recording_step(params, grads, lr, keys, tr=tr, recorded=recorded, step=step):
            before = tr.network.params["1.W"].copy()
            step(params, grads, lr, keys)
            W, G = tr.network.params["1.W"], tr.network.grads["1.W"]
            a = tr.network.blocks[1].last_output
            ratio = np.linalg.norm(W - before) / np.linalg.norm(W)
            recorded.append((np.linalg.norm(W), np.linalg.norm(G), ratio, a.mean(), a.std()))

        tr.optimizer.step = recording_step
        if how == "run":
            tr.run(seconds=60, max_steps=8)
        else:
            for _ in range(8):
                tr.step()
        metrics = ("weight_norm", "grad_norm", "update_ratio", "act_mean", "act_std")
        got = np.array([tr.history.layers[m][1].values for m in metrics]).T
        np.testing.assert_allclose(got, np.array(recorded), rtol=2e-5, atol=1e-9)
        assert tr.history.layers["weight_norm"][1].steps.tolist() == list(range(1, 9))
        runs[how] = got
    np.testing.assert_array_equal(runs["run"], runs["steps"])


# --- capture_state / restore_state (checkpoints for core.experiment) ------------------------


def _trickier(dtype: str, opt: str, dropout: float, batch_norm: bool) -> PlaygroundConfig:
    """A run whose future depends on every piece of state: optimizer slots, dropout's random
    stream, batch-norm running averages, a decaying schedule, periodic evaluation."""
    cfg = config(opt=opt, lr=0.05, eval_every=7, stats_every=3, histogram_every=11)
    cfg.network.dtype = dtype
    for layer in cfg.network.hidden:
        layer.dropout, layer.batch_norm = dropout, batch_norm
    cfg.training.schedule.name, cfg.training.schedule.step_size = "exponential", 20
    return cfg


@pytest.mark.parametrize(
    "dtype, opt, dropout, batch_norm",
    [("float64", "adam", 0.2, False), ("float32", "momentum", 0.0, True)],
)
def test_a_restored_state_trains_on_bit_identically(dtype, opt, dropout, batch_norm):
    cfg = _trickier(dtype, opt, dropout, batch_norm)
    data = blobs(n_train=37)  # an epoch of 4 batches: the state is captured mid-epoch
    original = Trainer(cfg, data)
    original.run(seconds=60, max_steps=13)
    state = original.capture_state()
    tel = original._telemetry
    rollback = tel.before[tel.last_slot].copy()  # where a divergence would roll back to
    original.run(seconds=60, max_steps=40)
    copy = Trainer(_trickier(dtype, opt, dropout, batch_norm), data)
    assert copy.restore_state(state, original.history) == []
    np.testing.assert_array_equal(copy._telemetry.before[copy._telemetry.last_slot], rollback)
    assert (copy.step_count, copy.epoch) == (13, 3)
    copy.run(seconds=60, max_steps=40)
    for key in original.network.params:
        np.testing.assert_array_equal(copy.network.params[key], original.network.params[key])
    for key in original.network.buffers:
        np.testing.assert_array_equal(copy.network.buffers[key], original.network.buffers[key])
    for name in ("batch_loss", "val_loss", "learning_rate"):
        ours, theirs = copy.history.run[name], original.history.run[name]
        np.testing.assert_array_equal(ours.steps, theirs.steps)
        np.testing.assert_array_equal(ours.values, theirs.values)
    assert copy.snapshot().layers == original.snapshot().layers


def test_restoring_its_own_earlier_state_rewinds_a_trainer_and_its_history():
    tr = Trainer(_trickier("float64", "adam", 0.2, False), blobs())
    tr.run(seconds=60, max_steps=10)
    state = tr.capture_state()
    tr.run(seconds=60, max_steps=30)
    after = params_copy(tr)
    tr.restore_state(state)
    assert tr.step_count == 10
    assert tr.history.run["batch_loss"].steps.max() == 10
    assert all(e["step"] <= 10 for e in tr.history.events)
    tr.run(seconds=60, max_steps=30)
    for key, value in after.items():
        np.testing.assert_array_equal(tr.network.params[key], value)


def test_a_captured_state_is_a_read_only_copy():
    tr = Trainer(config(opt="adam"), blobs())
    tr.run(seconds=60, max_steps=5)
    state = tr.capture_state()
    before = state.params.copy()
    tr.run(seconds=60, max_steps=5)
    np.testing.assert_array_equal(state.params, before)
    with pytest.raises(ValueError):
        state.params[0] = 1.0
    assert state.nbytes() >= state.params.nbytes + state.order.nbytes


def test_a_state_restores_into_changed_settings_where_it_fits():
    tr = Trainer(config(opt="adam"), blobs())
    tr.run(seconds=60, max_steps=5)
    state = tr.capture_state()
    other = Trainer(config(opt="sgd", activation="relu"), blobs())  # same shapes
    fresh = other.restore_state(state, tr.history)
    assert fresh == ["optimizer state (adam before)"]
    np.testing.assert_array_equal(other.network.flat_params, tr.network.flat_params)
    assert other.step_count == 5
    with pytest.raises(ValueError, match="does not fit this network"):
        Trainer(config(hidden=(8, 3)), blobs()).restore_state(state)
    with pytest.raises(ValueError, match="batches of"):
        Trainer(config(batch=4), blobs()).restore_state(state)


def _diverging() -> tuple[PlaygroundConfig, Dataset]:
    """The regression run of test_divergence_stops_with_a_reason_and_finite_weights."""
    ds = blobs(task="regression")
    ds.y_train = ds.y_train * 1e3
    cfg = config(hidden=(16, 16), activation="relu", task="regression", lr=10.0, batch=40)
    return cfg, ds


def test_a_restored_stopped_run_stays_stopped_unless_told_to_go_on():
    tr = Trainer(*_diverging())
    tr.run(seconds=60, max_steps=500)
    assert tr.stopped
    state = tr.capture_state()
    again = Trainer(*_diverging())
    again.restore_state(state, tr.history)
    assert again.stopped and again.stop_reason == tr.stop_reason
    assert again.run(seconds=60, max_steps=10) == 0
    going = Trainer(*_diverging())
    going.restore_state(state, tr.history, keep_stop=False)
    assert not going.stopped and going.stop_reason == ""


def test_init_params_replace_the_seeds_draw():
    base = Trainer(config(), blobs())
    W = np.full_like(base.network.params["1.W"], 0.25)
    tr = Trainer(config(), blobs(), init_params={"1.W": W})
    np.testing.assert_array_equal(tr.network.params["1.W"], W)
    np.testing.assert_array_equal(tr.network.params["0.W"], base.network.params["0.W"])
    assert tr.history.events == []
    with pytest.raises(ValueError, match="shape mismatch"):
        Trainer(config(), blobs(), init_params={"1.W": W[:3]})


def test_steps_left_in_epoch():
    tr = Trainer(config(batch=10), blobs(n_train=40))
    assert tr.steps_left_in_epoch == 4
    tr.run(seconds=60, max_steps=3)
    assert tr.steps_left_in_epoch == 1
