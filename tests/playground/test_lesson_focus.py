"""A lesson puts its key chart first (config `focus`), so it is in view without scrolling."""

from __future__ import annotations

import pytest

from playground.presets import load_preset, preset_names
from tests.playground.apptest_helpers import chart_ids, open_app

VANISHING_LESSONS = [n for n in preset_names() if n.startswith("vanishing")]


def view(at) -> str:
    return at.session_state["inspect_view"]


def test_the_vanishing_gradient_lessons_focus_on_the_gradients():
    assert len(VANISHING_LESSONS) == 3
    assert {load_preset(n).focus for n in VANISHING_LESSONS} == {"gradients"}


@pytest.mark.parametrize("name", VANISHING_LESSONS)
def test_a_lesson_link_draws_its_focus_chart_first(name):
    at = open_app({"preset": name})
    assert view(at) == "Gradients"
    assert "gradients_chart" in chart_ids(at)[0], chart_ids(at)


def test_a_lesson_from_the_menu_draws_its_focus_chart_first():
    at = open_app()
    assert "network_chart" in chart_ids(at)[0]  # no focus: the usual layout
    at.selectbox(key="preset_choice").select("vanishing_gradients").run()
    assert not at.exception
    assert "gradients_chart" in chart_ids(at)[0], chart_ids(at)


def test_the_student_may_pick_another_view_and_it_stays():
    at = open_app({"preset": "vanishing_gradients"})
    at.session_state["inspect_view"] = "Activations"
    at.run()
    at.run()
    assert view(at) == "Activations"
    assert "activations_chart" in chart_ids(at)[0], chart_ids(at)


def test_a_focus_with_hidden_charts_keeps_the_usual_layout():
    at = open_app({"preset": "vanishing_gradients", "hide": "charts"})
    assert not at.exception
    assert "network_chart" in chart_ids(at)[0]
    assert not [c for c in chart_ids(at) if "gradients_chart" in c]
