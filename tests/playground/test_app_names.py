"""What the student reads: one name for the held-out split, and each message said once."""

from __future__ import annotations

from tests.playground.apptest_helpers import charts, click, messages, open_app

EARLY_STOP_LINK = {
    "training.early_stopping.enabled": "true",
    "training.early_stopping.patience": "1",
    "training.early_stopping.min_delta": "10",  # nothing improves by 10: stop at the 2nd eval
    "training.eval_every": "1",
}


def _chart_spec(at, key: str) -> dict:
    return next(spec for chart_id, spec in charts(at) if key in chart_id)


def test_metrics_legend_and_caption_name_the_held_out_split_alike():
    at = click(open_app(), "Step")
    labels = {m.label for m in at.metric}
    assert {"Train loss", "Test loss", "Test accuracy"} <= labels
    legend = [t.get("name", "") for t in _chart_spec(at, "loss_chart")["data"]]
    assert "test loss" in legend and "test accuracy" in legend, legend
    captions = " ".join(str(c.value) for c in at.caption)
    words = " ".join([*labels, *legend, captions]).lower()
    assert "validation" not in words and "val_" not in words


def test_the_early_stopping_notice_says_each_thing_once():
    at = open_app(EARLY_STOP_LINK)
    click(at, "Step")
    click(at, "Step")
    text = messages(at)
    assert text.count("Early stopping at step 2") == 1, text
    assert text.lower().count("early stopping") == 1, text
    assert text.lower().count("restored") == 1, text
    assert "test loss has not improved" in text, text
    monitor = next(s for s in at.selectbox if s.label == "Monitor")
    assert list(monitor.options) == ["test loss", "test accuracy"]
