"""What the views that explain cost a session (issue 12): prints figures, asserts nothing.

    python -m tests.benchmarks.explain_cost [--repeats 7] [--live-seconds 0]

1. Memory and time of the backprop microscope with its panel open: everything one page run
   builds for it (the chooser's weight space, the next batch, `microscope.examine` on copies of
   the network and optimizer, the tables and formulas the panel draws), under tracemalloc: the
   peak while building and what stays alive afterwards (the view the page holds until its next
   run), for the default config (2-4-2-1 on the circle) and the digits preset (64-32-10).
2. The same for one weight edit (`core.weight_edit.set_weight`, which measures the loss again).
3. With --live-seconds S > 0: tests.benchmarks.app_live's measurement of the default page with
   the microscope and the weight editor closed, then open, alternating, `--live-repeats` times.
   Both panels render outside the live view's fragment, so an open panel is not rebuilt per
   frame, only on a whole-page run (Step, a choice in it).

Each figure is the median of the repeats with [min-max].
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

from core import microscope
from core.config import PlaygroundConfig
from core.data import load_dataset
from core.trainer import Trainer
from core.weight_edit import set_weight
from playground.charts import microscope as tables
from playground.presets import load_preset
from playground.session import align_task

TRAINED_STEPS = 20  # optimizer state exists, as on a page a student has used


def trainer_for(name: str) -> Trainer:
    config = PlaygroundConfig() if name == "default" else load_preset(name)
    dataset = load_dataset(config.data)
    trainer = Trainer(align_task(config, dataset.task), dataset)
    for _ in range(TRAINED_STEPS):
        trainer.step()
    return trainer


def build_view(trainer: Trainer):
    """What the microscope panel computes in one page run (the default choices)."""
    space = microscope.weights_of(trainer)
    plan = microscope.next_step(trainer)
    view = microscope.examine(trainer, plan.indices[0], microscope.WeightChoice(0, 0, 0))
    drawn = (
        tables.forward_rows(view),
        tables.backward_rows(view),
        tables.chain_latex(view),
        tables.chain_factors(view),
        tables.gradient_lines(view),
        tables.update_lines(view),
    )
    return space, view, drawn


def measured(action, repeats: int) -> dict[str, list[float]]:
    """Peak and kept bytes (tracemalloc) and seconds of `action()`, per repeat."""
    out: dict[str, list[float]] = {"peak": [], "kept": [], "seconds": []}
    action()  # warm: imports, caches
    for _ in range(repeats):
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        result = action()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["peak"].append(peak - base)
        out["kept"].append(current - base)
        del result
        start = time.perf_counter()
        action()
        out["seconds"].append(time.perf_counter() - start)
    return out


def summary(values: list[float], scale: float, unit: str, digits: int = 1) -> str:
    med, lo, hi = (v / scale for v in (statistics.median(values), min(values), max(values)))
    unit = f" {unit}" if unit else ""
    return f"{med:.{digits}f}{unit} [{lo:.{digits}f}-{hi:.{digits}f}]"


def memory_figures(repeats: int) -> None:
    print(f"backprop microscope, one page run with the panel open ({repeats} repeats):")
    print(f"{'config':<10}{'parameters':>12}  {'peak':>26}  {'kept':>26}  {'time':>26}")
    for name in ("default", "digits"):
        trainer = trainer_for(name)
        m = measured(lambda t=trainer: build_view(t), repeats)
        print(
            f"{name:<10}{trainer.network.n_parameters():>12,}  "
            f"{summary(m['peak'], 1024, 'KiB'):>26}  {summary(m['kept'], 1024, 'KiB'):>26}  "
            f"{summary(m['seconds'], 1e-3, 'ms', 2):>26}"
        )
    print("one weight edit (set_weight: write, re-measure the loss, record the event):")
    for name in ("default", "digits"):
        trainer = trainer_for(name)
        first = microscope.WeightChoice(0, 0, 0)
        m = measured(lambda t=trainer, w=first: set_weight(t, w, 0.5), repeats)
        print(
            f"{name:<10}{'':>12}  {summary(m['peak'], 1024, 'KiB'):>26}  "
            f"{summary(m['kept'], 1024, 'KiB'):>26}  {summary(m['seconds'], 1e-3, 'ms', 2):>26}"
        )


def live_figures(seconds: float, repeats: int) -> None:
    """app_live's measurement of the default page, panels closed vs open (alternating)."""
    import psutil

    from tests.benchmarks import app_live
    from tests.e2e.browser_helpers import open_app, wait_idle, wait_until
    from tests.e2e.server import app_and_chromium

    def open_with_panels(page, url: str, query: str = "") -> None:
        open_app(page, url, query)
        for title, ready in (("Backprop microscope", "Chain rule"), ("Edit a weight", "Set")):
            box = page.locator('[data-testid="stExpander"]').filter(has_text=title).first
            box.get_by_text(title, exact=True).click()
            wait_idle(page)
            wait_until(lambda b=box, r=ready: r in b.inner_text(), timeout=30)

    rows: dict[str, list[dict]] = {"closed": [], "open": []}
    try:
        with app_and_chromium() as (url, proc, browser):
            server = psutil.Process(proc.pid)
            for _ in range(repeats):
                for state, opener in (("closed", open_app), ("open", open_with_panels)):
                    app_live.open_app = opener  # measure() opens the page through this name
                    page = browser.new_page(viewport={"width": 1500, "height": 1100})
                    rows[state].append(app_live.measure(page, url, "", seconds, server))
                    page.close()
    finally:
        app_live.open_app = open_app
    print(f"live view, default page, {seconds:g} s of Play, {repeats} runs each:")
    keys = ("redraws_per_s", "steps_per_s", "server_cpu_ms_per_redraw", "pause_to_freeze_s")
    print(f"{'panels':<8}" + "".join(f"{k:>28}" for k in keys))
    for state, runs in rows.items():
        cells = [summary([r[k] for r in runs], 1, "", 2) for k in keys]
        print(f"{state:<8}" + "".join(f"{c:>28}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--live-seconds", type=float, default=0.0)
    parser.add_argument("--live-repeats", type=int, default=3)
    args = parser.parse_args()
    memory_figures(args.repeats)
    if args.live_seconds > 0:
        live_figures(args.live_seconds, args.live_repeats)


if __name__ == "__main__":
    main()
