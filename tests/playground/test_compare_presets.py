"""Presets that are comparisons (issue 11): a preset link opens every run of the comparison,
the link the page writes reopens it, and a single-run preset stays one run (AppTest)."""

from __future__ import annotations

import pytest

from playground.presets import load_preset, preset_runs
from tests.playground.apptest_helpers import click, open_app
from tests.playground.apptest_helpers import session as session_of
from tests.playground.test_presets import COMPARISONS


def _link(at) -> dict[str, str]:
    return {
        k: at.query_params[k][0] if isinstance(at.query_params[k], list) else at.query_params[k]
        for k in at.query_params
    }


@pytest.mark.parametrize("preset", COMPARISONS)
def test_a_preset_link_opens_every_run_of_the_comparison(preset):
    at = open_app({"preset": preset})
    experiment = session_of(at).experiment
    expected = [("A", load_preset(preset)), *preset_runs(preset)]
    assert experiment.names == [name for name, _ in expected]
    for name, config in expected:
        assert experiment[name].config == config
    assert experiment.controlled
    link = _link(at)
    assert link["preset"] == preset and link["runs"] == ",".join(experiment.names)


def test_the_link_the_page_writes_reopens_the_same_comparison():
    at = open_app({"preset": "compare_vanishing_gradients"})
    click(at, "Remove B")
    again = open_app(_link(at))
    old, new = session_of(at).experiment, session_of(again).experiment
    assert new.names == old.names == ["A", "C"]
    for name in new.names:
        assert new[name].config == old[name].config


def test_a_comparison_preset_reduced_to_one_run_reopens_as_one_run():
    at = open_app({"preset": "compare_spiral_optimizers"})
    click(at, "Remove B")
    click(at, "Remove C")
    link = _link(at)
    assert link["runs"] == "A"
    assert session_of(open_app(link)).run_names == ["A"]


def test_a_single_run_preset_opens_one_run():
    at = open_app({"preset": "vanishing_gradients"})
    assert session_of(at).run_names == ["A"]
    assert "runs" not in _link(at)


@pytest.mark.parametrize("preset", COMPARISONS)
def test_the_preset_menu_opens_every_run_and_a_lesson_of_one_run_replaces_them(preset):
    at = open_app()
    click(at, "Compare")  # a comparison of the student's own, replaced by the lesson
    at.selectbox(key="preset_choice").select(preset).run()
    assert not at.exception
    expected = [("A", load_preset(preset)), *preset_runs(preset)]
    experiment = session_of(at).experiment
    assert experiment.names == [name for name, _ in expected]
    for name, config in expected:
        assert experiment[name].config == config
    at.selectbox(key="preset_choice").select("vanishing_gradients").run()
    assert session_of(at).experiment.names == ["A"]
    assert session_of(at).config == load_preset("vanishing_gradients")
