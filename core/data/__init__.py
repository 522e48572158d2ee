"""Every dataset the playground offers, as NumPy arrays with a train/test split.

`load_dataset(cfg)` dispatches on the kind of `cfg.dataset` (core.datasets.DATASETS) and raises
DataError, phrased for the user, for any problem with the data.

- Generated 2D sets (domain [-6, 6]): raw points (n, 2) -> the selected features (FEATURES_2D,
  canonical order) -> standardized with training-split statistics; `transform` does the same.
- Generated 1D sets (domain [-3, 3]): raw x (n, 1) is the only input; cfg.features is ignored.
- Generated regression targets stay in their natural range (about -1..1). Diabetes and CSV
  regression targets are standardized on the training split (a note holds mean and std).
- Image sets (digits, MNIST) use pixels scaled to [0, 1] and are never standardized per pixel.
- MNIST: a stratified random subset of cfg.mnist_subset images drawn from all images available
  (train + t10k), then split by cfg.train_fraction (the official split is not kept); its X is
  float32 (70,000 x 784 in float64 would take 440 MB).
"""

from __future__ import annotations

import numpy as np

from core.config import MAX_GENERATED_POINTS, DataConfig
from core.data import generators as gen
from core.data.classic import load_classic
from core.data.csv_upload import MAX_CSV_BYTES, csv_columns, infer_task, load_csv
from core.data.dataset import DataError, Dataset
from core.data.features import feature_labels, feature_map
from core.data.mnist import (
    Progress,
    download_mnist,
    load_mnist_files,
    mnist_arrays,
    mnist_base_url,
    mnist_cache_dir,
)
from core.data.preprocess import (
    STREAM_GENERATE,
    STREAM_SUBSET,
    build_dataset,
    rng_for,
    stratified_take,
)
from core.datasets import DATASETS

__all__ = [
    "MAX_CSV_BYTES",
    "Progress",
    "DataError",
    "Dataset",
    "csv_columns",
    "download_mnist",
    "infer_task",
    "load_csv",
    "load_dataset",
    "load_mnist_files",
    "mnist_base_url",
    "mnist_cache_dir",
]

MIN_GENERATED_POINTS = 10


def _n_points(cfg: DataConfig) -> int:
    return int(min(max(cfg.n_points, MIN_GENERATED_POINTS), MAX_GENERATED_POINTS))


def _class_names(k: int) -> list[str]:
    return [f"class {i}" for i in range(k)]


def _generated_2d(cfg: DataConfig) -> Dataset:
    name, n, noise = cfg.dataset, _n_points(cfg), cfg.noise / 100.0
    rng = rng_for(cfg.seed, STREAM_GENERATE)
    if name == "blobs":
        raw, y = gen.blobs(n, noise, rng, k=cfg.n_classes)
    else:
        generate = gen.REGRESSION_2D.get(name) or gen.CLASSIFICATION_2D[name]
        raw, y = generate(n, noise, rng)
    task = DATASETS[name].task
    classes = (
        []
        if task == "regression"
        else _class_names(int(y.max()) + 1 if task == "multiclass" else 2)
    )
    features = feature_map(cfg.features)
    return build_dataset(
        name,
        task,
        features(raw),
        y,
        train_fraction=cfg.train_fraction,
        seed=cfg.seed,
        standardize=cfg.standardize,
        feature_names=feature_labels(cfg.features),
        class_names=classes,
        raw=raw,
        feature_fn=features,
        domain=gen.DOMAIN_2D,
    )


def _generated_1d(cfg: DataConfig) -> Dataset:
    rng = rng_for(cfg.seed, STREAM_GENERATE)
    raw, y = gen.REGRESSION_1D[cfg.dataset](_n_points(cfg), cfg.noise / 100.0, rng)
    return build_dataset(
        cfg.dataset,
        "regression",
        raw,
        y,
        train_fraction=cfg.train_fraction,
        seed=cfg.seed,
        standardize=cfg.standardize,
        feature_names=["x"],
        raw=raw,
        domain=gen.DOMAIN_1D,
    )


def _classic(cfg: DataConfig) -> Dataset:
    table = load_classic(cfg.dataset)
    images = table.image_shape is not None
    notes = ["Pixels scaled to [0, 1]; not standardized per pixel."] if images else []
    return build_dataset(
        cfg.dataset,
        table.task,
        table.X,
        table.y,
        train_fraction=cfg.train_fraction,
        seed=cfg.seed,
        standardize=cfg.standardize and not images,
        feature_names=list(table.feature_names),
        class_names=list(table.class_names),
        image_shape=table.image_shape,
        notes=notes,
        scale_target=table.task == "regression",
    )


def _mnist(cfg: DataConfig, progress: Progress | None) -> Dataset:
    images, labels, notes = mnist_arrays(cfg.mnist_subset, progress)
    k = min(cfg.mnist_subset, len(labels))
    if k < cfg.mnist_subset:
        notes.append(f"Only {len(labels):,} MNIST images are available: using all of them.")
    chosen = stratified_take(labels, k, rng_for(cfg.seed, STREAM_SUBSET))
    X = images[chosen].reshape(k, 28 * 28).astype(np.float32)
    X *= np.float32(1 / 255)  # in place: 70,000 images take 220 MB as float32
    return build_dataset(
        "mnist",
        "multiclass",
        X,
        labels[chosen].astype(np.int64),
        train_fraction=cfg.train_fraction,
        seed=cfg.seed,
        standardize=False,
        feature_names=[f"pixel ({r}, {c})" for r in range(28) for c in range(28)],
        class_names=[str(d) for d in range(10)],
        image_shape=(28, 28),
        notes=notes + ["Pixels scaled to [0, 1]; not standardized per pixel."],
        x_dtype=np.float32,
    )


def load_dataset(
    cfg: DataConfig,
    *,
    csv_bytes: bytes | None = None,
    csv_name: str = "",
    csv_task: str | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """The Dataset `cfg` describes. CSV needs `csv_bytes` (target cfg.csv_target, task inferred
    unless `csv_task`); MNIST may download, reporting `progress(fraction, text)`."""
    name = cfg.dataset
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}: choose one of {list(DATASETS)}.")
    kind = DATASETS[name].kind
    if kind == "2d":
        return _generated_2d(cfg)
    if kind == "1d":
        return _generated_1d(cfg)
    if kind == "images":
        return _mnist(cfg, progress)
    if kind == "csv":
        if not csv_bytes:
            raise DataError("Upload a CSV file first.")
        return load_csv(
            csv_bytes,
            cfg.csv_target,
            task=csv_task,
            name=csv_name,
            train_fraction=cfg.train_fraction,
            seed=cfg.seed,
            standardize=cfg.standardize,
        )
    return _classic(cfg)
