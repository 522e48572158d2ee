"""The training doctor's panel in the real app (AppTest): it says what the telemetry shows."""

from __future__ import annotations

from core import doctor
from core.config import LayerConfig
from playground.panels import doctor as panel
from playground.url_state import hidden_to_spec
from tests.playground.apptest_helpers import open_app, session

RELU_CIRCLE_AT_LR_10 = {
    "network.hidden": hidden_to_spec([LayerConfig(4, "relu"), LayerConfig(2, "relu")]),
    "training.optimizer.learning_rate": "10",
}


def doctor_text(at) -> str:
    """Every notice under the doctor's heading, as a reader sees it (escapes removed)."""
    return _notices(at)


def _notices(where) -> str:
    boxes = [*where.error, *where.warning, *where.success, *where.info]
    return " ".join(str(b.value) for b in boxes).replace("\\", "")


def trained(query: dict, steps: int):
    at = open_app(query)
    with session(at).lock:
        session(at).trainer.run(60, max_steps=steps)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_doctor_panel_is_titled_and_captioned():
    at = open_app()
    assert "Training doctor" in [h.value for h in at.subheader]
    assert any("telemetry" in c.value for c in at.caption)
    assert "Train a little" in doctor_text(at)


def test_the_dead_relu_circle_is_diagnosed_on_screen():
    """The issue's case: every unit dead, and the page says why."""
    at = trained(RELU_CIRCLE_AT_LR_10, 400)
    said = doctor_text(at)
    assert "Every unit of hidden 1 and hidden 2 is dead: the learning rate is too high" in said
    assert "Evidence:" in said and "Reference:" in said


def test_a_healthy_run_gets_no_alarm():
    at = trained({}, 600)
    assert "No problems found" in doctor_text(at)
    assert not at.error


def test_runs_side_by_side_get_a_diagnosis_each():
    """Two runs of the ReLU circle: A at learning rate 10 kills every unit and is told so in
    its own tab (over seeds: tests/core/test_doctor.py); B, the same run at 0.03, gets its own
    findings in its tab (which ones depends on the seed: a 2-unit layer can die at 0.03 too)."""
    query = RELU_CIRCLE_AT_LR_10 | {"runs": "A,B", "B.training.optimizer.learning_rate": "0.03"}
    at = open_app(query)
    with session(at).lock:
        session(at).experiment.run(120, max_steps=400)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tabs = {t.label.split(":")[0]: t for t in at.tabs if t.label.startswith("Run ")}
    assert set(tabs) == {"Run A", "Run B"}
    said = {name: _notices(tab) for name, tab in tabs.items()}
    assert "Every unit of hidden 1 and hidden 2 is dead" in said["Run A"], said
    assert "finding" in tabs["Run A"].label
    b = doctor.diagnose(session(at).experiment["B"].snapshot(weights=False))
    assert [f.title in said["Run B"] for f in b] == [True] * len(b)
    assert tabs["Run B"].label == f"Run B: {panel.count_text(b)}"
