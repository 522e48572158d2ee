"""Core engine speed: training steps per second, with telemetry at its default rate.

    python -m tests.benchmarks.core_speed [--json PATH] [--quick] [--threads N]

For each net, `Trainer.run` is timed on synthetic data sized like the playground's defaults
(250 training points for the 2-input nets, 2,500 for the 784-input ones, as the default MNIST
subset of 5,000 gives), with the default TrainingConfig telemetry: batch loss and learning rate
every step, layer stats every `stats_every` steps, histograms every `histogram_every`, evaluation
at each epoch end (both printed).
Where torch is importable, the same net (same optimizer, same batch size, the same per-epoch
reshuffle, the loss read back every step) is timed in PyTorch on the CPU and the
ratio printed. Rounds alternate between the two engines and the best round of each counts, so
load from other processes on a shared machine hurts both alike. Both engines use the same number
of BLAS/intra-op threads: NumPy's OpenBLAS count (or --threads N for both), set through
threadpoolctl and torch.set_num_threads, and printed.

Then 784-128-64-10 (ReLU, Adam) is trained on the real MNIST test images in ../shared/data/mnist
(first 8,000 to train, last 2,000 held out) for 10 epochs; held-out accuracy and time printed.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import LayerConfig, NetworkConfig, OptimizerConfig, PlaygroundConfig
from core.data.dataset import Dataset
from core.trainer import Trainer

MNIST_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist"


@dataclass
class Case:
    name: str
    n_in: int
    hidden: list[int]
    activation: str
    n_out: int
    batch: int
    optimizer: str
    lr: float
    n_train: int
    target: float | None = None  # required speed-up over PyTorch


CASES = [
    Case("2-8-8-1 tanh, batch 10, SGD", 2, [8, 8], "tanh", 1, 10, "sgd", 0.03, 250, 8.0),
    Case("2-(16 x 8 sigmoid)-1, batch 32, SGD", 2, [8] * 16, "sigmoid", 1, 32, "sgd", 0.03, 250),
    Case(
        "784-128-64-10 ReLU, batch 128, Adam",
        784,
        [128, 64],
        "relu",
        10,
        128,
        "adam",
        1e-3,
        2500,
        1.2,
    ),
    Case(
        "784-512-512-10 ReLU, batch 256, SGD", 784, [512, 512], "relu", 10, 256, "sgd", 0.03, 2500
    ),
]


def make_config(case: Case, **training) -> PlaygroundConfig:
    task = "binary" if case.n_out == 1 else "multiclass"
    cfg = PlaygroundConfig()
    cfg.network = NetworkConfig(
        hidden=[LayerConfig(units=u, activation=case.activation) for u in case.hidden],
        task=task,
        head="sigmoid_bce" if task == "binary" else "softmax_ce",
    )
    cfg.training.batch_size = case.batch
    cfg.training.optimizer = OptimizerConfig(name=case.optimizer, learning_rate=case.lr)
    for key, value in training.items():
        setattr(cfg.training, key, value)
    return cfg


def synthetic(case: Case, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    n = case.n_train
    X = rng.standard_normal((2 * n, case.n_in))
    if case.n_out == 1:
        y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
        classes = ["0", "1"]
    else:
        y = rng.integers(0, case.n_out, 2 * n)
        classes = [str(i) for i in range(case.n_out)]
    task = "binary" if case.n_out == 1 else "multiclass"
    return Dataset("synthetic", task, X[:n], y[:n], X[n:], y[n:], [], classes)


def blas_threads() -> int | None:
    """NumPy's BLAS thread count (threadpoolctl), or None if it cannot be read."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return counts[0] if counts else None


def set_threads(n: int | None) -> str:
    """Give NumPy's BLAS and torch the same thread count (n, else NumPy's); describe it."""
    if n is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            raise SystemExit(
                "--threads needs threadpoolctl (or set OPENBLAS_NUM_THREADS)"
            ) from None
        threadpool_limits(limits=n, user_api="blas")
    n = blas_threads() if n is None else n
    line = f"threads: numpy BLAS {n if n is not None else 'unknown'}"
    try:
        import torch
    except ImportError:
        return line + ", torch not installed"
    if n is not None:
        torch.set_num_threads(n)
    return line + f", torch intra-op {torch.get_num_threads()}"


def time_ours(trainer: Trainer, seconds: float) -> float:
    trainer.run(seconds / 10)  # warm up
    t0 = time.perf_counter()
    steps = trainer.run(seconds)
    return steps / (time.perf_counter() - t0)


