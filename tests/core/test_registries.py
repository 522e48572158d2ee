"""Every registry entry is complete: a gap fails here, not silently at run time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import activations
from core.config import INITS
from core.initializers import resolve
from core.losses import HEADS, make_head


@pytest.mark.parametrize("name", activations.NAMES)
def test_every_activation_carries_all_its_facts(name):
    a = activations.REGISTRY[name]
    assert a.name == name and a.formula and a.derivative
    assert a.family in activations.FAMILIES
    lo, hi = a.bounds
    assert lo < hi
    assert a.init in INITS and a.init != "auto"
    assert resolve("auto", name) == a.init
    if a.saturates:
        assert a.finite_bounds is not None, "a saturating unit has bounds to saturate at"
    if a.rules is None:
        return  # a layer with parameters (prelu): core.layers checks it
    x = np.linspace(-40.0, 40.0, 40_001)
    act = activations.make_activation(name)
    y = act.f(x)
    assert np.all(np.isfinite(y)) and y.min() >= lo - 1e-12 and y.max() <= hi + 1e-12
    if a.can_die:  # the identity right of zero, a weaker slope left of it
        np.testing.assert_array_equal(act.df(x[x > 0], y[x > 0]), 1.0)
        assert np.max(np.abs(act.df(x[x < -1], y[x < -1]))) < 0.5
    if a.saturates:  # the gradient vanishes towards both bounds
        assert max(act.df(x[:1], y[:1])[0], act.df(x[-1:], y[-1:])[0]) < 1e-8


def test_bounds_are_the_functions_real_range():
    """Tight where finite: the function reaches within 1% of each finite bound."""
    x = np.linspace(-40.0, 40.0, 400_001)
    for name in activations.ELEMENTWISE:
        a = activations.REGISTRY[name]
        y = activations.make_activation(name).f(x)
        for bound, reached in ((a.bounds[0], y.min()), (a.bounds[1], y.max())):
            if math.isfinite(bound):
                assert abs(reached - bound) <= 0.01 * max(1.0, abs(bound)), (name, bound)


@pytest.mark.parametrize("name", HEADS)
def test_every_head_states_its_output_range(name):
    """The telemetry bins and saturation count read a head's bounds: its output stays inside
    them for any logits, and reaches within 1% of each finite bound."""
    head = make_head(name)
    assert isinstance(head.saturates, bool)
    x = np.linspace(-40.0, 40.0, 2001)
    Z = np.stack([x, -x, np.zeros_like(x)]) if head.task == "multiclass" else x[None]
    out = head.output(Z)
    if head.bounds is None:
        assert not head.saturates
        return
    lo, hi = head.bounds
    margin = 0.01 * (hi - lo)
    assert lo <= out.min() <= lo + margin and hi - margin <= out.max() <= hi
