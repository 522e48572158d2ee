"""Weight penalties and gradient/weight constraints. All in place on the arrays given.

penalty      R(W) = l1·Σ|W| + (l2/2)·ΣW²   (weights only, never biases)
gradient     ∂R/∂W = l1·sign(W) + l2·W
clipping     g ← g · min(1, c/‖g‖) with ‖g‖ the global L2 norm over all gradients
max-norm     each unit's incoming weight column w_j ← w_j · min(1, c/‖w_j‖)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

Array = np.ndarray


def penalty(params: dict[str, Array], weight_keys: Iterable[str], l1: float, l2: float) -> float:
    """l1·Σ|W| + l2/2·ΣW² over the weight matrices named by weight_keys."""
    total = 0.0
    for key in weight_keys:
        W = params[key]
        if l1:
            total += l1 * float(np.abs(W).sum())
        if l2:
            total += 0.5 * l2 * float(np.vdot(W, W))
    return total


def add_penalty_grad(
    grads: dict[str, Array],
    params: dict[str, Array],
    weight_keys: Iterable[str],
    l1: float,
    l2: float,
) -> None:
    """grads[W] += l1·sign(W) + l2·W, in place."""
    for key in weight_keys:
        W, g = params[key], grads[key]
        if l1:
            g += l1 * np.sign(W)
        if l2:
            g += l2 * W


def global_norm(arrays: Iterable[Array]) -> float:
    """√(Σ‖a‖²) over all arrays."""
    return math.sqrt(sum(float(np.vdot(a, a)) for a in arrays))


def clip_global_norm(grads: dict[str, Array], max_norm: float) -> float:
    """Scale all gradients so their global L2 norm is at most max_norm (0 = off).

    Returns the norm before clipping.
    """
    norm = global_norm(grads.values())
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / norm
        for g in grads.values():
            g *= scale
    return norm


def apply_max_norm(params: dict[str, Array], weight_keys: Iterable[str], max_norm: float) -> None:
    """Cap the L2 norm of each column of W (fan_in, units), i.e. each unit's incoming weights."""
    if max_norm <= 0:
        return
    for key in weight_keys:
        W = params[key]
        norms = np.sqrt((W * W).sum(axis=0))
        W *= np.minimum(1.0, max_norm / np.maximum(norms, 1e-12)).astype(W.dtype)