def torch_runner(case: Case, ds: Dataset):
    """A closure running `seconds` of the same training in PyTorch; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    act = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[
        case.activation
    ]
    layers, width = [], case.n_in
    for units in case.hidden:
        layers += [torch.nn.Linear(width, units), act()]
        width = units
    layers.append(torch.nn.Linear(width, case.n_out))
    net = torch.nn.Sequential(*layers)
    opt_cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[case.optimizer]
    opt = opt_cls(net.parameters(), lr=case.lr)
    X = torch.tensor(ds.X_train, dtype=torch.float32)
    if case.n_out == 1:
        y = torch.tensor(ds.y_train, dtype=torch.float32).reshape(-1, 1)
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.tensor(ds.y_train, dtype=torch.long)
        loss_fn = torch.nn.CrossEntropyLoss()
    n, b = len(X), case.batch
    state = {"perm": torch.randperm(n), "pos": 0}

    def run(seconds: float) -> float:
        steps, t0 = 0, time.perf_counter()
        while True:
            if state["pos"] >= n:
                state["perm"], state["pos"] = torch.randperm(n), 0
            idx = state["perm"][state["pos"] : state["pos"] + b]
            state["pos"] += b
            opt.zero_grad()
            loss = loss_fn(net(X[idx]), y[idx])
            loss.backward()
            opt.step()
            loss.item()
            steps += 1
            if steps % 8 == 0 and time.perf_counter() - t0 >= seconds:
                return steps / (time.perf_counter() - t0)

    return run


def bench_case(case: Case, seconds: float, rounds: int) -> dict:
    ds = synthetic(case)
    trainer = Trainer(make_config(case), ds)
    theirs = torch_runner(case, ds)
    ours_best, torch_best = 0.0, 0.0
    if theirs is not None:
        theirs(seconds / 10)  # warm up
    for _ in range(rounds):
        ours_best = max(ours_best, time_ours(trainer, seconds))
        if theirs is not None:
            torch_best = max(torch_best, theirs(seconds))
    row = {"case": case.name, "numpy_steps_per_s": round(ours_best, 1)}
    line = f"{case.name:40s} numpy {ours_best:9.0f} steps/s ({1e6 / ours_best:7.1f} us/step)"
    if theirs is not None:
        ratio = ours_best / torch_best
        row.update(torch_steps_per_s=round(torch_best, 1), ratio=round(ratio, 3))
        line += f" | torch {torch_best:8.0f} steps/s | ratio {ratio:5.2f}x"
        if case.target is not None:
            ok = ratio >= case.target
            row.update(target=case.target, passed=ok)
            line += f"  target >= {case.target}x: {'PASS' if ok else 'FAIL'}"
    print(line, flush=True)
    return row


def load_mnist_test_images() -> tuple[np.ndarray, np.ndarray, str]:
    """The 10,000 t10k images as (n, 784) floats in [0, 1] and labels, and the reader used."""
    from core.data.mnist import load_mnist_files

    images, labels = load_mnist_files(MNIST_DIR)
    return images.reshape(len(images), -1), labels, "core.data.mnist.load_mnist_files"


def bench_mnist(epochs: int) -> dict:
    images, labels, reader = load_mnist_test_images()
    X = images.astype(np.float32) / 255.0
    y = labels.astype(np.int64)
    ds = Dataset(
        "mnist-t10k",
        "multiclass",
        X[:8000],
        y[:8000],
        X[-2000:],
        y[-2000:],
        [],
        [str(d) for d in range(10)],
        image_shape=(28, 28),
    )
    case = Case("mnist", 784, [128, 64], "relu", 10, 128, "adam", 1e-3, 8000)
    trainer = Trainer(make_config(case), ds)
    t0 = time.perf_counter()
    for _ in range(epochs):
        trainer.epoch_step()
    seconds = time.perf_counter() - t0
    acc = trainer.evaluate()["val_accuracy"]
    ok = acc >= 0.95
    print(
        f"MNIST 784-128-64-10 ReLU Adam(lr 1e-3) batch {case.batch}, {epochs} epochs on 8,000 "
        f"t10k images: held-out (last 2,000) accuracy {acc:.4f} in {seconds:.1f} s "
        f"({trainer.step_count} steps; reader {reader})  target >= 0.95: "
        f"{'PASS' if ok else 'FAIL'}",
        flush=True,
    )
    return {
        "mnist_heldout_accuracy": acc,
        "mnist_seconds": round(seconds, 2),
        "passed": ok,
        "epochs": epochs,
        "reader": reader,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--quick", action="store_true", help="shorter timings, 2 MNIST epochs")
    parser.add_argument("--threads", type=int, help="BLAS/intra-op threads for both engines")
    args = parser.parse_args()
    tc = PlaygroundConfig().training
    print(set_threads(args.threads), flush=True)
    print(
        f"telemetry: layer stats every {tc.stats_every} steps, histograms every "
        f"{tc.histogram_every}, evaluation at each epoch end",
        flush=True,
    )
    seconds, rounds = (0.5, 2) if args.quick else (2.0, 3)
    results = {"cases": [bench_case(c, seconds, rounds) for c in CASES]}
    results["mnist"] = bench_mnist(2 if args.quick else 10)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
