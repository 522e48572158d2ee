"""Weights you can touch: a typed weight is what the next forward pass uses, the optimizer moves
it from there with its state kept, and a bad value or weight is refused with nothing changed."""

from __future__ import annotations

import numpy as np
import pytest

from core import microscope as M
from core.config import MAX_TYPED_WEIGHT, LayerConfig, PlaygroundConfig
from core.data import load_dataset
from core.evaluation import EVAL_MAX
from core.trainer import Trainer
from core.weight_edit import (
    OPTIMIZER_STATE,
    WeightEditError,
    current_value,
    flat_index,
    parse_value,
    set_weight,
)

W_HIDDEN = M.WeightChoice(block=0, from_unit=1, to_unit=2)  # x2 → hidden 1 #3
BIAS_OUT = M.WeightChoice(block=2, from_unit=3, to_unit=0)  # bias → output #1 (fan-in 3)


def trainer(optimizer="sgd", dtype="float64", frozen=(), kind="dense", steps=3) -> Trainer:
    cfg = PlaygroundConfig()
    cfg.data.n_points = 100
    cfg.network.dtype = dtype
    cfg.network.hidden = [LayerConfig(4, "tanh", kind=kind), LayerConfig(3, "tanh")]
    cfg.network.frozen = list(frozen)
    cfg.training.optimizer = type(cfg.training.optimizer).picked(optimizer)
    t = Trainer(cfg, load_dataset(cfg.data))
    for _ in range(steps):
        t.step()
    return t


def test_the_next_forward_pass_uses_the_typed_value():
    t = trainer()
    X = t.dataset.X_test
    expected = M.clone(t.network)
    expected.params["0.W"][1, 2] = 1.75  # the ordinary way in, on a separate network
    edit = set_weight(t, W_HIDDEN, "1.75")
    assert (edit.before, edit.after) != (1.75, 1.75) and edit.after == 1.75
    assert t.network.params["0.W"][1, 2] == 1.75 == current_value(t, W_HIDDEN)
    np.testing.assert_array_equal(t.network.predict(X), expected.predict(X))
    assert edit.label == "x₂ → hidden 1 #3"


def test_a_bias_is_the_row_after_the_weights():
    t = trainer()
    set_weight(t, BIAS_OUT, -2.5)
    assert t.network.params["2.b"][0] == -2.5
    assert flat_index(t.network, BIAS_OUT) == t.network.slices["2.b"].start


def test_a_maxout_piece_is_its_column():
    t = trainer(kind="maxout")
    piece = M.WeightChoice(block=0, from_unit=0, to_unit=5)  # unit 3, piece 2
    set_weight(t, piece, 0.625)
    assert t.network.params["0.W"][0, 5] == 0.625


def test_sgd_moves_the_typed_value_by_the_gradient_at_the_typed_value():
    t = trainer("sgd")
    set_weight(t, W_HIDDEN, 3.0)
    plan = M.next_step(t)
    twin = M.clone(t.network)  # holds the typed value
    twin.loss(plan.X, plan.y, True)
    twin.backward()
    g = twin.grads["0.W"][1, 2]
    assert g != 0
    t.step()
    assert t.network.params["0.W"][1, 2] == pytest.approx(3.0 - t.lr * g, abs=1e-15)


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "rmsprop"])
def test_the_optimizer_keeps_its_state_and_updates_from_the_typed_value(optimizer):
    assert OPTIMIZER_STATE == "kept"
    t = trainer(optimizer)
    slots = {k: {n: a.copy() for n, a in s.items()} for k, s in t.optimizer._store.items()}
    assert slots, "the optimizer has state after a few steps"
    set_weight(t, W_HIDDEN, -4.0)
    for key, state in slots.items():
        for name, array in state.items():
            np.testing.assert_array_equal(t.optimizer._store[key][name], array)
    # the microscope computes the next update on copies, from the state as it is now
    preview = M.examine(t, None, W_HIDDEN).update
    assert preview.weight_before == -4.0
    t.step()
    assert t.network.params["0.W"][1, 2] == pytest.approx(preview.weight_after, abs=1e-12)
    assert t.network.params["0.W"][1, 2] != -4.0


def test_a_frozen_block_keeps_the_typed_value():
    t = trainer(frozen=[0])
    edit = set_weight(t, W_HIDDEN, 0.5)
    assert edit.frozen and "frozen" in edit.message
    for _ in range(5):
        t.step()
    assert t.network.params["0.W"][1, 2] == 0.5


def test_float32_stores_the_nearest_float32():
    t = trainer(dtype="float32")
    edit = set_weight(t, W_HIDDEN, "0.1")
    assert edit.after == float(np.float32(0.1)) == current_value(t, W_HIDDEN)


def test_the_shown_loss_is_measured_on_the_edited_weights_and_the_edit_is_recorded():
    t = trainer()
    before = dict(t.last_eval)
    edit = set_weight(t, BIAS_OUT, 50.0)
    assert t.last_eval == t.evaluate(EVAL_MAX)
    assert t.last_eval["train_loss"] != before["train_loss"]
    assert t.history.events[-1]["kind"] == "weight_edit"
    assert t.history.events[-1]["text"] == edit.message


BAD_TEXT = ["", "  ", "abc", "1,5", "nan", "NaN", "inf", "-inf", "1e400", "101", "-100.5", "0x1"]


@pytest.mark.parametrize("bad", [*BAD_TEXT, float("nan"), float("inf"), -1e9, True, None, [1]])
def test_a_bad_value_is_refused_and_nothing_changes(bad):
    t = trainer("adam")
    params = t.network.flat_params.copy()
    slots = {k: {n: a.copy() for n, a in s.items()} for k, s in t.optimizer._store.items()}
    ev, events = dict(t.last_eval), len(t.history.events)
    with pytest.raises(WeightEditError) as err:
        set_weight(t, W_HIDDEN, bad)
    assert str(err.value)  # a message for the user
    np.testing.assert_array_equal(t.network.flat_params, params)
    assert t.last_eval == ev and len(t.history.events) == events
    for key, state in slots.items():
        for name, array in state.items():
            np.testing.assert_array_equal(t.optimizer._store[key][name], array)


def test_the_messages_say_why():
    assert "not a number" in str(_refusal("abc"))
    assert "finite" in str(_refusal("nan"))
    assert f"from {-MAX_TYPED_WEIGHT:g} to {MAX_TYPED_WEIGHT:g}" in str(_refusal("1000"))
    assert parse_value(" -100 ") == -MAX_TYPED_WEIGHT and parse_value("1e-3") == 0.001


@pytest.mark.parametrize(
    "weight",
    [
        M.WeightChoice(3, 0, 0),  # no such layer
        M.WeightChoice(-1, 0, 0),
        M.WeightChoice(0, 3, 0),  # hidden 1 has 2 inputs and a bias: from 0..2
        M.WeightChoice(0, 0, 4),  # hidden 1 has 4 units
    ],
)
def test_a_weight_that_does_not_exist_is_refused(weight):
    t = trainer()
    params = t.network.flat_params.copy()
    with pytest.raises(WeightEditError, match="no such weight"):
        set_weight(t, weight, 1.0)
    np.testing.assert_array_equal(t.network.flat_params, params)


def _refusal(text) -> WeightEditError:
    with pytest.raises(WeightEditError) as err:
        parse_value(text)
    return err.value
