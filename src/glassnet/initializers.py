"""Weight initialisers.

Each initialiser is a function ``init(fan_in, fan_out, rng, dtype) -> W`` that
returns a ``(fan_in, fan_out)`` weight matrix (samples are rows, so a layer
computes ``Z = X·W + b``). ``rng`` is a ``numpy.random.Generator``; nothing
here touches NumPy's global random state. Biases start at zero unless a layer
is told otherwise.

Why scale at all: with ``fan_in`` inputs of unit variance, ``z = Σ x_j·w_j``
has variance ``fan_in·Var(w)``. Choosing ``Var(w) ∝ 1/fan_in`` keeps ``z`` of
order one in every layer, so activations neither saturate nor die out.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "INITIALIZERS",
    "get_initializer",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "scaled_normal",
    "standard_normal",
    "uniform",
    "zeros",
]


def he_normal(fan_in, fan_out, rng, dtype=np.float64):
    """He et al. (2015), for ReLU: ``W ~ N(0, 2/fan_in)``."""
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(dtype)


def he_uniform(fan_in, fan_out, rng, dtype=np.float64):
    """He, uniform: ``W ~ U(−r, r)`` with ``r = sqrt(6/fan_in)`` (variance ``2/fan_in``)."""
    r = np.sqrt(6.0 / fan_in)
    return rng.uniform(-r, r, (fan_in, fan_out)).astype(dtype)


def glorot_normal(fan_in, fan_out, rng, dtype=np.float64):
    """Glorot & Bengio (2010): ``W ~ N(0, 2/(fan_in + fan_out))``."""
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)


def glorot_uniform(fan_in, fan_out, rng, dtype=np.float64):
    """Glorot, uniform: ``W ~ U(−r, r)`` with ``r = sqrt(6/(fan_in + fan_out))``."""
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, (fan_in, fan_out)).astype(dtype)


def scaled_normal(fan_in, fan_out, rng, dtype=np.float64):
    """The first tutorial's ``randn / sqrt(fan_in)``: ``W ~ N(0, 1/fan_in)``."""
    return (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)


def standard_normal(fan_in, fan_out, rng, dtype=np.float64):
    """The heart tutorial's unscaled ``randn``: ``W ~ N(0, 1)``."""
    return rng.standard_normal((fan_in, fan_out)).astype(dtype)


def uniform(fan_in, fan_out, rng, dtype=np.float64):
    """The toy tutorial's ``W ~ U[0, 1)``."""
    return rng.random((fan_in, fan_out)).astype(dtype)


def zeros(fan_in, fan_out, rng, dtype=np.float64):
    """``W = 0``: a lesson, not a choice. Every unit of a layer then computes the
    same function of its inputs and receives the same gradient
    (``dW[:, j] = Xᵀ·dZ[:, j]`` with equal columns ``dZ[:, j]``), so the units stay
    equal however long the network trains (symmetry); random initialisers break it.
    With ``tanh``, ``relu`` or ``identity`` hidden layers (``f(0) = 0``) every
    hidden output is 0, so every weight's gradient is 0 too and only the output
    layer's bias learns; ``sigmoid`` (``f(0) = ½``) lets the weights move, in step."""
    return np.zeros((fan_in, fan_out), dtype=dtype)


INITIALIZERS = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "scaled_normal": scaled_normal,
    "standard_normal": standard_normal,
    "uniform": uniform,
    "zeros": zeros,
}


def get_initializer(spec):
    """Return an initialiser function for a name or a callable."""
    if callable(spec):
        return spec
    try:
        return INITIALIZERS[spec]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(INITIALIZERS))
        raise ValueError(f"unknown initializer {spec!r}; valid names: {valid}") from None
