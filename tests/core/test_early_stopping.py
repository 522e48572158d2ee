"""Early stopping on scripted validation sequences."""

import numpy as np
import pytest

from core.config import EarlyStoppingConfig
from core.early_stopping import EarlyStopping


def feed(es: EarlyStopping, losses=None, accs=None) -> list[bool]:
    n = len(losses if losses is not None else accs)
    out = []
    for i in range(n):
        loss = None if losses is None else losses[i]
        acc = None if accs is None else accs[i]
        out.append(es.update((i + 1) * 10, loss, acc))
    return out


def test_improving_sequence_never_stops():
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, patience=2))
    assert feed(es, losses=[1.0, 0.8, 0.6, 0.5, 0.4]) == [True] * 5
    st = es.state
    assert not st.stopped
    assert st.best_value == 0.4 and st.best_step == 50 and st.evals_since_best == 0


def test_plateau_stops_after_patience_evals():
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, patience=3))
    improved = feed(es, losses=[1.0, 0.5, 0.6, 0.55, 0.7, 0.4])
    assert improved == [True, True, False, False, False, False]
    st = es.state
    assert st.stopped and st.stopped_step == 50
    assert st.best_value == 0.5 and st.best_step == 20
    assert st.evals_since_best == 3
    assert "test loss has not improved" in st.reason and "best 0.5 at step 20" in st.reason
    # once stopped, later values change nothing
    assert es.best_value == 0.5


def test_min_delta_demands_a_real_improvement():
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, patience=2, min_delta=0.1))
    # 0.95 and 0.91 are better than 1.0 but by less than 0.1
    assert feed(es, losses=[1.0, 0.95, 0.91]) == [True, False, False]
    assert es.state.stopped
    es2 = EarlyStopping(EarlyStoppingConfig(enabled=True, patience=2, min_delta=0.1))
    assert feed(es2, losses=[1.0, 0.95, 0.85]) == [True, False, True]
    assert not es2.state.stopped


def test_accuracy_mode_maximises():
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, monitor="val_accuracy", patience=2))
    assert feed(es, accs=[0.5, 0.7, 0.6, 0.7]) == [True, True, False, False]
    st = es.state
    assert st.stopped and st.best_value == 0.7 and st.best_step == 20
    assert st.monitor == "val_accuracy"


def test_disabled_tracks_the_best_but_never_stops():
    es = EarlyStopping(EarlyStoppingConfig(enabled=False, patience=1))
    feed(es, losses=[1.0, 2.0, 3.0, 4.0])
    st = es.state
    assert not st.stopped and not st.enabled and st.best_value == 1.0 and st.evals_since_best == 3


def test_nan_is_never_an_improvement():
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, patience=5))
    assert feed(es, losses=[float("nan"), 1.0, float("nan")]) == [False, True, False]


def test_restore_best_keeps_a_copy_of_the_best_state():
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, patience=1, restore_best=True))
    weights = {"0.W": np.array([1.0, 2.0])}
    for step, loss in [(1, 1.0), (2, 0.5), (3, 0.9)]:
        if es.update(step, loss, None):
            es.keep_best(weights)
        weights["0.W"] += 1.0  # training goes on, mutating the arrays in place
    assert es.state.stopped
    np.testing.assert_array_equal(es.best_state["0.W"], [2.0, 3.0])  # as at step 2
    assert not es.state.restored
    es.mark_restored()
    assert es.state.restored


@pytest.mark.parametrize("monitor", ["val_loss", "val_accuracy"])
def test_missing_value_is_skipped(monitor):
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, monitor=monitor, patience=1))
    assert es.update(1, None, None) is False
    assert es.state.evals_since_best == 0


def test_the_reason_says_why_once_without_repeating_where_or_the_restore():
    """The app writes "Early stopping at step N: <reason>. The best weights were restored.":
    the reason itself must not say the step or the restore again."""
    es = EarlyStopping(EarlyStoppingConfig(enabled=True, patience=2, monitor="val_accuracy"))
    feed(es, losses=[1.0, 1.0, 1.0], accs=[0.9, 0.8, 0.85])
    es.mark_restored()
    st = es.state
    assert st.stopped and st.restored and st.stopped_step == 30
    assert st.reason == (
        "test accuracy has not improved (by more than min_delta=0) for 2 evaluations; "
        "best 0.9 at step 10"
    )
