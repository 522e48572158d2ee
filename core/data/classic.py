"""The small classic sets, shipped in assets/data/classic: offline and instant.

digits (8x8 images, pixels 0..16 scaled to [0, 1]), iris, wine, breast cancer (binary:
0 malignant, 1 benign) and diabetes (regression, raw units, as load_diabetes(scaled=False)).
The files are scikit-learn's bundled copies (licence and origins in the folder's README); the
tests check that what we read equals scikit-learn's own loaders. Each set is read once per process.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

NAMES = ("digits", "iris", "wine", "breast_cancer", "diabetes")


@dataclass(frozen=True)
class Table:
    """A loaded classic set: features X, target y and their names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    task: str
    image_shape: tuple[int, int] | None = None


_CANCER = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave points", "symmetry", "fractal dimension",
)  # fmt: skip
_FEATURE_NAMES = {
    "digits": tuple(f"pixel ({r}, {c})" for r in range(8) for c in range(8)),
    "iris": ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"),
    "wine": (
        "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
        "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
        "od280/od315_of_diluted_wines", "proline",
    ),
    "breast_cancer": tuple(
        [f"mean {m}" for m in _CANCER] + [f"{m} error" for m in _CANCER]
        + [f"worst {m}" for m in _CANCER]
    ),
    "diabetes": ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"),
}  # fmt: skip
_CSV_FILES = {
    "iris": "iris.csv.gz",
    "wine": "wine_data.csv.gz",
    "breast_cancer": "breast_cancer.csv.gz",
}


DATA_DIR = Path(__file__).resolve().parents[2] / "assets" / "data" / "classic"


def _read_labelled_csv(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """sklearn's format: 'n_samples,n_features,class names...' then rows of features + class."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        head = f.readline().strip().split(",")
        table = np.loadtxt(f, delimiter=",", ndmin=2)
    n, d = int(head[0]), int(head[1])
    if table.shape != (n, d + 1):
        raise ValueError(f"{path.name}: shape {table.shape}, header says ({n}, {d + 1})")
    return table[:, :d], table[:, d].astype(np.int64), tuple(head[2:])


def _read(name: str) -> Table:
    data = DATA_DIR
    names = _FEATURE_NAMES[name]
    if name == "digits":
        with gzip.open(data / "digits.csv.gz", "rt") as f:
            table = np.loadtxt(f, delimiter=",", ndmin=2)
        if table.shape != (1797, 65):
            raise ValueError(f"digits.csv.gz: shape {table.shape}")
        classes = tuple(str(c) for c in range(10))
        y = table[:, -1].astype(np.int64)
        return Table(table[:, :-1] / 16.0, y, names, classes, "multiclass", (8, 8))
    if name == "diabetes":
        X = np.loadtxt(data / "diabetes_data_raw.csv.gz", ndmin=2)
        y = np.loadtxt(data / "diabetes_target.csv.gz")
        if X.shape != (442, 10) or y.shape != (442,):
            raise ValueError(f"diabetes: shapes {X.shape}, {y.shape}")
        return Table(X, y, names, (), "regression")
    X, y, classes = _read_labelled_csv(data / _CSV_FILES[name])
    if X.shape[1] != len(names):
        raise ValueError(f"{name}: {X.shape[1]} features, expected {len(names)}")
    return Table(X, y, names, classes, "binary" if len(classes) == 2 else "multiclass")


@lru_cache(maxsize=len(NAMES))
def load_classic(name: str) -> Table:
    """Load once per process (cached); the arrays are read-only because they are shared."""
    table = _read(name)
    table.X.flags.writeable = False
    table.y.flags.writeable = False
    return table
