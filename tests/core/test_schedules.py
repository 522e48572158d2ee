"""Learning-rate schedules: values at given steps, plateau cuts, floor, restart mid-run."""

import pytest

from core.config import ScheduleConfig
from core.schedules import Schedule


def test_constant_never_changes():
    s = Schedule(ScheduleConfig(name="constant"))
    assert [s.lr(0.1, t) for t in (0, 1, 10**6)] == [0.1, 0.1, 0.1]
    assert not s.per_step
    assert s.on_eval(5.0) is False


def test_step_decay_halves_every_step_size():
    s = Schedule(ScheduleConfig(name="step", step_size=100, gamma=0.5, min_lr=0.0))
    assert s.per_step
    assert s.lr(0.4, 0) == 0.4
    assert s.lr(0.4, 99) == 0.4
    assert s.lr(0.4, 100) == pytest.approx(0.2)
    assert s.lr(0.4, 250) == pytest.approx(0.1)


def test_exponential_decay_is_smooth():
    s = Schedule(ScheduleConfig(name="exponential", step_size=100, gamma=0.5, min_lr=0.0))
    assert s.lr(1.0, 50) == pytest.approx(0.5**0.5)
    assert s.lr(1.0, 100) == pytest.approx(0.5)
    assert s.lr(1.0, 300) == pytest.approx(0.125)


def test_decay_is_floored_at_min_lr():
    s = Schedule(ScheduleConfig(name="step", step_size=1, gamma=0.1, min_lr=1e-3))
    assert s.lr(1.0, 10) == pytest.approx(1e-3)
    # a base rate already below the floor is left alone
    assert s.lr(1e-4, 10) == pytest.approx(1e-4)


def test_plateau_cuts_after_patience_evals_without_improvement():
    cfg = ScheduleConfig(name="plateau", plateau_patience=3, plateau_factor=0.5, min_lr=0.01)
    s = Schedule(cfg)
    assert not s.per_step
    cuts = [s.on_eval(v) for v in [1.0, 0.9, 0.8, 0.8, 0.81, 0.8]]
    assert cuts == [False, False, False, False, False, True]
    assert s.lr(0.2, 0) == pytest.approx(0.1)
    # improving again resets the count; three more flat evals cut again
    assert [s.on_eval(v) for v in [0.5, 0.5, 0.5, 0.5]] == [False, False, False, True]
    assert s.lr(0.2, 0) == pytest.approx(0.05)
    for _ in range(30):
        s.on_eval(0.5)
    assert s.lr(0.2, 0) == pytest.approx(0.01)  # floored at min_lr


def test_plateau_ignores_non_finite_values():
    s = Schedule(ScheduleConfig(name="plateau", plateau_patience=1))
    assert s.on_eval(float("nan")) is False
    assert s.best is None


def test_restart_counts_decay_from_the_new_origin():
    s = Schedule(ScheduleConfig(name="step", step_size=100, gamma=0.5, min_lr=0.0))
    assert s.lr(1.0, 250) == pytest.approx(0.25)
    s.restart(250)  # the user set a new rate at step 250: it applies now, decay resumes later
    assert s.lr(0.3, 250) == pytest.approx(0.3)
    assert s.lr(0.3, 349) == pytest.approx(0.3)
    assert s.lr(0.3, 350) == pytest.approx(0.15)
