"""Hostile CSV uploads: CPU seconds and memory until `load_csv` accepts or refuses each file.

    python -m tests.benchmarks.csv_hostile [--timeout 60] [--only NAME]

Every file is under the upload cap (core.config.MAX_CSV_BYTES). Each case runs in a fresh
Python process (so one that runs for hours is killed after --timeout seconds of wall time and
shown as "> timeout"); it prints the CPU time of the `load_csv` call (user + system), the growth
of the process's peak resident memory during the call, and the first words of the message or
"accepted". Target: at most about 1 s of CPU and 100 MB per file. Not a test: figures depend on
the machine, so nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time


def _numbers_table(columns: int, rows: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    lines = (",".join(f"{(r + c) % 10}.5" for c in range(columns)) for r in range(rows))
    return (header + "\n" + "\n".join(lines) + "\n").encode()


def _text_table(columns: int, rows: int) -> bytes:
    """Text columns with 20 categories each (one-hot: 20 inputs per column)."""
    header = ",".join(f"t{i}" for i in range(columns - 1)) + ",y"
    lines = (
        ",".join(chr(97 + (r + c) % 20) for c in range(columns - 1)) + f",{r % 2}"
        for r in range(rows)
    )
    return (header + "\n" + "\n".join(lines) + "\n").encode()


def _huge_values(rows: int) -> bytes:
    """Features of +-1e308 and a regression target between 1.5e308 and 1.6e308."""
    lines = (f"{(-1) ** r}e308,{r % 7},{1.5 + r % 100 / 1000}e308" for r in range(rows))
    return ("a,b,y\n" + "\n".join(lines) + "\n").encode()


CASES = {
    "40,000 duplicated names (160 KB)": lambda: b"abc," * 39_999 + b"abc\n1,2\n",
    "1,000,000 duplicated names, one line (4 MB)": lambda: b"abc," * 999_999 + b"abc",
    "600,000 distinct names (4.5 MB)": lambda: ",".join(f"c{i}" for i in range(600_000)).encode(),
    "one data row of 1,000,000 fields (2 MB)": lambda: b"a,b,y\n" + b"1," * 999_999 + b"1\n",
    "1,200,000 rows (4.8 MB)": lambda: b"a,y\n" + b"1,0\n" * 1_200_000,
    "one 4.9 MB field, no newline at the end": lambda: b"a,b\n" + b"7" * 4_900_000,
    "a 60,000-digit header name": lambda: b"1" * 60_000 + b"x,b\n1,2\n3,4\n",
    "quoted fields, 400,000 rows (4.8 MB)": lambda: b"a,b,y\n" + b'"x,y",1,0\n' * 400_000,
    "unclosed quote to the end (4.8 MB)": lambda: b'a,b,y\n"' + b"x,1,0\n" * 800_000,
    "200 numeric columns x 6,000 rows (4.8 MB, valid)": lambda: _numbers_table(200, 6_000),
    "200 text columns x 12,000 rows (4.8 MB, one-hot too wide)": lambda: _text_table(200, 12_000),
    "25 text columns x 20,000 rows (1 MB, 10M input values)": lambda: _text_table(26, 20_000),
    "25 text columns x 10,000 rows (0.5 MB, valid, 5M values)": lambda: _text_table(26, 10_000),
    "values near 1e308, 20,000 rows (0.7 MB, valid)": lambda: _huge_values(20_000),
    "bare CR line endings, 20,000 rows": lambda: b"a,b,y\r" + b"1,2,0\r3,4,1\r" * 10_000,
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(name: str) -> None:
    """In the child process: build the file, time load_csv, print one result line."""
    import numpy as np

    from core.data import DataError
    from core.data.csv_upload import load_csv

    data = CASES[name]()
    before_peak = _peak_mb()
    start = time.process_time()
    try:
        dataset = load_csv(data, "")
        outcome = f"accepted ({len(dataset.y_train) + len(dataset.y_test)} rows)"
        arrays = (dataset.X_train, dataset.X_test, dataset.y_train, dataset.y_test)
        if not all(np.isfinite(a).all() for a in arrays):
            outcome += " WITH NON-FINITE VALUES"
    except DataError as err:
        outcome = "refused: " + str(err)[:70]
    cpu = time.process_time() - start
    print(f"{cpu:.3f}\t{_peak_mb() - before_peak:.0f}\t{len(data) / 1e6:.2f}\t{outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case here
    args = parser.parse_args()
    if args.case:
        run_case(args.case)
        return
    print(f"{'case':<58} {'CPU s':>7} {'+MB':>5} {'size MB':>7}  outcome")
    for name in CASES:
        if args.only not in name:
            continue
        command = [sys.executable, "-m", "tests.benchmarks.csv_hostile", "--case", name]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"{name:<58} {'> ' + str(int(args.timeout)):>7}  (killed)")
            continue
        if done.returncode:
            print(f"{name:<58} crashed: {done.stderr.strip().splitlines()[-1]}")
            continue
        cpu, memory, size, outcome = done.stdout.strip().split("\t")
        print(f"{name:<58} {cpu:>7} {memory:>5} {size:>7}  {outcome}")


if __name__ == "__main__":
    main()
