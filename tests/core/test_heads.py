"""Output heads are the one home of how an output becomes a probability and a class: the
trainer's accuracy, the decision map and the confusion matrices all ask the head."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import OUTPUT_HEADS, LayerConfig, NetworkConfig, PlaygroundConfig
from core.data.dataset import Dataset
from core.losses import HEADS, accuracy, make_head
from core.trainer import Trainer

CLASSIFYING = OUTPUT_HEADS["binary"] + OUTPUT_HEADS["multiclass"]


def _outputs(name: str, n: int = 200, seed: int = 0) -> np.ndarray:
    """Outputs (n, k) the head can produce: its own output function of random logits."""
    k = 3 if name == "softmax_ce" else 1
    Z = np.random.default_rng(seed).normal(0, 3, (k, n))
    return make_head(name).output(Z).T


def test_every_head_says_whether_it_classifies():
    for name in HEADS:
        assert make_head(name).classifies == (name in CLASSIFYING), name


@pytest.mark.parametrize("name", CLASSIFYING)
def test_probabilities_are_a_distribution_and_the_class_is_the_most_probable(name):
    head = make_head(name)
    out = _outputs(name)
    p = head.probabilities(out)
    assert p.shape == (len(out), 3 if name == "softmax_ce" else 2)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    cls = head.predict_class(out)
    assert cls.dtype.kind == "i" and cls.shape == (len(out),)
    np.testing.assert_array_equal(cls, p.argmax(axis=1))


def test_tanh_output_maps_to_a_probability_without_clipping():
    head = make_head("tanh_mse")
    v = np.array([[-1.0], [-0.6], [-1e-9], [0.0], [1e-9], [0.2], [1.0]])
    np.testing.assert_allclose(head.probability(v), (v[:, 0] + 1) / 2)
    assert head.probability(v)[1] == pytest.approx(0.2)  # -0.6 is not clipped to 0
    np.testing.assert_array_equal(head.predict_class(v), [0, 0, 0, 0, 1, 1, 1])


def test_sigmoid_class_is_one_above_a_half():
    head = make_head("sigmoid_bce")
    p = np.array([[0.1], [0.5], [0.5000001], [0.9]])
    np.testing.assert_array_equal(head.probability(p), p[:, 0])
    np.testing.assert_array_equal(head.predict_class(p), [0, 0, 1, 1])


@pytest.mark.parametrize("name", OUTPUT_HEADS["regression"])
def test_regression_heads_have_no_classes(name):
    head = make_head(name)
    out = np.zeros((4, 1))
    with pytest.raises(TypeError, match="values, not classes"):
        head.predict_class(out)
    with pytest.raises(TypeError, match="values, not classes"):
        head.probabilities(out)
    assert head.accuracy(out, np.zeros(4)) is None


@pytest.mark.parametrize("name", CLASSIFYING)
def test_accuracy_counts_the_heads_classes(name):
    head, out = make_head(name), _outputs(name)
    cls = head.predict_class(out)
    assert accuracy(name, out, cls) == 1.0
    assert head.accuracy(out, cls) == 1.0
    wrong = (cls + 1) % head.probabilities(out).shape[1]
    assert accuracy(head, out, wrong) == 0.0


def _dataset(task: str, X: np.ndarray, y: np.ndarray) -> Dataset:
    k = 3 if task == "multiclass" else 2
    return Dataset("points", task, X, y, X, y, ["x1", "x2"], [str(c) for c in range(k)])


@pytest.mark.parametrize("name", CLASSIFYING)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trainer_accuracy_agrees_with_the_heads_classes(name, seed):
    """Label points with the head's own verdict on a network's output: the trainer then
    measures an accuracy of exactly 1 on them (it asks the same head)."""
    task = "multiclass" if name == "softmax_ce" else "binary"
    X = np.random.default_rng(seed).uniform(-2, 2, (400, 2))
    hidden = [LayerConfig(6, "tanh")]
    config = PlaygroundConfig(network=NetworkConfig(hidden, task=task, head=name, dtype="float64"))
    probe = Trainer(config, _dataset(task, X, np.zeros(len(X), dtype=int)))
    net = probe.network
    labels = net.head.predict_class(net.predict(X))
    assert len(np.unique(labels)) > 1  # a boundary crosses the points
    trainer = Trainer(config, _dataset(task, X, labels), init_state=net.state_dict())
    ev = trainer.evaluate()
    assert ev["train_accuracy"] == 1.0 and ev["val_accuracy"] == 1.0
