"""Feature crosses, train-only standardization, the split and load_dataset for generated sets."""

import tracemalloc

import numpy as np
import pytest

from core.config import FEATURES_2D, MAX_GENERATED_POINTS, DataConfig
from core.data import DataError, load_dataset
from core.data.features import feature_labels, feature_map
from core.data.preprocess import Standardizer, build_dataset, split_indices, stratified_take
from core.datasets import DATASETS, dataset_names

DATASETS_1D = dataset_names(kind="1d")
DATASETS_2D_CLASSIFICATION = dataset_names(kind="2d", task="binary")
DATASETS_2D_MULTICLASS = dataset_names(kind="2d", task="multiclass")
GENERATED_2D = dataset_names(kind="2d")


def test_feature_map_formulas_in_canonical_order():
    raw = np.array([[0.5, -2.0], [3.0, 1.0]])
    X = feature_map(["sinx2", "x1x2", "x1"])(raw)
    a, b = raw.T
    np.testing.assert_allclose(X, np.column_stack([a, a * b, np.sin(b)]))
    full = feature_map(list(FEATURES_2D))(raw)
    expected = [a, b, a**2, b**2, a * b, np.sin(a), np.sin(b)]
    np.testing.assert_allclose(full, np.column_stack(expected))
    assert feature_labels(["x2sq", "x1"]) == ["x₁", "x₂²"]


@pytest.mark.parametrize(("features", "message"), [([], "at least one"), (["x3"], "'x3'")])
def test_bad_feature_selection(features, message):
    with pytest.raises(DataError, match=message):
        load_dataset(DataConfig(dataset="circle", features=features))


@pytest.mark.parametrize("name", GENERATED_2D)
def test_standardization_uses_train_statistics_only(name):
    features = ["x1", "x2", "x1sq", "x1x2", "sinx2"]
    ds = load_dataset(DataConfig(dataset=name, features=features, noise=20, train_fraction=0.3))
    f = feature_map(features)
    train, test = f(ds.raw_train), f(ds.raw_test)
    mean, std = train.mean(axis=0), train.std(axis=0)
    np.testing.assert_allclose(ds.X_train, (train - mean) / std, atol=1e-12)
    np.testing.assert_allclose(ds.X_test, (test - mean) / std, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-12)
    # the test split's own statistics were not used
    assert np.abs(ds.X_test.mean(axis=0)).max() > 1e-6
    np.testing.assert_allclose(ds.transform(ds.raw_test), ds.X_test)
    assert ds.feature_names == ["x₁", "x₂", "x₁²", "x₁·x₂", "sin(x₂)"]


def test_grid_goes_through_the_same_transform():
    ds = load_dataset(DataConfig(dataset="xor", features=["x1", "x2", "x1x2"]))
    xs, ys, X = ds.grid(7)
    assert ds.domain == (-6.0, 6.0) and xs[0] == -6 and xs[-1] == 6
    gx, gy = np.meshgrid(xs, ys)
    raw = np.column_stack([gx.ravel(), gy.ravel()])
    f = feature_map(["x1", "x2", "x1x2"])(ds.raw_train)
    expected = (feature_map(["x1", "x2", "x1x2"])(raw) - f.mean(axis=0)) / f.std(axis=0)
    np.testing.assert_allclose(X, expected)


def test_standardize_off_keeps_raw_features():
    ds = load_dataset(DataConfig(dataset="circle", features=["x1", "x1sq"], standardize=False))
    np.testing.assert_array_equal(ds.X_train, feature_map(["x1", "x1sq"])(ds.raw_train))
    np.testing.assert_array_equal(ds.transform(ds.raw_test), ds.X_test)


@pytest.mark.parametrize("fraction", [0.1, 0.37, 0.5, 0.9])
def test_train_fraction_sizes_and_stratification(fraction):
    ds = load_dataset(DataConfig(dataset="spiral3", n_points=600, train_fraction=fraction))
    n_train = round(600 * fraction)
    assert len(ds.y_train) == n_train and len(ds.y_test) == 600 - n_train
    for c in range(3):
        assert abs(np.sum(ds.y_train == c) - n_train / 3) <= 1


def test_changing_the_split_keeps_the_points():
    a = load_dataset(DataConfig(dataset="moons", train_fraction=0.2, seed=4))
    b = load_dataset(DataConfig(dataset="moons", train_fraction=0.8, seed=4))

    def rows(ds):
        return np.sort(np.concatenate([ds.raw_train, ds.raw_test]), axis=0)

    np.testing.assert_array_equal(rows(a), rows(b))


def test_split_indices_partition_and_stratified_take():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [50, 30, 20])
    train, test = split_indices(100, 0.5, rng, y)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    np.testing.assert_array_equal(np.bincount(y[train]), [25, 15, 10])
    take = stratified_take(y, 7, rng)
    assert len(take) == 7 and len(set(take.tolist())) == 7
    np.testing.assert_array_equal(np.bincount(y[take]), [4, 2, 1])  # 3.5, 2.1, 1.4 -> 4, 2, 1
    with pytest.raises(DataError, match="at least 2"):
        split_indices(1, 0.5, rng)


