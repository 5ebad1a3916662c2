"""Seeded 2-D problems for drawing decision boundaries (TensorFlow Playground's four,
two Gaussian clouds, three Gaussian blobs, and two regression surfaces).

Each classification problem returns ``(X, y)`` with ``X`` of shape
``(n_samples, 2)`` and ``y`` in {0, 1}, half the samples in each class.
``noise`` is the standard deviation of Gaussian noise added to the points;
``seed`` an int or a ``numpy.random.Generator``. :func:`make_blobs` has three
classes (``y`` in {0, 1, 2}). :func:`make_bumps` and :func:`make_plane` are
regression problems: ``y`` is a surface over the plane plus noise.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_blobs", "make_bumps", "make_circles", "make_gaussian_xor", "make_gaussians",
           "make_moons", "make_plane", "make_spirals"]


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
    c, width = np.array([0.4, 0.4]), 2 * 0.35 ** 2
    return _surface(n_samples, noise, seed,
                    lambda X: (np.exp(-np.sum((X - c) ** 2, axis=1) / width)
                               - np.exp(-np.sum((X + c) ** 2, axis=1) / width)))


def _surface(n_samples, noise, seed, f):
    """``X`` uniform on the square [−1, 1]² and ``y = f(X) + ε``, ``ε ~ N(0, noise²)``."""
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(int(n_samples), 2))
    y = f(X)
    if noise:
        y = y + rng.normal(scale=noise, size=y.shape)
    return X, y


def make_blobs(n_samples=200, noise=0.3, classes=3, seed=None):
    """``classes`` Gaussian clouds (three by default), one class each, with their
    centres evenly spaced on the unit circle (the first at the top): a problem for
    a softmax output. ``noise`` is each cloud's standard deviation; the samples are
    shared out as evenly as they go (the first clouds get one more)."""
    if int(n_samples) != n_samples or n_samples < classes:
        raise ValueError(f"n_samples must be an integer >= classes ({classes}), got {n_samples!r}")
    if int(classes) != classes or classes < 2:
        raise ValueError(f"classes must be an integer >= 2, got {classes!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    n, k = int(n_samples), int(classes)
    y = np.arange(n, dtype=np.int64) % k
    angle = np.pi / 2 + 2 * np.pi * y / k
    X = np.column_stack([np.cos(angle), np.sin(angle)])
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


def make_plane(n_samples=200, noise=0.05, seed=None):
    """A regression plane, TensorFlow Playground's simplest: ``X`` uniform on the
    square [−1, 1]² and ``y = (x₁ + x₂)/2 + ε`` with ``ε ~ N(0, noise²)``; a network
    with no hidden layer and a linear output fits it exactly."""
    return _surface(n_samples, noise, seed, lambda X: (X[:, 0] + X[:, 1]) / 2)
