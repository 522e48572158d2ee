"""Every classroom lesson's claim, measured on each seed: the numbers behind the presets' notes.

    python -m tests.benchmarks.lesson_seeds [--dtype float32 float64] [--claim ID ...]

For each claim checked by tests/playground/test_presets.py (the same runs, windows, seeds and
bounds), prints the value for every seed, the median, the min and max, how many seeds hold the
claim, and the margin: how far the median is from the nearest bound (as a factor; a claim needs
more than 1.1). A seed's value is its mean over the run's window of steps (a gradient ratio: the
median over the window's stats steps); data seed and training seed move together.
"""

from __future__ import annotations

import argparse
import math
import time

from tests.playground.test_presets import CLAIMS, DTYPES, MIN_AGREEING, SEEDS, Claim


def margin(claim: Claim, median: float) -> float:
    """How far the median is inside its nearest bound, as a factor (> 1 inside; 1.1 = 10%)."""
    factors = []
    if math.isfinite(claim.above):
        factors.append(median / claim.above if claim.above > 0 else math.inf)
    if math.isfinite(claim.below):
        factors.append(claim.below / median if median > 0 else math.inf)
    return min(factors)


def report(claim: Claim, dtype: str) -> str:
    start = time.perf_counter()
    values, median, agreeing = claim.check(dtype)
    verdict = "holds" if claim.holds_for(median) and agreeing >= MIN_AGREEING else "FAILS"
    seeds = "  ".join(f"{v:.3g}" for v in values)
    return (
        f"{claim.id} [{dtype}] {claim.text}\n"
        f"    want {claim.bounds()}; seeds {SEEDS}: {seeds}\n"
        f"    median {median:.3g}  min {min(values):.3g}  max {max(values):.3g}  "
        f"{agreeing}/{len(values)} seeds hold it  margin x{margin(claim, median):.2f}  "
        f"{verdict}  ({time.perf_counter() - start:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--claim", nargs="+", choices=[c.id for c in CLAIMS])
    args = parser.parse_args()
    for dtype in args.dtype:
        for claim in CLAIMS:
            if args.claim is None or claim.id in args.claim:
                print(report(claim, dtype), flush=True)


if __name__ == "__main__":
    main()
