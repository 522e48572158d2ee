"""Controlled experiments: clones, lockstep, checkpoints, time travel, branches, limits."""

import math
import random

import numpy as np
import pytest

from core.config import PlaygroundConfig
from core.data import load_dataset
from core.experiment import (
    MAX_CHECKPOINTS,
    MAX_RUNS,
    BranchError,
    Checkpoint,
    CheckpointStore,
    Experiment,
    ExperimentError,
    OverLimit,
    TooManyRuns,
    checkpoint_steps,
    keeps,
    next_checkpoint,
)
from core.trainer import Trainer
from tests.core.test_trainer import blobs


class CountingLoader:
    """The playground's data loader, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, cfg: PlaygroundConfig):
        self.calls += 1
        return load_dataset(cfg.data)


def base_config(dtype="float64", **training) -> PlaygroundConfig:
    cfg = PlaygroundConfig()
    cfg.network.dtype = dtype
    cfg.data.n_points = 200
    for key, value in training.items():
        setattr(cfg.training, key, value)
    return cfg


def params(run) -> dict:
    return {k: v.copy() for k, v in run.trainer.network.params.items()}


def assert_same_params(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# --- clones ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_clone_with_nothing_changed_trains_bit_identically_step_for_step(dtype):
    cfg = base_config(dtype)
    cfg.network.hidden[0].dropout = 0.3  # the dropout stream must be the same too
    cfg.training.optimizer.name = "adam"
    ex = Experiment(cfg, CountingLoader())
    ex.compare()
    a, b = ex["A"], ex["B"]
    for _ in range(30):
        ex.step()
        assert_same_params(params(a), params(b))
    ex.run(math.inf, max_steps=400)
    assert a.step == b.step == 430
    assert_same_params(params(a), params(b))
    np.testing.assert_array_equal(
        a.trainer.history.run["val_loss"].values, b.trainer.history.run["val_loss"].values
    )
    alone = Trainer(a.config, a.dataset)  # lockstep and checkpoints change nothing
    alone.run(math.inf, max_steps=430)
    assert_same_params(params(a), {k: v.copy() for k, v in alone.network.params.items()})


def test_a_clone_changing_the_activation_keeps_the_data_batch_order_and_shared_weights():
    loader = CountingLoader()
    ex = Experiment(base_config(), loader)
    a_start = params(ex["A"])
    b = ex.compare(activation="relu")  # init "auto": He normal for ReLU, Xavier for tanh
    a = ex["A"]
    assert loader.calls == 1 and a.dataset is b.dataset
    assert not np.array_equal(b.trainer.network.params["0.W"], a_start["0.W"])
    for key in ("2.W", "2.b"):  # the output layer: same shape, same initializer
        np.testing.assert_array_equal(b.trainer.network.params[key], a_start[key])
    for _ in range(3):
        ex.epoch_step()
        np.testing.assert_array_equal(a.trainer._order, b.trainer._order)
        assert a.trainer.epoch == b.trainer.epoch and a.step == b.step


def test_a_clone_with_a_wider_first_layer_keeps_the_output_layers_initial_weights():
    ex = Experiment(base_config(), CountingLoader())
    a_start = params(ex["A"])
    b = ex.compare(changes={"network.hidden[0].units": 6})
    ours = b.trainer.network.params
    np.testing.assert_array_equal(ours["2.W"], a_start["2.W"])  # (2, 1) in both
    fresh = Trainer(b.config, b.dataset).network.params["2.W"]  # the seed's draw moved on
    assert not np.array_equal(fresh, a_start["2.W"])


def test_a_clone_with_an_explicit_initializer_shares_every_initial_weight():
    cfg = base_config()
    cfg.network.init = "xavier_uniform"
    ex = Experiment(cfg, CountingLoader())
    b = ex.compare(activation="relu", changes={"network.hidden[1].units": 3})
    a = ex["A"].trainer.network.params
    np.testing.assert_array_equal(b.trainer.network.params["0.W"], a["0.W"])
    assert b.trainer.network.params["1.W"].shape != a["1.W"].shape  # drawn fresh
    assert b.trainer.history.events == []  # no "started from saved weights"


def test_a_fifth_run_is_refused_with_a_message():
    ex = Experiment(base_config(), CountingLoader())
    for _ in range(MAX_RUNS - 1):
        ex.compare()
    assert ex.names == ["A", "B", "C", "D"]
    with pytest.raises(TooManyRuns, match="At most 4 runs"):
        ex.compare(learning_rate=0.1)
    with pytest.raises(TooManyRuns):
        ex.branch("A", 0, learning_rate=0.1)
    ex.remove_run("B")
    assert ex.compare().name == "B"


# --- lockstep ---------------------------------------------------------------------------------


def test_lockstep_keeps_every_run_at_the_same_step():
    ex = Experiment(base_config(), CountingLoader())
    ex.compare(batch_size=7)
    ex.compare(activation="sigmoid")
    for action in (ex.step, ex.epoch_step, lambda: ex.run(0.05), ex.step, ex.measure):
        action()
        assert {r.step for r in ex.runs} == {ex.step_count}
    assert ex.step_count > 2
    ex.reset()
    assert {r.step for r in ex.runs} == {0} and ex.step_count == 0


def _diverging_loader(cfg):
    data = blobs(task="regression")
    data.y_train = data.y_train * 1e3
    return data


def _regression_config(lr) -> PlaygroundConfig:
    cfg = base_config(batch_size=40)
    cfg.network.task, cfg.network.head = "regression", "linear_mse"
    cfg.network.hidden[0].units, cfg.network.hidden[1].units = 16, 16
    cfg.network.hidden[0].activation = cfg.network.hidden[1].activation = "relu"
    cfg.training.optimizer.learning_rate = lr
    return cfg


def test_a_diverging_run_stops_alone_with_its_reason_while_the_others_go_on():
    ex = Experiment(_regression_config(1e-6), _diverging_loader)
    ex.compare(learning_rate=10.0)
    ex.run(math.inf, max_steps=300)
    a, b = ex["A"], ex["B"]
    assert b.stopped and b.stop_reason.startswith("diverged at step")
    assert not a.stopped and a.step == ex.step_count == 300
    assert b.step < 300
    assert ex.at("B", 300).step == b.step  # its final state is kept
    assert ex.at("B", 300).stop_reason == b.stop_reason
    assert ex.active() == [a]


# --- checkpoints --------------------------------------------------------------------------------


def test_the_checkpoint_schedule_is_bounded_and_never_wants_back_what_it_dropped():
    rng = random.Random(0)
    ns = list(range(0, 3000)) + [rng.randrange(10**12) for _ in range(300)]
    for n in ns:
        kept = checkpoint_steps(n)
        assert kept[0] == 0 and kept[-1] <= n
        assert len(kept) <= MAX_CHECKPOINTS - 1  # one spare: a final state
        assert all(keeps(s, n) and keeps(s, s) for s in kept[:200])  # taken when reached
    for _ in range(300):
        n1 = rng.randrange(1, 10**9)
        n2 = n1 + rng.randrange(10**9)
        assert set(s for s in checkpoint_steps(n2) if s <= n1) <= set(checkpoint_steps(n1))


def test_a_store_driven_through_100k_steps_of_the_schedule_stays_bounded():
    store = CheckpointStore()
    state = _tiny_state()
    n, most = 0, 0
    store.add(Checkpoint(0, state, PlaygroundConfig(), pinned=True))
    while n < 100_000:
        n = next_checkpoint(n)
        store.add(Checkpoint(n, state, PlaygroundConfig()))
        store.thin(n)
        most = max(most, len(store))
    assert store.steps == checkpoint_steps(n)
    assert most <= MAX_CHECKPOINTS
    assert store.at(99_999).step <= 99_999 and store.at(3).step == 2


def _tiny_state():
    tr = Trainer(base_config(), load_dataset(base_config().data))
    return tr.capture_state()


def test_the_byte_budget_thins_a_store_further():
    state = _tiny_state()
    store = CheckpointStore(budget=10 * state.nbytes())
    for s in checkpoint_steps(1000):
        store.add(Checkpoint(s, state, PlaygroundConfig()))
    assert len(store) == 10 and store.nbytes() <= store.budget
    assert store.steps[0] == 0 and store.steps[-1] == checkpoint_steps(1000)[-1]


def test_an_experiment_keeps_its_checkpoints_by_the_schedule():
    ex = Experiment(base_config(), CountingLoader())
    ex.run(math.inf, max_steps=1000)
    assert ex.checkpoint_steps("A") == checkpoint_steps(1000)
    view = ex.at("A", 700)
    assert view.step == max(s for s in checkpoint_steps(1000) if s <= 700)
    assert ex.at("A", 5000).step == 1000  # not behind the run: its state now


def test_a_checkpoint_view_is_read_only_and_enough_to_draw():
    ex = Experiment(base_config(), CountingLoader())
    ex.run(math.inf, max_steps=64)
    before = params(ex["A"])
    ex.run(math.inf, max_steps=100)
    view = ex.at("A", 64)
    assert view.step == 64 and view.eval_step <= 64
    W, b = view.weights[0]
    np.testing.assert_array_equal(W, before["0.W"])
    with pytest.raises(ValueError):
        W[0, 0] = 1.0
    out = view.output_map()
    assert out is not None and np.isfinite(out.values).all()
    net = view.network
    net.params["0.W"] = np.zeros_like(net.params["0.W"])  # the caller's copy
    np.testing.assert_array_equal(ex.at("A", 64).weights[0][0], before["0.W"])


# --- branches ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_branch_with_nothing_changed_reproduces_the_original_exactly(dtype):
    cfg = base_config(dtype, stats_every=3, eval_every=50)
    cfg.network.hidden[0].dropout = 0.2
    cfg.training.optimizer.name = "adam"
    ex = Experiment(cfg, CountingLoader())
    ex.run(math.inf, max_steps=900)
    at_900 = params(ex["A"])
    losses = ex["A"].trainer.history.run["batch_loss"].values
    c = ex.branch("A", 700)  # the checkpoint at or before 700
    start = max(s for s in checkpoint_steps(900) if s <= 700)
    assert ex.step_count == start and ex["A"].step == start and c.step == start
    assert ex.differences("B") == []
    ex.run(math.inf, max_steps=900 - start)
    assert_same_params(params(ex["A"]), at_900)  # rewound A retraced its steps exactly
    assert_same_params(params(c), at_900)
    np.testing.assert_array_equal(ex["A"].trainer.history.run["batch_loss"].values, losses)


def test_a_branch_with_the_learning_rate_halved_differs_from_there_only():
    ex = Experiment(base_config(), CountingLoader())
    ex.run(math.inf, max_steps=600)
    b = ex.branch("A", 512, learning_rate=0.015)
    assert ex.differences("B") == [("training.optimizer.learning_rate", 0.015)]
    assert ex.differences_text("B") == "learning rate 0.015"
    assert b.origin == "branch of A at step 512"
    assert_same_params(params(b), params(ex["A"]))
    assert b.trainer.lr == 0.015 and ex["A"].trainer.lr == 0.03
    ex.run(math.inf, max_steps=50)
    assert not np.array_equal(params(b)["0.W"], params(ex["A"])["0.W"])
    assert any(e["kind"] == "branch" for e in b.trainer.history.events)
    # after a reset the branch trains as A did up to step 512, then on its own settings
    ex.reset()
    ex.run(math.inf, max_steps=512)
    assert_same_params(params(b), params(ex["A"]))
    assert b.trainer.lr == 0.015
    ex.run(math.inf, max_steps=10)
    assert not np.array_equal(params(b)["0.W"], params(ex["A"])["0.W"])


def test_a_branch_refuses_what_the_checkpoint_fixes():
    ex = Experiment(base_config(), CountingLoader())
    ex.run(math.inf, max_steps=100)
    with pytest.raises(BranchError, match="data.dataset"):
        ex.branch("A", 64, changes={"data.dataset": "xor"})
    with pytest.raises(BranchError, match="training.seed"):
        ex.branch("A", 64, changes={"training.seed": 3})
    with pytest.raises(BranchError, match="use Compare"):
        ex.branch("A", 64, changes={"network.hidden[0].units": 5})
    assert ex.names == ["A"] and ex.step_count == 100


def test_a_branch_may_change_the_activation_and_the_optimizer():
    ex = Experiment(base_config(), CountingLoader())
    ex.run(math.inf, max_steps=100)
    b = ex.branch("A", 64, activation="relu", changes={"training.optimizer.name": "adam"})
    assert ex.differences_text("B") == "activation relu, optimizer adam"
    ex.run(math.inf, max_steps=20)
    assert b.step == ex["A"].step == 84


# --- differences, controlled comparisons, limits --------------------------------------------


def test_differences_list_exactly_the_changed_settings():
    ex = Experiment(base_config(), CountingLoader())
    ex.compare(
        changes={"network.hidden[1].units": 3, "training.optimizer.name": "adam"},
        learning_rate=0.01,
    )
    assert ex.differences("B") == [
        ("network.hidden[1].units", 3),
        ("training.optimizer.name", "adam"),
        ("training.optimizer.learning_rate", 0.01),
    ]
    assert ex.differences_text("B") == "hidden 2 units 3, optimizer adam, learning rate 0.01"
    ex.compare(changes={"network.hidden": [{"units": 8}] * 3}, learning_rate=0.03)
    assert ex.differences("C") == [("network.hidden.units", [8, 8, 8])]
    assert ex.differences_text("C") == "layers 8-8-8"
    ex.compare(changes={"title": "mine"})  # a description, not a setting
    assert ex.differences("D") == []
    ex.remove_run("D")
    with pytest.raises(ExperimentError, match="give its path"):
        ex.compare(seed=3)
    with pytest.raises(ExperimentError, match="not allowed"):
        ex.compare(learning_rate=-1.0)


def test_other_data_or_features_is_flagged_as_not_a_controlled_comparison():
    loader = CountingLoader()
    ex = Experiment(base_config(), loader)
    ex.compare(activation="relu")
    assert ex.controlled and ex.warnings() == []
    ex.compare(changes={"data.features": ["x1", "x2", "x1x2"]})
    assert not ex.controlled
    (warning,) = ex.warnings()
    assert warning.startswith("C trains on other data than A") and "not a controlled" in warning
    assert loader.calls == 2


def test_limits_apply_to_the_sum_of_the_runs():
    cfg = base_config()
    cfg.network.hidden = cfg.network.hidden * 3  # 6 hidden layers
    ex = Experiment(cfg, CountingLoader())
    ex.compare(activation="relu")  # 12
    with pytest.raises(OverLimit, match="at most 16 hidden layers"):
        ex.compare()  # 18
    assert ex.names == ["A", "B"]
    assert ex.usage()["hidden layers"] == (12, 16)

    big = base_config()
    big.data.n_points = 3000
    ex = Experiment(big, CountingLoader())
    ex.compare(activation="relu")  # the same data, held once
    assert ex.usage()["data points"] == (3000, 5000)
    with pytest.raises(OverLimit, match="data points"):
        ex.compare(changes={"data.seed": 1})  # other data: 6,000 points
