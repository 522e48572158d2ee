"""Image-dataset charts: sample grid with wrong ones marked, confusion matrix, layer-1 weights."""

from __future__ import annotations

import base64
import struct

import numpy as np

from playground.charts import confusion_matrix, first_layer_weights, sample_grid
from playground.charts.common import STOP
from tests.playground.test_charts_common import annotation_texts, assert_empty_state


def png_size(uri: str) -> tuple[int, int]:
    data = base64.b64decode(uri.split(",", 1)[1])
    return struct.unpack(">II", data[16:24])


def test_sample_grid_labels_and_marks_wrong_predictions():
    rng = np.random.default_rng(0)
    images = rng.random((30, 64))
    y_true = np.arange(30) % 10
    y_pred = y_true.copy()
    y_pred[[2, 5]] = 9
    fig = sample_grid(images, y_true, y_pred, (8, 8), [f"d{c}" for c in range(10)], n=12, cols=6)
    texts = annotation_texts(fig)
    assert len(texts) == 12
    assert "d9 (true d2)" in texts and "d9 (true d5)" in texts and "d0" in texts
    wrong = [a for a in fig.layout.annotations if "true" in a.text]
    assert len(wrong) == 2 and all(a.font.color == STOP for a in wrong)
    assert "2 of 12 wrong" in fig.layout.title.text
    w, h = png_size(fig.data[0].source)
    assert w == 6 * (8 + 4) and h > 2 * 8


def test_confusion_matrix_counts_and_row_shares():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    fig = confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    hm = fig.data[0]
    assert [list(row) for row in hm.text] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    np.testing.assert_allclose(np.asarray(hm.z)[0], [2 / 3, 1 / 3, 0], atol=1e-6)
    assert "66.7%" in fig.layout.title.text
    assert list(fig.layout.yaxis.categoryarray) == ["c", "b", "a"]  # the first class on top
    assert fig.layout.yaxis.autorange is None


def test_first_layer_weights_one_tile_per_unit_up_to_cap():
    W = np.random.default_rng(1).normal(size=(64, 40))
    fig = first_layer_weights(W, (8, 8), max_units=32, cols=8)
    texts = annotation_texts(fig)
    assert len(texts) == 32 and texts[0] == "unit 1"
    assert "32 of 40" in fig.layout.title.text
    w, _ = png_size(fig.data[0].source)
    assert w == 8 * (8 + 4)


def test_image_charts_empty_states():
    assert_empty_state(sample_grid(np.zeros((0, 64)), [], [], (8, 8)))
    assert_empty_state(confusion_matrix([], []))
    assert_empty_state(first_layer_weights(np.zeros((5, 3)), (8, 8)))
