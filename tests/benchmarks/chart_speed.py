"""Chart builder speed: milliseconds per figure builder and the payload each redraw sends.

    python -m tests.benchmarks.chart_speed [--seconds 1.0] [--repeat 40] [--json PATH]

Three realistic inputs, each a preset trained with `core.trainer.Trainer` for about `--seconds`:
the default circle net (2-4-2-1 tanh), the 10-layer sigmoid net (vanishing_gradients preset) and
the digits preset (64-32-10 ReLU). Every builder is called with the arguments the app passes
(playground/panels/): 50x50 output grid, 16x16 neuron maps, 4 columns of small multiples.

Per builder the median and the best of `--repeat` calls are printed ("build"), then the cost of
handing the figure to Streamlit the way `st.plotly_chart` does ("send": `fig.to_dict()` then
`plotly.io.to_json(..., validate=False)`) and the payload size in KB. Inputs (predictions, neuron
outputs) are computed once beforehand: only the chart code is timed. Not a test: machines are
shared and noisy, so nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
import plotly.io as pio

from core.config import PlaygroundConfig
from core.data import load_dataset
from core.trainer import Trainer
from playground import charts
from playground.presets import load_preset

OUTPUT_RESOLUTION = 50
NEURON_RESOLUTION = 16
PRESETS = (
    ("circle 2-4-2-1 tanh", "circle_starter"),
    ("10-layer sigmoid", "vanishing_gradients"),
    ("digits 64-32-10 relu", "digits"),
)


def trained(preset: str | None, seconds: float | None, max_steps: int | None = None) -> Trainer:
    """The preset's trainer (None: the app's default network) after `seconds` of training (or
    exactly `max_steps` steps)."""
    config = load_preset(preset) if preset else PlaygroundConfig()
    trainer = Trainer(config, load_dataset(config.data))
    if seconds is None:
        trainer.run(1e9, max_steps=max_steps)
    else:
        trainer.run(seconds, max_steps=max_steps)
    return trainer


def builders(trainer: Trainer) -> dict[str, Callable]:
    """Each chart the app draws for this trainer, as a no-argument call (inputs precomputed)."""
    ds, net = trainer.dataset, trainer.network
    snap = trainer.snapshot()
    names = [b.name for b in net.blocks]
    acts = [b.activation for b in net.blocks]
    out: dict[str, Callable] = {}
    maps = input_maps = None
    if ds.raw_dim == 2:
        xs, ys, _ = ds.grid(NEURON_RESOLUTION)
        gx, gy = np.meshgrid(xs, ys)
        raw = np.column_stack([gx.ravel(), gy.ravel()])
        maps = charts.maps_from_outputs(trainer.neuron_outputs(raw), NEURON_RESOLUTION)
        feats = ds.transform(raw)
        input_maps = feats.T.reshape(-1, NEURON_RESOLUTION, NEURON_RESOLUTION)
    out["network_diagram"] = lambda: charts.network_diagram(
        snap.weights, names, ds.feature_names, maps, input_maps=input_maps, activations=acts
    )
    if ds.raw_dim == 2:
        gxs, gys, grid = ds.grid(OUTPUT_RESOLUTION)
        pred = net.predict(grid)
        out["output_figure"] = lambda: charts.output_figure(ds, gxs, pred, gys)
    out["loss_curves"] = lambda: charts.loss_curves(
        snap.history, snap.early_stopping, snap.divergence
    )
    out["gradient_norms"] = lambda: charts.gradient_norms(snap.history, names)
    out["gradient_heatmap"] = lambda: charts.gradient_heatmap(snap.history, names)
    out["activation_distributions"] = lambda: charts.activation_distributions(
        snap.histograms, snap.layers, cols=4
    )
    out["weight_distributions"] = lambda: charts.weight_distributions(snap.history, names, cols=4)
    out["update_ratios"] = lambda: charts.update_ratios(snap.history, names)
    if ds.image_shape is not None:
        X, y = ds.X_test[:24], ds.y_test[:24]
        pred24 = net.predict(X).argmax(axis=1)
        out["sample_grid"] = lambda: charts.sample_grid(
            X, y, pred24, ds.image_shape, ds.class_names
        )
        pred_all = net.predict(ds.X_test).argmax(axis=1)
        out["confusion_matrix"] = lambda: charts.confusion_matrix(
            ds.y_test, pred_all, ds.class_names
        )
        W = snap.weights[0][0]
        out["first_layer_weights"] = lambda: charts.first_layer_weights(W, ds.image_shape)
    return out


def send(fig) -> str:
    """What st.plotly_chart does with a Figure: to_dict, then JSON without validation."""
    return pio.to_json(fig.to_dict(), validate=False)


def timed(fn: Callable, repeat: int) -> tuple[float, float]:
    """(median, best) milliseconds over `repeat` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="training time per preset")
    parser.add_argument("--repeat", type=int, default=40, help="timed calls per builder")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    results = []
    gc.collect()
    for label, preset in PRESETS:
        trainer = trained(preset, args.seconds)
        print(f"\n{label} ({preset}, {trainer.step_count} steps in ~{args.seconds:g} s)")
        print(f"  {'builder':26s} {'build ms':>9s} {'(best)':>7s} {'send ms':>8s} {'KB':>7s}")
        total = 0.0
        for name, build in builders(trainer).items():
            med, best = timed(build, args.repeat)
            fig = build()
            send_med, _ = timed(lambda fig=fig: send(fig), max(5, args.repeat // 4))
            kb = len(send(fig)) / 1000
            total += med
            print(f"  {name:26s} {med:9.2f} {best:7.2f} {send_med:8.2f} {kb:7.1f}")
            results.append(
                {"net": label, "builder": name, "build_ms": med, "best_ms": best}
                | {"send_ms": send_med, "kb": kb}
            )
        print(f"  {'total (median)':26s} {total:9.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
