"""Experiment.run without a time limit stops only at the checkpoints kept at its end: the
store is the schedule's whatever the calls' sizes, and training is the same bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.experiment import Experiment, checkpoint_steps
from tests.core.test_experiment import CountingLoader, assert_same_params, base_config, params


@pytest.mark.parametrize("end", [1, 7, 64, 1000, 5000])
def test_one_call_keeps_the_schedules_checkpoints_at_its_end(end):
    ex = Experiment(base_config(), CountingLoader())
    ex.compare(activation="relu")
    assert ex.run(math.inf, max_steps=end) == end
    for name in ex.names:
        assert ex.checkpoint_steps(name) == checkpoint_steps(end)


def test_calls_of_any_size_reach_the_same_weights_and_checkpoints():
    whole = Experiment(base_config(), CountingLoader())
    whole.run(math.inf, max_steps=3000)
    pieces = Experiment(base_config(), CountingLoader())
    for n in (1, 2, 5, 100, 892, 1000, 1000):
        pieces.run(math.inf, max_steps=n)
    stepped = Experiment(base_config(), CountingLoader())
    for _ in range(300):
        stepped.step()
    stepped.run(math.inf, max_steps=2700)
    for ex in (pieces, stepped):
        assert ex.step_count == 3000
        assert ex.checkpoint_steps("A") == whole.checkpoint_steps("A") == checkpoint_steps(3000)
        assert_same_params(params(ex["A"]), params(whole["A"]))
        for step in ex.checkpoint_steps("A"):
            np.testing.assert_array_equal(
                ex.at("A", step).state.params, whole.at("A", step).state.params
            )


def test_a_checkpoint_taken_by_one_call_is_the_run_as_it_was_then():
    ex = Experiment(base_config(), CountingLoader())
    ex.run(math.inf, max_steps=2000)
    again = Experiment(base_config(), CountingLoader())
    for step in (512, 1024, 1536):
        again.run(math.inf, max_steps=step - again.step_count)
        np.testing.assert_array_equal(
            ex.at("A", step).state.params, again.at("A", step).state.params
        )
