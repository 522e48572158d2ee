"""Controlled experiments: CPU per step of 4 runs in lockstep against one run, and memory.

    python -m tests.benchmarks.experiment_speed [--steps N] [--repeats R] [--memory-steps M]

The default network and data (PlaygroundConfig(): circle, 500 points, 2-4-2-1 tanh, batch 10,
SGD, the default telemetry). CPU time (time.process_time) of N steps from step 0:
- one run: `Trainer.run`, as the single-run playground trains;
- one run in an Experiment (its checkpoints and rounds included);
- 4 runs in lockstep: A and three clones (`Experiment.run(max_steps=N)`: N steps of each);
- 4 runs in lockstep as the live app trains them: ticks of a time budget (`Experiment.run(
  TICK_SECONDS)`, the session's `tick`) until N steps, against one run trained by the same ticks.
Each is repeated R times on fresh runs, alternating, and the median and the range printed; the
target (issue 11) is at most 4.5x one run's CPU per step.

Memory: tracemalloc over building an Experiment of 4 runs (ReLU/He, batch norm, Adam clones:
optimizer slots in every checkpoint) and training it M steps in lockstep, so every run holds its
full set of checkpoints: the traced memory then (data, trainers, histories, checkpoints) and the
checkpoints' own bytes. Target: under 30 MB per student.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import tracemalloc

from core.config import PlaygroundConfig
from core.data import load_dataset
from core.experiment import Experiment
from core.trainer import Trainer

TARGET_RATIO = 4.5
TICK_SECONDS = 0.02  # the live app's training per frame when idle (playground.pacing.TRAIN_BUDGET)
TARGET_MB = 30.0


def loader(cfg: PlaygroundConfig):
    return load_dataset(cfg.data)


def cpu_one_trainer(steps: int) -> float:
    cfg = PlaygroundConfig()
    trainer = Trainer(cfg, loader(cfg))
    start = time.process_time()
    trainer.run(math.inf, max_steps=steps)
    return (time.process_time() - start) / steps


def cpu_experiment(steps: int, runs: int) -> float:
    ex = Experiment(PlaygroundConfig(), loader)
    for _ in range(runs - 1):
        ex.compare()
    start = time.process_time()
    taken = ex.run(math.inf, max_steps=steps)
    elapsed = time.process_time() - start
    assert taken == steps and {r.step for r in ex.runs} == {steps}
    return elapsed / steps


def cpu_experiment_ticks(steps: int, runs: int) -> float:
    """CPU per step of `runs` runs trained by time-budget ticks (as the live app) to `steps`."""
    ex = Experiment(PlaygroundConfig(), loader)
    for _ in range(runs - 1):
        ex.compare()
    start = time.process_time()
    while ex.step_count < steps:
        ex.run(TICK_SECONDS)
    return (time.process_time() - start) / ex.step_count


def _figure(values: list[float]) -> str:
    us = [v * 1e6 for v in values]
    return f"median {statistics.median(us):7.1f} µs  [{min(us):.1f}-{max(us):.1f}]"


def speed(steps: int, repeats: int) -> None:
    cpu_one_trainer(2000)  # warm up imports, caches, BLAS
    cpu_experiment(2000, 4)
    one, one_ex, four, ratios = [], [], [], []
    one_ticks, four_ticks, tick_ratios = [], [], []
    for _ in range(repeats):
        a = cpu_one_trainer(steps)
        b = cpu_experiment(steps, 1)
        c = cpu_experiment(steps, 4)
        d = cpu_experiment_ticks(steps, 1)
        e = cpu_experiment_ticks(steps, 4)
        one.append(a)
        one_ex.append(b)
        four.append(c)
        ratios.append(c / a)
        one_ticks.append(d)
        four_ticks.append(e)
        tick_ratios.append(e / a)
    print(f"CPU per step, {steps:,} steps from step 0, {repeats} repeats (median [range]):")
    print(f"  1 run (Trainer.run)         {_figure(one)}")
    print(f"  1 run in an Experiment      {_figure(one_ex)}")
    print(f"  4 runs in lockstep          {_figure(four)}")
    median = statistics.median(ratios)
    verdict = "meets" if median <= TARGET_RATIO else "MISSES"
    print(
        f"  4 runs / 1 run: median {median:.2f}x [{min(ratios):.2f}-{max(ratios):.2f}] "
        f"(target at most {TARGET_RATIO}x: {verdict})"
    )
    print(f"As the live app trains, ticks of {TICK_SECONDS:g} s until {steps:,} steps:")
    print(f"  1 run                       {_figure(one_ticks)}")
    print(f"  4 runs in lockstep          {_figure(four_ticks)}")
    for label, values in (
        (
            "4 runs / 1 run ticked alike",
            [e / d for e, d in zip(four_ticks, one_ticks, strict=True)],
        ),
        ("4 runs / 1 run (Trainer.run)", tick_ratios),
    ):
        median = statistics.median(values)
        verdict = "meets" if median <= TARGET_RATIO else "MISSES"
        print(
            f"  {label}: median {median:.2f}x [{min(values):.2f}-{max(values):.2f}] "
            f"(target at most {TARGET_RATIO}x: {verdict})"
        )


def memory(steps: int) -> None:
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ex = Experiment(PlaygroundConfig(), loader)
    ex.compare(activation="relu", init="he_normal")
    ex.compare(changes={"network.hidden.batch_norm": True})
    ex.compare(changes={"training.optimizer.name": "adam"}, learning_rate=0.01)
    start = time.perf_counter()
    ex.run(math.inf, max_steps=steps)
    elapsed = time.perf_counter() - start
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    used, top = (current - base) / 2**20, (peak - base) / 2**20
    counts = {r.name: len(r.checkpoints) for r in ex.runs}
    print(f"Memory of 4 runs after {steps:,} steps in lockstep ({elapsed:.1f} s):")
    print(f"  checkpoints per run {counts}, their arrays {ex.nbytes() / 2**20:.2f} MB in all")
    verdict = "meets" if used < TARGET_MB else "MISSES"
    print(
        f"  traced memory (data, trainers, histories, checkpoints): {used:.1f} MB now, "
        f"{top:.1f} MB at the peak (target under {TARGET_MB:.0f} MB per student: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory-steps", type=int, default=50_000)
    args = parser.parse_args()
    speed(args.steps, args.repeats)
    memory(args.memory_steps)


if __name__ == "__main__":
    main()
