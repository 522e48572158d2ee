"""The classic sets we ship: the same data as scikit-learn's loaders (a test-only reference)."""

import subprocess
import sys

import numpy as np
import pytest
import sklearn.datasets

from core.config import DataConfig
from core.data import classic, load_dataset

SETS = classic.NAMES


@pytest.fixture
def cold_cache():
    classic.load_classic.cache_clear()
    yield
    classic.load_classic.cache_clear()


@pytest.mark.parametrize("name", SETS)
def test_direct_read_equals_sklearn_loader(name, cold_cache):
    table = classic.load_classic(name)
    loader = getattr(sklearn.datasets, f"load_{name}")
    bunch = loader(scaled=False) if name == "diabetes" else loader()
    scale = 16.0 if name == "digits" else 1.0
    np.testing.assert_array_equal(table.X, bunch.data / scale)
    np.testing.assert_array_equal(table.y, bunch.target)
    if name != "digits":
        assert list(table.feature_names) == [str(f) for f in bunch.feature_names]
    if name not in ("digits", "diabetes"):
        assert list(table.class_names) == [str(c) for c in bunch.target_names]


@pytest.mark.parametrize(
    ("name", "task", "n", "d", "classes"),
    [
        ("digits", "multiclass", 1797, 64, 10),
        ("iris", "multiclass", 150, 4, 3),
        ("wine", "multiclass", 178, 13, 3),
        ("breast_cancer", "binary", 569, 30, 2),
        ("diabetes", "regression", 442, 10, 0),
    ],
)
def test_load_dataset_classic(name, task, n, d, classes):
    ds = load_dataset(DataConfig(dataset=name, train_fraction=0.7, seed=3))
    assert ds.task == task and len(ds.class_names) == classes
    assert len(ds.y_train) + len(ds.y_test) == n
    assert len(ds.y_train) == round(0.7 * n)
    assert ds.n_inputs == d and len(ds.feature_names) == d
    assert ds.raw_train is None and ds.domain is None
    if task != "regression":
        assert ds.y_train.dtype == np.int64
        full = np.bincount(np.concatenate([ds.y_train, ds.y_test]))
        np.testing.assert_allclose(np.bincount(ds.y_train) / len(ds.y_train), full / n, atol=0.02)


def test_digits_are_images_in_unit_range_not_standardized():
    ds = load_dataset(DataConfig(dataset="digits"))
    assert ds.image_shape == (8, 8)
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    assert ds.class_names == [str(d) for d in range(10)]


def test_tabular_sets_standardized_on_train():
    ds = load_dataset(DataConfig(dataset="wine"))
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-10)
    raw = load_dataset(DataConfig(dataset="wine", standardize=False))
    assert raw.X_train.max() > 100  # proline is in the hundreds


def test_diabetes_target_is_standardized_with_a_note():
    ds = load_dataset(DataConfig(dataset="diabetes", seed=1))
    np.testing.assert_allclose(ds.y_train.mean(), 0, atol=1e-10)
    np.testing.assert_allclose(ds.y_train.std(), 1, atol=1e-10)
    note = next(n for n in ds.notes if n.startswith("Target standardized"))
    std, mean = (float(v.rstrip(".")) for v in note.split("= y * ")[1].split(" + "))
    target = sklearn.datasets.load_diabetes().target
    restored = np.sort(np.concatenate([ds.y_train, ds.y_test]) * std + mean)
    np.testing.assert_allclose(restored, np.sort(target), rtol=1e-5)


def test_the_app_reads_them_without_scikit_learn():
    """scikit-learn is only the tests' reference: the runtime must not import it."""
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from core.data import classic\n"
        "print(sum(classic.load_classic(n).X.shape[0] for n in classic.NAMES))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(1797 + 150 + 178 + 569 + 442)
