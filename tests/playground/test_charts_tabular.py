"""Tabular data (no input plane): predicted vs true for regression."""

import numpy as np
import pytest

from playground.charts import CAPTIONS, predicted_vs_actual


def test_predicted_vs_actual_draws_points_diagonal_and_r2():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    pred = y + rng.normal(scale=0.1, size=200)
    fig = predicted_vs_actual(y, pred)
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    points, diagonal = fig.data
    assert len(points.x) == 200 and points.mode == "markers"
    assert list(diagonal.x) == list(diagonal.y)  # the y = x line
    assert f"R² = {r2:.3f}" in fig.layout.title.text and r2 > 0.98
    assert "predicted" in CAPTIONS


def test_perfect_and_constant_predictions():
    y = np.arange(10.0)
    assert "R² = 1.000" in predicted_vs_actual(y, y).layout.title.text
    assert "R² = -" in predicted_vs_actual(y, np.full(10, 100.0)).layout.title.text
    assert "undefined" in predicted_vs_actual(np.ones(5), np.ones(5)).layout.title.text


@pytest.mark.parametrize("bad", [(np.array([]), np.array([])), (np.ones(3), np.ones(4))])
def test_empty_or_mismatched_input_gives_an_empty_state(bad):
    fig = predicted_vs_actual(*bad)
    assert fig.layout.annotations and "No predictions" in fig.layout.annotations[0].text
