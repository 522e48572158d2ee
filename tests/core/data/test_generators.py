"""Generated sets: shapes, labels, class balance, what noise does, seed reproducibility."""

import numpy as np
import pytest

from core.data import generators as gen

ALL_2D = {**gen.CLASSIFICATION_2D, **gen.REGRESSION_2D}
BALANCED_BINARY = ("circle", "gaussian", "spiral", "moons")


def make(name, n=500, noise=0.0, seed=0, **kw):
    table = {**ALL_2D, **gen.REGRESSION_1D}
    return table[name](n, noise, np.random.default_rng(seed), **kw)


@pytest.mark.parametrize("name", sorted(ALL_2D))
@pytest.mark.parametrize("n", [10, 501, 2000])
def test_2d_shapes_and_dtypes(name, n):
    points, y = make(name, n, noise=0.2)
    assert points.shape == (n, 2) and points.dtype == np.float64
    assert y.shape == (n,)
    assert np.all(np.isfinite(points))
    if name in gen.REGRESSION_2D:
        assert y.dtype == np.float64
    else:
        assert y.dtype == np.int64
        assert y.min() >= 0


@pytest.mark.parametrize("name", sorted(gen.REGRESSION_1D))
def test_1d_shapes(name):
    x, y = make(name, 301, noise=0.1)
    assert x.shape == (301, 1) and y.shape == (301,) and y.dtype == np.float64
    assert x.min() >= -3 and x.max() <= 3


@pytest.mark.parametrize("name", BALANCED_BINARY)
@pytest.mark.parametrize("n", [500, 501])
def test_binary_sets_are_balanced(name, n):
    _, y = make(name, n)
    assert set(np.unique(y)) == {0, 1}
    assert abs(int((y == 1).sum()) - int((y == 0).sum())) <= 1


def test_xor_is_roughly_balanced():
    _, y = make("xor", 4000)
    assert abs(y.mean() - 0.5) < 0.05


@pytest.mark.parametrize(("name", "k"), [("spiral3", 3), ("blobs", 3), ("blobs", 4), ("blobs", 6)])
def test_multiclass_labels_and_balance(name, k):
    kw = {"k": k} if name == "blobs" else {}
    _, y = make(name, 601, **kw)
    counts = np.bincount(y)
    assert len(counts) == k
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", sorted({**ALL_2D, **gen.REGRESSION_1D}))
def test_same_seed_same_data_other_seed_other_data(name):
    a_points, a_y = make(name, 200, noise=0.3, seed=7)
    b_points, b_y = make(name, 200, noise=0.3, seed=7)
    c_points, _ = make(name, 200, noise=0.3, seed=8)
    np.testing.assert_array_equal(a_points, b_points)
    np.testing.assert_array_equal(a_y, b_y)
    assert not np.array_equal(a_points, c_points)


# --- noise does what it says ------------------------------------------------------------------


def test_circle_geometry_without_noise():
    points, y = make("circle", 1000)
    r = np.hypot(points[:, 0], points[:, 1])
    assert np.all((r <= 2.5) | ((r >= 3.5) & (r <= 5.0)))
    np.testing.assert_array_equal(y, (r < 2.5).astype(int))


@pytest.mark.parametrize("name", ["circle", "xor"])
def test_label_noise_keeps_points_and_flips_more_labels_when_larger(name):
    """TF Playground's circle and XOR noise relabels points; it never moves them."""
    clean_points, clean = make(name, 2000, noise=0.0, seed=3)
    flips = []
    for noise in (0.1, 0.5):
        points, y = make(name, 2000, noise=noise, seed=3)
        np.testing.assert_array_equal(points, clean_points)
        flips.append(np.mean(y != clean))
    assert 0 < flips[0] < flips[1] < 0.5


def test_xor_geometry_without_noise():
    points, y = make("xor", 1000)
    assert np.all(np.abs(points) >= 0.3) and np.all(np.abs(points) <= 5.3)
    np.testing.assert_array_equal(y, (points[:, 0] * points[:, 1] >= 0).astype(int))


@pytest.mark.parametrize("noise", [0.0, 0.25, 0.5])
def test_gaussian_spread_follows_noise(noise):
    points, y = make("gaussian", 6000, noise=noise)
    expected_std = np.sqrt(0.5 + (4.0 - 0.5) * noise / 0.5)
    for label, centre in ((1, 2.0), (0, -2.0)):
        blob = points[y == label]
        np.testing.assert_allclose(blob.mean(axis=0), [centre, centre], atol=0.15)
        np.testing.assert_allclose(blob.std(axis=0), expected_std, rtol=0.06)


