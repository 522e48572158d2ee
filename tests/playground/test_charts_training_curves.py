"""Loss and accuracy curves with early-stopping and divergence marks."""

from __future__ import annotations

import numpy as np

from core.history import History
from core.telemetry import DivergenceState, EarlyStoppingState
from playground.charts import CAPTIONS, RunCurves, loss_curves, run_curves
from playground.charts.training_curves import room_end
from tests.playground.test_charts_common import annotation_texts, assert_empty_state, make_history


def trace(fig, name):
    return [t for t in fig.data if t.name == name][0]


def stopped_state(**kw) -> EarlyStoppingState:
    base = dict(
        enabled=True,
        patience=5,
        best_value=0.2,
        best_step=1000,
        evals_since_best=5,
        stopped=True,
        stopped_step=1250,
        reason="test loss has not improved for 5 evaluations",
        restored=True,
    )
    return EarlyStoppingState(**(base | kw))


def test_train_val_and_batch_loss_traces_with_downsampling():
    h = make_history(3, 3000)
    fig = loss_curves(h)
    names = {t.name for t in fig.data}
    assert {"train loss", "test loss", "batch loss (mean)", "train accuracy"} <= names
    val = trace(fig, "test loss")
    np.testing.assert_allclose(val.y, h.run["val_loss"].values, rtol=1e-6)
    assert len(trace(fig, "batch loss (mean)").x) <= 500
    assert fig.layout.yaxis.type == "linear"
    assert fig.layout.yaxis2.tickformat == ".0%"


def test_log_scale_option_sets_log_axis_and_hides_nonpositive():
    h = History(2)
    for s, v in [(1, 1.0), (2, 0.0), (3, 0.5)]:
        h.run["train_loss"].append(s, v)
    fig = loss_curves(h, log_y=True)
    assert fig.layout.yaxis.type == "log"
    y = np.asarray(trace(fig, "train loss").y, dtype=float)
    assert np.isnan(y[1]) and y[0] == 1.0


def test_early_stopping_marks_only_when_stopped():
    h = make_history(2, 2000)
    running = EarlyStoppingState(
        enabled=True, patience=5, best_value=0.2, best_step=1000, evals_since_best=3
    )
    fig_running = loss_curves(h, running)
    texts = " ".join(annotation_texts(fig_running))
    assert "best test loss 0.2" in texts and "3/5 evals" in texts
    assert "stopped" not in texts and "restored" not in texts
    assert not [s for s in fig_running.layout.shapes if s.name == "es_stop"]

    fig_stop = loss_curves(h, stopped_state())
    texts = " ".join(annotation_texts(fig_stop))
    assert "stopped at step 1250: test loss has not improved" in texts
    assert "best weights (step 1000) restored" in texts
    stop_line = [s for s in fig_stop.layout.shapes if s.name == "es_stop"][0]
    assert stop_line.x0 == 1250
    window = [s for s in fig_stop.layout.shapes if s.name == "es_patience"][0]
    assert (window.x0, window.x1) == (1000, 1250)

    not_restored = " ".join(annotation_texts(loss_curves(h, stopped_state(restored=False))))
    assert "not restored" in not_restored


def test_disabled_early_stopping_draws_nothing():
    fig = loss_curves(make_history(2, 500), EarlyStoppingState(enabled=False))
    assert not fig.layout.shapes and not annotation_texts(fig)


def test_divergence_is_marked():
    fig = loss_curves(make_history(2, 500), None, DivergenceState(True, 321, "loss is NaN"))
    assert "diverged at step 321: loss is NaN" in " ".join(annotation_texts(fig))


def test_empty_history_and_nan_values():
    assert_empty_state(loss_curves(None))
    assert_empty_state(loss_curves(History(3)))
    h = History(1)
    h.run["batch_loss"].append(1, float("nan"))
    h.run["batch_loss"].append(2, float("inf"))
    loss_curves(h, EarlyStoppingState(enabled=True, best_step=None), log_y=True).to_json()


def test_the_held_out_split_has_one_name_as_in_the_metrics():
    """The metrics say "Test loss": legend, marks and caption say "test" too, never "validation"
    or the internal series names."""
    h = make_history(3, 2000)
    for monitor in ("val_loss", "val_accuracy"):
        fig = loss_curves(h, stopped_state(monitor=monitor))
        words = [t.name for t in fig.data] + annotation_texts(fig) + [CAPTIONS["loss"]]
        text = " ".join(words).lower()
        assert "test loss" in text and "test accuracy" in text
        assert "validation" not in text and "val_" not in text, text


def test_room_ends_sit_past_the_step_on_a_short_scale():
    ends = [room_end(step) for step in range(0, 100_000, 37)]
    assert all(end >= 1.1 * step for end, step in zip(ends, range(0, 100_000, 37), strict=True))
    assert ends == sorted(ends)  # never shrinks while training goes on
    assert {room_end(s) for s in (95, 120, 136)} == {150.0}  # one end over a stretch of steps
    assert room_end(137) == 200.0 and room_end(0) == 1.0
    mantissas = {round(end / 10 ** np.floor(np.log10(end)), 6) for end in set(ends)}
    assert mantissas <= {1.0, 1.5, 2.0, 3.0, 5.0, 7.0}


def test_room_while_training_reaches_every_step_axis_past_the_newest_step():
    h = make_history(3, 3000)
    fig = loss_curves(h, room=True)
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):  # loss and accuracy share the steps
        assert list(axis.autorangeoptions.include) == [5000]
    assert loss_curves(h).layout.xaxis2.autorangeoptions.include is None  # paused: tight
    curves = run_curves([RunCurves("a", h), RunCurves("b", make_history(3, 4000))], room=True)
    assert list(curves.layout.xaxis2.autorangeoptions.include) == [5000]


def test_a_linear_loss_axis_starts_at_zero():
    h = make_history(3, 3000)
    assert loss_curves(h).layout.yaxis.rangemode == "tozero"
    assert loss_curves(h, log_y=True).layout.yaxis.rangemode is None
    assert run_curves([RunCurves("a", h)]).layout.yaxis.rangemode == "tozero"
