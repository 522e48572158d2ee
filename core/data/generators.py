"""Generated datasets: TensorFlow Playground's 2D sets, moons, multi-class 2D sets, 1D functions.

Every generator is `gen(n, noise, rng) -> (points, labels)` with `noise` a fraction (the
playground's percent / 100, so 0 to 0.5). Random draws never depend on `noise`, so for one seed
a larger noise moves (or relabels) the very same points further.

Reproduced from TensorFlow Playground's dataset.ts (domain [-6, 6], labels -1/+1 mapped to 0/1):

- circle: n/2 points with r ~ U(0, 2.5) and n/2 with r ~ U(3.5, 5), angle ~ U(0, 2 pi). The
  label is "inside radius 2.5" of the point shifted by U(-5, 5) * noise per coordinate; the point
  itself is kept where it was (TF's noise flips labels near the boundary, it does not move points).
- xor: x, y ~ U(-5, 5) pushed 0.3 away from the axes; label = [x' y' >= 0] for the point shifted
  by U(-5, 5) * noise (again only the label sees the shift).
- gaussian: blobs at (2, 2) (label 1) and (-2, -2), variance 0.5 + 7 * noise (0.5 to 4).
- spiral: two arms of n/2 points, r = 5 i / m, t = 1.75 * 2 pi i / m + delta (delta 0: label 1,
  pi: label 0); coordinates move by U(-1, 1) * noise.
- plane: x, y ~ U(-6, 6); y_target = (x' + y') / 10 for the point shifted by U(-6, 6) * noise.
- multi_gaussian: six signed bumps clip(1 - d / 2, 0, 1) at (+-4 or 0, +-2.5); the target is the
  bump largest in absolute value, again at the shifted point.

Where we differ: n counts points exactly (TF's `i < n / 2` loops give n + 1 for odd n), and
TF's regression default of 1200 points is ours too only if the user picks it (default 500).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]

DOMAIN_2D = (-6.0, 6.0)
DOMAIN_1D = (-3.0, 3.0)
TWO_PI = 2.0 * np.pi


def _counts(n: int, k: int) -> np.ndarray:
    """n split into k near-equal parts, the first ones one larger: [n // k + (i < n % k)]."""
    return n // k + (np.arange(k) < n % k)


def _class_labels(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def _gaussian_std(noise: float) -> float:
    """TF's variance scale: noise 0 -> variance 0.5, noise 0.5 -> variance 4."""
    return float(np.sqrt(0.5 + 7.0 * noise))


def _polar(r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """TF's convention: (x, y) = (r sin t, r cos t)."""
    return np.column_stack([r * np.sin(t), r * np.cos(t)])


# --- TF Playground classification --------------------------------------------------------------


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 inside radius 2.5, 0 in the ring 3.5..5; noise relabels near the border."""
    n_in, n_out = _counts(n, 2)
    r = np.concatenate([rng.uniform(0.0, 2.5, n_in), rng.uniform(3.5, 5.0, n_out)])
    points = _polar(r, rng.uniform(0.0, TWO_PI, n))
    shifted = points + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return points, (np.hypot(shifted[:, 0], shifted[:, 1]) < 2.5).astype(np.int64)


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 where x * y >= 0 (quadrants I and III) of the noise-shifted point."""
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)
    shifted = points + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return points, (shifted[:, 0] * shifted[:, 1] >= 0).astype(np.int64)


def gaussian(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs, label 1 at (2, 2), label 0 at (-2, -2); noise widens them."""
    n_pos, n_neg = _counts(n, 2)
    centers = np.repeat([[2.0, 2.0], [-2.0, -2.0]], [n_pos, n_neg], axis=0)
    points = centers + rng.standard_normal((n, 2)) * _gaussian_std(noise)
    return points, np.repeat(np.array([1, 0], dtype=np.int64), [n_pos, n_neg])


def _spiral_arms(n: int, k: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """k arms, arm j: r = 5 i / m, t = 1.75 * 2 pi i / m + 2 pi j / k, plus U(-1, 1) * noise."""
    counts = _counts(n, k)
    i = np.concatenate([np.arange(m) for m in counts])
    m = np.repeat(counts, counts)
    delta = np.repeat(TWO_PI * np.arange(k) / k, counts)
    points = _polar(5.0 * i / m, 1.75 * TWO_PI * i / m + delta)
    return points + rng.uniform(-1.0, 1.0, (n, 2)) * noise


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """TF's two-arm spiral: the arm with delta 0 is label 1, the arm with delta pi label 0."""
    return _spiral_arms(n, 2, noise, rng), 1 - _class_labels(_counts(n, 2))


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles (as scikit-learn's make_moons), scaled by 3 and centred.

    Upper moon (cos t, sin t) is label 0, lower moon (1 - cos t, 0.5 - sin t) label 1,
    t ~ U(0, pi); Gaussian coordinate noise with std = noise in unit-moon coordinates.
    """
    n_up, n_down = _counts(n, 2)
    t = rng.uniform(0.0, np.pi, n)
    up = np.column_stack([np.cos(t[:n_up]), np.sin(t[:n_up])])
    down = np.column_stack([1.0 - np.cos(t[n_up:]), 0.5 - np.sin(t[n_up:])])
    unit = np.concatenate([up, down]) + rng.standard_normal((n, 2)) * noise
    return 3.0 * (unit - [0.5, 0.25]), _class_labels(np.array([n_up, n_down]))


# --- multi-class 2D -----------------------------------------------------------------------------


def spiral3(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three spiral arms 120 degrees apart, labels 0, 1, 2; TF's spiral noise rule."""
    return _spiral_arms(n, 3, noise, rng), _class_labels(_counts(n, 3))


def blobs(
    n: int, noise: float, rng: np.random.Generator, k: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """k Gaussian blobs with centres on a circle of radius 4; std as TF's gaussian set."""
    counts = _counts(n, k)
    angles = np.pi / 2 + TWO_PI * np.arange(k) / k
    centers = np.repeat(_polar(np.full(k, 4.0), angles), counts, axis=0)
    points = centers + rng.standard_normal((n, 2)) * _gaussian_std(noise)
    return points, _class_labels(counts)


# --- TF Playground regression -------------------------------------------------------------------

_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
)


def _shifted_uniform(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    points = rng.uniform(-6.0, 6.0, (n, 2))
    return points, points + rng.uniform(-6.0, 6.0, (n, 2)) * noise


def plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Target (x' + y') / 10 (about -1..1) at the noise-shifted point (x', y')."""
    points, shifted = _shifted_uniform(n, noise, rng)
    return points, shifted.sum(axis=1) / 10.0


def multi_gaussian(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Target = the signed bump s * clip(1 - d / 2, 0, 1) largest in |.| (first on ties)."""
    points, shifted = _shifted_uniform(n, noise, rng)
    d = np.hypot(shifted[:, :1] - _BUMPS[:, 0], shifted[:, 1:] - _BUMPS[:, 1])
    values = _BUMPS[:, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)
    return points, values[np.arange(n), np.abs(values).argmax(axis=1)]


# --- 1D function regression ---------------------------------------------------------------------

FUNCTIONS_1D: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": lambda x: np.sin(2.0 * x),
    "abs": lambda x: 2.0 * np.abs(x) / 3.0 - 1.0,
    "step": lambda x: np.where(x >= 0, 1.0, -1.0),
    "poly": lambda x: 0.1 * x**3 - 0.6 * x,
}
"""Each maps [-3, 3] into [-1, 1]: sin 2x, 2|x|/3 - 1, sign (0 -> +1), 0.1 x^3 - 0.6 x."""


def function_1d(name: str) -> Generator:
    """x ~ U(-3, 3) as (n, 1); y = f(x) + N(0, noise^2), i.e. std noise (up to 0.5)."""
    f = FUNCTIONS_1D[name]

    def generate(n: int, noise: float, rng: np.random.Generator):
        x = rng.uniform(*DOMAIN_1D, (n, 1))
        return x, f(x[:, 0]) + rng.standard_normal(n) * noise

    return generate


CLASSIFICATION_2D: dict[str, Generator] = {
    "circle": circle,
    "xor": xor,
    "gaussian": gaussian,
    "spiral": spiral,
    "moons": moons,
    "spiral3": spiral3,
    "blobs": blobs,
}
REGRESSION_2D: dict[str, Generator] = {"plane": plane, "multi_gaussian": multi_gaussian}
REGRESSION_1D: dict[str, Generator] = {name: function_1d(name) for name in FUNCTIONS_1D}
