"""Every figure built from a real Trainer snapshot (a few steps of real training)."""

from __future__ import annotations

import numpy as np

from core.config import LayerConfig, PlaygroundConfig
from core.data import load_dataset
from core.trainer import Trainer
from playground import charts as C


def train(config: PlaygroundConfig, steps: int) -> Trainer:
    trainer = Trainer(config, load_dataset(config.data))
    for _ in range(steps):
        trainer.step()
    return trainer


def small_config(dataset: str, hidden: list[LayerConfig], task: str, head: str):
    cfg = PlaygroundConfig()
    cfg.data.dataset = dataset
    cfg.data.n_points = 200
    cfg.network.hidden = hidden
    cfg.network.task = task
    cfg.network.head = head
    cfg.training.stats_every = 1
    cfg.training.histogram_every = 10
    cfg.training.eval_every = 10
    cfg.training.early_stopping.enabled = True
    return cfg


def test_every_2d_figure_from_a_real_snapshot():
    cfg = small_config(
        "spiral", [LayerConfig(8, "tanh"), LayerConfig(8, "relu")], "binary", "sigmoid_bce"
    )
    trainer = train(cfg, 60)
    snap = trainer.snapshot()
    ds = trainer.dataset
    names = [s.name for s in snap.layers]
    res = 16
    xs, ys, _ = ds.grid(res)
    gx, gy = np.meshgrid(xs, ys)
    outputs = trainer.neuron_outputs(np.column_stack([gx.ravel(), gy.ravel()]))
    maps = C.maps_from_outputs(outputs, res)
    acts = [s.activation for s in snap.layers]
    net = C.network_diagram(snap.weights, names, ds.feature_names, maps, activations=acts)
    assert len(net.layout.images) == 8 + 8 + 1
    assert len(net.to_json()) < 150_000

    gxs, gys, X = ds.grid(50)
    pred = trainer.network.predict(X.astype(trainer.network.dtype))
    out = C.output_figure(ds, gxs, pred, gys, show_test=True)
    assert np.asarray(out.data[0].z).shape == (50, 50)

    figs = [
        C.loss_curves(snap.history, snap.early_stopping, snap.divergence),
        C.gradient_norms(snap.history, names),
        C.gradient_heatmap(snap.history, names),
        C.update_ratios(snap.history, names),
        C.activation_distributions(snap.histograms, snap.layers),
        C.weight_distributions(snap.history, names),
    ]
    for fig in figs:
        assert len(fig.data) > 0, fig.layout.annotations
        fig.to_json()
    relu_title = figs[4].layout.annotations[1].text
    assert (
        "relu" in relu_title and "dead" in relu_title and "n/a" not in relu_title.split("dead")[1]
    )


def test_deep_sigmoid_net_shows_vanishing_gradients():
    hidden = [LayerConfig(8, "sigmoid") for _ in range(8)]
    cfg = small_config("circle", hidden, "binary", "sigmoid_bce")
    snap = train(cfg, 30).snapshot()
    z = np.asarray(C.gradient_heatmap(snap.history).data[0].z, dtype=float)
    rows = np.nanmean(z, axis=1)
    assert rows[0] < rows[-1] - 2  # first layer's gradient >100x smaller than the output's


def test_image_figures_from_a_real_digits_run():
    cfg = small_config("digits", [LayerConfig(16, "relu")], "multiclass", "softmax_ce")
    cfg.data.features = ["x1", "x2"]
    trainer = train(cfg, 40)
    ds = trainer.dataset
    pred = trainer.network.predict(ds.X_test.astype(trainer.network.dtype)).argmax(axis=1)
    samples = C.sample_grid(ds.X_test, ds.y_test, pred, ds.image_shape, ds.class_names)
    assert len(samples.layout.annotations) == 24
    conf = C.confusion_matrix(ds.y_test, pred, ds.class_names)
    assert np.asarray(conf.data[0].text).sum() == len(ds.y_test)
    first = C.first_layer_weights(trainer.snapshot().weights[0][0], ds.image_shape)
    assert len(first.layout.annotations) == 16
    assert C.output_figure(ds, None, None).layout.annotations  # no plane: friendly note
