"""Seeded 2-D problems for drawing decision boundaries (TensorFlow Playground's four,
two Gaussian clouds, and a regression surface).

Each classification problem returns ``(X, y)`` with ``X`` of shape
``(n_samples, 2)`` and ``y`` in {0, 1}, half the samples in each class.
``noise`` is the standard deviation of Gaussian noise added to the points;
``seed`` an int or a ``numpy.random.Generator``. :func:`make_bumps` is a
regression problem: ``y`` is a smooth surface over the plane plus noise.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_bumps", "make_circles", "make_gaussian_xor", "make_gaussians", "make_moons",
           "make_spirals"]


def _check(n_samples, noise):
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    return int(n_samples) // 2, int(n_samples) - int(n_samples) // 2


def _finish(rng, parts, noise):
    X = np.concatenate(parts)
    y = np.concatenate([np.zeros(len(parts[0]), np.int64), np.ones(len(parts[1]), np.int64)])
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


def make_moons(n_samples=200, noise=0.1, seed=None):
    """Two interleaving half circles."""
    n0, n1 = _check(n_samples, noise)
    rng = np.random.default_rng(seed)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    return _finish(rng, [upper, lower], noise)


def make_circles(n_samples=200, noise=0.05, factor=0.5, seed=None):
    """A small circle (class 1, radius ``factor``) inside a big one (class 0)."""
    n0, n1 = _check(n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = factor * np.column_stack([np.cos(t1), np.sin(t1)])
    return _finish(rng, [outer, inner], noise)


def make_spirals(n_samples=200, noise=0.1, turns=1.5, seed=None):
    """Two interleaved spirals, each turning ``turns`` times around the origin."""
    n0, n1 = _check(n_samples, noise)
    rng = np.random.default_rng(seed)
    parts = []
    for n, phase in ((n0, 0.0), (n1, np.pi)):
        r = np.linspace(0.05, 1.0, n)
        t = 2 * np.pi * turns * r + phase
        parts.append(np.column_stack([r * np.cos(t), r * np.sin(t)]))
    return _finish(rng, parts, noise)


def make_gaussian_xor(n_samples=200, noise=0.3, seed=None):
    """Four Gaussian blobs at (±1, ±1); class 1 where the signs differ (XOR)."""
    n0, n1 = _check(n_samples, noise)
    rng = np.random.default_rng(seed)
    parts = []
    for n, corners in ((n0, [(1, 1), (-1, -1)]), (n1, [(1, -1), (-1, 1)])):
        which = rng.integers(0, 2, n)
        parts.append(np.asarray(corners, dtype=np.float64)[which])
    return _finish(rng, parts, noise)


def make_gaussians(n_samples=200, noise=0.3, seed=None):
    """Two Gaussian clouds: class 0 around (−1, −1), class 1 around (1, 1).

    ``noise`` is each cloud's standard deviation (0 puts every point on its centre).
    """
    n0, n1 = _check(n_samples, noise)
    rng = np.random.default_rng(seed)
    parts = [np.full((n0, 2), -1.0), np.full((n1, 2), 1.0)]
    return _finish(rng, parts, noise)


def make_bumps(n_samples=200, noise=0.05, seed=None):
    """A regression surface: a hill and a valley on the square [−1, 1]².

    ``X`` is uniform on the square and
    ``y = exp(−‖x − c‖²/(2s²)) − exp(−‖x + c‖²/(2s²)) + ε`` with
    ``c = (0.4, 0.4)``, ``s = 0.35`` and ``ε ~ N(0, noise²)``.
    """
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(int(n_samples), 2))
    c, width = np.array([0.4, 0.4]), 2 * 0.35 ** 2
    y = (np.exp(-np.sum((X - c) ** 2, axis=1) / width)
         - np.exp(-np.sum((X + c) ** 2, axis=1) / width))
    if noise:
        y = y + rng.normal(scale=noise, size=y.shape)
    return X, y