@pytest.mark.parametrize("name", GENERATED_2D + DATASETS_1D)
def test_load_dataset_generated(name):
    ds = load_dataset(DataConfig(dataset=name, n_points=300, seed=11, noise=10))
    again = load_dataset(DataConfig(dataset=name, n_points=300, seed=11, noise=10))
    other = load_dataset(DataConfig(dataset=name, n_points=300, seed=12, noise=10))
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    np.testing.assert_array_equal(ds.y_test, again.y_test)
    assert not np.array_equal(ds.raw_train, other.raw_train)
    assert len(ds.y_train) + len(ds.y_test) == 300
    assert ds.X_train.dtype == np.float64 and ds.X_train.flags.c_contiguous
    if name in DATASETS_1D:
        assert ds.raw_dim == 1 and ds.n_inputs == 1 and ds.domain == (-3.0, 3.0)
        assert ds.task == "regression"
    else:
        assert ds.raw_dim == 2 and ds.domain == (-6.0, 6.0)
    if name in DATASETS_2D_CLASSIFICATION:
        assert ds.task == "binary" and ds.class_names == ["class 0", "class 1"]
        assert ds.n_outputs == 1
    if name in DATASETS_2D_MULTICLASS:
        assert ds.task == "multiclass" and ds.n_outputs == 3
    if ds.task == "regression":
        assert ds.y_train.dtype == np.float64 and ds.class_names == []


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_blobs_k_from_config(k):
    ds = load_dataset(DataConfig(dataset="blobs", n_classes=k))
    assert ds.n_outputs == k and ds.class_names == [f"class {i}" for i in range(k)]
    assert set(np.unique(ds.y_train)) == set(range(k))


def test_point_count_is_capped():
    cfg = DataConfig(dataset="circle")
    cfg.n_points = MAX_GENERATED_POINTS * 10  # bypasses validation on purpose
    ds = load_dataset(cfg)
    assert len(ds.y_train) + len(ds.y_test) == MAX_GENERATED_POINTS


def test_1d_ignores_2d_features_and_noise_is_in_target_only():
    ds = load_dataset(DataConfig(dataset="sine", features=["x1sq"], standardize=False, noise=0))
    assert ds.feature_names == ["x"]
    np.testing.assert_array_equal(ds.X_train, ds.raw_train)
    np.testing.assert_allclose(ds.y_train, np.sin(2 * ds.raw_train[:, 0]))


def test_every_registered_dataset_loads_with_its_registered_task():
    """A registry entry without a generator (or with the wrong task) fails here."""
    for name, info in DATASETS.items():
        if info.kind in ("images", "csv"):
            continue  # MNIST downloads (tests/core/data/test_mnist_*); a CSV needs a file
        ds = load_dataset(DataConfig(dataset=name))
        assert ds.task == info.task, name
        assert (ds.domain is not None) == info.generated, name


def test_unknown_dataset_and_missing_csv():
    cfg = DataConfig()
    cfg.dataset = "nope"
    with pytest.raises(DataError, match="Unknown dataset"):
        load_dataset(cfg)
    with pytest.raises(DataError, match="Upload a CSV"):
        load_dataset(DataConfig(dataset="csv"))


# --- scaling that cannot overflow, and one copy of the inputs ------------------------------------

HUGE = np.finfo(np.float64).max  # 1.797e308


def test_standardizer_of_values_near_the_largest_float_stays_finite():
    """(x - mean) overflows for x = 1e308 and mean = -1e308; the scaler divides by max |x| first."""
    X = np.array([[1e308, 1.5e308, 0.5], [-1e308, HUGE, 0.5], [1e308, 1.4e308, 0.5], [0, 0, 0.5]])
    scaler = Standardizer(X)
    Z = scaler(X)
    assert np.isfinite(Z).all() and np.isfinite(scaler.mean).all() and np.isfinite(scaler.std).all()
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), [1, 1, 0], atol=1e-12)  # a constant column: 0
    # value = z * std + mean, computed without overflow: mean + std * z with |z| small
    np.testing.assert_allclose(scaler.mean + Z * scaler.std, X, rtol=1e-12)
    in_place = X.copy()
    scaler.scale_in_place(in_place)
    np.testing.assert_array_equal(in_place, Z)


def test_build_dataset_standardizes_huge_targets_and_features():
    rng = np.random.default_rng(0)
    X = rng.choice([-1e308, 1e308], size=(40, 2))
    y = rng.uniform(1.4e308, HUGE, size=40)
    ds = build_dataset(
        "huge",
        "regression",
        X,
        y,
        train_fraction=0.5,
        seed=0,
        standardize=True,
        feature_names=["a", "b"],
        scale_target=True,
    )
    for values in (ds.X_train, ds.X_test, ds.y_train, ds.y_test):
        assert np.isfinite(values).all()
    np.testing.assert_allclose([ds.y_train.mean(), ds.y_train.std()], [0, 1], atol=1e-12)
    note = next(n for n in ds.notes if n.startswith("Target standardized"))
    assert "inf" not in note and "nan" not in note


def _traced_peak(function, *args, **kwargs) -> int:
    """Bytes allocated at the peak of the call (numpy and Python allocations)."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("standardize", [True, False])
def test_build_dataset_copies_the_inputs_at_most_once(standardize):
    """The inputs are copied once, in split order (train rows first), and scaled in place: a
    large upload needs its input matrix about twice, not four times."""
    X = np.random.default_rng(1).normal(size=(20_000, 50))  # 8 MB
    y = np.arange(20_000) % 2
    peak = _traced_peak(
        build_dataset,
        "big",
        "binary",
        X,
        y,
        train_fraction=0.7,
        seed=0,
        standardize=standardize,
        feature_names=[f"x{i}" for i in range(50)],
    )
    assert peak < 1.25 * X.nbytes, f"peak {peak / X.nbytes:.2f} x the inputs"