def test_spiral_lies_on_its_arms_without_noise():
    n = 400
    points, y = make("spiral", n)
    m = n // 2
    i = np.tile(np.arange(m), 2)
    np.testing.assert_allclose(np.hypot(points[:, 0], points[:, 1]), 5.0 * i / m, atol=1e-12)
    t = 1.75 * 2 * np.pi * i[:m] / m
    np.testing.assert_allclose(
        points[:m], np.column_stack([5 * i[:m] / m * np.sin(t), 5 * i[:m] / m * np.cos(t)])
    )
    assert np.all(y[:m] == 1) and np.all(y[m:] == 0)


@pytest.mark.parametrize("name", ["spiral", "spiral3"])
def test_spiral_noise_moves_points_by_at_most_noise(name):
    clean, _ = make(name, 900, noise=0.0, seed=5)
    noisy, _ = make(name, 900, noise=0.4, seed=5)
    shift = np.abs(noisy - clean)
    assert shift.max() <= 0.4 + 1e-12
    assert shift.max() > 0.35


def test_moons_on_unit_circles_and_noise_spread():
    points, y = make("moons", 1000)
    unit = points / 3.0 + [0.5, 0.25]
    np.testing.assert_allclose(np.hypot(*unit[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(*(unit[y == 1] - [1.0, 0.5]).T), 1.0)
    assert np.all(unit[y == 0, 1] >= 0) and np.all(unit[y == 1, 1] <= 0.5)
    noisy, _ = make("moons", 4000, noise=0.2)
    clean, _ = make("moons", 4000, noise=0.0)
    np.testing.assert_allclose((noisy - clean).std(axis=0), 3.0 * 0.2, rtol=0.06)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_blobs_are_separable_without_noise(k):
    points, y = make("blobs", 1200, k=k)
    centres = np.array([points[y == c].mean(axis=0) for c in range(k)])
    np.testing.assert_allclose(np.hypot(*centres.T), 4.0, atol=0.2)
    nearest = np.argmin(((points[:, None, :] - centres) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == y) > 0.97


def test_plane_target_and_its_noise():
    points, y = make("plane", 1000)
    np.testing.assert_allclose(y, points.sum(axis=1) / 10.0)
    noisy_points, noisy = make("plane", 1000, noise=0.5)
    np.testing.assert_array_equal(noisy_points, points)
    residual = np.abs(noisy - y)
    assert residual.max() <= 2 * 6 * 0.5 / 10 + 1e-12
    assert residual.mean() > 0.05


def test_multi_gaussian_bumps():
    points, y = make("multi_gaussian", 4000)
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    signs = np.array([1, -1, 1, -1, 1, -1])
    d = np.hypot(*(points[:, None, :] - centres).transpose(2, 0, 1))
    nearest = d.argmin(axis=1)
    near = d.min(axis=1) < 1.5  # other bumps are at least 2.5 away, so they contribute 0
    expected = signs[nearest] * (1 - d.min(axis=1) / 2)
    np.testing.assert_allclose(y[near], expected[near])
    np.testing.assert_array_equal(y[d.min(axis=1) > 2], 0.0)
    assert np.abs(y).max() <= 1.0


@pytest.mark.parametrize(
    ("name", "f"),
    [
        ("sine", lambda x: np.sin(2 * x)),
        ("abs", lambda x: 2 * np.abs(x) / 3 - 1),
        ("step", lambda x: np.sign(x) + (x == 0)),
        ("poly", lambda x: 0.1 * x**3 - 0.6 * x),
    ],
)
def test_1d_functions_and_gaussian_noise(name, f):
    x, y = make(name, 5000)
    np.testing.assert_allclose(y, f(x[:, 0]), atol=1e-12)
    assert y.min() >= -1 and y.max() <= 1
    noisy_x, noisy = make(name, 5000, noise=0.3)
    np.testing.assert_array_equal(noisy_x, x)
    residual = noisy - y
    assert abs(residual.mean()) < 0.02
    np.testing.assert_allclose(residual.std(), 0.3, rtol=0.05)
